//! Server benchmarks: refresh (rotate) throughput and latency under concurrent load, and
//! the device list's latency with a million sessions stored, on SQLite and PostgreSQL.
//!
//!   cargo bench -p session-server --bench server -- [--backend sqlite|postgres|both]
//!       [--concurrency 32] [--seconds 10] [--sessions 1000000] [--skip-list]
//!
//! Every figure is reported with a baseline measured in the same run, on the same
//! machine, so that a noisy neighbour moves both: the refresh rate against the rate of
//! `GET /.well-known/jwks.json` (the HTTP floor: routing, JSON, no database, no signing),
//! and the list latency at 1,000,000 stored sessions against the same at 1,000.
//! The load generator runs in this process and shares the machine with the server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use proto::tokens::TokenResponse;
use sqlx::any::AnyPoolOptions;
use testkit::{Backend, Options, TestServer};

struct Args {
    backends: Vec<Backend>,
    concurrency: usize,
    seconds: u64,
    sessions: usize,
    skip_list: bool,
}

fn args() -> Args {
    let mut a = Args {
        backends: vec![Backend::Sqlite, Backend::Postgres],
        concurrency: 32,
        seconds: 10,
        sessions: 1_000_000,
        skip_list: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--backend" => {
                a.backends = match it.next().as_deref() {
                    Some("sqlite") => vec![Backend::Sqlite],
                    Some("postgres") => vec![Backend::Postgres],
                    _ => vec![Backend::Sqlite, Backend::Postgres],
                }
            }
            "--concurrency" => a.concurrency = it.next().and_then(|v| v.parse().ok()).unwrap_or(32),
            "--seconds" => a.seconds = it.next().and_then(|v| v.parse().ok()).unwrap_or(10),
            "--sessions" => {
                a.sessions = it.next().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
            }
            "--skip-list" => a.skip_list = true,
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

const PASSWORD: &str = "correct horse battery staple";

#[derive(Default)]
struct Stats {
    latencies_us: Vec<u32>,
    errors: usize,
    elapsed: Duration,
}

impl Stats {
    fn rate(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }
    fn pct(&mut self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        self.latencies_us.sort_unstable();
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

/// Runs `concurrency` workers for `seconds`; each calls `step` with its own state.
async fn load<S, F, Fut>(states: Vec<S>, seconds: u64, step: F) -> Stats
where
    S: Send + 'static,
    F: Fn(S) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = (S, bool)> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let tasks: Vec<_> = states
        .into_iter()
        .map(|mut s| {
            let (stop, step) = (stop.clone(), step.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let (next, ok) = step(s).await;
                    s = next;
                    if ok {
                        lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                    } else {
                        errors += 1;
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut stats = Stats::default();
    for t in tasks {
        let (lat, errors) = t.await.unwrap();
        stats.latencies_us.extend(lat);
        stats.errors += errors;
    }
    stats.elapsed = start.elapsed();
    stats
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

async fn jwks_baseline(server: &TestServer, concurrency: usize, seconds: u64) -> Stats {
    let url = format!("{}/.well-known/jwks.json", server.url());
    let http = client();
    let states = vec![(); concurrency];
    load(states, seconds, move |()| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let ok = match http.get(&url).send().await {
                Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            ((), ok)
        }
    })
    .await
}

async fn refresh_load(server: &TestServer, concurrency: usize, seconds: u64) -> Stats {
    let email = format!("bench-{}@example.com", uuid::Uuid::now_v7().simple());
    server.create_account(&email, PASSWORD).await;
    // One device per worker: each follows its own rotation chain.
    let mut tokens = Vec::new();
    for i in 0..concurrency {
        tokens.push(
            server
                .sign_in(&email, PASSWORD, &format!("Bench device {i}"))
                .await
                .refresh_token
                .into_inner(),
        );
    }
    let url = format!("{}/oauth/token", server.url());
    let http = client();
    load(tokens, seconds, move |token: String| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let r = http
                .post(&url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await;
            match r {
                Ok(r) if r.status() == 200 => match r.json::<TokenResponse>().await {
                    Ok(t) => (t.refresh_token.into_inner(), true),
                    Err(_) => (token, false),
                },
                _ => (token, false),
            }
        }
    })
    .await
}

async fn list_load(server: &TestServer, access: &[String], requests: usize) -> Stats {
    let url = format!("{}/v1/sessions", server.url());
    let http = client();
    let start = Instant::now();
    let mut stats = Stats::default();
    // Sequential requests, round-robin over the accounts: latency, not throughput.
    for i in 0..requests {
        let t = Instant::now();
        let r = http
            .get(&url)
            .bearer_auth(&access[i % access.len()])
            .send()
            .await
            .unwrap();
        let ok = r.status() == 200 && r.bytes().await.is_ok();
        if ok {
            stats.latencies_us.push(t.elapsed().as_micros() as u32);
        } else {
            stats.errors += 1;
        }
    }
    stats.elapsed = start.elapsed();
    stats
}

/// Adds `accounts` accounts with `per_account` sessions each, straight into the database
/// and generated by the database itself (a million sign-ins through argon2 would take
/// the better part of a day). Ids are UUID-shaped and unique: account `a`, device `d`.
async fn seed(
    database_url: &str,
    first: usize,
    accounts: usize,
    per_account: usize,
    password_hash: &str,
) {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(database_url)
        .await
        .unwrap();
    let now = session_server::time::Millis::now().0;
    let far = now + 80 * 86_400_000;
    let (first, last) = (first as i64, (first + accounts) as i64 - 1);
    let sqlite = database_url.starts_with("sqlite");
    let (accounts_sql, sessions_sql) = if sqlite {
        (
            "INSERT INTO accounts (id, email, password_hash, created_at) \
             WITH RECURSIVE n(a) AS (SELECT $1 UNION ALL SELECT a + 1 FROM n WHERE a < $2) \
             SELECT printf('%08x-0000-7000-8000-000000000000', a), 'seed-' || a || '@example.com', $3, $4 FROM n",
            "INSERT INTO sessions (id, user_id, device_name, platform, os_version, app_version, created_at, last_seen_at, last_ip, idle_expires_at, expires_at) \
             WITH RECURSIVE n(a) AS (SELECT $1 UNION ALL SELECT a + 1 FROM n WHERE a < $2), \
                  d(d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM d WHERE d + 1 < $3) \
             SELECT printf('%08x-%04x-7000-8000-000000000000', a, d), printf('%08x-0000-7000-8000-000000000000', a), \
                    'Seeded device ' || d, 'linux', 'Debian 12', '1.0.0', $4 - d * 60000, $4 - d * 60000, '192.0.2.1', $5, $5 \
             FROM n, d",
        )
    } else {
        (
            "INSERT INTO accounts (id, email, password_hash, created_at) \
             SELECT lpad(to_hex(a), 8, '0') || '-0000-7000-8000-000000000000', 'seed-' || a || '@example.com', $3, $4 \
             FROM generate_series($1::bigint, $2::bigint) AS a",
            "INSERT INTO sessions (id, user_id, device_name, platform, os_version, app_version, created_at, last_seen_at, last_ip, idle_expires_at, expires_at) \
             SELECT lpad(to_hex(a), 8, '0') || '-' || lpad(to_hex(d), 4, '0') || '-7000-8000-000000000000', \
                    lpad(to_hex(a), 8, '0') || '-0000-7000-8000-000000000000', \
                    'Seeded device ' || d, 'linux', 'Debian 12', '1.0.0', $4 - d * 60000, $4 - d * 60000, '192.0.2.1', $5, $5 \
             FROM generate_series($1::bigint, $2::bigint) AS a, generate_series(0, $3::bigint - 1) AS d",
        )
    };
    sqlx::query(accounts_sql)
        .bind(first)
        .bind(last)
        .bind(password_hash.to_owned())
        .bind(now)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(sessions_sql)
        .bind(first)
        .bind(last)
        .bind(per_account as i64)
        .bind(now)
        .bind(far)
        .execute(&pool)
        .await
        .unwrap();
    eprintln!("  seeded {} sessions", accounts * per_account);
    if !sqlite {
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    }
    pool.close().await;
}

/// Access tokens for ten seeded accounts (each with its seeded sessions).
async fn sign_in_seeded(server: &TestServer) -> Vec<String> {
    let mut access = Vec::new();
    for i in 0..10 {
        let t = server
            .sign_in(&format!("seed-{i}@example.com"), PASSWORD, "Bench")
            .await;
        access.push(t.access_token.into_inner());
    }
    access
}

fn row(name: &str, value: String, baseline: String, ratio: f64) {
    println!("| {name:<44} | {value:>14} | {baseline:>14} | {ratio:>7.2}x |");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = args();
    println!("| measure | value | baseline | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    // The password hash's cost, which dominates sign-in by design: against the
    // 50 ms the server aims for.
    let hasher = session_server::password::Hasher::new();
    let pw = proto::Password::new(PASSWORD);
    let _ = hasher.hash(&pw).await.unwrap();
    let t = Instant::now();
    for _ in 0..10 {
        let _ = hasher.hash(&pw).await.unwrap();
    }
    let ms = t.elapsed().as_secs_f64() * 100.0;
    row(
        "argon2id hash (sign-in cost), ms",
        format!("{ms:.1}"),
        "50.0 aim".into(),
        ms / 50.0,
    );
    for backend in a.backends.clone() {
        let label = match backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        };
        eprintln!("{label}: starting server");
        let server = TestServer::start_with(Options {
            extra_args: vec!["--signin-address-limit".into(), "100000".into()],
            durable: true,
            process: true,
            log: Some("info".into()),
            ..Options::backend(backend)
        })
        .await;

        eprintln!(
            "{label}: baseline (GET jwks), concurrency {}",
            a.concurrency
        );
        let mut base = jwks_baseline(&server, a.concurrency, a.seconds).await;
        eprintln!("{label}: refresh, concurrency {}", a.concurrency);
        let mut refresh = refresh_load(&server, a.concurrency, a.seconds).await;
        assert_eq!(refresh.errors, 0, "refreshes failed");
        row(
            &format!("{label}: refreshes/s (c={})", a.concurrency),
            format!("{:.0}", refresh.rate()),
            format!("{:.0} jwks/s", base.rate()),
            refresh.rate() / base.rate(),
        );
        row(
            &format!("{label}: refresh p99 ms"),
            format!("{:.2}", refresh.pct(0.99)),
            format!("{:.2}", base.pct(0.99)),
            refresh.pct(0.99) / base.pct(0.99),
        );
        row(
            &format!("{label}: refresh p50 ms"),
            format!("{:.2}", refresh.pct(0.50)),
            format!("{:.2}", base.pct(0.50)),
            refresh.pct(0.50) / base.pct(0.50),
        );
        drop(server);

        if a.skip_list {
            continue;
        }
        // The device list: 1,000 stored sessions, then a million.
        let mut server = TestServer::start_with(Options {
            durable: true,
            process: true,
            log: Some("info".into()),
            ..Options::backend(backend)
        })
        .await;
        let url = server.database_url().to_owned();
        server.stop().await;
        let hash = session_server::password::Hasher::new()
            .hash(&proto::Password::new(PASSWORD))
            .await
            .unwrap();
        let per = 10;
        let small = 1_000 / per;
        seed(&url, 0, small, per, &hash).await;
        server.start_again().await;
        let access = sign_in_seeded(&server).await;
        let _ = list_load(&server, &access, 200).await; // warm-up
        let mut at_small = list_load(&server, &access, 3_000).await;
        server.stop().await;
        let big_accounts = a.sessions / per - small;
        eprintln!("{label}: seeding {} more sessions", big_accounts * per);
        seed(&url, small, big_accounts, per, &hash).await;
        server.start_again().await;
        // Seeding outlasts an access token: sign the same accounts in again.
        let access = sign_in_seeded(&server).await;
        let _ = list_load(&server, &access, 200).await;
        let mut at_big = list_load(&server, &access, 3_000).await;
        row(
            &format!("{label}: list p99 ms, {} sessions", a.sessions),
            format!("{:.2}", at_big.pct(0.99)),
            format!("{:.2} @1k", at_small.pct(0.99)),
            at_big.pct(0.99) / at_small.pct(0.99),
        );
        row(
            &format!("{label}: list p50 ms, {} sessions", a.sessions),
            format!("{:.2}", at_big.pct(0.50)),
            format!("{:.2} @1k", at_small.pct(0.50)),
            at_big.pct(0.50) / at_small.pct(0.50),
        );
    }
}
