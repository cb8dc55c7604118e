//! Headless Chromium (Debian's `chromium`), driven through `chromedriver` (Debian's
//! `chromium-driver`): the account page in a real browser, with a profile of its own
//! that goes with it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::ClientBuilder;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};

use crate::page::{Page, TIMEOUT, free_port};

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

/// Whether the account page's scenario can run here: see [`crate::page`]'s rule.
pub fn environment_or_skip(scenario: &str) -> bool {
    crate::page::environment_or_skip(scenario, check_environment(), HOW_TO_RUN)
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
    page: Page,
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
            page: Page::new(client),
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

    /// The names of the listed devices, top to bottom, once exactly `n` are listed.
    pub async fn wait_devices(&self, n: usize) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + TIMEOUT;
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
                    TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
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

impl std::ops::Deref for Browser {
    type Target = Page;

    fn deref(&self) -> &Page {
        &self.page
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
