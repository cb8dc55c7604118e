//! The app's command layer on Tauri's mock runtime, with the app's real configuration
//! and capabilities, against a real `session-server` and the real Secret Service.
//!
//! Run with the keychain there: `scripts/with-secret-service cargo test -p session-manager-app`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{Listener, Manager, WebviewUrl, WebviewWindow, WebviewWindowBuilder};
use testkit::TestServer;
use testkit::keychain::require_secret_service;

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery";

/// Whether `text` holds something token-shaped: a refresh token (`rt_` and its
/// base64url body; words such as "start_at_login" contain `rt_` too) or a JWT (`eyJ`).
fn looks_like_a_token(text: &str) -> bool {
    text.contains("eyJ")
        || text.match_indices("rt_").any(|(at, _)| {
            text[at + 3..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
                .count()
                >= 16
        })
}

/// The app as the web view sees it: one window, commands in, events out.
struct App {
    app: tauri::App<MockRuntime>,
    main: WebviewWindow<MockRuntime>,
    config: std::sync::Arc<tempfile::TempDir>,
}

impl App {
    fn start(server: Option<&str>) -> App {
        Self::start_with(std::sync::Arc::new(tempfile::tempdir().unwrap()), server)
    }

    /// The app started again on the same machine: same config directory and keychain.
    fn restart(self, server: Option<&str>) -> App {
        let config = self.config.clone();
        drop(self);
        Self::start_with(config, server)
    }

    fn start_with(config: std::sync::Arc<tempfile::TempDir>, server: Option<&str>) -> App {
        require_secret_service();
        let manager = client::SessionManager::new(client::Options {
            config_dir: Some(config.path().to_path_buf()),
            app_version: Some("test".into()),
            ..Default::default()
        })
        .unwrap();
        // "Start at login" writes into the test's own config directory.
        let login_item = app::login_item::LoginItem::xdg(
            config.path(),
            std::path::Path::new("/usr/bin/session-manager"),
        );
        let context =
            app::AppContext::new(manager, server.map(str::to_string)).with_login_item(login_item);
        let mut app = app::builder(mock_builder(), context)
            .build(tauri::generate_context!())
            .unwrap();
        // What the real start runs: the app's setup (the event bridge) has started in
        // `build`; the window of tauri.conf.json is opened, and one turn of the event
        // loop lets it come up. Called once, so its busy-loop deprecation does not apply.
        app::window::open(app.handle()).unwrap();
        #[allow(deprecated)]
        app.run_iteration(|_, _| {});
        let main = app
            .get_webview_window(app::MAIN_WINDOW)
            .expect("the main window of tauri.conf.json");
        App { app, main, config }
    }

    /// Invokes a command as the UI does, from `window`, and returns its JSON answer
    /// or the JSON it rejected with.
    async fn invoke_from(
        window: &WebviewWindow<MockRuntime>,
        url: &str,
        cmd: &str,
        args: Value,
    ) -> Result<Value, Value> {
        let window = window.clone();
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: url.parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        tokio::task::spawn_blocking(move || {
            get_ipc_response(&window, request).map(|b| b.deserialize::<Value>().unwrap())
        })
        .await
        .unwrap()
    }

    async fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let answer = Self::invoke_from(&self.main, "tauri://localhost", cmd, args).await;
        let text = match &answer {
            Ok(v) | Err(v) => v.to_string(),
        };
        assert!(
            !looks_like_a_token(&text),
            "{cmd} handed something that looks like a token to the web view: {text}"
        );
        answer
    }

    async fn ok(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args).await {
            Ok(v) => v,
            Err(e) => panic!("{cmd} failed: {e}"),
        }
    }

    async fn sign_in(&self, server: &TestServer) -> Value {
        self.ok(
            "sign_in",
            json!({"serverUrl": server.url(), "email": EMAIL, "password": PASSWORD, "deviceName": "Ada's desktop"}),
        )
        .await
    }

    async fn devices(&self) -> Vec<Value> {
        self.ok("list_devices", json!({}))
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// The next `event` the app emits, as JSON.
    fn next_event(&self, event: &str) -> mpsc::Receiver<Value> {
        let (tx, rx) = mpsc::channel();
        self.app.listen_any(event, move |e| {
            let _ = tx.send(serde_json::from_str::<Value>(e.payload()).unwrap());
        });
        rx
    }
}

async fn wait_for(
    rx: &mpsc::Receiver<Value>,
    what: &str,
    accept: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(50))) {
            Ok(v) if accept(&v) => return v,
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {
                tokio::task::yield_now().await
            }
            Err(e) => panic!("no {what} within 20 s ({e})"),
        }
    }
}

fn names(devices: &[Value]) -> Vec<&str> {
    devices
        .iter()
        .map(|d| d["device"]["name"].as_str().unwrap())
        .collect()
}

/// An account with three other devices signed in; returns their session ids by name.
async fn account_with_three_devices(
    server: &TestServer,
) -> Vec<(String, proto::tokens::TokenResponse)> {
    server.create_account(EMAIL, PASSWORD).await;
    let mut others = Vec::new();
    for name in ["Work laptop", "Phone", "Old tablet"] {
        others.push((
            name.to_string(),
            server.sign_in(EMAIL, PASSWORD, name).await,
        ));
    }
    others
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_shows_every_device_this_one_first() {
    let server = TestServer::start().await;
    account_with_three_devices(&server).await;
    let app = App::start(Some(server.url()));

    let state = app.ok("app_state", json!({})).await;
    assert_eq!(state["signed_in"], false);
    assert_eq!(
        state["server_url"],
        server.url(),
        "the --server URL prefills the form"
    );
    assert_eq!(state["keychain"]["available"], true, "{state}");
    assert!(
        state["default_device_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );

    // A wrong password rejects with the AppError object the UI shows inline.
    let wrong = app
        .invoke(
            "sign_in",
            json!({"serverUrl": server.url(), "email": EMAIL, "password": "nope", "deviceName": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong["code"], "invalid_credentials", "{wrong}");
    assert!(wrong["message"].as_str().is_some_and(|m| !m.is_empty()));

    // Before signing in, the device list is not something the UI can have.
    let err = app.invoke("list_devices", json!({})).await.unwrap_err();
    assert_eq!(err["code"], "not_signed_in");

    let state = app.sign_in(&server).await;
    assert_eq!(state["signed_in"], true, "{state}");
    assert_eq!(state["email"], EMAIL);
    assert_eq!(state["signed_out_notice"], Value::Null);
    let own = state["session_id"].as_str().unwrap().to_string();
    assert_eq!(
        state.as_object().unwrap().keys().collect::<Vec<_>>().len(),
        9,
        "AppState has exactly the fields of docs/app-ipc.md: {state}"
    );

    let devices = app.devices().await;
    assert_eq!(devices.len(), 4);
    assert_eq!(devices[0]["id"], own.as_str());
    assert_eq!(devices[0]["current"], true);
    assert_eq!(devices[0]["device"]["name"], "Ada's desktop");
    let mut others = names(&devices[1..]);
    others.sort_unstable();
    assert_eq!(others, ["Old tablet", "Phone", "Work laptop"]);

    let activity = app.ok("activity", json!({})).await;
    let kinds: Vec<&str> = activity
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "signed_in").count(),
        4,
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_the_old_tablet_ends_it_on_the_server() {
    let server = TestServer::start().await;
    let others = account_with_three_devices(&server).await;
    let tablet = others[2].1.session_id;
    let app = App::start(Some(server.url()));
    // The event stream is up before the tablet is signed out, so its event is heard.
    let online = app.next_event("state-changed");
    app.sign_in(&server).await;
    wait_for(&online, "online", |s| s["online"] == true).await;
    let changed = app.next_event("devices-changed");

    let answer = app
        .ok("sign_out_device", json!({"id": tablet.to_string()}))
        .await;
    assert_eq!(answer, Value::Null);
    assert!(
        server.session_is_revoked(tablet).await,
        "the tablet's session is over on the server"
    );
    assert!(!names(&app.devices().await).contains(&"Old tablet"));
    let event = wait_for(&changed, "devices-changed", |_| true).await;
    assert_eq!(event["reason"], "session.revoked");

    // Renaming answers the renamed device; a device that is not there is not_found.
    let phone = others[1].1.session_id.to_string();
    let renamed = app
        .ok(
            "rename_device",
            json!({"id": phone, "name": "  Ada's phone "}),
        )
        .await;
    assert_eq!(renamed["device"]["name"], "Ada's phone");
    let gone = app
        .invoke("sign_out_device", json!({"id": tablet.to_string()}))
        .await
        .unwrap_err();
    assert_eq!(gone["code"], "not_found");
    let junk = app
        .invoke("rename_device", json!({"id": "not-an-id", "name": "x"}))
        .await
        .unwrap_err();
    assert_eq!(junk["code"], "not_found");
    let too_long = app
        .invoke(
            "rename_device",
            json!({"id": phone, "name": "x".repeat(101)}),
        )
        .await
        .unwrap_err();
    assert_eq!(too_long["code"], "validation_failed", "{too_long}");
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_out_from_elsewhere_the_ui_hears_it_after_the_state_says_so() {
    let server = TestServer::start().await;
    let others = account_with_three_devices(&server).await;
    let phone = &others[1].1;
    let app = App::start(Some(server.url()));
    let online = app.next_event("state-changed");
    let own = app.sign_in(&server).await["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for(&online, "state-changed with online: true", |s| {
        s["online"] == true
    })
    .await;
    let signed_out = app.next_event("signed-out");

    // The phone signs this device out.
    let r = reqwest::Client::new()
        .delete(format!("{}/v1/sessions/{own}", server.url()))
        .bearer_auth(phone.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    let notice = wait_for(&signed_out, "signed-out", |_| true).await;
    assert_eq!(notice["by_device_name"], "Phone", "{notice}");
    assert_eq!(notice["by_session_id"], phone.session_id.to_string());
    assert_eq!(notice["reason"], "revoked");
    let message = notice["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("This device was signed out from Phone at "),
        "the notice carries the sentence to show: {notice}"
    );
    let state = app.ok("app_state", json!({})).await;
    assert_eq!(state["signed_in"], false);
    assert_eq!(state["signed_out_notice"]["by_device_name"], "Phone");

    let err = app.invoke("list_devices", json!({})).await.unwrap_err();
    assert_eq!(err["code"], "not_signed_in");
    let state = app.ok("dismiss_notice", json!({})).await;
    assert_eq!(state["signed_out_notice"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_all_others_then_everywhere() {
    let server = TestServer::start().await;
    let others = account_with_three_devices(&server).await;
    let app = App::start(Some(server.url()));
    let own: proto::SessionId = app.sign_in(&server).await["session_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let answer = app.ok("sign_out_others", json!({})).await;
    assert_eq!(answer, json!({"revoked": 3}));
    for (name, t) in &others {
        assert!(
            server.session_is_revoked(t.session_id).await,
            "{name} is signed out"
        );
    }
    assert_eq!(app.devices().await.len(), 1);

    let state = app.ok("sign_out_everywhere", json!({})).await;
    assert_eq!(state["signed_in"], false, "{state}");
    assert!(server.session_is_revoked(own).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_here_while_the_server_is_down_ends_the_session_once_it_is_back() {
    let mut server = TestServer::start().await;
    server.create_account(EMAIL, PASSWORD).await;
    let app = App::start(Some(server.url()));
    let own: proto::SessionId = app.sign_in(&server).await["session_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    server.stop().await;
    let state = app.ok("sign_out", json!({})).await;
    assert_eq!(
        state["signed_in"], false,
        "signed out here at once: {state}"
    );
    assert_eq!(
        state["pending_revocations"], 1,
        "the revocation waits for the server: {state}"
    );
    assert_eq!(
        state["server_url"],
        server.url(),
        "the server stays remembered"
    );

    // The server returns; the app is started again and finishes the job.
    server.start_again().await;
    let app = app.restart(Some(server.url()));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let state = app.ok("app_state", json!({})).await;
        if state["pending_revocations"] == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still pending after 20 s: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server.session_is_revoked(own).await,
        "the revocation reached the server"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_main_window_showing_the_apps_own_pages_may_call_commands() {
    let app = App::start(None);
    for cmd in app::COMMANDS {
        let answer = app.invoke(cmd, json!({})).await;
        if let Err(e) = &answer {
            // Refusals by the ACL say "not allowed"; anything else (missing arguments,
            // not signed in) means the command was reached.
            assert!(
                !e.to_string().contains("not allowed"),
                "{cmd} is allowed in the main window: {e}"
            );
        }
    }
    // A plugin command the main window was not granted.
    let refused = App::invoke_from(
        &app.main,
        "tauri://localhost",
        "plugin:notification|notify",
        json!({"options": {"title": "x"}}),
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("not allowed"), "{refused}");

    // Remote content in the main window gets nothing.
    let remote = App::invoke_from(&app.main, "https://example.com", "app_state", json!({}))
        .await
        .unwrap_err();
    assert!(remote.to_string().contains("not allowed"), "{remote}");

    // Any other window gets nothing either.
    let other = WebviewWindowBuilder::new(&app.app, "other", WebviewUrl::default())
        .build()
        .unwrap();
    let refused = App::invoke_from(&other, "tauri://localhost", "app_state", json!({}))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not allowed"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn start_at_login_adds_and_removes_the_autostart_entry() {
    let app = App::start(None);
    let entry = app.config.path().join("autostart/session-manager.desktop");
    assert_eq!(
        app.ok("start_at_login", json!({})).await,
        json!({"enabled": false})
    );

    assert_eq!(
        app.ok("set_start_at_login", json!({"enabled": true})).await,
        json!({"enabled": true})
    );
    let text = std::fs::read_to_string(&entry).unwrap();
    assert!(
        text.contains("\nExec=/usr/bin/session-manager --hidden\n"),
        "{text}"
    );
    assert_eq!(
        app.ok("start_at_login", json!({})).await,
        json!({"enabled": true})
    );

    assert_eq!(
        app.ok("set_start_at_login", json!({"enabled": false}))
            .await,
        json!({"enabled": false})
    );
    assert!(!entry.exists());
}

/// The start-time report takes only the screens it knows: the web view cannot put
/// free text into the app's log.
#[tokio::test(flavor = "multi_thread")]
async fn the_first_paint_report_takes_only_known_screens() {
    let app = App::start(None);
    assert_eq!(
        app.invoke("first_paint", json!({"screen": "devices", "rows": 4}))
            .await,
        Ok(Value::Null)
    );
    let refused = app
        .invoke(
            "first_paint",
            json!({"screen": "x\nforged log line", "rows": 1}),
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("unknown variant"), "{refused}");
}

#[test]
fn the_csp_allows_no_inline_or_data_scripts_and_no_remote_content() {
    let conf: Value = serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
    let csp = &conf["app"]["security"]["csp"];
    assert_eq!(csp["default-src"], "'self'");
    assert_eq!(csp["script-src"], "'self'");
    for (directive, value) in csp.as_object().unwrap() {
        let value = value.as_str().unwrap();
        for bad in [
            "unsafe-inline",
            "unsafe-eval",
            "data:",
            "blob:",
            "https:",
            "http://*",
            "*",
        ] {
            assert!(
                !value.split_whitespace().any(|v| v.contains(bad)),
                "{directive} allows {bad}: {value}"
            );
        }
    }
    assert_eq!(conf["build"]["frontendDist"], "../ui/dist");
    assert!(
        conf["build"].get("devUrl").is_none(),
        "no dev server URL: the app only loads its own files"
    );
}

#[test]
fn the_notification_names_the_device_and_the_time() {
    let notice = client::SignedOutNotice {
        by_session_id: None,
        by_device_name: Some("Phone".into()),
        reason: proto::sessions::RevocationReason::Revoked,
        at: chrono::Utc::now(),
    };
    // What the OS notification and the sign-in screen both show.
    let text = app::ipc::SignedOutNotice::new(notice.clone(), &chrono::Local::now()).message;
    assert!(
        text.starts_with("This device was signed out from Phone at "),
        "{text}"
    );
    let reuse = client::SignedOutNotice {
        by_device_name: None,
        reason: proto::sessions::RevocationReason::RefreshTokenReuse,
        ..notice
    };
    let text = app::ipc::SignedOutNotice::new(reuse, &chrono::Local::now()).message;
    assert!(text.contains("used from somewhere else"), "{text}");
}

/// What an authenticator app computes from the key the app shows: the code of now.
fn authenticator_code(secret: &str) -> String {
    testkit::authenticator(secret)
        .generate(testkit::unix_now())
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_signs_the_other_devices_out() {
    let server = TestServer::start().await;
    let others = account_with_three_devices(&server).await;
    let app = App::start(Some(server.url()));
    let own: proto::SessionId = app.sign_in(&server).await["session_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let new_password = "a longer and newer passphrase";

    let wrong = app
        .invoke(
            "change_password",
            json!({"currentPassword": "not it", "newPassword": new_password, "signOutOtherDevices": true}),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong["code"], "invalid_credentials", "{wrong}");
    let weak = app
        .invoke(
            "change_password",
            json!({"currentPassword": PASSWORD, "newPassword": "password", "signOutOtherDevices": true}),
        )
        .await
        .unwrap_err();
    assert_eq!(weak["code"], "validation_failed", "{weak}");
    assert!(
        weak["message"].as_str().is_some_and(|m| m.len() > 10),
        "the server's reason: {weak}"
    );
    for (name, token) in &others {
        assert!(
            !server.session_is_revoked(token.session_id).await,
            "{name} is still signed in after the refused changes"
        );
    }

    let answer = app
        .ok(
            "change_password",
            json!({"currentPassword": PASSWORD, "newPassword": new_password, "signOutOtherDevices": true}),
        )
        .await;
    assert_eq!(answer, json!({"revoked": 3}));
    for (name, token) in &others {
        assert!(
            server.session_is_revoked(token.session_id).await,
            "{name} is signed out on the server"
        );
    }
    assert!(!server.session_is_revoked(own).await, "this device stays");
    assert_eq!(app.devices().await.len(), 1);
    // The old password no longer signs anyone in; the new one does.
    let refused = app
        .invoke(
            "sign_in",
            json!({"serverUrl": server.url(), "email": EMAIL, "password": PASSWORD, "deviceName": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(refused["code"], "invalid_credentials");
    server.sign_in(EMAIL, new_password, "Phone").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_step_from_enrolment_to_a_sign_in_that_asks_for_the_code() {
    let server = TestServer::start().await;
    server.create_account(EMAIL, PASSWORD).await;
    let app = App::start(Some(server.url()));
    app.sign_in(&server).await;
    let account = app.ok("account", json!({})).await;
    assert_eq!(account["email"], EMAIL);
    assert_eq!(account["two_step"], false);
    assert!(account["created_at"].is_string(), "{account}");

    let wrong = app
        .invoke("two_step_start", json!({"password": "not it"}))
        .await
        .unwrap_err();
    assert_eq!(wrong["code"], "invalid_credentials");
    let setup = app
        .ok("two_step_start", json!({"password": PASSWORD}))
        .await;
    let secret = setup["secret"].as_str().unwrap().to_string();
    assert!(
        secret.len() >= 16
            && secret
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
        "a base32 key to type: {secret}"
    );
    let qr = setup["qr_svg"].as_str().unwrap();
    assert!(
        qr.contains("<svg") && qr.contains("<path") && qr.contains("viewBox"),
        "the server's QR code, an SVG the UI can read: {}",
        &qr[..qr.len().min(200)]
    );
    let bad = app
        .invoke("two_step_confirm", json!({"code": "000000"}))
        .await
        .unwrap_err();
    assert_eq!(bad["code"], "validation_failed", "{bad}");
    let codes = app
        .ok(
            "two_step_confirm",
            json!({"code": authenticator_code(&secret)}),
        )
        .await;
    let codes: Vec<String> = serde_json::from_value(codes["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(app.ok("account", json!({})).await["two_step"], true);

    // Signed out and back: the right password is not enough any more.
    app.ok("sign_out", json!({})).await;
    let asked = app
        .invoke(
            "sign_in",
            json!({"serverUrl": server.url(), "email": EMAIL, "password": PASSWORD, "deviceName": "Ada's desktop"}),
        )
        .await
        .unwrap_err();
    assert_eq!(asked["code"], "two_step_required", "{asked}");
    assert_eq!(app.ok("app_state", json!({})).await["signed_in"], false);
    let wrong = app
        .invoke(
            "sign_in_second_step",
            json!({"code": "000000", "recovery": false}),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong["code"], "validation_failed", "{wrong}");
    // The code of now was spent turning it on (a replay is refused): a recovery code.
    let state = app
        .ok(
            "sign_in_second_step",
            json!({"code": codes[0], "recovery": true}),
        )
        .await;
    assert_eq!(state["signed_in"], true, "{state}");
    assert_eq!(app.devices().await[0]["device"]["name"], "Ada's desktop");
    // Answered: that sign-in cannot be completed again.
    let again = app
        .invoke(
            "sign_in_second_step",
            json!({"code": codes[1], "recovery": true}),
        )
        .await
        .unwrap_err();
    assert_eq!(again["code"], "two_step_expired", "{again}");

    // Off: the password and a recovery code.
    let off = app
        .invoke(
            "two_step_disable",
            json!({"password": PASSWORD, "code": "nope"}),
        )
        .await
        .unwrap_err();
    assert_eq!(off["code"], "validation_failed", "{off}");
    app.ok(
        "two_step_disable",
        json!({"password": PASSWORD, "code": codes[1]}),
    )
    .await;
    assert_eq!(app.ok("account", json!({})).await["two_step"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_sign_in_is_told_and_a_signed_out_device_shows_its_wipe_receipt() {
    let server = TestServer::start().await;
    let others = account_with_three_devices(&server).await;
    let (_, tablet) = &others[2];
    let app = App::start(Some(server.url()));
    // Listened for before signing in: the stream may be up before `sign_in` returns.
    let online = app.next_event("state-changed");
    app.sign_in(&server).await;
    wait_for(&online, "online", |s| s["online"] == true).await;

    // Another device signs in: the UI hears it in proto::notice's words.
    let new = app.next_event("new-sign-in");
    let phone = server.sign_in(EMAIL, PASSWORD, "New phone").await;
    let told = wait_for(&new, "new-sign-in", |_| true).await;
    assert_eq!(told["session_id"], phone.session_id.to_string());
    assert_eq!(told["device"]["name"], "New phone");
    assert_eq!(
        told["message"],
        "New sign-in on 'New phone' (Debian 12) from 127.0.0.1"
    );

    // The tablet is signed out: listed as waiting until its receipt arrives.
    assert_eq!(app.ok("signed_out_devices", json!({})).await, json!([]));
    app.ok(
        "sign_out_device",
        json!({"id": tablet.session_id.to_string()}),
    )
    .await;
    let listed = app.ok("signed_out_devices", json!({})).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], tablet.session_id.to_string());
    assert_eq!(listed[0]["device"]["name"], "Old tablet");
    assert_eq!(listed[0]["revoked_reason"], "revoked");
    assert_eq!(listed[0]["wiped_at"], Value::Null);
    assert_eq!(
        listed[0]["wipe_status"],
        "Waiting for this device to come online"
    );

    // The tablet proves it erased its keys (the receipt its client sends).
    let wiped = app.next_event("devices-changed");
    let receipt = reqwest::Client::new()
        .post(format!(
            "{}/v1/sessions/{}/wipe-receipt",
            server.url(),
            tablet.session_id
        ))
        .json(&json!({"refresh_token": tablet.refresh_token.expose()}))
        .send()
        .await
        .unwrap();
    assert_eq!(receipt.status(), 204);
    wait_for(&wiped, "devices-changed for session.wiped", |e| {
        e["reason"] == "session.wiped"
    })
    .await;
    let listed = app.ok("signed_out_devices", json!({})).await;
    let status = listed[0]["wipe_status"].as_str().unwrap();
    assert!(
        status.starts_with("Keys erased from this device at ")
            && status.ends_with(", from 127.0.0.1"),
        "{status}"
    );
    assert!(listed[0]["wiped_at"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_click_on_a_notification_shows_its_device() {
    let server = TestServer::start().await;
    let others = account_with_three_devices(&server).await;
    let phone = others[1].1.session_id;
    let app = App::start(Some(server.url()));
    app.sign_in(&server).await;

    // The window is open: its page is told at once, and nothing waits for a new one.
    let shown = app.next_event("show-device");
    app::events::show_device(app.app.handle(), Some(phone));
    let event = wait_for(&shown, "show-device", |_| true).await;
    assert_eq!(event["session_id"], phone.to_string());
    assert_eq!(app.ok("device_to_show", json!({})).await, Value::Null);
}
