//! A busy day for 100,000 devices on two instances: the load model of issue 14.
//!
//!   cargo bench -p session-loadgen --bench mix -- [--seconds 60] [--rates 1,3,10]
//!       [--sessions 100000] [--accounts 30000] [--streams 2000] [--instances 2]
//!
//! Two release `session-server` instances, each in a process of its own, on one durable
//! PostgreSQL cluster (fsync, synchronous commit), with one `--issuer`; 100,000
//! sessions over 30,000 accounts seeded in SQL with known refresh tokens; a guard (the
//! `session-guard` crate, in this process) fed by the second instance. Then, for each
//! multiple of the base rate, an open-loop mix for `--seconds`: every operation is
//! scheduled at its rate and its latency counted from when it was due, so a server that
//! falls behind shows it instead of slowing the load down.
//!
//! - refresh: 100,000 devices with 5-minute access tokens refresh 333 times a second
//!   (× the multiple), round-robin over the devices, through either instance;
//! - device-list reads (30/s ×) and renames (3/s ×), by devices that hold a token;
//! - 20 revocations a second through the first instance, in turn one device, all
//!   others, everywhere; each also timed until the guard fed by the *other* instance
//!   refuses the revoked device's access token;
//! - new sign-ins (2/s; argon2 is their cost by design);
//! - `--streams` devices hold `GET /v1/events` open across the instances throughout,
//!   reconnecting with a fresh token when theirs expires, as the client does.
//!
//! Reported per phase: per operation p50/p99 and errors; each instance's CPU (utime +
//! stime from /proc over the phase) and RSS; PostgreSQL's CPU; this process's CPU (it
//! shares the two cores). Baselines from the same run: the JWKS floor (`GET
//! /.well-known/jwks.json` paced at the base refresh rate on the idle instances, and a
//! 20/s probe during each phase), and the idle instances' RSS.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use guard::{Denied, Guard, GuardConfig};
use loadgen::procfs::{CpuMeter, PgCpu, rss_kib};
use loadgen::stats::{self, Latencies, Shared};
use loadgen::{Flags, PASSWORD, seed};
use proto::tokens::TokenResponse;
use rand::Rng as _;
use testkit::{Backend, Options, TestServer};
use tokio::sync::{Mutex, Semaphore};

/// What the benchmark knows of one device: its refresh token (the head of its chain)
/// and its current access token.
struct Device {
    refresh: String,
    access: Option<(String, Instant)>,
    revoked: bool,
}

impl Device {
    fn access(&self, for_at_least: Duration) -> Option<&str> {
        match &self.access {
            Some((t, until)) if *until > Instant::now() + for_at_least => Some(t),
            _ => None,
        }
    }
}

#[derive(Default)]
struct Ops {
    refresh: Shared,
    /// Refreshes that a revocation or a stream's reconnection needed first.
    refresh_other: Shared,
    list: Shared,
    rename: Shared,
    revoke_one: Shared,
    revoke_others: Shared,
    revoke_all: Shared,
    signin: Shared,
    /// Revocation acknowledged by A → refused by the guard fed by B.
    propagation: Shared,
    propagation_from_send: Shared,
    jwks: Shared,
    stream_open: Shared,
    /// Scheduled operations that found no device to act on (not errors).
    skipped: AtomicU64,
}

struct World {
    devices: Vec<Mutex<Device>>,
    accounts: usize,
    urls: Vec<String>,
    http: reqwest::Client,
    /// Devices that refreshed lately, holding a fresh access token: who reads lists
    /// and renames.
    recent: Vec<AtomicU32>,
    recent_next: AtomicUsize,
    next_refresh: AtomicUsize,
    next_revocation: AtomicUsize,
    next_instance: AtomicUsize,
    guard: Guard,
    ops: Ops,
    stop_streams: AtomicBool,
    streams_open: AtomicUsize,
}

impl World {
    fn instance(&self) -> &str {
        &self.urls[self.next_instance.fetch_add(1, Ordering::Relaxed) % self.urls.len()]
    }

    fn note_recent(&self, i: usize) {
        let slot = self.recent_next.fetch_add(1, Ordering::Relaxed) % self.recent.len();
        self.recent[slot].store(i as u32 + 1, Ordering::Relaxed);
    }

    /// Refreshes a device (whose lock the caller holds) through `url`.
    async fn refresh(&self, url: &str, i: usize, d: &mut Device) -> Result<(), String> {
        let r = self
            .http
            .post(format!("{url}/oauth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", d.refresh.as_str()),
            ])
            .send()
            .await
            .map_err(|e| format!("refresh: {e}"))?;
        let status = r.status();
        if status != 200 {
            return Err(format!(
                "refresh of device {i} answered {status}: {}",
                r.text().await.unwrap_or_default()
            ));
        }
        let t: TokenResponse = r.json().await.map_err(|e| format!("refresh json: {e}"))?;
        d.refresh = t.refresh_token.into_inner();
        d.access = Some((
            t.access_token.expose().to_owned(),
            Instant::now() + Duration::from_secs(t.expires_in.saturating_sub(5)),
        ));
        Ok(())
    }

    /// A device's access token good for `for_at_least`, refreshing first if needed.
    async fn ensure_access(
        &self,
        i: usize,
        d: &mut Device,
        for_at_least: Duration,
    ) -> Result<String, String> {
        if let Some(t) = d.access(for_at_least) {
            return Ok(t.to_owned());
        }
        let t0 = Instant::now();
        let url = self.instance().to_owned();
        match self.refresh(&url, i, d).await {
            Ok(()) => stats::record(&self.ops.refresh_other, t0.elapsed()),
            Err(e) => {
                stats::error(&self.ops.refresh_other, e.clone());
                return Err(e);
            }
        }
        Ok(d.access(Duration::ZERO).unwrap().to_owned())
    }

    fn devices_of(&self, account: usize) -> Vec<usize> {
        (account..self.devices.len())
            .step_by(self.accounts)
            .collect()
    }
}

/// Runs `op(due)` at `rate` per second until `until`, never waiting for an operation
/// to finish before starting the next (open loop); at most `in_flight` run at once,
/// and the wait for a slot counts in the operation's latency.
async fn paced<F, Fut>(rate: f64, until: Instant, in_flight: usize, op: F)
where
    F: Fn(Instant) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    if rate <= 0.0 {
        return;
    }
    let gate = Arc::new(Semaphore::new(in_flight));
    let op = Arc::new(op);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let due = tick.tick().await.into_std();
        if due >= until {
            break;
        }
        let (gate, op) = (gate.clone(), op.clone());
        tasks.spawn(async move {
            let _slot = gate.acquire_owned().await.unwrap();
            op(due).await;
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

async fn refresh_op(w: Arc<World>, due: Instant) {
    // Round-robin over the devices, passing over the signed-out and the busy.
    for _ in 0..1000 {
        let i = w.next_refresh.fetch_add(1, Ordering::Relaxed) % w.devices.len();
        let Ok(mut d) = w.devices[i].try_lock() else {
            continue;
        };
        if d.revoked {
            continue;
        }
        let url = w.instance().to_owned();
        match w.refresh(&url, i, &mut d).await {
            Ok(()) => {
                stats::record(&w.ops.refresh, due.elapsed());
                w.note_recent(i);
            }
            Err(e) => stats::error(&w.ops.refresh, e),
        }
        return;
    }
    w.ops.skipped.fetch_add(1, Ordering::Relaxed);
}

/// A device that refreshed lately, with a token good for a while (its lock held).
async fn recent_device(w: &World) -> Option<(usize, tokio::sync::MutexGuard<'_, Device>)> {
    for _ in 0..16 {
        let slot = rand::thread_rng().gen_range(0..w.recent.len());
        let i = w.recent[slot].load(Ordering::Relaxed);
        if i == 0 {
            continue;
        }
        let i = i as usize - 1;
        let d = w.devices[i].lock().await;
        if !d.revoked && d.access(Duration::from_secs(10)).is_some() {
            return Some((i, d));
        }
    }
    None
}

async fn list_op(w: Arc<World>, due: Instant) {
    let Some((_, d)) = recent_device(&w).await else {
        w.ops.skipped.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let token = d.access(Duration::ZERO).unwrap().to_owned();
    let r = w
        .http
        .get(format!("{}/v1/sessions", w.instance()))
        .bearer_auth(&token)
        .send()
        .await;
    drop(d);
    match r {
        Ok(r) if r.status() == 200 => match r.bytes().await {
            Ok(_) => stats::record(&w.ops.list, due.elapsed()),
            Err(e) => stats::error(&w.ops.list, format!("list body: {e}")),
        },
        Ok(r) => stats::error(&w.ops.list, format!("list answered {}", r.status())),
        Err(e) => stats::error(&w.ops.list, format!("list: {e}")),
    }
}

async fn rename_op(w: Arc<World>, due: Instant) {
    let Some((i, d)) = recent_device(&w).await else {
        w.ops.skipped.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let token = d.access(Duration::ZERO).unwrap().to_owned();
    let name = format!("Renamed device {i} {}", rand::thread_rng().r#gen::<u16>());
    let r = w
        .http
        .patch(format!(
            "{}/v1/sessions/{}",
            w.instance(),
            seed::session_id(i as u64)
        ))
        .bearer_auth(&token)
        .json(&serde_json::json!({"device": {"name": name}}))
        .send()
        .await;
    drop(d);
    match r {
        Ok(r) if r.status() == 200 => stats::record(&w.ops.rename, due.elapsed()),
        Ok(r) => stats::error(&w.ops.rename, format!("rename answered {}", r.status())),
        Err(e) => stats::error(&w.ops.rename, format!("rename: {e}")),
    }
}

#[derive(Clone, Copy)]
enum Scope {
    One,
    Others,
    All,
}

/// One revocation through the first instance, on an account not touched before
/// (taken from the last accounts down), then the wait until the guard fed by the
/// other instance refuses the revoked device's token.
async fn revoke_op(w: Arc<World>, due: Instant, scope: Scope) {
    let n = w.next_revocation.fetch_add(1, Ordering::Relaxed);
    let account = w.accounts - 1 - (n % w.accounts);
    let devices = w.devices_of(account);
    // Every device of the account is held, so no refresh races the revocation.
    let mut held = Vec::new();
    for &i in &devices {
        held.push(w.devices[i].lock().await);
    }
    if held.iter().take(2).any(|d| d.revoked) {
        w.ops.skipped.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let (caller, victim) = (devices[0], devices[1]);
    let Ok(caller_token) = w
        .ensure_access(caller, &mut held[0], Duration::from_secs(30))
        .await
    else {
        return;
    };
    let Ok(victim_token) = w
        .ensure_access(victim, &mut held[1], Duration::from_secs(30))
        .await
    else {
        return;
    };
    if w.guard.authorize_now(&victim_token).is_err() {
        // The other instance's guard may not have the fresh token's key... it has
        // only one key; a refusal here is a fault of the run.
        stats::error(&w.ops.propagation, "the guard refused a live token");
        return;
    }
    let url = &w.urls[0];
    let (ops, req) = match scope {
        Scope::One => (
            &w.ops.revoke_one,
            w.http.delete(format!(
                "{url}/v1/sessions/{}",
                seed::session_id(victim as u64)
            )),
        ),
        Scope::Others => (
            &w.ops.revoke_others,
            w.http
                .post(format!("{url}/v1/sessions/revoke"))
                .json(&serde_json::json!({"scope": "others"})),
        ),
        Scope::All => (
            &w.ops.revoke_all,
            w.http
                .post(format!("{url}/v1/sessions/revoke"))
                .json(&serde_json::json!({"scope": "all"})),
        ),
    };
    match scope {
        Scope::One => held[1].revoked = true,
        Scope::Others => held.iter_mut().skip(1).for_each(|d| d.revoked = true),
        Scope::All => held.iter_mut().for_each(|d| d.revoked = true),
    }
    let sent = Instant::now();
    let r = req.bearer_auth(&caller_token).send().await;
    let acked = Instant::now();
    match r {
        Ok(r) if r.status().is_success() => stats::record(ops, acked - due),
        Ok(r) => {
            let s = r.status();
            stats::error(
                ops,
                format!(
                    "revoke answered {s}: {}",
                    r.text().await.unwrap_or_default()
                ),
            );
            return;
        }
        Err(e) => {
            stats::error(ops, format!("revoke: {e}"));
            return;
        }
    }
    loop {
        match w.guard.authorize_now(&victim_token) {
            Err(Denied::Revoked(_)) => {
                stats::record(&w.ops.propagation, acked.elapsed());
                stats::record(&w.ops.propagation_from_send, sent.elapsed());
                break;
            }
            Err(e) => {
                stats::error(
                    &w.ops.propagation,
                    format!("the guard refused for another reason: {e}"),
                );
                break;
            }
            Ok(_) if acked.elapsed() > Duration::from_secs(10) => {
                stats::error(&w.ops.propagation, "not refused within 10 s");
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
}

async fn signin_op(w: Arc<World>, due: Instant) {
    let account = rand::thread_rng().gen_range(0..w.accounts / 2);
    let r = w
        .http
        .post(format!("{}/v1/sessions", w.instance()))
        .json(&serde_json::json!({
            "email": seed::email(account as u64),
            "password": PASSWORD,
            "device": {"name": "New laptop", "platform": "linux", "os_version": "Debian 12", "app_version": "1.0.0"}
        }))
        .send()
        .await;
    match r {
        Ok(r) if r.status() == 201 => stats::record(&w.ops.signin, due.elapsed()),
        Ok(r) => {
            let s = r.status();
            stats::error(
                &w.ops.signin,
                format!(
                    "sign-in answered {s}: {}",
                    r.text().await.unwrap_or_default()
                ),
            );
        }
        Err(e) => stats::error(&w.ops.signin, format!("sign-in: {e}")),
    }
}

async fn jwks_op(w: Arc<World>, due: Instant) {
    match w
        .http
        .get(format!("{}/.well-known/jwks.json", w.instance()))
        .send()
        .await
    {
        Ok(r) if r.status() == 200 => match r.bytes().await {
            Ok(_) => stats::record(&w.ops.jwks, due.elapsed()),
            Err(e) => stats::error(&w.ops.jwks, format!("jwks body: {e}")),
        },
        Ok(r) => stats::error(&w.ops.jwks, format!("jwks answered {}", r.status())),
        Err(e) => stats::error(&w.ops.jwks, format!("jwks: {e}")),
    }
}

/// Device `i` holds its event stream open on instance `url` until it is signed out or
/// the run ends, reconnecting with a fresh token whenever its token expires.
async fn hold_stream(w: Arc<World>, i: usize, url: String, opened: Arc<tokio::sync::Notify>) {
    let mut first = true;
    while !w.stop_streams.load(Ordering::Relaxed) {
        let token = {
            let mut d = w.devices[i].lock().await;
            if d.revoked {
                break;
            }
            match w.ensure_access(i, &mut d, Duration::from_secs(20)).await {
                Ok(t) => t,
                Err(_) => break,
            }
        };
        let t0 = Instant::now();
        let r = w
            .http
            .get(format!("{url}/v1/events"))
            .bearer_auth(&token)
            .send()
            .await;
        let mut r = match r {
            Ok(r) if r.status() == 200 => r,
            Ok(r) => {
                if !w.devices[i].lock().await.revoked {
                    stats::error(
                        &w.ops.stream_open,
                        format!("events answered {}", r.status()),
                    );
                }
                break;
            }
            Err(e) => {
                stats::error(&w.ops.stream_open, format!("events: {e}"));
                break;
            }
        };
        // Open once its greeting arrives.
        match r.chunk().await {
            Ok(Some(_)) => stats::record(&w.ops.stream_open, t0.elapsed()),
            _ => continue,
        }
        w.streams_open.fetch_add(1, Ordering::Relaxed);
        if first {
            first = false;
            opened.notify_one();
        }
        loop {
            tokio::select! {
                c = r.chunk() => match c {
                    Ok(Some(_)) => {}
                    _ => break,
                },
                () = tokio::time::sleep(Duration::from_millis(500)) => {
                    if w.stop_streams.load(Ordering::Relaxed) { break; }
                }
            }
        }
        w.streams_open.fetch_sub(1, Ordering::Relaxed);
    }
    if first {
        opened.notify_one();
    }
}

struct PhaseReport {
    label: String,
    seconds: f64,
    ops: Vec<(&'static str, Latencies)>,
    instance_cores: Vec<f64>,
    instance_rss: Vec<u64>,
    pg_cores: f64,
    bench_cores: f64,
    skipped: u64,
    streams_open: usize,
    load: String,
}

fn print_phase(p: &mut PhaseReport) {
    println!();
    println!(
        "### {} ({:.0} s, load average {} at its start, {} event streams open at its end)",
        p.label, p.seconds, p.load, p.streams_open
    );
    println!("| operation | done | per second | p50 ms | p99 ms | errors |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, l) in &mut p.ops {
        println!(
            "| {name} | {} | {:.1} | {:.2} | {:.2} | {} |",
            l.count(),
            l.count() as f64 / p.seconds,
            l.pct(0.5),
            l.pct(0.99),
            l.errors
        );
    }
    for (name, l) in &p.ops {
        if let Some(e) = &l.first_error {
            println!("first error of {name}: {e}");
        }
    }
    let names = ["A", "B", "C", "D"];
    for (k, (cores, rss)) in p.instance_cores.iter().zip(&p.instance_rss).enumerate() {
        println!(
            "instance {}: CPU {:.2} cores, RSS {:.1} MiB",
            names.get(k).unwrap_or(&"?"),
            cores,
            *rss as f64 / 1024.0
        );
    }
    println!(
        "PostgreSQL: CPU {:.2} cores; this process (load, guard, streams): {:.2} cores; {} scheduled operations found no device to act on",
        p.pg_cores, p.bench_cores, p.skipped
    );
}

fn take(s: &Shared) -> Latencies {
    s.lock().unwrap().take()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let flags = Flags::from_env();
    let seconds: f64 = flags.get("--seconds", 60.0);
    let multiples: Vec<f64> = flags.list("--rates", &[1.0, 3.0, 10.0]);
    let sessions: usize = flags.get("--sessions", 100_000);
    let accounts: usize = flags.get("--accounts", 30_000);
    let n_streams: usize = flags.get("--streams", 2_000);
    let n_instances: usize = flags.get("--instances", 2);
    // 100,000 devices with 5-minute tokens.
    let base: f64 = flags.get("--base-rate", sessions as f64 / 300.0);
    let list_rate: f64 = flags.get("--list-rate", 30.0);
    let rename_rate: f64 = flags.get("--rename-rate", 3.0);
    let revoke_rate: f64 = flags.get("--revoke-rate", 20.0);
    let signin_rate: f64 = flags.get("--signin-rate", 2.0);
    assert!(
        n_instances >= 2,
        "the guard is fed by another instance than the revoking one"
    );
    rlimit::increase_nofile_limit(u64::MAX).expect("raise the descriptor limit");

    loadgen::note(format!(
        "starting {n_instances} release instances on one durable PostgreSQL"
    ));
    let opts = |db: Option<String>| Options {
        durable: true,
        process: true,
        log: Some("info".into()),
        database_url: db,
        ..Options::backend(Backend::Postgres)
            .arg("--issuer")
            .arg("https://sessions.bench")
            .arg("--signin-address-limit")
            .arg("1000000")
    };
    let first = TestServer::start_with(opts(None)).await;
    let db = first.database_url().to_owned();
    let mut instances = vec![first];
    for _ in 1..n_instances {
        instances.push(TestServer::start_with(opts(Some(db.clone()))).await);
    }
    let pids: Vec<u32> = instances.iter().map(|s| s.pid().unwrap()).collect();
    let pg_port: u16 = db
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("the cluster's port");
    loadgen::note(format!(
        "seeding {sessions} sessions over {accounts} accounts"
    ));
    let t = Instant::now();
    seed::postgres(
        &db,
        accounts as u64,
        sessions as u64,
        &loadgen::password_hash().await,
    )
    .await;
    loadgen::note(format!("  seeded in {:.1} s", t.elapsed().as_secs_f64()));

    let guard = Guard::start(GuardConfig::new(instances[1].url(), "rs", "rs-secret"))
        .await
        .expect("the guard fed by instance B");
    let w = Arc::new(World {
        devices: (0..sessions)
            .map(|i| {
                Mutex::new(Device {
                    refresh: seed::refresh_token(i as u64),
                    access: None,
                    revoked: false,
                })
            })
            .collect(),
        accounts,
        urls: instances.iter().map(|s| s.url().to_owned()).collect(),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(4096)
            // The server closes a connection idle for 10 s (its request-head timeout);
            // a pooled connection reused at that moment fails. Clients let go first.
            .pool_idle_timeout(Duration::from_secs(5))
            .http1_only()
            .build()
            .unwrap(),
        recent: (0..8192).map(|_| AtomicU32::new(0)).collect(),
        recent_next: AtomicUsize::new(0),
        next_refresh: AtomicUsize::new(0),
        next_revocation: AtomicUsize::new(0),
        next_instance: AtomicUsize::new(0),
        guard,
        ops: Ops::default(),
        stop_streams: AtomicBool::new(false),
        streams_open: AtomicUsize::new(0),
    });

    // Baselines: the idle instances' memory, and the JWKS floor paced at the base rate.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss: Vec<u64> = pids.iter().map(|&p| rss_kib(p)).collect();
    let idle_load = loadgen::load_average();
    let floor_seconds = seconds.min(10.0);
    {
        let w2 = w.clone();
        paced(
            base,
            Instant::now() + Duration::from_secs_f64(floor_seconds),
            512,
            move |due| jwks_op(w2.clone(), due),
        )
        .await;
    }
    let mut floor = take(&w.ops.jwks);

    // The event streams, spread over the devices and the instances.
    loadgen::note(format!("opening {n_streams} event streams"));
    let stride = (sessions / n_streams.max(1)).max(1);
    let mut stream_tasks = Vec::new();
    for k in 0..n_streams {
        let i = k * stride;
        let url = w.urls[k % w.urls.len()].clone();
        let opened = Arc::new(tokio::sync::Notify::new());
        stream_tasks.push(tokio::spawn(hold_stream(w.clone(), i, url, opened.clone())));
        opened.notified().await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let streams_rss: Vec<u64> = pids.iter().map(|&p| rss_kib(p)).collect();
    let setup_refreshes = take(&w.ops.refresh_other);
    let mut stream_opens = take(&w.ops.stream_open);

    println!(
        "## Load model: {sessions} sessions over {accounts} accounts, {n_instances} instances on one durable PostgreSQL"
    );
    println!();
    println!("Baselines (same run, idle instances, load average {idle_load}):");
    println!(
        "- JWKS floor, paced at {base:.0}/s for {floor_seconds:.0} s: p50 {:.2} ms, p99 {:.2} ms, {} errors",
        floor.pct(0.5),
        floor.pct(0.99),
        floor.errors
    );
    for (k, rss) in idle_rss.iter().enumerate() {
        println!(
            "- instance {k}: RSS idle {:.1} MiB; with the streams open {:.1} MiB",
            *rss as f64 / 1024.0,
            streams_rss[k] as f64 / 1024.0
        );
    }
    println!(
        "- {} streams opened (p50 {:.1} ms, p99 {:.1} ms from the request, each after one refresh: {} errors)",
        stream_opens.count(),
        stream_opens.pct(0.5),
        stream_opens.pct(0.99),
        stream_opens.errors + setup_refreshes.errors
    );

    let mut total_errors = 0;
    for &m in &multiples {
        let rate = base * m;
        let load = loadgen::load_average();
        loadgen::note(format!("phase {m}x: {rate:.0} refreshes/s for {seconds} s"));
        let until = Instant::now() + Duration::from_secs_f64(seconds);
        let cpu: Vec<CpuMeter> = pids
            .iter()
            .map(|&p| CpuMeter::start(vec![p], false))
            .collect();
        let pg = PgCpu::start(pg_port);
        let me = CpuMeter::start(vec![std::process::id()], false);
        let started = Instant::now();
        let mut pacers = tokio::task::JoinSet::new();
        let w2 = w.clone();
        pacers.spawn(paced(rate, until, 1024, move |due| {
            refresh_op(w2.clone(), due)
        }));
        let w2 = w.clone();
        pacers.spawn(paced(list_rate * m, until, 256, move |due| {
            list_op(w2.clone(), due)
        }));
        let w2 = w.clone();
        pacers.spawn(paced(rename_rate * m, until, 256, move |due| {
            rename_op(w2.clone(), due)
        }));
        let w2 = w.clone();
        pacers.spawn(paced(signin_rate, until, 64, move |due| {
            signin_op(w2.clone(), due)
        }));
        let w2 = w.clone();
        pacers.spawn(paced(20.0, until, 64, move |due| jwks_op(w2.clone(), due)));
        let w2 = w.clone();
        let turn = Arc::new(AtomicUsize::new(0));
        pacers.spawn(paced(revoke_rate, until, 256, move |due| {
            let scope = match turn.fetch_add(1, Ordering::Relaxed) % 3 {
                0 => Scope::One,
                1 => Scope::Others,
                _ => Scope::All,
            };
            revoke_op(w2.clone(), due, scope)
        }));
        while pacers.join_next().await.is_some() {}
        let elapsed = started.elapsed().as_secs_f64();
        let instance_cores: Vec<f64> = cpu.iter().map(CpuMeter::cores).collect();
        let pg_cores = pg.cores();
        let bench_cores = me.cores();
        let instance_rss: Vec<u64> = pids.iter().map(|&p| rss_kib(p)).collect();
        let o = &w.ops;
        let mut report = PhaseReport {
            label: format!("{m}× — {rate:.0} refreshes/s scheduled"),
            seconds: elapsed,
            ops: vec![
                ("refresh", take(&o.refresh)),
                (
                    "refresh before a revocation or a stream's reconnection",
                    take(&o.refresh_other),
                ),
                ("device list", take(&o.list)),
                ("rename", take(&o.rename)),
                ("revoke one device", take(&o.revoke_one)),
                ("revoke all others", take(&o.revoke_others)),
                ("revoke everywhere", take(&o.revoke_all)),
                ("sign-in (argon2)", take(&o.signin)),
                ("event stream (re)opened", take(&o.stream_open)),
                (
                    "revocation via A → refused by the guard fed by B (from ack)",
                    take(&o.propagation),
                ),
                (
                    "revocation via A → refused by the guard fed by B (from send)",
                    take(&o.propagation_from_send),
                ),
                (
                    "JWKS probe, 20/s (the floor under this load)",
                    take(&o.jwks),
                ),
            ],
            instance_cores,
            instance_rss,
            pg_cores,
            bench_cores,
            skipped: o.skipped.swap(0, Ordering::Relaxed),
            streams_open: w.streams_open.load(Ordering::Relaxed),
            load,
        };
        total_errors += report.ops.iter().map(|(_, l)| l.errors).sum::<u64>();
        print_phase(&mut report);
    }
    w.stop_streams.store(true, Ordering::Relaxed);
    for t in stream_tasks {
        let _ = t.await;
    }
    println!();
    println!("errors over the whole run: {total_errors}");
    // What the instances said about the run (they log at info): warnings and errors are
    // where a stall's cause shows, e.g. a transaction chosen as a deadlock's victim.
    for (k, server) in instances.iter().enumerate() {
        let logs = server.logs();
        let bad: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect();
        println!("instance {k}: {} warning or error lines", bad.len());
        for l in bad.iter().take(5) {
            println!("  {l}");
        }
    }
}
