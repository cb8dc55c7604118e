//! Support for the end-to-end scenarios and the app benchmark (the demo's other devices
//! come from `session-demo`).
//!
//! - [`browser`]: headless Chromium through chromedriver, for the account page.
//! - [`Driver`]: the real app binary in a real WebKit window, driven through
//!   `tauri-driver` and `WebKitWebDriver`.
//! - [`page`]: what both share: the page under WebDriver, looked at by `data-testid`.
//! - [`memory`]: the resident memory of the app and every process it spawned.
//! - [`desktop`]: a window manager and a system tray on the display, and the app
//!   started as from a launcher, its log read as it runs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: failing loudly is the point

pub mod browser;
pub mod desktop;
pub mod driver;
pub mod memory;
pub mod page;

pub use driver::Driver;

/// The person's authenticator app: the two-step code for `at` (seconds since the
/// epoch), computed from the key the app or the page showed.
pub fn authenticator_code(secret: &str, at: u64) -> String {
    testkit::authenticator(secret).generate(at).to_string()
}

pub use testkit::unix_now;
