//! A desktop around the app, on the Xvfb display: a window manager (so that a window
//! can be closed the way a person closes it, by asking the window manager), a system
//! tray, and the app started the way a person starts it, its log read as it runs.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The title of the app's window (tauri.conf.json).
pub const WINDOW_TITLE: &str = "Session Manager";

/// Only one app per desktop session (it is single-instance), and one window manager
/// per display: the scenarios that start either take this first.
pub static DESKTOP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn spawn_quiet(program: &str, args: &[&str], package: &str) -> anyhow::Result<Child> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {program} (apt package {package})"))
}

/// Waits until `check` holds, polling.
pub async fn wait_until(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while !check() {
        if Instant::now() > deadline {
            bail!("{what}: not within {} s", timeout.as_secs_f32());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(())
}

/// Whether `name` has an owner on the session bus.
fn bus_name_owned(name: &str) -> bool {
    std::process::Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            &format!("string:{name}"),
        ])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
}

/// Openbox on the display: windows get the close button a person would press.
pub struct WindowManager {
    /// Runs as long as this value lives (killed on drop).
    _openbox: Child,
}

impl WindowManager {
    pub async fn start() -> anyhow::Result<Self> {
        let wm = spawn_quiet("openbox", &[], "openbox")?;
        // Up once it answers for the desktop (EWMH), which wmctrl asks about.
        wait_until("the window manager", Duration::from_secs(10), || {
            std::process::Command::new("wmctrl")
                .arg("-m")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .await?;
        Ok(Self { _openbox: wm })
    }

    /// Whether a window titled `title` is on the display.
    pub fn has_window(title: &str) -> bool {
        std::process::Command::new("wmctrl")
            .arg("-l")
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.ends_with(title))
            })
    }

    /// Closes the window titled `title` as its close button does (the window manager
    /// asks the app to close it).
    pub async fn close(&self, title: &str) -> anyhow::Result<()> {
        wait_until("the window to close", Duration::from_secs(20), || {
            Self::has_window(title)
        })
        .await?;
        let status = Command::new("wmctrl")
            .args(["-c", title])
            .status()
            .await
            .context("wmctrl (apt package wmctrl)")?;
        anyhow::ensure!(status.success(), "wmctrl -c {title:?} failed");
        Ok(())
    }
}

/// A system tray on the display: a StatusNotifierItem host with its watcher, as a
/// desktop's panel has (gtk-sni-tray, a bar at the top of the screen).
pub struct Tray(Child);

impl Tray {
    pub const WATCHER: &str = "org.kde.StatusNotifierWatcher";

    pub async fn start() -> anyhow::Result<Self> {
        let tray = spawn_quiet(
            "gtk-sni-tray-standalone",
            &["--watcher", "--top"],
            "haskell-gtk-sni-tray-utils",
        )?;
        wait_until("the tray's watcher", Duration::from_secs(10), || {
            bus_name_owned(Self::WATCHER)
        })
        .await?;
        Ok(Self(tray))
    }

    /// How many icons are registered with the tray's watcher.
    pub fn icons() -> usize {
        let reply = std::process::Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                &format!("--dest={}", Self::WATCHER),
                "/StatusNotifierWatcher",
                "org.freedesktop.DBus.Properties.Get",
                "string:org.kde.StatusNotifierWatcher",
                "string:RegisteredStatusNotifierItems",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        // `variant array [ string ":1.10" … ]`: one string per icon.
        reply
            .lines()
            .filter(|l| l.trim_start().starts_with("string \""))
            .count()
    }

    pub async fn stop(mut self) {
        let _ = self.0.kill().await;
    }
}

/// A notification server on the session bus (dunst), as a desktop has one: it shows
/// the app's notifications, and [`Notifications::click`] does what a click on the
/// newest one does (its `default` action, reported to the app as `ActionInvoked`).
pub struct Notifications(Child);

impl Notifications {
    pub const NAME: &str = "org.freedesktop.Notifications";

    pub async fn start() -> anyhow::Result<Self> {
        let server = spawn_quiet("dunst", &[], "dunst")?;
        wait_until("the notification server", Duration::from_secs(10), || {
            bus_name_owned(Self::NAME)
        })
        .await?;
        Ok(Self(server))
    }

    /// How many notifications are on screen.
    pub fn displayed() -> usize {
        std::process::Command::new("dunstctl")
            .args(["count", "displayed"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(0)
    }

    /// Clicks the newest notification on screen.
    pub fn click(&self) -> anyhow::Result<()> {
        let status = std::process::Command::new("dunstctl")
            .args(["action", "0"])
            .status()
            .context("dunstctl (apt package dunst)")?;
        anyhow::ensure!(status.success(), "dunstctl action: {status}");
        Ok(())
    }

    pub async fn stop(mut self) {
        let _ = self.0.kill().await;
    }
}

/// The app binary started directly, as from a desktop's launcher, with its log
/// collected line by line.
pub struct App {
    pub child: Child,
    pub pid: u32,
    log: Arc<Mutex<Vec<String>>>,
}

impl App {
    /// Starts `binary` with `args`, `XDG_CONFIG_HOME=xdg` and the app's log at `info`.
    pub fn start(binary: &Path, args: &[&str], xdg: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            .args(args)
            .env("XDG_CONFIG_HOME", xdg)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the app")?;
        let pid = child.id().context("the app's pid")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut lines = BufReader::new(child.stderr.take().context("the app's stderr")?).lines();
        let sink = log.clone();
        let echo = std::env::var_os("E2E_APP_LOGS").is_some();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let line = strip_ansi(&line);
                if echo {
                    eprintln!("  app | {line}");
                }
                sink.lock().unwrap().push(line);
            }
        });
        Ok(Self { child, pid, log })
    }

    /// The first log line after `after` lines that contains `text`.
    pub fn logged(&self, text: &str, after: usize) -> Option<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .skip(after)
            .find(|l| l.contains(text))
            .cloned()
    }

    /// How many lines the app has logged so far.
    pub fn log_len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// Waits for a log line containing `text` (after the first `after` lines).
    pub async fn wait_logged(
        &self,
        text: &str,
        after: usize,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.logged(text, after) {
                return Ok(line);
            }
            if Instant::now() > deadline {
                bail!(
                    "the app did not log {text:?} within {} s; its log:\n{}",
                    timeout.as_secs_f32(),
                    self.log.lock().unwrap().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Whether the app process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// WebKit's processes below the app (its web and network processes).
    pub fn webkit_processes(&self) -> Vec<String> {
        crate::memory::descendants(self.pid)
            .into_iter()
            .map(crate::memory::name)
            .filter(|n| n.starts_with("WebKit"))
            .collect()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A log line without terminal colour codes, so that its fields can be read.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of `name=` in a log line (`screen="devices"` → `devices`).
pub fn log_field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    Some(line[start..].split_whitespace().next()?.trim_matches('"'))
}
