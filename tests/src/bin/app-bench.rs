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
//! Each start is measured two ways, in separate starts:
//! - as a person starts it: the app binary spawned directly and timed until it logs that
//!   the web view painted its first screen (`session_manager::startup`: the page calls
//!   `first_paint` two animation frames after the rows are in the DOM). Memory is read
//!   from /proc 1.5 s after that, once the page has settled;
//! - through WebDriver, as a cross-check that does not rely on the app's own report:
//!   timed from the request that launches the app (tauri-driver → WebKitWebDriver → the
//!   app) until every expected row is in the DOM and laid out (counted by a script in the
//!   page, polled every 10 ms). This includes WebKitWebDriver's automation set-up.
//!
//! Then, with a window manager and a tray on the display, the app with 4 devices is
//! started, measured with its window open, its window closed (as by its close button)
//! and measured again once WebKit's processes are gone, and reopened by starting it
//! again: timed from that second start until the running app logs that its new window
//! painted (`session_manager::reopen`). `APP_BENCH_SMAPS=FILE` copies the hidden app's
//! `/proc/PID/smaps` there (the last run's), to see where its memory is.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use clap::Parser;
use e2e::desktop::{self, Tray, WINDOW_TITLE, WindowManager};
use e2e::driver::{Driver, app_binary};
use e2e::page::testid;
use testkit::{Options, TestServer};

#[derive(Parser, Debug)]
struct Args {
    /// Timed starts per case (after one untimed start that warms the file cache).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only the window closed to the tray and reopened (skips the cold starts).
    #[arg(long)]
    tray_only: bool,
}

struct Sample {
    start: Duration,
    rss_kib: u64,
    pss_kib: u64,
    processes: usize,
}

/// One start as a person starts it: spawned directly, timed until the app logs that
/// its first screen is painted; then the memory of its processes.
async fn start_direct(xdg: &Path, server: &str, devices: Option<usize>) -> anyhow::Result<Sample> {
    let launched = Instant::now();
    let mut child = tokio::process::Command::new(app_binary())
        .args(["--server", server])
        .env("XDG_CONFIG_HOME", xdg)
        // APP_BENCH_RUST_LOG shows more of the app's log (with APP_BENCH_VERBOSE, timed).
        .env(
            "RUST_LOG",
            std::env::var("APP_BENCH_RUST_LOG")
                .unwrap_or_else(|_| "warn,session_manager::startup=info".into()),
        )
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the app")?;
    let pid = child.id().context("the app's pid")?;
    let mut lines = BufReader::new(child.stderr.take().context("the app's stderr")?).lines();
    let (want_screen, want_rows) = match devices {
        Some(n) => ("devices", n),
        None => ("sign-in", 0),
    };
    let painted = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            let line = desktop::strip_ansi(&line);
            if std::env::var_os("APP_BENCH_VERBOSE").is_some() {
                eprintln!("  {:>5} ms | {line}", launched.elapsed().as_millis());
            }
            if !line.contains("first screen painted") {
                continue;
            }
            let screen = desktop::log_field(&line, "screen").unwrap_or_default();
            let rows: usize = desktop::log_field(&line, "rows")
                .and_then(|r| r.parse().ok())
                .unwrap_or(0);
            anyhow::ensure!(
                screen == want_screen && rows == want_rows,
                "the app painted {screen} with {rows} rows, expected {want_screen} with {want_rows}"
            );
            return Ok(launched.elapsed());
        }
        anyhow::bail!("the app exited before painting its first screen")
    })
    .await
    .context("no first paint within 30 s")??;
    // Keep reading, so the app never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mem = e2e::memory::tree(pid);
    verbose(&mem);
    let pids: Vec<u32> = mem.processes.iter().map(|(p, _, _)| *p).collect();
    child.kill().await?;
    // WebKit's helpers leave when the app does; wait, so they do not weigh on the next start.
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids
        .iter()
        .any(|p| Path::new(&format!("/proc/{p}")).exists())
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Sample {
        start: painted,
        rss_kib: mem.rss_kib,
        pss_kib: mem.pss_kib,
        processes: mem.processes.len(),
    })
}

fn verbose(mem: &e2e::memory::TreeMemory) {
    if std::env::var_os("APP_BENCH_VERBOSE").is_some() {
        for (pid, name, rss) in &mem.processes {
            eprintln!(
                "  {pid} {name}: RSS {:.1} MB, PSS {:.1} MB",
                *rss as f64 / 1024.0,
                e2e::memory::pss_kib(*pid) as f64 / 1024.0
            );
        }
    }
}

/// One start through WebDriver: until every expected row is laid out.
async fn start_webdriver(
    xdg: &Path,
    server: &str,
    devices: Option<usize>,
) -> anyhow::Result<Duration> {
    let (app, started) = Driver::launch(
        &app_binary(),
        &["--server".into(), server.into()],
        &[("XDG_CONFIG_HOME", xdg)],
    )
    .await?;
    match devices {
        // Painted: every row is in the DOM and laid out.
        Some(n) => app.wait_laid_out(&testid("device-row"), n).await?,
        None => app.wait_laid_out(&testid("sign-in-submit"), 1).await?,
    }
    let start = started.elapsed();
    app.close().await?;
    Ok(start)
}

struct Case {
    name: String,
    start_ms: f64,
    webdriver_ms: f64,
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
    // One untimed start of each kind warms the file cache.
    start_direct(xdg, server, devices).await?;
    start_webdriver(xdg, server, devices).await?;
    let mut samples = Vec::new();
    let mut webdriver = Vec::new();
    for _ in 0..runs {
        samples.push(start_direct(xdg, server, devices).await?);
        webdriver.push(start_webdriver(xdg, server, devices).await?.as_secs_f64() * 1000.0);
    }
    let case = Case {
        name: name.into(),
        start_ms: median(
            samples
                .iter()
                .map(|s| s.start.as_secs_f64() * 1000.0)
                .collect(),
        ),
        webdriver_ms: median(webdriver),
        rss_mb: median(samples.iter().map(|s| s.rss_kib as f64 / 1024.0).collect()),
        pss_mb: median(samples.iter().map(|s| s.pss_kib as f64 / 1024.0).collect()),
        processes: samples[0].processes,
    };
    eprintln!(
        "{name}: start {:.0} ms (through WebDriver {:.0} ms), RSS {:.1} MB, PSS {:.1} MB, {} processes",
        case.start_ms, case.webdriver_ms, case.rss_mb, case.pss_mb, case.processes
    );
    Ok(case)
}

/// A session server as deployed, in a process of its own (not sharing this one's).
async fn server() -> TestServer {
    TestServer::start_with(Options::default().process()).await
}

/// The app with its window open, then closed to the tray, then reopened.
struct TraySample {
    open: e2e::memory::TreeMemory,
    hidden: e2e::memory::TreeMemory,
    /// From the second start until the running app logs its new window painted.
    reopen: Duration,
    /// The same, as the app measures it (from its decision to open a window).
    reopen_app_ms: f64,
}

async fn close_and_reopen(
    wm: &WindowManager,
    xdg: &Path,
    server: &str,
    devices: usize,
) -> anyhow::Result<TraySample> {
    let mut app = desktop::App::start(&app_binary(), &["--server", server], xdg)?;
    let painted = app
        .wait_logged("first screen painted", 0, Duration::from_secs(30))
        .await?;
    anyhow::ensure!(
        desktop::log_field(&painted, "rows") == Some(&devices.to_string()),
        "painted {painted}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let open = e2e::memory::tree(app.pid);
    verbose(&open);

    wm.close(WINDOW_TITLE).await?;
    app.wait_logged("still watching, in the tray", 0, Duration::from_secs(10))
        .await?;
    desktop::wait_until("WebKit's processes to end", Duration::from_secs(20), || {
        app.webkit_processes().is_empty()
    })
    .await?;
    anyhow::ensure!(app.running(), "the app quit with its window");
    // As long again as the open window was given to settle.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hidden = e2e::memory::tree(app.pid);
    verbose(&hidden);
    if let Some(to) = std::env::var_os("APP_BENCH_SMAPS") {
        let _ = std::fs::copy(format!("/proc/{}/smaps", app.pid), to);
    }

    let before = app.log_len();
    let asked = Instant::now();
    let second = tokio::process::Command::new(app_binary())
        .env("XDG_CONFIG_HOME", xdg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let line = app
        .wait_logged("window reopened", before, Duration::from_secs(30))
        .await?;
    let reopen = asked.elapsed();
    anyhow::ensure!(second.await?.success(), "the second start failed");
    let reopen_app_ms = desktop::log_field(&line, "ms")
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(f64::NAN);
    app.stop().await;
    // Its helpers leave with it; let them, so that they do not weigh on the next run.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(TraySample {
        open,
        hidden,
        reopen,
        reopen_app_ms,
    })
}

async fn measure_tray(runs: usize) -> anyhow::Result<()> {
    let wm = WindowManager::start().await?;
    let tray = Tray::start().await?;
    let xdg = tempfile::tempdir()?;
    let server = account_with(4, xdg.path()).await?;
    close_and_reopen(&wm, xdg.path(), server.url(), 4).await?; // warm-up
    let mut samples = Vec::new();
    for _ in 0..runs {
        samples.push(close_and_reopen(&wm, xdg.path(), server.url(), 4).await?);
    }
    tray.stop().await;
    let mb = |kib: u64| kib as f64 / 1024.0;
    let open_rss = median(samples.iter().map(|s| mb(s.open.rss_kib)).collect());
    let open_pss = median(samples.iter().map(|s| mb(s.open.pss_kib)).collect());
    let hidden_rss = median(samples.iter().map(|s| mb(s.hidden.rss_kib)).collect());
    let hidden_pss = median(samples.iter().map(|s| mb(s.hidden.pss_kib)).collect());
    let reopen = median(
        samples
            .iter()
            .map(|s| s.reopen.as_secs_f64() * 1000.0)
            .collect(),
    );
    let reopen_app = median(samples.iter().map(|s| s.reopen_app_ms).collect());
    println!();
    println!(
        "| 4 devices (median of {runs}) | total RSS | vs window open | total PSS | vs window open | processes |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| window open | {open_rss:.1} MB | 1.00× | {open_pss:.1} MB | 1.00× | {} |",
        samples[0].open.processes.len()
    );
    println!(
        "| window closed, watching from the tray | {hidden_rss:.1} MB | {:.2}× | {hidden_pss:.1} MB | {:.2}× | {} |",
        hidden_rss / open_rss,
        hidden_pss / open_pss,
        samples[0].hidden.processes.len()
    );
    println!();
    println!(
        "reopen (starting the app again → its new window painted): {reopen:.0} ms; as the app times it (from opening the window): {reopen_app:.0} ms"
    );
    if hidden_rss > 60.0 {
        eprintln!("over target (60 MB RSS hidden): {hidden_rss:.1} MB");
    }
    Ok(())
}

/// A fresh server, an account with `n` devices of which this computer is one.
async fn account_with(n: usize, xdg: &Path) -> anyhow::Result<TestServer> {
    let server = server().await;
    demo::create_account(server.url(), demo::DEMO_EMAIL, demo::DEMO_PASSWORD).await?;
    let names: Vec<String> = (1..n).map(|i| format!("Device {i}")).collect();
    // The other devices' sessions stay live on the server after their clients go.
    demo::sign_in_other_devices(server.url(), demo::DEMO_EMAIL, demo::DEMO_PASSWORD, &names)
        .await?;
    demo::sign_in_this_device(
        Some(xdg),
        server.url(),
        demo::DEMO_EMAIL,
        demo::DEMO_PASSWORD,
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
    if args.tray_only {
        measure_tray(args.runs).await?;
        eprintln!("(took {:.0} s)", started.elapsed().as_secs_f64());
        return Ok(());
    }

    let signed_out = tempfile::tempdir()?;
    let idle = server().await;
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
        "| case | cold start to painted (median of {}) | vs baseline | through WebDriver | vs baseline | total RSS | vs baseline | PSS | processes |",
        args.runs
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for c in std::iter::once(&baseline).chain(&cases) {
        println!(
            "| {} | {:.0} ms | {:.2}× | {:.0} ms | {:.2}× | {:.1} MB | {:.2}× | {:.1} MB | {} |",
            c.name,
            c.start_ms,
            c.start_ms / baseline.start_ms,
            c.webdriver_ms,
            c.webdriver_ms / baseline.webdriver_ms,
            c.rss_mb,
            c.rss_mb / baseline.rss_mb,
            c.pss_mb,
            c.processes
        );
    }
    measure_tray(args.runs).await?;
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
