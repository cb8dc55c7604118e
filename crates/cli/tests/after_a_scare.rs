//! After a scare, in the terminal: `passwd`, `2fa`, `devices --all` with the signed-out
//! devices and their wipe receipts, `watch` telling of every new sign-in and every
//! security alert, and device names that were stored before the server refused
//! deceptive ones shown, never obeyed. The real binary, the real server, the real
//! Secret Service. Run with: scripts/with-secret-service cargo test -p sessionctl
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proto::SessionId;
use serde_json::{Value, json};
use support::*;
use testkit::keychain::require_secret_service;
use testkit::{TestServer, authenticator, unix_now};

const NEW_PW: &str = "a brand new passphrase";

/// The app's code `steps_ahead` steps of 30 s from now.
fn code(app: &totp_rs::Totp, steps_ahead: u64) -> String {
    app.generate(unix_now() + 30 * steps_ahead).to_string()
}

/// Another device of the account, over plain HTTP.
struct Other {
    url: String,
    http: reqwest::Client,
    access: String,
    refresh: String,
    sid: SessionId,
}

impl Other {
    async fn sign_in(server: &TestServer, email: &str, password: &str, name: &str) -> Other {
        let t = server.sign_in(email, password, name).await;
        Other {
            url: server.url().to_owned(),
            http: reqwest::Client::new(),
            access: t.access_token.expose().to_owned(),
            refresh: t.refresh_token.expose().to_owned(),
            sid: t.session_id,
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> reqwest::Response {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.access)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn refresh_with(&self, token: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/oauth/token", self.url))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .send()
            .await
            .unwrap()
    }
}

/// Writes a device's fields straight into the test server's database, as names were
/// stored before the server refused deceptive ones.
async fn store_as_before_the_rule(
    server: &TestServer,
    sid: SessionId,
    name: &str,
    platform: &str,
    os: &str,
) {
    let db = sqlx::SqlitePool::connect(server.database_url())
        .await
        .unwrap();
    let done = sqlx::query(
        "UPDATE sessions SET device_name = ?, platform = ?, os_version = ? WHERE id = ?",
    )
    .bind(name)
    .bind(platform)
    .bind(os)
    .bind(sid.to_string())
    .execute(&db)
    .await
    .unwrap();
    assert_eq!(done.rows_affected(), 1);
    db.close().await;
}

/// Nothing in `text` a terminal would obey instead of show.
fn assert_nothing_deceptive(text: &str) {
    for line in text.lines() {
        assert_eq!(
            proto::text::first_deceptive(line),
            None,
            "a raw control character was printed: {line:?}"
        );
    }
}

// ----- passwd -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwd_changes_the_password_and_signs_the_other_devices_out() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    let email = "gus@example.com";
    server.create_account(email, PW).await;
    let m = Machine::new();
    assert!(m.login(url, email, "gus-laptop").status.success());
    let phone = server.sign_in(email, PW, "gus-phone").await;
    let passwd = |input: String| m.run_with_input(url, &["passwd", "--password-stdin"], &input);

    // A new password the server's policy refuses: its reason, and nothing changes.
    let out = passwd(format!("{PW}\nshort\n"));
    assert_eq!(out.status.code(), Some(1));
    golden("passwd-weak.stderr.txt", &mask(&stderr(&out), url));
    // The wrong current password.
    let out = passwd(format!("not my password\n{NEW_PW}\n"));
    assert_eq!(out.status.code(), Some(1));
    golden("passwd-wrong.stderr.txt", &mask(&stderr(&out), url));
    assert!(!server.session_is_revoked(phone.session_id).await);

    let out = passwd(format!("{PW}\n{NEW_PW}\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    golden("passwd.txt", &mask(&stdout(&out), url));
    assert!(server.session_is_revoked(phone.session_id).await);
    // This computer carries on.
    let out = m.run(url, &["devices"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));

    // Keeping the other devices, when asked to.
    let tablet = server.sign_in(email, NEW_PW, "gus-tablet").await;
    let out = m.run_with_input(
        url,
        &["passwd", "--password-stdin", "--keep-other-devices"],
        &format!("{NEW_PW}\nyet another passphrase\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    golden("passwd-keep.txt", &mask(&stdout(&out), url));
    assert!(!server.session_is_revoked(tablet.session_id).await);

    // One line where two are needed: a usage error, nothing sent.
    let out = passwd("only one line\n".to_owned());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

// ----- 2fa --------------------------------------------------------------------------

/// `2fa enable` as a script drives it: the password, then (once the secret is shown)
/// the app's first code. Returns everything it printed, the secret, the recovery codes.
fn enable_two_step(m: &Machine, url: &str) -> (String, String, Vec<String>) {
    let mut child = m
        .cmd(url, &["2fa", "enable", "--password-stdin", "--totp-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{PW}\n").as_bytes()).unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let secret = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "no secret shown: {printed}"
        );
        printed.push_str(&line);
        if let Some(s) = line.strip_prefix("Secret: ") {
            break s.trim().to_owned();
        }
    };
    stdin
        .write_all(format!("{}\n", code(&authenticator(&secret), 0)).as_bytes())
        .unwrap();
    drop(stdin);
    out.read_to_string(&mut printed).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{printed}");
    let codes: Vec<String> = printed
        .split("shown again.")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (printed, secret, codes)
}

/// The enrolment output with what differs each time replaced: the QR code's lines, the
/// secret, the recovery codes.
fn mask_enrolment(printed: &str, secret: &str, codes: &[String]) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in printed.lines() {
        let is_qr = !line.is_empty() && line.chars().all(|c| " █▀▄".contains(c));
        if is_qr {
            if lines.last().map(String::as_str) != Some("<QR>") {
                lines.push("<QR>".into());
            }
        } else if codes.iter().any(|c| line.trim() == c) {
            lines.push("<RECOVERY CODE>".into());
        } else {
            lines.push(line.replace(secret, "<SECRET>"));
        }
    }
    lines.join("\n") + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_sign_in_from_enable_to_login_to_disable() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    let email = "hana@example.com";
    server.create_account(email, PW).await;
    let m = Machine::new();
    assert!(m.login(url, email, "hana-laptop").status.success());
    let out = m.run(url, &["2fa", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    golden("2fa-status-off.txt", &mask(&stdout(&out), url));

    let (printed, secret, codes) = enable_two_step(&m, url);
    assert_eq!(codes.len(), 10, "{printed}");
    assert!(
        printed.lines().filter(|l| l.contains('█')).count() >= 10,
        "a QR code is drawn: {printed}"
    );
    golden(
        "2fa-enable.txt",
        &mask(&mask_enrolment(&printed, &secret, &codes), url),
    );
    let out = m.run(url, &["2fa", "status", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["two_step"].clone(), v["email"].clone()),
        (json!(true), json!(email))
    );
    let app = authenticator(&secret);

    // Signing in again: the password, then the app's code (the current step was spent
    // confirming: its next one).
    assert!(m.run(url, &["logout"]).status.success());
    let login = |extra: &[&str], input: String| {
        let mut args = vec!["login", "--email", email, "--device-name", "hana-laptop"];
        args.extend_from_slice(extra);
        m.run_with_input(url, &args, &input)
    };
    let out = login(
        &["--password-stdin", "--totp-stdin"],
        format!("{PW}\n{}\n", code(&app, 1)),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    golden("login-two-step.txt", &mask(&stdout(&out), url));
    assert!(m.run(url, &["logout"]).status.success());

    // A wrong code: refused in words, nothing kept.
    let out = login(
        &["--password-stdin", "--totp-stdin"],
        format!("{PW}\n000000\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    golden("login-wrong-code.stderr.txt", &mask(&stderr(&out), url));
    assert_eq!(m.run(url, &["status"]).status.code(), Some(3));
    // The code can come from nowhere: say how to give it.
    let out = login(&["--password-stdin"], format!("{PW}\n"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--totp-stdin"), "{}", stderr(&out));
    // A recovery code instead of the app.
    let out = login(
        &["--password-stdin", "--totp-stdin", "--recovery-code"],
        format!("{PW}\n{}\n", codes[0]),
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // Off: the password and a code (here a recovery code).
    let out = m.run_with_input(
        url,
        &["2fa", "disable", "--password-stdin", "--totp-stdin"],
        &format!("{PW}\n{}\n", codes[1]),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    golden("2fa-disable.txt", &mask(&stdout(&out), url));
    let out = m.run(url, &["2fa", "status"]);
    golden("2fa-status-off.txt", &mask(&stdout(&out), url));
}

// ----- devices --all ----------------------------------------------------------------

/// The desk lists the devices signed out in the last week: the phone, which heard of
/// it at its next run and erased its keys (its receipt arrived), and the tablet, still
/// waiting to come online.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_all_shows_which_signed_out_devices_erased_their_keys() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    let email = "wes@example.com";
    server.create_account(email, PW).await;
    let desk = Machine::new();
    assert!(desk.login(url, email, "wes-desk").status.success());
    // The phone's sessionctl reaches the server by another name, so that its keychain
    // entry is not the desk's (the two machines of this test share one keyring).
    let phone_url = url.replace("127.0.0.1", "localhost");
    let phone = Machine::new();
    assert!(phone.login(&phone_url, email, "wes-phone").status.success());
    Other::sign_in(&server, email, PW, "wes-tablet").await;

    let out = desk.run(url, &["devices", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    golden("devices-all-none-signed-out.txt", &mask(&stdout(&out), url));

    assert!(desk.run(url, &["revoke", "wes-phone"]).status.success());
    assert!(desk.run(url, &["revoke", "wes-tablet"]).status.success());
    // The phone's next run: told it is signed out, it erases its keys and says so.
    let out = phone.run(&phone_url, &["devices"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));

    let out = desk.run(url, &["devices", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    golden("devices-all.txt", &mask(&stdout(&out), url));

    let out = desk.run(url, &["devices", "--all", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    let by_name = |n: &str| {
        sessions
            .iter()
            .find(|s| s["device"]["name"] == n)
            .unwrap()
            .clone()
    };
    assert!(by_name("wes-phone")["wiped_at"].is_string());
    assert_eq!(by_name("wes-phone")["wiped_ip"], "127.0.0.1");
    assert!(by_name("wes-tablet")["wiped_at"].is_null());
    assert_eq!(by_name("wes-tablet")["revoked_reason"], "revoked");
}

// ----- deceptive names --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_names_stored_before_the_rule_are_shown_not_obeyed() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    let email = "ivy@example.com";
    server.create_account(email, PW).await;
    let m = Machine::new();
    assert!(m.login(url, email, "ivy-laptop").status.success());
    let phone = Other::sign_in(&server, email, PW, "ivy-phone").await;
    // "Work laptop" read backwards after a right-to-left override, with a zero-width
    // space at its end; a line separator and an isolate in the other fields.
    store_as_before_the_rule(
        &server,
        phone.sid,
        "Work \u{202E}potpal\u{200B}",
        "lin\u{2066}ux",
        "Debian\u{2028}12",
    )
    .await;

    let out = m.run(url, &["devices"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_nothing_deceptive(&stdout(&out));
    golden("devices-deceptive.txt", &mask(&stdout(&out), url));

    let out = m.run(url, &["revoke", &phone.sid.to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_nothing_deceptive(&stdout(&out));
    golden("revoke-deceptive.txt", &mask(&stdout(&out), url));

    let out = m.run(url, &["devices", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_nothing_deceptive(&stdout(&out));
    assert!(
        stdout(&out).contains("Work \u{FFFD}potpal\u{FFFD}"),
        "{}",
        stdout(&out)
    );
}

// ----- watch ------------------------------------------------------------------------

/// `sessionctl watch` running, its output collected as it comes.
struct Watch {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Watch {
    fn start(m: &Machine, url: &str) -> Watch {
        let mut child = m
            .cmd(url, &["watch"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let collect = |mut from: Box<dyn Read + Send>| {
            let into = Arc::new(Mutex::new(String::new()));
            let sink = into.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = from.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
            into
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        let w = Watch {
            child,
            stdout,
            stderr,
        };
        w.wait_until(|_, err| err.contains("(connected)"), "the stream connects");
        w
    }

    fn wait_until(&self, cond: impl Fn(&str, &str) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (out, err) = (
                self.stdout.lock().unwrap().clone(),
                self.stderr.lock().unwrap().clone(),
            );
            if cond(&out, &err) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "watch never showed {what}:\n{out}\n{err}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the `n`-th line of output.
    fn lines(&self, n: usize) {
        self.wait_until(|out, _| out.lines().count() >= n, &format!("{n} lines"));
    }

    /// Ctrl-C; returns everything printed, each line without its clock.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-s", "INT", &pid])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "watch ends with Ctrl-C");
        let out = self.stdout.lock().unwrap().clone();
        out.lines()
            .map(|l| {
                // "HH:MM:SS  " first.
                assert_eq!(l.as_bytes().get(2), Some(&b':'), "{l}");
                l[10..].to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }
}

/// On the laptop, `watch` tells of every new sign-in (where from) and every security
/// alert, in the words the desktop app's notifications use, and shows a name stored
/// before the server refused deceptive ones without obeying it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_tells_of_every_new_sign_in_and_every_security_alert() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    let email = "kai@example.com";
    server.create_account(email, PW).await;
    let m = Machine::new();
    assert!(m.login(url, email, "kai-laptop").status.success());
    let watch = Watch::start(&m, url);

    let phone = Other::sign_in(&server, email, PW, "kai-phone").await;
    watch.lines(1);
    // The phone, named deceptively before the rule, signs itself out.
    store_as_before_the_rule(&server, phone.sid, "Kai\u{202E}enohp", "linux", "Debian 12").await;
    let r = phone
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/sessions/{}", phone.sid),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 204);
    watch.lines(2);

    // At the desk: a new password (the laptop kept), two-step sign-in on and off.
    let desk = Other::sign_in(&server, email, PW, "kai-desk").await;
    watch.lines(3);
    let r = desk
        .send(
            reqwest::Method::POST,
            "/v1/account/password",
            json!({"current_password": PW, "new_password": NEW_PW, "sign_out_other_devices": false}),
        )
        .await;
    assert_eq!(r.status(), 200);
    watch.lines(4);
    let r = desk
        .send(
            reqwest::Method::POST,
            "/v1/account/two-step",
            json!({"password": NEW_PW}),
        )
        .await;
    let secret = r.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = authenticator(&secret);
    let r = desk
        .send(
            reqwest::Method::POST,
            "/v1/account/two-step/confirm",
            json!({"code": code(&app, 0)}),
        )
        .await;
    let recovery = r.json::<Value>().await.unwrap()["recovery_codes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let r = desk
        .send(
            reqwest::Method::DELETE,
            "/v1/account/two-step",
            json!({"password": NEW_PW, "code": recovery}),
        )
        .await;
    assert_eq!(r.status(), 204);
    watch.lines(5);

    // A tablet whose sign-in is copied: the thief refreshes, the tablet refreshes with
    // what it still holds. The server ends the session and alerts every device.
    let tablet = Other::sign_in(&server, email, NEW_PW, "kai-tablet").await;
    watch.lines(6);
    let stolen = tablet.refresh_with(&tablet.refresh).await;
    let successor: Value = stolen.json().await.unwrap();
    let r = tablet
        .refresh_with(successor["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(r.status(), 200);
    let r = tablet.refresh_with(&tablet.refresh).await;
    assert_eq!(r.status(), 400);
    watch.lines(8);

    let printed = watch.stop();
    assert_nothing_deceptive(&printed);
    golden("watch.txt", &mask(&printed, url));
}

// ----- at a terminal ----------------------------------------------------------------

/// `sessionctl` on a real pseudo-terminal (`script`), typed at as a person would: each
/// answer only once its prompt is on the screen.
struct Terminal {
    child: Child,
    stdin: std::process::ChildStdin,
    screen: Arc<Mutex<String>>,
}

impl Terminal {
    fn run(m: &Machine, url: &str, args: &str) -> Terminal {
        let inner = format!("{} {args}", env!("CARGO_BIN_EXE_sessionctl"));
        let mut child = m
            .program("script", url, &["-qec", &inner, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script (util-linux)");
        let mut out = child.stdout.take().unwrap();
        let screen = Arc::new(Mutex::new(String::new()));
        let sink = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdin = child.stdin.take().unwrap();
        Terminal {
            child,
            stdin,
            screen,
        }
    }

    /// Waits for the `nth` (from 1) `prompt` on the screen, then types `answer`.
    fn answer(&mut self, prompt: &str, nth: usize, answer: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.screen.lock().unwrap().matches(prompt).count() < nth {
            assert!(
                Instant::now() < deadline,
                "no {prompt:?} on the screen: {}",
                self.screen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stdin
            .write_all(format!("{answer}\r").as_bytes())
            .unwrap();
    }

    /// Waits for the end; returns the exit code and the screen.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(
                Instant::now() < deadline,
                "did not finish: {}",
                self.screen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader has the last bytes once the pty closes.
        std::thread::sleep(Duration::from_millis(100));
        (status.code(), self.screen.lock().unwrap().clone())
    }
}

/// At a terminal, `login` asks for the code when the account needs one, and lets a
/// person try again after a wrong one; `passwd` asks for the new password twice and
/// changes nothing when they differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_terminal_the_code_and_the_new_password_are_asked_for() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    let email = "lou@example.com";
    server.create_account(email, PW).await;
    let m = Machine::new();
    assert!(m.login(url, email, "lou-laptop").status.success());

    let mut t = Terminal::run(&m, url, "passwd");
    t.answer("Current password:", 1, PW);
    t.answer("New password:", 1, NEW_PW);
    t.answer("New password again:", 1, "something else entirely");
    let (status, screen) = t.finish();
    assert_eq!(status, Some(2), "{screen}");
    assert!(screen.contains("the two new passwords differ"), "{screen}");
    assert!(!screen.contains(PW) && !screen.contains(NEW_PW), "{screen}");

    let (_, secret, _) = enable_two_step(&m, url);
    let app = authenticator(&secret);
    assert!(m.run(url, &["logout"]).status.success());
    let mut t = Terminal::run(
        &m,
        url,
        &format!("login --email {email} --device-name lou-laptop"),
    );
    t.answer("Password:", 1, PW);
    t.answer("Code from your authenticator app:", 1, "000000");
    t.answer("Code from your authenticator app:", 2, &code(&app, 1));
    let (status, screen) = t.finish();
    assert_eq!(status, Some(0), "{screen}");
    assert!(
        screen.contains("This account has two-step sign-in")
            && screen.contains("That code did not work")
            && screen.contains("Signed in as lou@example.com"),
        "{screen}"
    );
    assert!(!screen.contains(PW), "the password was echoed: {screen}");
}

/// The lost laptop runs `watch` when the desk signs it out: it erases its keys, says
/// so, and exits; its wipe receipt has reached the server by then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watching_laptop_signed_out_proves_it_erased_its_keys_before_it_exits() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    let email = "max@example.com";
    server.create_account(email, PW).await;
    let laptop = Machine::new();
    assert!(laptop.login(url, email, "max-laptop").status.success());
    let out = laptop.run(url, &["status", "--json"]);
    let laptop_sid: SessionId = serde_json::from_slice::<Value>(&out.stdout).unwrap()["session_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let watch = Watch::start(&laptop, url);
    let desk = Other::sign_in(&server, email, PW, "max-desk").await;
    watch.lines(1);

    let r = desk
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/sessions/{laptop_sid}"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 204);
    let mut child = watch.child;
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "watch did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(3));
    let list: Value = desk
        .http
        .get(format!("{url}/v1/sessions?include=signed_out"))
        .bearer_auth(&desk.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gone = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == laptop_sid.to_string())
        .unwrap()
        .clone();
    assert!(gone["wiped_at"].is_string(), "{gone}");
}
