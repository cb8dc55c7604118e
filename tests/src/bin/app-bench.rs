//! `app-bench`: cold start of the desktop app to its device list painted, and the
//! total memory of the app's processes (the app and WebKit's web and network
//! processes), with 4 and with 50 devices, against a baseline measured in the same run:
//! the same app started signed out, to its sign-in form.
//!
//! ```sh
//! cargo build --workspace --bins && (cd ui && npm run build)
//! scripts/with-secret-service xvfb-run -a target/debug/app-bench [--runs 5]
//! ```
//!
//! A start is timed from the WebDriver request that launches the app (tauri-driver →
//! WebKitWebDriver → the app) until every expected row is in the DOM and laid out
//! (counted by a script in the page, polled every 10 ms).
//! Memory is read from /proc 1.5 s after that, once the page has settled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Parser;
use e2e::driver::{Driver, app_binary};
use testkit::TestServer;

#[derive(Parser, Debug)]
struct Args {
    /// Timed starts per case (after one untimed start that warms the file cache).
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

struct Sample {
    start: Duration,
    rss_kib: u64,
    pss_kib: u64,
    processes: usize,
}

/// One start of the app: until `ready` holds, then its memory.
async fn start_once(xdg: &Path, server: &str, devices: Option<usize>) -> anyhow::Result<Sample> {
    let (app, started) = Driver::launch(
        &app_binary(),
        &["--server".into(), server.into()],
        &[("XDG_CONFIG_HOME", xdg)],
    )
    .await?;
    match devices {
        // Painted: every row is in the DOM and laid out.
        Some(n) => app.wait_laid_out(&Driver::testid("device-row"), n).await?,
        None => {
            app.wait_laid_out(&Driver::testid("sign-in-submit"), 1)
                .await?
        }
    }
    let start = started.elapsed();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = app
        .app_pid()
        .ok_or_else(|| anyhow::anyhow!("the app's process was not found"))?;
    let mem = e2e::memory::tree(pid);
    if std::env::var_os("APP_BENCH_VERBOSE").is_some() {
        for (pid, name, rss) in &mem.processes {
            eprintln!(
                "  {pid} {name}: RSS {:.1} MB, PSS {:.1} MB",
                *rss as f64 / 1024.0,
                e2e::memory::pss_kib(*pid) as f64 / 1024.0
            );
        }
    }
    app.close().await?;
    Ok(Sample {
        start,
        rss_kib: mem.rss_kib,
        pss_kib: mem.pss_kib,
        processes: mem.processes.len(),
    })
}

struct Case {
    name: String,
    start_ms: f64,
    rss_mb: f64,
    pss_mb: f64,
    processes: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn measure(
    name: &str,
    xdg: &Path,
    server: &str,
    devices: Option<usize>,
    runs: usize,
) -> anyhow::Result<Case> {
    start_once(xdg, server, devices).await?; // warm-up
    let mut samples = Vec::new();
    for _ in 0..runs {
        samples.push(start_once(xdg, server, devices).await?);
    }
    let case = Case {
        name: name.into(),
        start_ms: median(
            samples
                .iter()
                .map(|s| s.start.as_secs_f64() * 1000.0)
                .collect(),
        ),
        rss_mb: median(samples.iter().map(|s| s.rss_kib as f64 / 1024.0).collect()),
        pss_mb: median(samples.iter().map(|s| s.pss_kib as f64 / 1024.0).collect()),
        processes: samples[0].processes,
    };
    eprintln!(
        "{name}: start {:.0} ms, RSS {:.1} MB, PSS {:.1} MB, {} processes",
        case.start_ms, case.rss_mb, case.pss_mb, case.processes
    );
    Ok(case)
}

/// A fresh server, an account with `n` devices of which this computer is one.
async fn account_with(n: usize, xdg: &Path) -> anyhow::Result<TestServer> {
    let server = TestServer::start().await;
    e2e::create_account(server.url(), e2e::DEMO_EMAIL, e2e::DEMO_PASSWORD).await?;
    let names: Vec<String> = (1..n).map(|i| format!("Device {i}")).collect();
    // The other devices' sessions stay live on the server after their clients go.
    e2e::sign_in_other_devices(server.url(), e2e::DEMO_EMAIL, e2e::DEMO_PASSWORD, &names).await?;
    e2e::sign_in_this_device(
        Some(xdg),
        server.url(),
        e2e::DEMO_EMAIL,
        e2e::DEMO_PASSWORD,
        Some("This computer"),
    )
    .await?;
    Ok(server)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    e2e::driver::check_environment()?;
    let started = Instant::now();

    let signed_out = tempfile::tempdir()?;
    let idle = TestServer::start().await;
    let baseline = measure(
        "baseline: signed out, sign-in form",
        signed_out.path(),
        idle.url(),
        None,
        args.runs,
    )
    .await?;

    let mut cases = Vec::new();
    for n in [4, 50] {
        let xdg = tempfile::tempdir()?;
        let server = account_with(n, xdg.path()).await?;
        cases.push(
            measure(
                &format!("{n} devices listed"),
                xdg.path(),
                server.url(),
                Some(n),
                args.runs,
            )
            .await?,
        );
    }

    println!(
        "| case | cold start to painted (median of {}) | vs baseline | total RSS | vs baseline | PSS | processes |",
        args.runs
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for c in std::iter::once(&baseline).chain(&cases) {
        println!(
            "| {} | {:.0} ms | {:.2}× | {:.1} MB | {:.2}× | {:.1} MB | {} |",
            c.name,
            c.start_ms,
            c.start_ms / baseline.start_ms,
            c.rss_mb,
            c.rss_mb / baseline.rss_mb,
            c.pss_mb,
            c.processes
        );
    }
    eprintln!("(took {:.0} s)", started.elapsed().as_secs_f64());
    let slow: Vec<&Case> = cases
        .iter()
        .filter(|c| c.start_ms > 1000.0 || c.rss_mb > 120.0)
        .collect();
    for c in &slow {
        eprintln!("over target (1 s, 120 MB): {}", c.name);
    }
    Ok(())
}
