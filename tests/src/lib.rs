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

/// The person's authenticator app: the two-step code for `at` (seconds since the
/// epoch), computed from the key the app or the page showed, as an authenticator app
/// does (RFC 6238: SHA-1, 6 digits, 30 s).
pub fn authenticator_code(secret: &str, at: u64) -> String {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap()
        .generate(at)
        .to_string()
}

/// Seconds since the epoch, as the authenticator's clock reads them.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
