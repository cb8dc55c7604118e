//! What both harnesses share: a WebDriver session on one of the app's pages — the
//! desktop app's WebKit window through tauri-driver ([`crate::Driver`]) or the account
//! page in Chromium ([`crate::browser::Browser`]) — and the ways the scenarios look at
//! it, by `data-testid`. Each harness derefs to its [`Page`].

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};

/// How long a page may take to show what a scenario waits for, on a loaded machine.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// The CSS selector of the element(s) with `data-testid="{id}"`.
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// One WebDriver session, on a page of the app.
pub struct Page {
    pub client: Client,
}

impl Page {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Waits until an element matching `css` is present and visible.
    pub async fn wait_visible(&self, css: &str) -> anyhow::Result<Element> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && el.is_displayed().await.unwrap_or(false)
            {
                return Ok(el);
            }
            if Instant::now() > deadline {
                bail!("{css} did not appear within {} s", TIMEOUT.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until `check` holds for the elements matching `css`.
    pub async fn wait_all(
        &self,
        css: &str,
        what: &str,
        check: impl Fn(&[Element]) -> bool,
    ) -> anyhow::Result<Vec<Element>> {
        let deadline = Instant::now() + TIMEOUT;
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
                    TIMEOUT.as_secs(),
                    found.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone(&self, css: &str) -> anyhow::Result<()> {
        self.wait_all(css, &format!("{css} gone"), <[Element]>::is_empty)
            .await
            .map(|_| ())
    }

    /// The text of the element matching `css`, once it is shown. Looked up again when
    /// the page replaced it between finding and reading (a stale element): lists that
    /// are rebuilt on every update do that.
    pub async fn wait_text(&self, css: &str) -> anyhow::Result<String> {
        let deadline = Instant::now() + TIMEOUT;
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
            .find_all(Locator::Css(&testid("device-row")))
            .await?
        {
            let row_name = row
                .find(Locator::Css(&testid("device-name")))
                .await?
                .text()
                .await?;
            if row_name == name {
                return Ok(row);
            }
        }
        bail!("no device named {name:?} is listed")
    }

    pub async fn click(&self, testid: &str) -> anyhow::Result<()> {
        self.wait_visible(&self::testid(testid))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// Replaces the text of an input.
    pub async fn type_into(&self, testid: &str, text: &str) -> anyhow::Result<()> {
        let el = self.wait_visible(&self::testid(testid)).await?;
        el.clear().await?;
        el.send_keys(text).await?;
        Ok(())
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
}

/// Whether a scenario can run here, given what `environment` found missing. Without
/// its environment a plain `cargo test` skips it, printing why and `how_to_run` it;
/// with `SESSION_E2E_REQUIRED=1` (scripts/test sets it) a missing piece is a failure
/// instead, so CI never passes by skipping.
pub(crate) fn environment_or_skip(
    scenario: &str,
    environment: anyhow::Result<()>,
    how_to_run: &str,
) -> bool {
    let Err(why) = environment else {
        return true;
    };
    if std::env::var("SESSION_E2E_REQUIRED").as_deref() == Ok("1") {
        panic!("{scenario}: {why:#}\nRun it as: {how_to_run}");
    }
    // Straight to stderr: the test harness would capture (and hide) eprintln! of a
    // test that passes.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "\nskipped {scenario}: {why:#}\n  run it as: {how_to_run}\n"
    );
    false
}

/// A free port on loopback, for a WebDriver server to listen on.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
