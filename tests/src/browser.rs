//! Headless Chromium (Debian's `chromium`), driven through `chromedriver` (Debian's
//! `chromium-driver`): the account page in a real browser, with a profile of its own
//! that goes with it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// How long any wait in the page may take before the scenario fails.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(20);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How to run the browser scenarios, as scripts/test does.
pub const HOW_TO_RUN: &str = "scripts/with-secret-service cargo test -p session-e2e --test account_page \
    (needs the apt packages chromium chromium-driver dbus-x11 gnome-keyring, and ui/node_modules: cd ui && npm ci)";

/// Refuses to start without what the scenarios need, saying what is missing.
pub fn check_environment() -> anyhow::Result<()> {
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        if !Path::new(path).is_file() {
            bail!("{path} not found: `apt-get install {package}` (scripts/test does)");
        }
    }
    if !testkit::keychain::private_secret_service() {
        bail!(
            "not inside `scripts/with-secret-service`: the desktop device's keychain must be a \
             private, throwaway one (scripts/test does)"
        );
    }
    if !axe_source_path().is_file() {
        bail!("{} not found: cd ui && npm ci", axe_source_path().display());
    }
    Ok(())
}

/// Whether a scenario can run here. Without its environment a plain `cargo test` skips
/// it, saying why and how to run it; with `SESSION_E2E_REQUIRED=1` (scripts/test) a
/// missing piece is a failure instead.
pub fn environment_or_skip(scenario: &str) -> bool {
    let Err(why) = check_environment() else {
        return true;
    };
    if std::env::var("SESSION_E2E_REQUIRED").as_deref() == Ok("1") {
        panic!("{scenario}: {why:#}\nRun it as: {HOW_TO_RUN}");
    }
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

/// A Chrome DevTools Protocol command, sent through chromedriver
/// (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"cmd": self.cmd, "params": self.params}).to_string()),
        )
    }
}

/// One headless Chromium under chromedriver.
pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a fresh Chromium, `width` × `height` CSS pixels.
    pub async fn start(width: u32, height: u32) -> anyhow::Result<Self> {
        check_environment()?;
        let profile = tempfile::tempdir()?;
        let port = free_port()?;
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting chromedriver")?;
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": CHROMIUM, "args": args}),
        );
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen: retry the new session.
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = loop {
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => {
                    bail!("no WebDriver session within 60 s: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        let browser = Self {
            client,
            driver,
            _profile: profile,
        };
        browser.resize(width, height).await?;
        Ok(browser)
    }

    /// A Chrome DevTools Protocol command's answer.
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        Ok(self
            .client
            .issue_cmd(Cdp {
                cmd: cmd.to_owned(),
                params,
            })
            .await?)
    }

    /// Makes the page's viewport exactly `width` × `height` CSS pixels (a phone's 360,
    /// a desktop's 1280).
    pub async fn resize(&self, width: u32, height: u32) -> anyhow::Result<()> {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        )
        .await?;
        Ok(())
    }

    /// From the next page load on, records every Content-Security-Policy violation of
    /// every page (read with [`Browser::csp_violations`]). Installed through DevTools, so
    /// no script of the page's own is needed.
    pub async fn watch_csp(&self) -> anyhow::Result<()> {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": "window.__cspViolations = [];
                document.addEventListener('securitypolicyviolation',
                    e => window.__cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`));"}),
        )
        .await?;
        Ok(())
    }

    /// What the CSP refused on the current page since it loaded.
    pub async fn csp_violations(&self) -> anyhow::Result<Vec<String>> {
        let found = self
            .client
            .execute("return window.__cspViolations || ['not watched']", vec![])
            .await?;
        Ok(serde_json::from_value(found)?)
    }

    pub fn testid(id: &str) -> String {
        format!("[data-testid=\"{id}\"]")
    }

    /// Waits until an element matching `css` is present and visible.
    pub async fn wait_visible(&self, css: &str) -> anyhow::Result<Element> {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && el.is_displayed().await.unwrap_or(false)
            {
                return Ok(el);
            }
            if Instant::now() > deadline {
                bail!("{css} did not appear within {} s", PAGE_TIMEOUT.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
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

    /// The names of the listed devices, top to bottom, once exactly `n` are listed.
    pub async fn wait_devices(&self, n: usize) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let names = self
                .client
                .execute(
                    "return Array.from(document.querySelectorAll('[data-testid=\"device-row\"] [data-testid=\"device-name\"]')).map(e => e.textContent)",
                    vec![],
                )
                .await?;
            let names: Vec<String> = serde_json::from_value(names)?;
            if names.len() == n {
                return Ok(names);
            }
            if Instant::now() > deadline {
                bail!(
                    "{n} devices not listed within {} s: {names:?}",
                    PAGE_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The text of the element matching `css`, once it is shown. Looked up again when
    /// the page replaced it between finding and reading (a stale element): lists that
    /// are rebuilt on every update do that.
    pub async fn wait_text(&self, css: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            match self.wait_visible(css).await?.text().await {
                Ok(text) => return Ok(text),
                Err(e) if Instant::now() > deadline => return Err(e.into()),
                Err(_) => tokio::time::sleep(Duration::from_millis(25)).await,
            }
        }
    }

    /// The row of the device named `name`.
    pub async fn device_row(&self, name: &str) -> anyhow::Result<Element> {
        for row in self
            .client
            .find_all(Locator::Css(&Self::testid("device-row")))
            .await?
        {
            let row_name = row
                .find(Locator::Css(&Self::testid("device-name")))
                .await?
                .text()
                .await?;
            if row_name == name {
                return Ok(row);
            }
        }
        bail!("no device named {name:?} is listed")
    }

    /// Runs axe-core (npm, from `ui/node_modules`) on the page as it is: its violations,
    /// each as `rule: what (how many elements)`.
    pub async fn axe_violations(&self) -> anyhow::Result<Vec<String>> {
        let axe = std::fs::read_to_string(axe_source_path()).context("reading axe-core")?;
        self.client.execute(&axe, vec![]).await?;
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                    .then(r => done(r.violations.map(v =>
                        `${v.id}: ${v.help} (${v.nodes.length}: ${v.nodes.map(n => n.target.join(' ')).join(', ')})`)))
                    .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await?;
        Ok(serde_json::from_value(found)?)
    }

    /// A PNG of the page as painted, into `path`.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let png = self.client.screenshot().await?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Ends the WebDriver session (Chromium quits) and chromedriver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let closed = self.client.clone().close().await;
        self.stop();
        closed.context("closing the WebDriver session")
    }

    fn stop(&mut self) {
        // Chromium outlives a killed chromedriver: whatever runs under it goes first.
        if let Some(pid) = self.driver.id() {
            for child in crate::memory::descendants(pid).into_iter().rev() {
                let _ = std::process::Command::new("kill")
                    .arg("-KILL")
                    .arg(child.to_string())
                    .status();
            }
        }
        let _ = self.driver.start_kill();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop();
    }
}

fn axe_source_path() -> PathBuf {
    testkit::repo_path("ui/node_modules/axe-core/axe.min.js")
}
