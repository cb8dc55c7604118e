//! The account page in a real browser: headless Chromium (through chromedriver) on the
//! page `session-server` serves at `/account`, against a real server, with a desktop
//! device signed in through the client library and its keychain entry in the real
//! Secret Service.
//!
//! ```sh
//! scripts/with-secret-service cargo test -p session-e2e --test account_page
//! ```
//! Without Chromium, chromedriver, `ui/node_modules` (axe-core) or the private
//! keychain, a plain `cargo test` skips it and says why; `SESSION_E2E_REQUIRED=1`
//! (scripts/test) makes that a failure. `SCREENSHOTS=docs/screenshots` also saves the
//! page at 1280 and 360 pixels wide.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use client::{AccountKey, ClientEvent, EntryName, Session, SessionManager};
use demo::OtherDevice;
use e2e::browser::Browser;
use fantoccini::Locator;
use proto::{Password, SessionId};
use serde_json::{Value, json};
use testkit::TestServer;

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery staple";
/// What headless Chromium on Linux is called in every list (the server names it from
/// its User-Agent).
const THIS_BROWSER: &str = "Chrome on Linux";
/// A desktop's and a phone's window.
const DESKTOP: (u32, u32) = (1280, 800);
const PHONE: (u32, u32) = (360, 740);

fn id(testid: &str) -> String {
    e2e::page::testid(testid)
}

fn page(server: &TestServer) -> String {
    format!("{}/account/", server.url())
}

/// Saves what the page shows, if asked to (`SCREENSHOTS`).
async fn save_screenshot(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("SCREENSHOTS") {
        let path: PathBuf = testkit::repo_path("").join(dir).join(name);
        // Let the page paint its last change first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser.screenshot(&path).await.unwrap();
    }
}

/// A server with the account, and a phone signed in to it.
async fn account_with_a_phone() -> (TestServer, OtherDevice) {
    let server = TestServer::start().await;
    demo::create_account(server.url(), EMAIL, PASSWORD)
        .await
        .unwrap();
    let phone = OtherDevice::sign_in(server.url(), EMAIL, PASSWORD, "Phone")
        .await
        .unwrap();
    (server, phone)
}

async fn sign_in_on_the_page(browser: &Browser, server: &TestServer) {
    browser.client.goto(&page(server)).await.unwrap();
    browser.type_into("email", EMAIL).await.unwrap();
    browser.type_into("password", PASSWORD).await.unwrap();
    browser.click("sign-in-submit").await.unwrap();
}

/// The session of the device listed first (this browser), checked to be this one.
async fn this_browsers_session(browser: &Browser) -> SessionId {
    let row = browser.device_row(THIS_BROWSER).await.unwrap();
    assert_eq!(
        row.attr("data-current").await.unwrap().as_deref(),
        Some("true"),
        "this browser's row is marked as this device"
    );
    row.attr("data-session-id")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap()
}

/// Opens the confirmation of `testid` (in `row` if given) and confirms it.
async fn confirm(browser: &Browser, row: Option<&fantoccini::elements::Element>, testid: &str) {
    match row {
        Some(row) => row
            .find(Locator::Css(&id(testid)))
            .await
            .unwrap()
            .click()
            .await
            .unwrap(),
        None => browser.click(testid).await.unwrap(),
    }
    browser.wait_visible(&id("confirm-dialog")).await.unwrap();
    browser.click("confirm-ok").await.unwrap();
}

/// A laptop with the desktop app's client: signed in through the client library, its
/// refresh token in the real Secret Service, following the account's events.
struct Laptop {
    manager: SessionManager,
    session: Session,
    events: tokio::sync::broadcast::Receiver<ClientEvent>,
    server: String,
    _config: tempfile::TempDir,
}

impl Laptop {
    async fn sign_in(server: &TestServer) -> Self {
        let config = tempfile::tempdir().unwrap();
        let manager = SessionManager::new(client::Options {
            config_dir: Some(config.path().to_path_buf()),
            ..client::Options::default()
        })
        .unwrap();
        let events = manager.subscribe();
        let session = manager
            .sign_in(
                server.url(),
                EMAIL,
                &Password::new(PASSWORD),
                Some("Ada's laptop"),
            )
            .await
            .unwrap();
        session.start_events();
        Self {
            manager,
            session,
            events,
            server: server.url().to_owned(),
            _config: config,
        }
    }

    /// Its refresh token, read from the Secret Service itself.
    fn keychain_holds_it(&self) -> bool {
        let server = client::normalize_server_url(&self.server).unwrap();
        let entry = EntryName::active(&AccountKey::new(server, EMAIL));
        testkit::keychain::read(client::SERVICE, &entry.user()).is_some()
    }

    /// Waits for the client to report this laptop signed out; the device that did it.
    async fn signed_out(&mut self) -> Option<String> {
        let wait = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let ClientEvent::SignedOut { notice, .. } = self.events.recv().await.unwrap() {
                    return notice.by_device_name;
                }
            }
        });
        wait.await
            .expect("the laptop did not hear it was signed out within 10 s")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_laptop_is_signed_out_from_any_browser() {
    if !e2e::browser::environment_or_skip("the account page: a lost laptop") {
        return;
    }
    let (server, phone) = account_with_a_phone().await;
    let mut laptop = Laptop::sign_in(&server).await;
    assert!(laptop.keychain_holds_it());

    // Sign in on the page: the browser is a device like any other, listed first, and
    // the laptop is listed with it.
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await.unwrap();
    browser.watch_csp().await.unwrap();
    sign_in_on_the_page(&browser, &server).await;
    let names = browser.wait_devices(3).await.unwrap();
    assert_eq!(names, [THIS_BROWSER, "Ada's laptop", "Phone"]);
    let web_sid = this_browsers_session(&browser).await;
    save_screenshot(&browser, "account-page-1280.png").await;
    browser.resize(PHONE.0, PHONE.1).await.unwrap();
    save_screenshot(&browser, "account-page-360.png").await;
    browser.resize(DESKTOP.0, DESKTOP.1).await.unwrap();

    // Sign the laptop out from the page: gone from the list, and on the laptop the
    // keychain entry is wiped and the client says it is signed out, by this browser.
    let row = browser.device_row("Ada's laptop").await.unwrap();
    confirm(&browser, Some(&row), "sign-out-device").await;
    assert_eq!(
        browser.wait_devices(2).await.unwrap(),
        [THIS_BROWSER, "Phone"]
    );
    assert_eq!(laptop.signed_out().await.as_deref(), Some(THIS_BROWSER));
    assert!(
        !laptop.keychain_holds_it(),
        "signed out from the page: the laptop's keychain entry is gone"
    );
    let status = laptop.manager.status(None).await.unwrap();
    assert!(
        !status.signed_in,
        "the laptop's client reports it signed out"
    );
    assert!(server.session_is_revoked(laptop.session.session_id()).await);
    // All of it within the page's strict CSP: nothing was refused.
    assert_eq!(
        browser.csp_violations().await.unwrap(),
        Vec::<String>::new()
    );

    // Sign out everywhere from the page: back to sign-in, and every session has ended.
    confirm(&browser, None, "sign-out-everywhere").await;
    let info = browser.wait_visible(&id("sign-in-info")).await.unwrap();
    assert!(
        info.text()
            .await
            .unwrap()
            .contains("You signed out everywhere"),
        "the page says what happened"
    );
    for (name, sid) in [("this browser", web_sid), ("Phone", phone.session_id())] {
        assert!(
            server.session_is_revoked(sid).await,
            "{name} is signed out on the server"
        );
    }
    browser.close().await.unwrap();
}

/// The page's own files and its API's answers, as the page's scripts see them: the URL
/// and the security headers of each.
const HEADERS_OF_EVERY_RESPONSE: &str = "
    const done = arguments[arguments.length - 1];
    const urls = [location.href,
        ...performance.getEntriesByType('resource').map(e => e.name).filter(u => u.includes('/account/assets/')),
        location.origin + '/account/api/v1/sessions', location.origin + '/account/nothing-here'];
    Promise.all(urls.map(u => fetch(u, {cache: 'no-store'}).then(r => ({
        url: u,
        status: r.status,
        csp: r.headers.get('content-security-policy'),
        nosniff: r.headers.get('x-content-type-options'),
        referrer: r.headers.get('referrer-policy'),
    })))).then(done, e => done(String(e)));";

/// A page on another origin (another port of this machine: the same site, so the
/// browser sends the account page's `SameSite=Strict` cookie along) with a form that
/// would sign the account page's browser out.
async fn another_site(server: &TestServer) -> (String, tokio::task::JoinHandle<()>) {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><title>Not the account page</title></head><body>\
         <form method=\"post\" action=\"{}/account/api/sign-out\">\
         <button type=\"submit\" data-testid=\"attack\">Win a prize</button></form></body></html>",
        server.url()
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_cookie_is_out_of_reach_of_scripts_and_other_sites() {
    if !e2e::browser::environment_or_skip("the account page: its cookie") {
        return;
    }
    let (server, phone) = account_with_a_phone().await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await.unwrap();
    sign_in_on_the_page(&browser, &server).await;
    browser.wait_devices(2).await.unwrap();
    let web_sid = this_browsers_session(&browser).await;

    // The cookie as the browser stored it: HttpOnly, SameSite=Strict, only sent to the
    // API's path, kept for the web's 12 hours (not Secure: plain http on loopback).
    let api = format!("{}/account/api/v1/sessions", server.url());
    let jar = browser
        .cdp("Network.getCookies", json!({"urls": [api]}))
        .await
        .unwrap();
    let cookies = jar["cookies"].as_array().unwrap();
    let cookie = cookies
        .iter()
        .find(|c| c["name"] == "sm_web")
        .unwrap_or_else(|| panic!("no session cookie: {jar}"));
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");
    assert_eq!(cookie["path"], "/account/api", "{cookie}");
    assert_eq!(cookie["secure"], false, "{cookie}");
    assert_eq!(cookie["session"], false, "{cookie}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let lifetime = cookie["expires"].as_f64().unwrap() - now;
    assert!((43_000.0..=43_200.0).contains(&lifetime), "{cookie}");
    assert_eq!(cookies.len(), 1, "no other cookie: {jar}");
    let seen = browser
        .client
        .execute("return document.cookie", vec![])
        .await
        .unwrap();
    assert_eq!(seen, "", "the page's scripts see no cookie");

    // Every answer the page gets carries the strict CSP and the other headers.
    let answers = browser
        .client
        .execute_async(HEADERS_OF_EVERY_RESPONSE, vec![])
        .await
        .unwrap();
    let answers = answers.as_array().unwrap_or_else(|| panic!("{answers}"));
    assert!(
        answers.len() >= 5,
        "the page, its script and stylesheet, the API: {answers:?}"
    );
    for a in answers {
        let csp = a["csp"].as_str().unwrap_or_else(|| panic!("no CSP: {a}"));
        assert!(
            csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe"),
            "{a}"
        );
        assert_eq!(a["nosniff"], "nosniff", "{a}");
        assert_eq!(a["referrer"], "no-referrer", "{a}");
    }

    // A page on another port of this machine posts to the account page's API with the
    // cookie: refused, and the browser stays signed in.
    let (attacker, _site) = another_site(&server).await;
    browser.client.goto(&attacker).await.unwrap();
    browser.click("attack").await.unwrap();
    // The body is looked up afresh each time: found before the form's answer arrived,
    // it would be the attacker page's, gone with the navigation.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while !text.contains("did not come from the account page") {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not refuse it: {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        text = match browser.wait_visible("body").await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
    }
    assert!(!server.session_is_revoked(web_sid).await);
    browser.client.goto(&page(&server)).await.unwrap();
    browser.wait_devices(2).await.unwrap();

    // The phone signs this browser out: within seconds the page is back at sign-in,
    // saying so in the app's words, and the old cookie is refused.
    let old_cookie = cookie["value"].as_str().unwrap().to_owned();
    phone.session.sign_out_device(web_sid).await.unwrap();
    let notice = browser
        .wait_visible(&id("signed-out-notice"))
        .await
        .unwrap();
    let message = notice.text().await.unwrap();
    assert!(
        message.contains("This device was signed out from Phone"),
        "{message}"
    );
    browser.resize(PHONE.0, PHONE.1).await.unwrap();
    save_screenshot(&browser, "account-page-signed-out-360.png").await;
    browser
        .cdp(
            "Network.setCookie",
            json!({"name": "sm_web", "value": old_cookie, "url": api, "path": "/account/api",
                   "httpOnly": true, "sameSite": "Strict"}),
        )
        .await
        .unwrap();
    let status: Value = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/account/api/v1/sessions').then(r => done(r.status), e => done(String(e)));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, 401, "a revoked web session's cookie is refused");
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_is_accessible_on_a_phone_and_a_desktop() {
    if !e2e::browser::environment_or_skip("the account page: accessibility") {
        return;
    }
    let (server, _phone) = account_with_a_phone().await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await.unwrap();
    browser.client.goto(&page(&server)).await.unwrap();
    for (width, height) in [DESKTOP, PHONE] {
        browser.resize(width, height).await.unwrap();
        browser.client.goto(&page(&server)).await.unwrap();
        // Each view, as it first shows: no violation axe-core can find, and nothing
        // wider than the screen.
        let check = async |view: &str| {
            let (found, overflow) = accessibility(&browser).await;
            assert!(found.is_empty(), "{view} at {width} px: {found:#?}");
            assert!(
                overflow <= 0,
                "{view} at {width} px scrolls sideways by {overflow} px"
            );
        };
        browser.wait_visible(&id("sign-in-submit")).await.unwrap();
        check("sign-in").await;
        browser.type_into("email", EMAIL).await.unwrap();
        browser.type_into("password", PASSWORD).await.unwrap();
        browser.click("sign-in-submit").await.unwrap();
        browser.wait_devices(2).await.unwrap();
        check("devices").await;
        browser.click("activity-tab").await.unwrap();
        browser.wait_visible(&id("activity-row")).await.unwrap();
        check("activity").await;
        if width == PHONE.0 {
            save_screenshot(&browser, "account-page-activity-360.png").await;
        }
        // Sign this browser out, for the next round to start at sign-in.
        browser.click("devices-tab").await.unwrap();
        let row = browser.device_row(THIS_BROWSER).await.unwrap();
        confirm(&browser, Some(&row), "sign-out-device").await;
        browser.wait_visible(&id("sign-in-submit")).await.unwrap();
    }
    browser.close().await.unwrap();
}

/// The row of the signed-out device `sid` in the page's "Signed out" section, once
/// `css` (more of its attributes) holds.
fn signed_out_row(sid: SessionId, css: &str) -> String {
    format!(
        "{}[data-signed-out-id=\"{sid}\"]{css}",
        id("signed-out-row")
    )
}

/// [`accessibility`] with the browser at `width` × `height`.
async fn accessibility_at(browser: &Browser, (width, height): (u32, u32)) -> (Vec<String>, i64) {
    browser.resize(width, height).await.unwrap();
    accessibility(browser).await
}

/// What axe-core finds on the page as it is, and how far it scrolls sideways (nothing
/// is wider than the screen when that is 0 or less).
async fn accessibility(browser: &Browser) -> (Vec<String>, i64) {
    let found = browser.axe_violations().await.unwrap();
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    (found, overflow.as_i64().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_scare_on_the_page() {
    if !e2e::browser::environment_or_skip("the account page after a scare") {
        return;
    }
    let (server, phone) = account_with_a_phone().await;
    let mut laptop = Laptop::sign_in(&server).await;
    let browser = Browser::start(DESKTOP.0, DESKTOP.1).await.unwrap();
    browser.watch_csp().await.unwrap();
    sign_in_on_the_page(&browser, &server).await;
    assert_eq!(
        browser.wait_devices(3).await.unwrap(),
        [THIS_BROWSER, "Ada's laptop", "Phone"]
    );

    // The lost laptop, signed out from the page, erases its keys and proves it (its
    // client, its keychain entry in the real Secret Service): the page's "Signed out"
    // section says so as it happens.
    let row = browser.device_row("Ada's laptop").await.unwrap();
    confirm(&browser, Some(&row), "sign-out-device").await;
    assert_eq!(laptop.signed_out().await.as_deref(), Some(THIS_BROWSER));
    assert!(!laptop.keychain_holds_it(), "its keychain entry is gone");
    let status = browser
        .wait_text(&format!(
            "{} {}",
            signed_out_row(laptop.session.session_id(), "[data-wiped=\"true\"]"),
            id("wipe-status")
        ))
        .await
        .unwrap();
    assert!(
        status.starts_with("Keys erased from this device at ")
            && status.ends_with(", from 127.0.0.1"),
        "{status}"
    );
    if std::env::var_os("SCREENSHOTS").is_some() {
        browser
            .client
            .execute(
                "document.querySelector(arguments[0]).scrollIntoView({block: 'end'})",
                vec![json!(id("signed-out-section"))],
            )
            .await
            .unwrap();
    }
    save_screenshot(&browser, "account-page-signed-out-devices-1280.png").await;

    // The Security tab, on a desktop and on a phone: nothing axe-core can find, nothing
    // wider than the screen.
    browser.click("security-tab").await.unwrap();
    browser
        .wait_visible(&format!("{}[data-on=\"false\"]", id("two-step-state")))
        .await
        .unwrap();
    for size in [DESKTOP, PHONE] {
        let (found, overflow) = accessibility_at(&browser, size).await;
        assert!(
            found.is_empty(),
            "the Security tab at {} px: {found:#?}",
            size.0
        );
        assert!(
            overflow <= 0,
            "the Security tab at {} px scrolls sideways by {overflow} px",
            size.0
        );
    }
    browser.resize(DESKTOP.0, DESKTOP.1).await.unwrap();

    // A new password, from the page: the phone is signed out on the server, this
    // browser stays.
    let new_password = "a new and longer passphrase";
    browser
        .type_into("current-password", PASSWORD)
        .await
        .unwrap();
    browser
        .type_into("new-password", new_password)
        .await
        .unwrap();
    browser
        .type_into("confirm-password", new_password)
        .await
        .unwrap();
    browser.click("change-password-submit").await.unwrap();
    let said = browser
        .wait_visible(&id("change-password-status"))
        .await
        .unwrap();
    assert_eq!(
        said.text().await.unwrap(),
        "Password changed. 1 other device was signed out."
    );
    assert!(
        server.session_is_revoked(phone.session_id()).await,
        "the phone is signed out"
    );
    let web_sid: SessionId = browser
        .client
        .execute(
            "return document.querySelector('[data-testid=\"device-row\"][data-current=\"true\"]').dataset.sessionId",
            vec![],
        )
        .await
        .map(|v| v.as_str().unwrap().parse().unwrap())
        .unwrap();
    assert!(
        !server.session_is_revoked(web_sid).await,
        "this browser stays"
    );

    // Two-step sign-in on, from the page: the QR code and the key, a first code
    // computed from that key, then the recovery codes, once.
    browser.click("two-step-enable").await.unwrap();
    browser
        .type_into("two-step-password", new_password)
        .await
        .unwrap();
    browser.click("two-step-start").await.unwrap();
    browser
        .wait_visible(&format!("{} svg path", id("two-step-qr")))
        .await
        .unwrap();
    let secret: String = browser
        .wait_text(&id("two-step-secret"))
        .await
        .unwrap()
        .split_whitespace()
        .collect();
    let (found, _) = accessibility_at(&browser, PHONE).await;
    assert!(
        found.is_empty(),
        "the key and QR code at 360 px: {found:#?}"
    );
    save_screenshot(&browser, "account-page-two-step-setup-360.png").await;
    browser.resize(DESKTOP.0, DESKTOP.1).await.unwrap();
    let enrolled_at = e2e::unix_now();
    browser
        .type_into(
            "two-step-confirm-code",
            &e2e::authenticator_code(&secret, enrolled_at),
        )
        .await
        .unwrap();
    browser.click("two-step-confirm").await.unwrap();
    browser
        .wait_visible(&id("recovery-codes-warning"))
        .await
        .unwrap();
    let codes = browser
        .client
        .find_all(Locator::Css(&id("recovery-code")))
        .await
        .unwrap();
    assert_eq!(codes.len(), 10, "ten recovery codes");
    browser.click("recovery-codes-done").await.unwrap();
    browser
        .wait_visible(&format!("{}[data-on=\"true\"]", id("two-step-state")))
        .await
        .unwrap();

    // Signed out here and back: the password alone is not enough any more; the form
    // asks for the code, and the next one from the authenticator app signs in.
    browser.click("devices-tab").await.unwrap();
    let own = browser.device_row(THIS_BROWSER).await.unwrap();
    confirm(&browser, Some(&own), "sign-out-device").await;
    browser.wait_visible(&id("sign-in-submit")).await.unwrap();
    browser.type_into("email", EMAIL).await.unwrap();
    browser.type_into("password", new_password).await.unwrap();
    browser.click("sign-in-submit").await.unwrap();
    browser.wait_visible(&id("two-step-code")).await.unwrap();
    // Not signed in before the code; the challenge waits in a cookie of its own that
    // the page's scripts cannot read either.
    let jar = browser
        .cdp(
            "Network.getCookies",
            json!({"urls": [format!("{}/account/api/sign-in/two-step", server.url())]}),
        )
        .await
        .unwrap();
    let cookies = jar["cookies"].as_array().unwrap();
    assert!(
        cookies.iter().all(|c| c["name"] != "sm_web"),
        "no session before the code: {jar}"
    );
    let challenge = cookies
        .iter()
        .find(|c| c["name"] == "sm_challenge")
        .unwrap_or_else(|| panic!("no challenge cookie: {jar}"));
    assert_eq!(challenge["httpOnly"], true, "{challenge}");
    browser.resize(PHONE.0, PHONE.1).await.unwrap();
    save_screenshot(&browser, "account-page-two-step-sign-in-360.png").await;
    browser.resize(DESKTOP.0, DESKTOP.1).await.unwrap();
    // A code is good once: the one that turned it on cannot sign in, the next one can.
    let step = |t: u64| t / 30;
    while step(e2e::unix_now()) == step(enrolled_at) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    browser
        .type_into(
            "two-step-code",
            &e2e::authenticator_code(&secret, e2e::unix_now()),
        )
        .await
        .unwrap();
    browser.click("sign-in-submit").await.unwrap();
    assert_eq!(browser.wait_devices(1).await.unwrap(), [THIS_BROWSER]);
    let signed_in_again = this_browsers_session(&browser).await;
    assert_ne!(signed_in_again, web_sid, "a new sign-in");
    assert!(!server.session_is_revoked(signed_in_again).await);
    // All of it within the page's strict CSP.
    assert_eq!(
        browser.csp_violations().await.unwrap(),
        Vec::<String>::new()
    );
    browser.close().await.unwrap();
}
