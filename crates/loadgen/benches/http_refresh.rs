//! Refresh over loopback HTTP against a release server: `--connections` keep-alive
//! connections (32), each following one device's rotation chain (every request spends
//! the refresh token the previous answer gave), for `--seconds` (10).
//!
//!   cargo bench -p session-loadgen --bench http_refresh -- [--backend sqlite|postgres]
//!       [--connections 32] [--seconds 10]
//!
//! Baseline, same run, same connections, same client: `GET /.well-known/jwks.json`
//! (routing and JSON, no database, no signing): the HTTP floor of the machine at that
//! moment. The client is hyper's bare connection (no pool), like wrk's, so it takes as
//! little of the two shared cores as it can; its own CPU is reported beside the
//! server's, so whether the server's writer or the cores are the bound can be read off.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use loadgen::h1::{Conn, addr_of};
use loadgen::procfs::CpuMeter;
use loadgen::stats::Latencies;
use loadgen::{Flags, PASSWORD};
use testkit::{Backend, Options, TestServer};

struct Run {
    lat: Latencies,
    elapsed: Duration,
    server_cores: f64,
    bench_cores: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.lat.count() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Every connection runs `step` in a loop for `seconds`, carrying its own state.
async fn drive<S, F, Fut>(
    conns: Vec<(Conn, S)>,
    seconds: u64,
    pid: u32,
    step: F,
) -> (Vec<(Conn, S)>, Run)
where
    S: Send + 'static,
    F: Fn(Conn, S) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = (Conn, S, Result<(), String>)> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let server_cpu = CpuMeter::start(vec![pid], false);
    let bench_cpu = CpuMeter::start(vec![std::process::id()], false);
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|(mut conn, mut state)| {
            let (stop, step) = (stop.clone(), step.clone());
            tokio::spawn(async move {
                let mut lat = Latencies::default();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let (c, s, r) = step(conn, state).await;
                    (conn, state) = (c, s);
                    match r {
                        Ok(()) => lat.record(t.elapsed()),
                        Err(e) => {
                            lat.error(e);
                            break;
                        }
                    }
                }
                (conn, state, lat)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let (server_cores, bench_cores) = (server_cpu.cores(), bench_cpu.cores());
    let mut all = Latencies::default();
    let mut back = Vec::new();
    for t in tasks {
        let (conn, state, lat) = t.await.unwrap();
        all.merge(lat);
        back.push((conn, state));
    }
    let elapsed = start.elapsed();
    (
        back,
        Run {
            lat: all,
            elapsed,
            server_cores,
            bench_cores,
        },
    )
}

fn row(name: &str, value: String, baseline: String, ratio: f64) {
    println!("| {name} | {value} | {baseline} | {ratio:.2}x |");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let flags = Flags::from_env();
    let backend = match flags.get("--backend", "sqlite".to_owned()).as_str() {
        "postgres" => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let connections: usize = flags.get("--connections", 32);
    let seconds: u64 = flags.get("--seconds", 10);
    let label = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    loadgen::note(format!("{label}: starting the release server"));
    let server = TestServer::start_with(Options {
        durable: true,
        process: true,
        log: Some("info".into()),
        ..Options::backend(backend)
            .arg("--signin-address-limit")
            .arg("100000")
    })
    .await;
    let pid = server.pid().unwrap();
    let email = format!("http-bench-{}@example.com", uuid::Uuid::now_v7().simple());
    server.create_account(&email, PASSWORD).await;
    let addr = addr_of(server.url());
    let mut conns = Vec::new();
    for i in 0..connections {
        let token = server
            .sign_in(&email, PASSWORD, &format!("HTTP bench device {i}"))
            .await
            .refresh_token
            .into_inner();
        conns.push((Conn::connect(addr).await.unwrap(), token));
    }
    let load = loadgen::load_average();

    loadgen::note(format!(
        "{label}: baseline, GET jwks on {connections} connections for {seconds} s"
    ));
    let (conns, mut floor) = drive(conns, seconds, pid, |mut conn, token| async move {
        let r = match conn.get("/.well-known/jwks.json").await {
            Ok((s, _)) if s == 200 => Ok(()),
            Ok((s, _)) => Err(format!("jwks answered {s}")),
            Err(e) => Err(e.0),
        };
        (conn, token, r)
    })
    .await;
    loadgen::note(format!(
        "{label}: refresh on {connections} connections for {seconds} s"
    ));
    let (_conns, mut refresh) = drive(conns, seconds, pid, |mut conn, token: String| async move {
        match conn.refresh(&token).await {
            Ok(next) => (conn, next, Ok(())),
            Err(e) => (conn, token, Err(e.0)),
        }
    })
    .await;
    assert_eq!(
        floor.lat.errors + refresh.lat.errors,
        0,
        "errors: jwks {:?}, refresh {:?}",
        floor.lat.first_error,
        refresh.lat.first_error
    );

    println!(
        "HTTP-level refresh, {label}, {connections} connections, {seconds} s each, load average {load} at the start"
    );
    println!("| measure | value | baseline (GET jwks, same connections) | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    row(
        &format!("{label}: refreshes/s (c={connections})"),
        format!("{:.0}", refresh.rate()),
        format!("{:.0} jwks/s", floor.rate()),
        refresh.rate() / floor.rate(),
    );
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        row(
            &format!("{label}: refresh {name}, ms"),
            format!("{:.2}", refresh.lat.pct(p)),
            format!("{:.2}", floor.lat.pct(p)),
            refresh.lat.pct(p) / floor.lat.pct(p),
        );
    }
    row(
        &format!("{label}: server CPU, cores"),
        format!("{:.2}", refresh.server_cores),
        format!("{:.2}", floor.server_cores),
        refresh.server_cores / floor.server_cores,
    );
    row(
        &format!("{label}: load generator CPU, cores"),
        format!("{:.2}", refresh.bench_cores),
        format!("{:.2}", floor.bench_cores),
        refresh.bench_cores / floor.bench_cores,
    );
}
