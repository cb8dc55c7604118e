//! The desktop app end to end: the real `session-manager` binary in a real WebKit
//! window (Xvfb), driven through tauri-driver and WebKitWebDriver, against a real
//! `session-server` and the real Secret Service.
//!
//! ```sh
//! (cd ui && npm ci && npm run build)   # the app embeds ui/dist
//! scripts/with-secret-service xvfb-run -a cargo test -p session-e2e
//! ```
//! Without a display, tauri-driver or the private keychain, a plain `cargo test` skips
//! it and says why; `SESSION_E2E_REQUIRED=1` (scripts/test) makes that a failure.
//! `SCREENSHOTS=docs/screenshots` also saves the screens it passes through.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use client::{AccountKey, EntryName};
use demo::{OtherDevice, sign_in_other_devices};
use e2e::desktop::{self, DESKTOP, Notifications, Tray, WINDOW_TITLE, WindowManager};
use e2e::driver::{Driver, app_binary};
use testkit::TestServer;

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";

fn id(testid: &str) -> String {
    e2e::page::testid(testid)
}

/// Where to save screenshots, if asked to.
fn screenshot_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("SCREENSHOTS").map(|dir| testkit::repo_path("").join(dir).join(name))
}

/// Saves what the window shows, once painted, if asked to (`SCREENSHOTS`).
async fn save_screenshot(app: &Driver, name: &str) {
    if let Some(path) = screenshot_path(name) {
        // Let WebKit paint the last change before taking the picture.
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        app.screenshot(&path).await.unwrap();
    }
}

/// This device's refresh token, read from the Secret Service itself.
fn keychain_holds_this_device(server: &str) -> bool {
    let server = client::normalize_server_url(server).unwrap();
    let entry = EntryName::active(&AccountKey::new(server, EMAIL));
    testkit::keychain::read(client::SERVICE, &entry.user()).is_some()
}

async fn sign_in_through_the_form(app: &Driver, server: &TestServer) {
    // The server given with --server is already there.
    let url = app.wait_visible(&id("server-url")).await.unwrap();
    assert_eq!(
        url.prop("value").await.unwrap().as_deref(),
        Some(server.url())
    );
    app.type_into("email", EMAIL).await.unwrap();
    app.type_into("password", PASSWORD).await.unwrap();
    app.type_into("device-name", "Ada's desktop").await.unwrap();
    app.click("sign-in-submit").await.unwrap();
}

/// Watches the session bus for desktop notifications (`org.freedesktop.Notifications.Notify`),
/// as the desktop's notification daemon would receive them.
struct NotificationWatch {
    child: tokio::process::Child,
    seen: std::sync::Arc<std::sync::Mutex<String>>,
}

impl NotificationWatch {
    /// Returns once the bus has made `dbus-monitor` a monitor (it then hears of losing
    /// its own name: `NameLost`), so no notification sent after this is missed.
    async fn start() -> Self {
        let watch = Self::spawn();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !watch.seen.lock().unwrap().contains("member=NameLost") {
            assert!(
                std::time::Instant::now() < deadline,
                "dbus-monitor did not become a monitor within 10 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        watch
    }

    fn spawn() -> Self {
        use tokio::io::AsyncReadExt as _;
        let mut child = tokio::process::Command::new("dbus-monitor")
            .args([
                "--session",
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dbus-monitor (apt package dbus-bin)");
        let mut out = child.stdout.take().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = seen.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { child, seen }
    }

    async fn expect(mut self, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self.seen.lock().unwrap().contains(text) {
            assert!(
                std::time::Instant::now() < deadline,
                "no OS notification saying {text:?}; the bus saw: {}",
                self.seen.lock().unwrap()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = self.child.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desktop_app_end_to_end() {
    if !e2e::driver::environment_or_skip("the desktop app end to end") {
        return;
    }
    let _desktop = DESKTOP.lock().await;
    let server = TestServer::start().await;
    demo::create_account(server.url(), EMAIL, PASSWORD)
        .await
        .unwrap();
    let names: Vec<String> = demo::DEMO_DEVICES.iter().map(|s| s.to_string()).collect();
    let others: Vec<OtherDevice> = sign_in_other_devices(server.url(), EMAIL, PASSWORD, &names)
        .await
        .unwrap();
    let [tablet, phone, laptop] = &others[..] else {
        unreachable!()
    };

    let config = tempfile::tempdir().unwrap();
    let (app, _) = Driver::launch(
        &app_binary(),
        &["--server".into(), server.url().into()],
        &[("XDG_CONFIG_HOME", config.path())],
    )
    .await
    .unwrap();

    // Sign in → four devices, this one first with its badge.
    sign_in_through_the_form(&app, &server).await;
    app.wait_devices(4).await.unwrap();
    let listed = app.device_names().await.unwrap();
    assert_eq!(
        listed,
        ["Ada's desktop", "Work laptop", "Phone", "Old tablet"]
    );
    let first = app.device_row("Ada's desktop").await.unwrap();
    assert_eq!(
        first.attr("data-current").await.unwrap().as_deref(),
        Some("true")
    );
    let own_sid: proto::SessionId = first
        .attr("data-session-id")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        keychain_holds_this_device(server.url()),
        "signed in: the refresh token is in the keychain"
    );
    assert_eq!(
        app.wait_visible(&id("device-count"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "4 devices"
    );
    save_screenshot(&app, "devices.png").await;

    // Sign out "Old tablet": the confirmation names it; then it is gone, on the server too.
    let row = app.device_row("Old tablet").await.unwrap();
    row.find(fantoccini::Locator::Css(&id("sign-out-device")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let dialog = app.wait_visible(&id("confirm-dialog")).await.unwrap();
    let title = dialog
        .find(fantoccini::Locator::Css("h2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        title.contains("Old tablet"),
        "the confirmation names the device: {title:?}"
    );
    app.click("confirm-ok").await.unwrap();
    app.wait_devices(3).await.unwrap();
    assert!(
        !app.device_names()
            .await
            .unwrap()
            .contains(&"Old tablet".to_string())
    );
    assert!(
        server.session_is_revoked(tablet.session_id()).await,
        "the tablet is signed out on the server"
    );

    // The activity screen tells the story, newest first.
    app.click("activity-tab").await.unwrap();
    let rows = app
        .wait_all(&id("activity-row"), "activity listed", |rows| {
            rows.len() >= 5
        })
        .await
        .unwrap();
    assert_eq!(
        rows[0].attr("data-kind").await.unwrap().as_deref(),
        Some("revoked")
    );
    save_screenshot(&app, "activity.png").await;

    // Settings: "Start at login" writes the desktop's autostart entry, which starts
    // this app hidden in the tray; switched off, the entry goes.
    app.click("settings-tab").await.unwrap();
    let enabled_box = format!("{}:not([disabled])", id("start-at-login"));
    app.wait_visible(&enabled_box)
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let entry = config.path().join("autostart/session-manager.desktop");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !entry.exists() {
        assert!(std::time::Instant::now() < deadline, "no autostart entry");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(
        text.contains(&format!("\nExec={} --hidden\n", app_binary().display())),
        "the entry starts this app hidden: {text}"
    );
    save_screenshot(&app, "settings.png").await;
    app.wait_visible(&enabled_box)
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while entry.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the autostart entry stayed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    app.click("devices-tab").await.unwrap();
    app.wait_devices(3).await.unwrap();

    // The phone signs this device out: the app says so, in its window and as an OS
    // notification, and its keychain entry is gone.
    let notifications = NotificationWatch::start().await;
    phone.session.sign_out_device(own_sid).await.unwrap();
    let notice = app.wait_visible(&id("signed-out-notice")).await.unwrap();
    let text = notice.text().await.unwrap();
    assert!(
        text.contains("Phone"),
        "the notice names the device that did it: {text:?}"
    );
    app.wait_visible(&id("sign-in-submit")).await.unwrap();
    assert!(
        !keychain_holds_this_device(server.url()),
        "signed out from elsewhere: the keychain entry is gone"
    );
    notifications
        .expect("This device was signed out from Phone")
        .await;
    save_screenshot(&app, "signed-out.png").await;

    // Sign in again, then sign out everywhere: every session ends on the server.
    sign_in_through_the_form(&app, &server).await;
    app.wait_devices(3).await.unwrap();
    let own_sid: proto::SessionId = app
        .device_row("Ada's desktop")
        .await
        .unwrap()
        .attr("data-session-id")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    app.click("sign-out-everywhere").await.unwrap();
    app.wait_visible(&id("confirm-dialog")).await.unwrap();
    app.click("confirm-ok").await.unwrap();
    app.wait_visible(&id("sign-in-submit")).await.unwrap();
    for (name, sid) in [
        ("this device", own_sid),
        ("Phone", phone.session_id()),
        ("Work laptop", laptop.session_id()),
    ] {
        assert!(
            server.session_is_revoked(sid).await,
            "{name} is signed out on the server"
        );
    }
    assert!(!keychain_holds_this_device(server.url()));

    app.close().await.unwrap();
}

/// How long the app may take to react to something on a loaded 2-core machine.
const APP_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn with_its_window_closed_the_app_keeps_watching_from_the_tray() {
    if !e2e::driver::environment_or_skip("the app in the tray") {
        return;
    }
    let _desktop = DESKTOP.lock().await;
    let server = TestServer::start().await;
    demo::create_account(server.url(), EMAIL, PASSWORD)
        .await
        .unwrap();
    let phone = OtherDevice::sign_in(server.url(), EMAIL, PASSWORD, "Phone")
        .await
        .unwrap();
    let config = tempfile::tempdir().unwrap();
    let own = demo::sign_in_this_device(
        Some(config.path()),
        server.url(),
        EMAIL,
        PASSWORD,
        Some("Ada's desktop"),
    )
    .await
    .unwrap();
    let own_sid = own.session_id();
    drop(own);

    // A desktop with a window manager and a tray; the app starts signed in.
    let wm = WindowManager::start().await.unwrap();
    let tray = Tray::start().await.unwrap();
    let mut app =
        desktop::App::start(&app_binary(), &["--server", server.url()], config.path()).unwrap();
    let painted = app
        .wait_logged("first screen painted", 0, APP_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(desktop::log_field(&painted, "screen"), Some("devices"));
    desktop::wait_until("the app's icon in the tray", APP_TIMEOUT, || {
        Tray::icons() == 1
    })
    .await
    .unwrap();

    // Closing the window: the window and WebKit's processes go, the app stays. On
    // Linux it starts over hidden (window.rs), and follows the account's events again.
    let before = app.log_len();
    wm.close(WINDOW_TITLE).await.unwrap();
    app.wait_logged("still watching, in the tray", before, APP_TIMEOUT)
        .await
        .unwrap();
    app.wait_logged("starting over hidden", before, APP_TIMEOUT)
        .await
        .unwrap();
    desktop::wait_until("WebKit's processes to end", APP_TIMEOUT, || {
        app.webkit_processes().is_empty()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}: {:?} still run", app.webkit_processes()));
    assert!(
        !WindowManager::has_window(WINDOW_TITLE),
        "the window is gone"
    );
    assert!(app.running(), "the app still runs, in the tray");
    assert!(keychain_holds_this_device(server.url()));
    // Signed out before its stream is back, it would learn it from a refused refresh,
    // which cannot say who did it: only the live event names the device that did.
    // The line comes from the hidden app: the window's run said it before `before`.
    app.wait_logged("following the account's events", before, APP_TIMEOUT)
        .await
        .unwrap();

    // The phone signs this device out: with no window, the app still hears it at once,
    // wipes its keychain entry and tells the person.
    let notifications = NotificationWatch::start().await;
    phone.session.sign_out_device(own_sid).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while keychain_holds_this_device(server.url()) {
        assert!(
            std::time::Instant::now() < deadline,
            "signed out from elsewhere while hidden: the keychain entry is still there"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    notifications
        .expect("This device was signed out from Phone")
        .await;

    // Starting the app again opens the window of the running one (which says what
    // happened) and goes away.
    let before = app.log_len();
    let second = tokio::process::Command::new(app_binary())
        .env("XDG_CONFIG_HOME", config.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    let second = tokio::time::timeout(APP_TIMEOUT, second)
        .await
        .expect("the second start hands over and exits")
        .unwrap();
    assert!(second.success(), "the second start exits cleanly: {second}");
    let reopened = app
        .wait_logged("window reopened", before, APP_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        desktop::log_field(&reopened, "screen"),
        Some("sign-in"),
        "reopened on the sign-in screen: {reopened}"
    );
    assert!(WindowManager::has_window(WINDOW_TITLE));
    assert!(app.running());

    app.stop().await;
    tray.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_tray_closing_the_window_quits() {
    if !e2e::driver::environment_or_skip("the app without a tray") {
        return;
    }
    let _desktop = DESKTOP.lock().await;
    let server = TestServer::start().await;
    let config = tempfile::tempdir().unwrap();
    let wm = WindowManager::start().await.unwrap();
    let mut app =
        desktop::App::start(&app_binary(), &["--server", server.url()], config.path()).unwrap();
    app.wait_logged("first screen painted", 0, APP_TIMEOUT)
        .await
        .unwrap();

    wm.close(WINDOW_TITLE).await.unwrap();
    app.wait_logged("no tray to stay in: quitting", 0, APP_TIMEOUT)
        .await
        .unwrap();
    let status = tokio::time::timeout(APP_TIMEOUT, app.child.wait())
        .await
        .expect("the app quits when its window closes and there is no tray")
        .unwrap();
    assert!(status.success(), "it quits cleanly: {status}");
}

/// The row of the signed-out device `sid` in the "Signed out" section, once `css`
/// (more of its attributes) holds.
fn signed_out_row(sid: proto::SessionId, css: &str) -> String {
    format!(
        "{}[data-signed-out-id=\"{sid}\"]{css}",
        id("signed-out-row")
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_scare_in_the_desktop_app() {
    if !e2e::driver::environment_or_skip("the desktop app after a scare") {
        return;
    }
    let _desktop = DESKTOP.lock().await;
    let server = TestServer::start().await;
    demo::create_account(server.url(), EMAIL, PASSWORD)
        .await
        .unwrap();
    let tablet = OtherDevice::sign_in(server.url(), EMAIL, PASSWORD, "Old tablet")
        .await
        .unwrap();
    let laptop = OtherDevice::sign_in(server.url(), EMAIL, PASSWORD, "Work laptop")
        .await
        .unwrap();
    // The laptop is online, following its account's events as the app or
    // `sessionctl watch` would.
    laptop.session.start_events();

    let config = tempfile::tempdir().unwrap();
    let (app, _) = Driver::launch(
        &app_binary(),
        &["--server".into(), server.url().into()],
        &[("XDG_CONFIG_HOME", config.path())],
    )
    .await
    .unwrap();
    sign_in_through_the_form(&app, &server).await;
    app.wait_devices(3).await.unwrap();
    // Signed in, the header says "Offline" until the app follows the account's events:
    // a sign-in elsewhere before that would not be told live.
    app.wait_gone(&id("offline-indicator")).await.unwrap();

    // A new sign-in elsewhere: an OS notification in proto::notice's words, and a
    // banner. A click on the notification shows that device, ready to be signed out
    // (the banner's "Not you?" does the same: ui/tests).
    let server_on_screen = Notifications::start().await.unwrap();
    let notifications = NotificationWatch::start().await;
    let phone = OtherDevice::sign_in(server.url(), EMAIL, PASSWORD, "Phone")
        .await
        .unwrap();
    notifications
        .expect("New sign-in on 'Phone' (iOS 18.1) from 127.0.0.1")
        .await;
    let banner = app.wait_visible(&id("sign-in-banner")).await.unwrap();
    assert!(
        banner
            .text()
            .await
            .unwrap()
            .contains("New sign-in on 'Phone'"),
        "the banner says it"
    );
    desktop::wait_until(
        "the notification on screen",
        Duration::from_secs(10),
        || Notifications::displayed() >= 1,
    )
    .await
    .unwrap();
    server_on_screen.click().unwrap();
    let phone_row = format!(
        "{}[data-session-id=\"{}\"][data-highlighted=\"true\"]",
        id("device-row"),
        phone.session_id()
    );
    app.wait_visible(&phone_row).await.unwrap();
    save_screenshot(&app, "new-sign-in.png").await;
    server_on_screen.stop().await;

    // The lost laptop is signed out: it erases its keys and says so, and the app shows
    // its receipt in the "Signed out" section within 2 s.
    let row = app.device_row("Work laptop").await.unwrap();
    row.find(fantoccini::Locator::Css(&id("sign-out-device")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    app.wait_visible(&id("confirm-dialog")).await.unwrap();
    app.click("confirm-ok").await.unwrap();
    let clicked = std::time::Instant::now();
    app.wait_visible(&signed_out_row(
        laptop.session_id(),
        "[data-wiped=\"true\"]",
    ))
    .await
    .unwrap();
    let took = clicked.elapsed();
    assert!(
        took <= Duration::from_secs(2),
        "the receipt appeared after {took:?}"
    );
    let status = app
        .wait_text(&format!(
            "{} {}",
            signed_out_row(laptop.session_id(), "[data-wiped=\"true\"]"),
            id("wipe-status")
        ))
        .await
        .unwrap();
    assert!(
        status.starts_with("Keys erased from this device at ")
            && status.ends_with(", from 127.0.0.1"),
        "{status}"
    );
    if screenshot_path("").is_some() {
        app.client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'end'})",
                vec![serde_json::json!(id("signed-out-section"))],
            )
            .await
            .unwrap();
    }
    save_screenshot(&app, "signed-out-devices.png").await;

    // Change the password in the app: every other device is signed out (asserted on
    // the server); this one stays.
    let new_password = "a new and longer passphrase";
    app.click("security-tab").await.unwrap();
    app.type_into("current-password", PASSWORD).await.unwrap();
    app.type_into("new-password", new_password).await.unwrap();
    app.type_into("confirm-password", new_password)
        .await
        .unwrap();
    app.click("change-password-submit").await.unwrap();
    let said = app
        .wait_visible(&id("change-password-status"))
        .await
        .unwrap();
    assert_eq!(
        said.text().await.unwrap(),
        "Password changed. 2 other devices were signed out."
    );
    for (name, sid) in [
        ("Phone", phone.session_id()),
        ("Old tablet", tablet.session_id()),
    ] {
        assert!(
            server.session_is_revoked(sid).await,
            "{name} is signed out on the server"
        );
    }
    assert!(
        keychain_holds_this_device(server.url()),
        "this device stays"
    );

    // Two-step sign-in on: the QR code and the key, a first code computed from that
    // key, then the recovery codes, once.
    app.click("two-step-enable").await.unwrap();
    app.type_into("two-step-password", new_password)
        .await
        .unwrap();
    app.click("two-step-start").await.unwrap();
    app.wait_visible(&format!("{} svg path", id("two-step-qr")))
        .await
        .unwrap();
    let secret: String = app
        .wait_text(&id("two-step-secret"))
        .await
        .unwrap()
        .split_whitespace()
        .collect();
    save_screenshot(&app, "two-step-setup.png").await;
    let enrolled_at = e2e::unix_now();
    app.type_into(
        "two-step-confirm-code",
        &e2e::authenticator_code(&secret, enrolled_at),
    )
    .await
    .unwrap();
    app.click("two-step-confirm").await.unwrap();
    let codes = app
        .wait_all(&id("recovery-code"), "recovery codes", |c| c.len() == 10)
        .await
        .unwrap();
    assert!(!codes[0].text().await.unwrap().is_empty());
    app.wait_visible(&id("recovery-codes-warning"))
        .await
        .unwrap();
    save_screenshot(&app, "recovery-codes.png").await;
    app.click("recovery-codes-done").await.unwrap();

    // Signed out here and back: the password alone is not enough any more.
    app.click("devices-tab").await.unwrap();
    let own = app.device_row("Ada's desktop").await.unwrap();
    own.find(fantoccini::Locator::Css(&id("sign-out-device")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    app.wait_visible(&id("confirm-dialog")).await.unwrap();
    app.click("confirm-ok").await.unwrap();
    app.wait_visible(&id("sign-in-submit")).await.unwrap();
    app.type_into("email", EMAIL).await.unwrap();
    app.type_into("password", new_password).await.unwrap();
    app.type_into("device-name", "Ada's desktop").await.unwrap();
    app.click("sign-in-submit").await.unwrap();
    app.wait_visible(&id("two-step-code")).await.unwrap();
    assert!(
        !keychain_holds_this_device(server.url()),
        "nothing is stored before the code"
    );
    save_screenshot(&app, "two-step-sign-in.png").await;
    // A code is good once: the one that turned it on cannot sign in, the next one can.
    let step = |t: u64| t / 30;
    while step(e2e::unix_now()) == step(enrolled_at) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    app.type_into(
        "two-step-code",
        &e2e::authenticator_code(&secret, e2e::unix_now()),
    )
    .await
    .unwrap();
    app.click("sign-in-submit").await.unwrap();
    app.wait_devices(1).await.unwrap();
    assert!(keychain_holds_this_device(server.url()));
    drop(laptop);

    app.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_click_on_a_notification_opens_the_hidden_app_at_that_device() {
    if !e2e::driver::environment_or_skip("a notification click") {
        return;
    }
    let _desktop = DESKTOP.lock().await;
    let server = TestServer::start().await;
    demo::create_account(server.url(), EMAIL, PASSWORD)
        .await
        .unwrap();
    let config = tempfile::tempdir().unwrap();
    drop(
        demo::sign_in_this_device(
            Some(config.path()),
            server.url(),
            EMAIL,
            PASSWORD,
            Some("Ada's desktop"),
        )
        .await
        .unwrap(),
    );

    // Watching without a window, as after a start at login.
    let notifications = Notifications::start().await.unwrap();
    let mut app = desktop::App::start(
        &app_binary(),
        &["--server", server.url(), "--hidden"],
        config.path(),
    )
    .unwrap();
    app.wait_logged("following the account's events", 0, APP_TIMEOUT)
        .await
        .unwrap();

    let phone = OtherDevice::sign_in(server.url(), EMAIL, PASSWORD, "Phone")
        .await
        .unwrap();
    desktop::wait_until("the notification on screen", APP_TIMEOUT, || {
        Notifications::displayed() >= 1
    })
    .await
    .unwrap();
    let before = app.log_len();
    notifications.click().unwrap();

    // The click opens the window, whose page asks which device to show: the phone.
    app.wait_logged(
        "notification clicked: opening the window",
        before,
        APP_TIMEOUT,
    )
    .await
    .unwrap();
    let shown = app
        .wait_logged(
            "showing the device a notification was about",
            before,
            APP_TIMEOUT,
        )
        .await
        .unwrap();
    assert!(
        shown.contains(&phone.session_id().to_string()),
        "the phone is shown: {shown}"
    );
    assert!(app.running());

    app.stop().await;
    notifications.stop().await;
}
