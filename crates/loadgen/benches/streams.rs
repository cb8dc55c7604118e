//! Many open event streams on one instance: the server's memory per stream, and how
//! fast a revocation reaches every stream of its account while they are all open.
//!
//!   cargo bench -p session-loadgen --bench streams -- [--streams 10000]
//!       [--accounts 3000] [--revocations 200]
//!
//! One release `session-server` in a process of its own on a durable PostgreSQL
//! cluster; `--streams` sessions over `--accounts` accounts seeded in SQL (3–4 devices
//! per account, as 100,000 devices over 30,000 accounts have); each session is
//! refreshed once for its access token and opens `GET /v1/events` on a connection of
//! its own over loopback. This process's file-descriptor limit is raised for them
//! (the `rlimit` crate; the system's stays as it is).
//!
//! - Memory: the server's RSS (from `/proc`) with every stream open, against the same
//!   instance a moment before any stream was opened (same sessions, same tokens
//!   issued): the difference over the number of streams.
//! - Revocation: a device of an account signs another of its devices out
//!   (`DELETE /v1/sessions/{id}`); the time from sending that request (and from its
//!   acknowledgement) until the last of the account's streams has received
//!   `session.revoked`. Baseline, same run: the same with only the revoking accounts'
//!   streams open, before the others are opened.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use hyper::Method;
use loadgen::h1::{Conn, addr_of};
use loadgen::procfs::rss_kib;
use loadgen::stats::Latencies;
use loadgen::{Flags, seed};
use testkit::{Backend, Options, TestServer};
use tokio::sync::Semaphore;

struct Streams {
    /// When each session's stream received `session.revoked`: nanoseconds after `base`
    /// (0: not yet).
    revoked_at: Vec<AtomicU64>,
    open: AtomicUsize,
    failed: AtomicUsize,
    base: Instant,
}

/// Opens session `i`'s stream and reads it until it ends; returns once it is open.
async fn open_stream(addr: std::net::SocketAddr, access: String, i: usize, streams: Arc<Streams>) {
    let mut conn = Conn::connect(addr).await.expect("connect a stream");
    let res = conn
        .open(Method::GET, "/v1/events", &access, None)
        .await
        .expect("open a stream");
    assert_eq!(res.status(), 200, "GET /v1/events");
    let mut body = res.into_body();
    // The server says ": connected session=…" first.
    let first = body.frame().await;
    assert!(
        matches!(first, Some(Ok(ref f)) if f.data_ref().is_some_and(|d| d.starts_with(b": connected"))),
        "the stream did not open with its greeting"
    );
    streams.open.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(async move {
        let _conn = conn;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { break };
            if let Some(data) = frame.data_ref()
                && data.windows(22).any(|w| w == b"event: session.revoked")
            {
                let at = u64::try_from(streams.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
                let _ = streams.revoked_at[i].compare_exchange(
                    0,
                    at,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
            }
        }
        streams.open.fetch_sub(1, Ordering::SeqCst);
    });
}

/// Opens the streams of `sessions`, `parallel` at a time.
async fn open_all(
    addr: std::net::SocketAddr,
    sessions: &[usize],
    access: &[String],
    streams: &Arc<Streams>,
) {
    let gate = Arc::new(Semaphore::new(200));
    let mut tasks = Vec::new();
    for &i in sessions {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let (access, streams) = (access[i].clone(), streams.clone());
        tasks.push(tokio::spawn(async move {
            open_stream(addr, access, i, streams).await;
            drop(permit);
        }));
    }
    for t in tasks {
        if t.await.is_err() {
            streams.failed.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Revokes one device of each account in `accounts` through another of its devices,
/// one after another; per revocation, the time until every stream of the account heard.
async fn revoke_each(
    addr: std::net::SocketAddr,
    accounts: std::ops::Range<usize>,
    n_accounts: usize,
    n_sessions: usize,
    access: &[String],
    streams: &Streams,
) -> (Latencies, Latencies) {
    let mut conn = Conn::connect(addr).await.unwrap();
    let (mut from_send, mut from_ack) = (Latencies::default(), Latencies::default());
    for a in accounts {
        let devices: Vec<usize> = (a..n_sessions).step_by(n_accounts).collect();
        let (caller, victim) = (devices[0], devices[1]);
        let sent = Instant::now();
        let (status, body) = conn
            .authed(
                Method::DELETE,
                &format!("/v1/sessions/{}", seed::session_id(victim as u64)),
                &access[caller],
                None,
            )
            .await
            .unwrap();
        let acked = Instant::now();
        if status != 204 {
            from_send.error(format!(
                "revoke answered {status}: {}",
                String::from_utf8_lossy(&body)
            ));
            continue;
        }
        let deadline = acked + Duration::from_secs(5);
        let last = loop {
            let heard: Vec<u64> = devices
                .iter()
                .map(|&d| streams.revoked_at[d].load(Ordering::SeqCst))
                .collect();
            if heard.iter().all(|&t| t > 0) {
                break Some(*heard.iter().max().unwrap());
            }
            if Instant::now() > deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        match last {
            Some(ns) => {
                let at = streams.base + Duration::from_nanos(ns);
                from_send.record(at.saturating_duration_since(sent));
                from_ack.record(at.saturating_duration_since(acked));
            }
            None => from_send.error(format!("account {a}: not every stream heard within 5 s")),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (from_send, from_ack)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let flags = Flags::from_env();
    let n: usize = flags.get("--streams", 10_000);
    let n_accounts: usize = flags.get("--accounts", 3_000);
    let revocations: usize = flags.get("--revocations", 200);
    assert!(
        2 * revocations <= n_accounts && n >= 2 * n_accounts,
        "need two revoking groups of accounts and two devices per account"
    );
    // Each stream is a socket here (and one in the server, whose own limit it raises).
    let limit = rlimit::increase_nofile_limit(u64::MAX).expect("raise the descriptor limit");
    assert!(
        limit >= n as u64 + 512,
        "this process may hold {limit} descriptors, too few for {n} streams"
    );

    loadgen::note("starting a release server on a durable PostgreSQL");
    let server = TestServer::start_with(Options {
        durable: true,
        process: true,
        log: Some("info".into()),
        ..Options::backend(Backend::Postgres)
    })
    .await;
    loadgen::note("server started");
    let pid = server.pid().unwrap();
    let addr = addr_of(server.url());
    loadgen::note(format!("seeding {n} sessions over {n_accounts} accounts"));
    seed::postgres(
        server.database_url(),
        n_accounts as u64,
        n as u64,
        &loadgen::password_hash().await,
    )
    .await;

    loadgen::note("refreshing every session once for its access token");
    let access: Vec<String> = {
        let next = Arc::new(AtomicUsize::new(0));
        let tokens = Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (next, tokens) = (next.clone(), tokens.clone());
            tasks.push(tokio::spawn(async move {
                let mut conn = Conn::connect(addr).await.unwrap();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let t = conn
                        .refresh_full(&seed::refresh_token(i as u64))
                        .await
                        .unwrap();
                    tokens.lock().unwrap()[i] = t.access_token.expose().to_owned();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        Arc::try_unwrap(tokens).unwrap().into_inner().unwrap()
    };
    let streams = Arc::new(Streams {
        revoked_at: (0..n).map(|_| AtomicU64::new(0)).collect(),
        open: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        base: Instant::now(),
    });

    // The allocator returns memory freed after a burst within its decay time (jemalloc:
    // 10 s), so both readings are taken once the burst before them has settled.
    let settle = Duration::from_secs(flags.get("--settle", 12));
    tokio::time::sleep(settle).await;
    let rss_before = rss_kib(pid);
    let load = loadgen::load_average();

    // Baseline: only the first group's streams open.
    let group_a: Vec<usize> = (0..n).filter(|i| i % n_accounts < revocations).collect();
    open_all(addr, &group_a, &access, &streams).await;
    loadgen::note(format!(
        "baseline: {} streams open; revoking one device of each of {revocations} accounts",
        streams.open.load(Ordering::SeqCst)
    ));
    let (mut base_send, mut base_ack) =
        revoke_each(addr, 0..revocations, n_accounts, n, &access, &streams).await;

    let rest: Vec<usize> = (0..n).filter(|i| i % n_accounts >= revocations).collect();
    loadgen::note(format!("opening the other {} streams", rest.len()));
    let t = Instant::now();
    open_all(addr, &rest, &access, &streams).await;
    let opened_in = t.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_at_once = rss_kib(pid);
    tokio::time::sleep(settle).await;
    let open_now = streams.open.load(Ordering::SeqCst);
    let rss_with = rss_kib(pid);
    loadgen::note(format!(
        "{open_now} streams open; revoking one device of each of {revocations} other accounts"
    ));
    let (mut send, mut ack) = revoke_each(
        addr,
        revocations..2 * revocations,
        n_accounts,
        n,
        &access,
        &streams,
    )
    .await;
    loadgen::note("revocations done");
    let open_after = streams.open.load(Ordering::SeqCst);
    let failed = streams.failed.load(Ordering::SeqCst);

    let per_stream = (rss_with.saturating_sub(rss_before) as f64 * 1024.0) / open_now as f64;
    println!(
        "Event streams on one instance (PostgreSQL, durable), load average {load} at the start; \
         {open_now} streams open (opened in {:.1} s), {failed} failed to open, {open_after} still open after the revocations",
        opened_in.as_secs_f64()
    );
    println!("| measure | value | baseline | ratio | target |");
    println!("| --- | ---: | ---: | ---: | --- |");
    println!(
        "| server RSS, {open_now} streams open | {:.1} MiB | {:.1} MiB with none | {:.2}x | |",
        rss_with as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        rss_with as f64 / rss_before as f64
    );
    println!(
        "| server memory per open stream ({} s after opening) | {:.1} KB | {:.1} KB 1 s after | | < 10 KB |",
        settle.as_secs(),
        per_stream / 1000.0,
        (rss_at_once.saturating_sub(rss_before) as f64 * 1024.0) / open_now as f64 / 1000.0
    );
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        println!(
            "| revocation → every stream of the account, {name} (from the request) | {:.2} ms | {:.2} ms with {} streams open | {:.2}x | {} |",
            send.pct(p),
            base_send.pct(p),
            group_a.len(),
            send.pct(p) / base_send.pct(p),
            if p > 0.9 { "p99 < 20 ms" } else { "" }
        );
        println!(
            "| revocation → every stream of the account, {name} (from its acknowledgement) | {:.2} ms | {:.2} ms | {:.2}x | |",
            ack.pct(p),
            base_ack.pct(p),
            ack.pct(p) / base_ack.pct(p),
        );
    }
    let errors = send.errors + base_send.errors;
    println!("| errors | {errors} | | | 0 |");
    if let Some(e) = send.first_error.or(base_send.first_error) {
        println!("first error: {e}");
    }
}
