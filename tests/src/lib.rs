//! Support for the end-to-end scenarios and the app benchmark (the demo's other devices
//! come from `session-demo`).
//!
//! - [`browser`]: headless Chromium through chromedriver, for the account page.
//! - [`Driver`]: the real app binary in a real WebKit window, driven through
//!   `tauri-driver` and `WebKitWebDriver`.
//! - [`memory`]: the resident memory of the app and every process it spawned.
//! - [`desktop`]: a window manager and a system tray on the display, and the app
//!   started as from a launcher, its log read as it runs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: failing loudly is the point

pub mod browser;
pub mod desktop;
pub mod driver;
pub mod memory;

pub use driver::Driver;
