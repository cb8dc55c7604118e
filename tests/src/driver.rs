//! The real app in a real WebKit window, driven through `tauri-driver` (which starts
//! `WebKitWebDriver`, which starts the app). Needs a display (`xvfb-run -a`) and, for
//! the keychain, a Secret Service on the session bus (`scripts/with-secret-service`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long any wait in the UI may take before the scenario fails.
pub const UI_TIMEOUT: Duration = Duration::from_secs(20);

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

/// Whether a scenario can run here. Without its environment a plain `cargo test` skips
/// it, printing why and how to run it; with `SESSION_E2E_REQUIRED=1` (scripts/test sets
/// it) a missing piece is a failure instead, so CI never passes by skipping.
pub fn environment_or_skip(scenario: &str) -> bool {
    let Err(why) = check_environment() else {
        return true;
    };
    if std::env::var("SESSION_E2E_REQUIRED").as_deref() == Ok("1") {
        panic!("{scenario}: {why:#}\nRun it as: {HOW_TO_RUN}");
    }
    // Straight to stderr: the test harness would capture (and hide) eprintln! of a
    // test that passes.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "\nskipped {scenario}: {why:#}\n  run it as: {HOW_TO_RUN}\n"
    );
    false
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One running app under WebDriver.
pub struct Driver {
    pub client: Client,
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
            client,
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

    pub fn testid(id: &str) -> String {
        format!("[data-testid=\"{id}\"]")
    }

    /// Waits until an element matching `css` is present and visible.
    pub async fn wait_visible(&self, css: &str) -> anyhow::Result<Element> {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && el.is_displayed().await.unwrap_or(false)
            {
                return Ok(el);
            }
            if Instant::now() > deadline {
                bail!("{css} did not appear within {} s", UI_TIMEOUT.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The text of the element matching `css`, once it is shown. Looked up again when
    /// the page replaced it between finding and reading (a stale element): lists that
    /// are rebuilt on every update do that.
    pub async fn wait_text(&self, css: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            match self.wait_visible(css).await?.text().await {
                Ok(text) => return Ok(text),
                Err(e) if Instant::now() > deadline => return Err(e.into()),
                Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
            }
        }
    }

    /// Waits until `check` holds for the elements matching `css`.
    pub async fn wait_all(
        &self,
        css: &str,
        what: &str,
        check: impl Fn(&[Element]) -> bool,
    ) -> anyhow::Result<Vec<Element>> {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            let found = self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default();
            if check(&found) {
                return Ok(found);
            }
            if Instant::now() > deadline {
                bail!(
                    "{what}: not within {} s ({} of {css} present)",
                    UI_TIMEOUT.as_secs(),
                    found.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
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
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            if self.count_laid_out(css).await? == n {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{n} of {css} not laid out within {} s",
                    UI_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone(&self, css: &str) -> anyhow::Result<()> {
        self.wait_all(css, &format!("{css} gone"), <[Element]>::is_empty)
            .await
            .map(|_| ())
    }

    /// The names of the listed devices, top to bottom.
    pub async fn device_names(&self) -> anyhow::Result<Vec<String>> {
        let rows = self
            .client
            .find_all(Locator::Css(&Self::testid("device-row")))
            .await?;
        let mut names = Vec::new();
        for row in rows {
            names.push(
                row.find(Locator::Css(&Self::testid("device-name")))
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
            &Self::testid("device-row"),
            &format!("{n} devices listed"),
            |rows| rows.len() == n,
        )
        .await
    }

    /// The row of the device named `name`.
    pub async fn device_row(&self, name: &str) -> anyhow::Result<Element> {
        let rows = self
            .client
            .find_all(Locator::Css(&Self::testid("device-row")))
            .await?;
        for row in rows {
            if row
                .find(Locator::Css(&Self::testid("device-name")))
                .await?
                .text()
                .await?
                == name
            {
                return Ok(row);
            }
        }
        bail!("no device named {name:?} is listed")
    }

    pub async fn click(&self, testid: &str) -> anyhow::Result<()> {
        self.wait_visible(&Self::testid(testid))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// Replaces the text of an input.
    pub async fn type_into(&self, testid: &str, text: &str) -> anyhow::Result<()> {
        let el = self.wait_visible(&Self::testid(testid)).await?;
        el.clear().await?;
        el.send_keys(text).await?;
        Ok(())
    }

    /// A PNG of the window's page, as painted.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let png = self.client.screenshot().await?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
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

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}
