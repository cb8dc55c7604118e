//! The app as a person installs it: the `.deb` of `scripts/package`, installed with
//! `apt-get install ./….deb`. `scripts/test` builds the package, installs it, runs this
//! test with `--ignored`, and removes the package again:
//!
//! ```sh
//! scripts/package deb && apt-get install ./target/release/bundle/deb/*.deb
//! scripts/with-secret-service xvfb-run -a cargo test -p session-e2e --test installed_app -- --ignored
//! ```
//! `E2E_APP` names another binary than `/usr/bin/session-manager`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use e2e::desktop::{self, DESKTOP};
use testkit::TestServer;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the .deb installed: scripts/test installs it, runs this with --ignored, removes it"]
async fn the_installed_app_starts_and_paints_its_sign_in_screen() {
    let binary = std::env::var_os("E2E_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/session-manager"));
    assert!(
        binary.is_file(),
        "{} is not there: install the .deb first",
        binary.display()
    );
    let _desktop = DESKTOP.lock().await;
    let server = TestServer::start().await;
    let config = tempfile::tempdir().unwrap();

    let app = desktop::App::start(&binary, &["--server", server.url()], config.path()).unwrap();
    let painted = app
        .wait_logged("first screen painted", 0, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        desktop::log_field(&painted, "screen"),
        Some("sign-in"),
        "a fresh install shows its sign-in screen: {painted}"
    );
    app.stop().await;
}
