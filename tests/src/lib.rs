//! Support for the end-to-end scenarios, the demo and the app benchmark.
//!
//! - [`OtherDevice`]: another machine of the same person, signed in through the client
//!   library with a keychain of its own (another machine's keychain is not this one's:
//!   it lives in memory here, so it can never collide with this device's entry in the
//!   real Secret Service).
//! - [`Driver`]: the real app binary in a real WebKit window, driven through
//!   `tauri-driver` and `WebKitWebDriver`.
//! - [`memory`]: the resident memory of the app and every process it spawned.
//! - [`desktop`]: a window manager and a system tray on the display, and the app
//!   started as from a launcher, its log read as it runs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: failing loudly is the point

pub mod desktop;
pub mod driver;
pub mod memory;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use client::{EntryName, KeychainError, Options, Session, SessionManager, TokenStore};
use proto::{Password, RefreshToken};

pub use driver::Driver;

/// The demo account (scripts/run).
pub const DEMO_EMAIL: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "correct horse battery staple";
/// The demo's other devices, oldest sign-in first.
pub const DEMO_DEVICES: [&str; 3] = ["Old tablet", "Phone", "Work laptop"];

/// The keychain of another machine, in this process's memory.
#[derive(Default)]
pub struct OtherMachineKeychain {
    entries: Mutex<HashMap<String, RefreshToken>>,
}

impl TokenStore for OtherMachineKeychain {
    fn backend(&self) -> &str {
        "another machine's keychain"
    }

    fn read(&self, entry: &EntryName) -> Result<Option<RefreshToken>, KeychainError> {
        Ok(self.entries.lock().unwrap().get(&entry.user()).cloned())
    }

    fn write(&self, entry: &EntryName, token: &RefreshToken) -> Result<(), KeychainError> {
        self.entries
            .lock()
            .unwrap()
            .insert(entry.user(), token.clone());
        Ok(())
    }

    fn delete(&self, entry: &EntryName) -> Result<(), KeychainError> {
        self.entries.lock().unwrap().remove(&entry.user());
        Ok(())
    }
}

/// Another device of the account, signed in through the client library.
pub struct OtherDevice {
    pub manager: SessionManager,
    pub session: Session,
    _config: tempfile::TempDir,
}

impl OtherDevice {
    pub async fn sign_in(
        server: &str,
        email: &str,
        password: &str,
        name: &str,
    ) -> anyhow::Result<Self> {
        let (manager, config) = other_machine(name)?;
        let session = manager
            .sign_in(server, email, &Password::new(password), Some(name))
            .await
            .with_context(|| format!("signing in \"{name}\""))?;
        Ok(Self {
            manager,
            session,
            _config: config,
        })
    }

    pub fn session_id(&self) -> proto::SessionId {
        self.session.session_id()
    }
}

/// What the demo's other devices say they are, so the list looks like a real account.
fn demo_platform(device_name: &str) -> (Option<String>, Option<String>) {
    let (platform, os) = match device_name {
        "Work laptop" => ("macos", "macOS 15.1"),
        "Phone" => ("ios", "iOS 18.1"),
        "Old tablet" => ("android", "Android 11"),
        _ => return (None, None),
    };
    (Some(platform.to_owned()), Some(os.to_owned()))
}

/// A client of a machine of its own: a fresh config directory and keychain.
fn other_machine(device_name: &str) -> anyhow::Result<(SessionManager, tempfile::TempDir)> {
    let config = tempfile::tempdir()?;
    let (platform, os_version) = demo_platform(device_name);
    let manager = SessionManager::new(Options {
        config_dir: Some(config.path().to_path_buf()),
        keychain: Some(client::Keychain::with_store(Arc::new(
            OtherMachineKeychain::default(),
        ))),
        app_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        platform,
        os_version,
    })?;
    Ok((manager, config))
}

/// Creates an account through the client library (servers with open sign-up).
pub async fn create_account(server: &str, email: &str, password: &str) -> anyhow::Result<()> {
    let (manager, _config) = other_machine("")?;
    manager
        .create_account(server, email, &Password::new(password))
        .await
        .context("creating the account")?;
    Ok(())
}

/// Signs `names` in as other devices of the account, in order.
pub async fn sign_in_other_devices(
    server: &str,
    email: &str,
    password: &str,
    names: &[String],
) -> anyhow::Result<Vec<OtherDevice>> {
    let mut devices = Vec::with_capacity(names.len());
    for name in names {
        devices.push(OtherDevice::sign_in(server, email, password, name).await?);
    }
    Ok(devices)
}

/// Signs this computer in the way the app itself would: the OS keychain and the app's
/// config directory (the user's, `XDG_CONFIG_HOME`, unless `config_dir` is given), so
/// that the app starts signed in.
pub async fn sign_in_this_device(
    config_dir: Option<&std::path::Path>,
    server: &str,
    email: &str,
    password: &str,
    name: Option<&str>,
) -> anyhow::Result<Session> {
    let manager = SessionManager::new(Options {
        config_dir: config_dir.map(|d| d.join("session-manager")),
        ..Options::default()
    })?;
    let session = manager
        .sign_in(server, email, &Password::new(password), name)
        .await
        .context("signing this device in (OS keychain)")?;
    Ok(session)
}
