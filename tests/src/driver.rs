//! The real app in a real WebKit window, driven through `tauri-driver` (which starts
//! `WebKitWebDriver`, which starts the app). Needs a display (`xvfb-run -a`) and, for
//! the keychain, a Secret Service on the session bus (`scripts/with-secret-service`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::elements::Element;
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::page::{Page, TIMEOUT, free_port, testid};

/// The app binary: `E2E_APP` when set (a release build, the installed package's),
/// otherwise the one built next to the running executable
/// (`target/<profile>/session-manager`).
pub fn app_binary() -> PathBuf {
    std::env::var_os("E2E_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| testkit::binary("session-manager"))
}

fn tauri_driver() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return Ok(PathBuf::from(p));
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("tauri-driver"))
                .collect()
        })
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(home) = cargo_home {
        candidates.push(home.join("bin/tauri-driver"));
    }
    candidates.into_iter().find(|p| p.is_file()).context(
        "tauri-driver not found: `cargo install tauri-driver --locked` (scripts/test does)",
    )
}

fn webkit_webdriver() -> anyhow::Result<PathBuf> {
    let p = PathBuf::from("/usr/bin/WebKitWebDriver");
    if p.is_file() {
        Ok(p)
    } else {
        bail!("WebKitWebDriver not found: `apt-get install webkit2gtk-driver` (scripts/test does)")
    }
}

/// Refuses to start without what the real thing needs, saying what is missing.
pub fn check_environment() -> anyhow::Result<()> {
    if std::env::var_os("DISPLAY").is_none() {
        bail!("no DISPLAY: run under `xvfb-run -a` (scripts/test does)");
    }
    if !testkit::keychain::private_secret_service() {
        bail!(
            "not inside `scripts/with-secret-service`: the app's keychain must be a private, \
             throwaway one (scripts/test does)"
        );
    }
    tauri_driver()?;
    webkit_webdriver()?;
    Ok(())
}

/// How to run the end-to-end scenarios, as scripts/test does.
pub const HOW_TO_RUN: &str = "scripts/with-secret-service xvfb-run -a cargo test -p session-e2e \
    (needs the apt packages xvfb xauth webkit2gtk-driver dbus-x11 gnome-keyring dunst, \
    `cargo install tauri-driver --locked`, and ui/dist built: cd ui && npm ci && npm run build)";

/// Whether the desktop scenario can run here: see [`crate::page`]'s rule.
pub fn environment_or_skip(scenario: &str) -> bool {
    crate::page::environment_or_skip(scenario, check_environment(), HOW_TO_RUN)
}

/// One running app under WebDriver.
pub struct Driver {
    page: Page,
    driver: Option<tokio::process::Child>,
    driver_pid: u32,
    app: PathBuf,
}

impl Driver {
    /// Starts the app (`app_args` after the binary) with `env` added to its environment
    /// (e.g. `XDG_CONFIG_HOME`), and connects to it. `started` is when the launch was
    /// asked for, for cold-start timing.
    pub async fn launch(
        app: &Path,
        app_args: &[String],
        env: &[(&str, &Path)],
    ) -> anyhow::Result<(Self, Instant)> {
        check_environment()?;
        let port = free_port()?;
        let native_port = free_port()?;
        let mut cmd = tokio::process::Command::new(tauri_driver()?);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .arg("--native-driver")
            .arg(webkit_webdriver()?)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("E2E_DRIVER_LOGS").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().context("starting tauri-driver")?;
        let driver_pid = child.id().context("tauri-driver pid")?;
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert(
            "tauri:options".into(),
            json!({"application": app, "args": app_args}),
        );
        let url = format!("http://127.0.0.1:{port}");
        // tauri-driver answers before WebKitWebDriver listens: retry the new session.
        let deadline = Instant::now() + Duration::from_secs(60);
        let (client, started) = loop {
            // The session that succeeds is the one that launched the app.
            let attempt = Instant::now();
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break (c, attempt),
                Err(e) if Instant::now() > deadline => {
                    bail!("no WebDriver session within 60 s: {e}")
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let driver = Self {
            page: Page::new(client),
            driver: Some(child),
            driver_pid,
            app: app.to_path_buf(),
        };
        Ok((driver, started))
    }

    /// The pid of the app process itself.
    pub fn app_pid(&self) -> Option<u32> {
        crate::memory::descendants(self.driver_pid)
            .into_iter()
            .find(|pid| crate::memory::exe(*pid).is_some_and(|e| e == self.app))
    }

    /// How many elements match `css` and are laid out (have a box), counted in the page
    /// in one round trip.
    pub async fn count_laid_out(&self, css: &str) -> anyhow::Result<usize> {
        let n = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll(arguments[0])).filter(e => e.getClientRects().length > 0).length",
                vec![json!(css)],
            )
            .await?;
        Ok(n.as_u64().unwrap_or(0) as usize)
    }

    /// Waits until `n` elements matching `css` are laid out.
    pub async fn wait_laid_out(&self, css: &str, n: usize) -> anyhow::Result<()> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if self.count_laid_out(css).await? == n {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{n} of {css} not laid out within {} s", TIMEOUT.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The names of the listed devices, top to bottom.
    pub async fn device_names(&self) -> anyhow::Result<Vec<String>> {
        let rows = self
            .client
            .find_all(Locator::Css(&testid("device-row")))
            .await?;
        let mut names = Vec::new();
        for row in rows {
            names.push(
                row.find(Locator::Css(&testid("device-name")))
                    .await?
                    .text()
                    .await?,
            );
        }
        Ok(names)
    }

    /// Waits until exactly `n` devices are listed.
    pub async fn wait_devices(&self, n: usize) -> anyhow::Result<Vec<Element>> {
        self.wait_all(
            &testid("device-row"),
            &format!("{n} devices listed"),
            |rows| rows.len() == n,
        )
        .await
    }

    /// Ends the WebDriver session (which quits the app) and tauri-driver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let closed = self.client.clone().close().await;
        self.stop();
        closed.context("closing the WebDriver session")
    }

    fn stop(&mut self) {
        // Whatever is still running under tauri-driver (the app, WebKit's processes,
        // WebKitWebDriver) goes with it.
        for pid in crate::memory::descendants(self.driver_pid)
            .into_iter()
            .rev()
        {
            let _ = std::process::Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
        if let Some(mut child) = self.driver.take() {
            let _ = child.start_kill();
        }
    }
}

impl std::ops::Deref for Driver {
    type Target = Page;

    fn deref(&self) -> &Page {
        &self.page
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}
