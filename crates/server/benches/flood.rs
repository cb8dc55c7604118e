//! A flood of sign-ins for unknown accounts, each from its own address (behind a proxy,
//! so per-address limits do not help), against a release `session-server` process:
//! its peak memory, its memory afterwards, and how long a signed-in device waits to
//! list its sessions meanwhile.
//!
//!   cargo bench -p session-server --bench flood -- [--parallel 200] [--seconds 10]
//!
//! Baselines from the same run: the server's idle memory before the flood, and the
//! device list's latency before the flood. Targets (issue 9, item 3): peak RSS under
//! 300 MB, memory back near idle afterwards, list p99 under 50 ms during the flood.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use testkit::{Options, TestServer};

const PASSWORD: &str = "correct horse battery staple";

fn arg(name: &str, default: u64) -> u64 {
    let mut it = std::env::args();
    while let Some(a) = it.next() {
        if a == name {
            return it.next().and_then(|v| v.parse().ok()).unwrap_or(default);
        }
    }
    default
}

/// Resident memory of a process, in MB (VmRSS).
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// The device lists its sessions every 20 ms until `stop`; latencies in ms.
async fn list_while(
    http: reqwest::Client,
    url: String,
    access: String,
    stop: Arc<AtomicBool>,
) -> Vec<f64> {
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let r = http.get(&url).bearer_auth(&access).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await;
        out.push(t.elapsed().as_secs_f64() * 1e3);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    out
}

#[tokio::main]
async fn main() {
    let parallel = arg("--parallel", 200) as usize;
    let seconds = arg("--seconds", 10);
    let server = TestServer::start_with(
        Options {
            log: Some("info".into()),
            ..Options::default().process()
        }
        .arg("--trust-forwarded-for"),
    )
    .await;
    let pid = server.pid().unwrap();
    let email = format!("flood-{}@example.com", uuid::Uuid::now_v7().simple());
    server.create_account(&email, PASSWORD).await;
    let me = server.sign_in(&email, PASSWORD, "Laptop").await;
    let http = reqwest::Client::new();
    let list_url = format!("{}/v1/sessions", server.url());
    let access = me.access_token.expose().to_owned();

    // Baselines: memory at rest, the list's latency at rest.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_mb(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let quiet = tokio::spawn(list_while(
        http.clone(),
        list_url.clone(),
        access.clone(),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let mut quiet = quiet.await.unwrap();

    // The flood: `parallel` sign-ins in flight at all times, each from a new address.
    let stop = Arc::new(AtomicBool::new(false));
    let (checked, busy, other) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let next_address = Arc::new(AtomicU64::new(0));
    let flooders: Vec<_> = (0..parallel)
        .map(|_| {
            let (http, url) = (http.clone(), format!("{}/v1/sessions", server.url()));
            let (stop, checked, busy, other, next) = (
                stop.clone(),
                checked.clone(),
                busy.clone(),
                other.clone(),
                next_address.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let address = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
                    let r = http
                        .post(&url)
                        .header("x-forwarded-for", address)
                        .json(&serde_json::json!({"email": format!("nobody{n}@example.com"), "password": "whatever1", "device": {"name": "x"}}))
                        .send()
                        .await;
                    match r.map(|r| r.status().as_u16()) {
                        Ok(401) => checked.fetch_add(1, Ordering::Relaxed),
                        Ok(503) => {
                            // A real client honours Retry-After; the attacker does not.
                            busy.fetch_add(1, Ordering::Relaxed)
                        }
                        _ => other.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    let lister = tokio::spawn(list_while(
        http.clone(),
        list_url.clone(),
        access.clone(),
        stop.clone(),
    ));
    let mut peak = idle;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        peak = peak.max(rss_mb(pid));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        f.await.unwrap();
    }
    let mut during = lister.await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = rss_mb(pid);

    println!(
        "\nPassword-hash flood: {parallel} parallel sign-ins for unknown emails, each from its own address, {seconds} s, release server on SQLite"
    );
    println!("| measure | during the flood | baseline (same run) | ratio |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| server RSS | peak {peak:.0} MB | idle {idle:.0} MB | {:.2}× |",
        peak / idle
    );
    println!(
        "| server RSS 5 s after | {after:.0} MB | idle {idle:.0} MB | {:.2}× |",
        after / idle
    );
    let (dp50, dp99, qp50, qp99) = (
        pct(&mut during, 0.5),
        pct(&mut during, 0.99),
        pct(&mut quiet, 0.5),
        pct(&mut quiet, 0.99),
    );
    println!(
        "| GET /v1/sessions p50 / p99 ({} requests) | {dp50:.1} / {dp99:.1} ms | {qp50:.1} / {qp99:.1} ms at rest | {:.2}× (p99) |",
        during.len(),
        dp99 / qp99
    );
    println!(
        "| sign-ins answered | {} checked (401), {} refused busy (503), {} other | | |",
        checked.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed)
    );
    let ok = peak < 300.0 && dp99 < 50.0;
    println!(
        "\ntargets: peak RSS < 300 MB: {}; list p99 < 50 ms: {}",
        if peak < 300.0 { "met" } else { "MISSED" },
        if dp99 < 50.0 { "met" } else { "MISSED" }
    );
    if !ok {
        std::process::exit(1);
    }
}
