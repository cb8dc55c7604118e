//! `sessionctl` as a person uses it: the real binary, the real server, the real
//! Secret Service. Run with: scripts/with-secret-service cargo test -p sessionctl
//!
//! Golden files live in tests/golden; `UPDATE_GOLDEN=1` rewrites them.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

use support::*;
use testkit::TestServer;
use testkit::keychain::{files_containing, require_secret_service};

/// The whole story in the terminal: sign in, see the devices, rename and sign out the
/// phone, check the status, sign out; every human output pinned by a golden file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_everyday_commands_print_what_the_golden_files_say() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    server.create_account("alice@example.com", PW).await;
    let m = Machine::new();

    let out = m.login(url, "alice@example.com", "alice-laptop");
    assert!(out.status.success(), "{}", stderr(&out));
    golden("login.txt", &mask(&stdout(&out), url));

    let phone = server.sign_in("alice@example.com", PW, "alice-phone").await;
    let out = m.run(url, &["devices"]);
    assert!(out.status.success(), "{}", stderr(&out));
    golden("devices.txt", &mask(&stdout(&out), url));

    let out = m.run(url, &["rename", "alice-phone", "old phone"]);
    assert!(out.status.success(), "{}", stderr(&out));
    golden("rename.txt", &mask(&stdout(&out), url));

    let out = m.run(url, &["revoke", "old phone"]);
    assert!(out.status.success(), "{}", stderr(&out));
    golden("revoke.txt", &mask(&stdout(&out), url));
    assert!(server.session_is_revoked(phone.session_id).await);

    let out = m.run(url, &["status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    golden("status.txt", &mask(&stdout(&out), url));

    server
        .sign_in("alice@example.com", PW, "alice-tablet")
        .await;
    let out = m.run(url, &["logout", "--others"]);
    assert!(out.status.success(), "{}", stderr(&out));
    golden("logout-others.txt", &mask(&stdout(&out), url));

    let out = m.run(url, &["logout"]);
    assert!(out.status.success(), "{}", stderr(&out));
    golden("logout.txt", &mask(&stdout(&out), url));

    let out = m.run(url, &["status"]);
    assert_eq!(out.status.code(), Some(3));
    golden("status-signed-out.txt", &mask(&stdout(&out), url));

    let out = m.run(url, &["devices"]);
    assert_eq!(out.status.code(), Some(3), "not signed in is exit code 3");
    golden(
        "devices-not-signed-in.stderr.txt",
        &mask(&stderr(&out), url),
    );
}

/// The lost-laptop story in two terminals: the laptop runs `sessionctl watch`; the desk
/// signs it out; the laptop says by whom, its keychain entry is gone, and watch exits 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_on_the_lost_laptop_reports_who_signed_it_out() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    server.create_account("lena@example.com", PW).await;
    let laptop = Machine::new();
    assert!(
        laptop
            .login(url, "lena@example.com", "lena-laptop")
            .status
            .success()
    );
    let desk = Machine::new();
    assert!(
        desk.login(url, "lena@example.com", "lena-desk")
            .status
            .success()
    );

    let mut watch = laptop
        .cmd(url, &["watch"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The desk signs the laptop out once the laptop's stream is up (`watch` says
    // "(connected)"), so the laptop hears it live rather than on reconnecting.
    let (connected, is_connected) = std::sync::mpsc::channel();
    let watch_stderr = {
        let err = watch.stderr.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let mut all = String::new();
            for line in std::io::BufReader::new(err).lines() {
                let line = line.unwrap_or_default();
                if line == "(connected)" {
                    let _ = connected.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        })
    };
    is_connected
        .recv_timeout(Duration::from_secs(20))
        .expect("watch connected its event stream");
    let out = desk.run(url, &["revoke", "lena-laptop"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = watch.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "watch did not end after the revocation"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = watch.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(3), "{}", watch_stderr.join().unwrap());
    let text = stdout(&out);
    assert!(
        text.contains("This device was signed out from lena-desk at ")
            && text.contains("Its keychain entry has been removed."),
        "{text}"
    );
    // And it is signed out for good.
    let out = laptop.run(url, &["devices"]);
    assert_eq!(out.status.code(), Some(3));
}

/// Logging out with the server down: done at once on this computer, reported as
/// pending, and finished by the next run once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_logout_is_pending_until_the_next_run_reaches_the_server() {
    require_secret_service();
    let mut server = TestServer::start().await;
    let url = server.url().to_string();
    server.create_account("mia@example.com", PW).await;
    let m = Machine::new();
    assert!(m.login(&url, "mia@example.com", "mia-pc").status.success());
    let out = m.run(&url, &["status", "--json"]);
    let sid: proto::SessionId =
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["session_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();

    server.stop().await;
    let started = Instant::now();
    let out = m.run(&url, &["logout"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(out.status.success(), "{}", stderr(&out));
    golden("logout-offline.txt", &mask(&stdout(&out), &url));
    let out = m.run(&url, &["status"]);
    assert_eq!(out.status.code(), Some(3));
    golden("status-pending.txt", &mask(&stdout(&out), &url));

    server.start_again().await;
    assert!(!server.session_is_revoked(sid).await);
    let out = m.run(&url, &["status"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("The server confirmed 1 earlier sign-out."),
        "{}",
        stderr(&out)
    );
    assert!(server.session_is_revoked(sid).await);
    golden(
        "status-after-offline-logout.txt",
        &mask(&stdout(&out), &url),
    );
}

/// `--json` outputs have a stable shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_outputs_have_a_stable_shape() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    server.create_account("bob@example.com", PW).await;
    let m = Machine::new();
    assert!(
        m.login(url, "bob@example.com", "bob-laptop")
            .status
            .success()
    );
    server.sign_in("bob@example.com", PW, "bob-phone").await;

    let out = m.run(url, &["devices", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let mut keys: Vec<&str> = sessions[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "current",
            "device",
            "id",
            "last_ip",
            "last_seen_at"
        ]
    );
    let mut dkeys: Vec<&str> = sessions[0]["device"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    dkeys.sort();
    assert_eq!(dkeys, ["app_version", "name", "os_version", "platform"]);
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[0]["device"]["name"], "bob-laptop");

    let out = m.run(url, &["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "access_token_expires_at",
            "default_device_name",
            "device_name",
            "email",
            "keychain",
            "online",
            "pending",
            "pending_revocations",
            "server_url",
            "session_id",
            "signed_in",
            "signed_out_notice"
        ]
    );
    assert_eq!(v["signed_in"], true);
    assert_eq!(v["email"], "bob@example.com");
    assert_eq!(v["keychain"]["available"], true);
    assert_eq!(v["pending_revocations"], 0);
    assert!(v["access_token_expires_at"].is_string());

    // Errors too, with --json: a code a script can match on.
    assert!(m.run(url, &["logout"]).status.success());
    let out = m.run(url, &["devices", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"]["code"], "not_signed_in");
}

/// The password goes in through stdin (or a no-echo prompt): never on the command line,
/// never in the environment of the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_is_never_in_argv_or_the_environment() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    server.create_account("carol@example.com", PW).await;
    let m = Machine::new();

    // There is no flag that takes a password.
    let out = m.run(
        url,
        &["login", "--email", "carol@example.com", "--password", PW],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!stdout(&out).contains(PW));
    // No terminal and no --password-stdin: refuse rather than read an echoed password.
    let out = m.run(url, &["login", "--email", "carol@example.com"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--password-stdin"),
        "{}",
        stderr(&out)
    );

    // While sessionctl waits for the password, look at its argv and environment.
    let mut child = m
        .cmd(
            url,
            &["login", "--email", "carol@example.com", "--password-stdin"],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    std::thread::sleep(Duration::from_millis(300));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(PW.as_bytes()).unwrap();
    // Still running until stdin ends (read_line waits for the newline or EOF).
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains(PW));
    assert!(!String::from_utf8_lossy(&environ).contains(PW));
    stdin.write_all(b"\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains(PW) && !stderr(&out).contains(PW));
}

/// On a terminal, the password prompt does not echo what is typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_prompt_does_not_echo_the_password() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    server.create_account("nora@example.com", PW).await;
    let m = Machine::new();
    // `script` gives sessionctl a real pseudo-terminal.
    let inner = format!(
        "{} login --email nora@example.com --device-name nora-pc",
        env!("CARGO_BIN_EXE_sessionctl")
    );
    let mut child = m
        .program("script", url, &["-qec", &inner, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    let mut out = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let reader = {
        let seen = seen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = std::io::Read::read(&mut out, &mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen.lock().unwrap()).contains("Password:") {
        assert!(Instant::now() < deadline, "no password prompt");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Typed only once the prompt has turned echo off, as a person would.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{PW}\r").as_bytes()).unwrap();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "login did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    reader.join().unwrap();
    let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    assert!(status.success(), "{text}");
    assert!(text.contains("Signed in as nora@example.com"), "{text}");
    assert!(!text.contains(PW), "the password was echoed: {text}");
}

/// Usage errors are exit code 2, with words that say what to do.
#[test]
fn usage_errors_exit_with_2() {
    let m = Machine::on_bus(None);
    for args in [
        &["bogus"][..],
        &["login"],
        &["rename", "x"],
        &["logout", "--others", "--everywhere"],
    ] {
        let out = m.run("http://127.0.0.1:9", args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let out = m
        .cmd("http://127.0.0.1:9", &["login", "--email", "a@b"])
        .env_remove("SESSIONCTL_SERVER")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = m.run("http://127.0.0.1:9", &["--help"]);
    assert!(out.status.success());
}

/// An unreachable server is a plain failure (1) that says what to check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_says_what_to_check() {
    require_secret_service();
    let m = Machine::new();
    let mut child = m
        .cmd(
            "http://127.0.0.1:9",
            &["login", "--email", "a@b.c", "--password-stdin"],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"pw\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    golden(
        "unreachable.stderr.txt",
        &mask(&stderr(&out), "http://127.0.0.1:9"),
    );
}

// ---------------------------------------------------------------------------------
// A keychain that is locked, or not there at all. These run on private D-Bus buses
// of their own, so they cannot disturb the shared keyring of the other tests.

/// A D-Bus session bus with no service activation: only what the test starts is there.
struct PrivateBus {
    dir: tempfile::TempDir,
    daemon: std::process::Child,
    keyring: Option<std::process::Child>,
    address: String,
}

impl PrivateBus {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().display()
            ),
        )
        .unwrap();
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (apt package dbus)");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(daemon.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        Self {
            dir,
            daemon,
            keyring: None,
            address: line.trim().to_string(),
        }
    }

    /// Starts gnome-keyring's Secret Service on this bus, unlocked.
    fn with_unlocked_keyring(mut self) -> Self {
        let data = self.dir.path().join("data");
        let run = self.dir.path().join("run");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&run).unwrap();
        let mut child = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_DATA_HOME", &data)
            .env("XDG_RUNTIME_DIR", &run)
            .env_remove("DISPLAY")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (apt package gnome-keyring)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"private-bus")
            .unwrap();
        self.keyring = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.has_owner("org.freedesktop.secrets") {
            assert!(
                Instant::now() < deadline,
                "gnome-keyring never came up on the private bus"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self
    }

    fn has_owner(&self, name: &str) -> bool {
        let out = Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                &format!("string:{name}"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("boolean true")
    }

    /// Locks every collection, as a screen lock or `Lock` from the desktop would.
    fn lock_keyring(&self) {
        let out = Command::new("dbus-send")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "lock: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        if let Some(k) = &mut self.keyring {
            let _ = k.kill();
            let _ = k.wait();
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A locked keyring gives a clear error within 5 s, never a hang, and no file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_keyring_is_a_clear_error_within_five_seconds() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    server.create_account("dora@example.com", PW).await;
    let bus = PrivateBus::start().with_unlocked_keyring();
    let m = Machine::on_bus(Some(bus.address.clone()));
    let out = m.login(url, "dora@example.com", "dora-pc");
    assert!(out.status.success(), "{}", stderr(&out));

    bus.lock_keyring();
    let started = Instant::now();
    let out = m.run(url, &["devices"]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    println!("locked keyring, after {took:?}:\n{err}");
    assert!(
        err.contains("locked") || err.contains("did not answer"),
        "{err}"
    );
    assert!(
        err.contains("Unlock your keyring"),
        "the error names the fix: {err}"
    );
    assert!(!err.contains("rt_"));
    assert_eq!(files_with_tokens(m.home.path()), Vec::<PathBuf>::new());

    // status says so too, and still exits quickly.
    let started = Instant::now();
    let out = m.run(url, &["status", "--json"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["keychain"]["available"], false, "{v}");
    assert_eq!(v["keychain"]["code"], "keychain_locked");
}

/// No Secret Service on the bus at all: a clear error naming the fix, and no token is
/// kept anywhere (the session the server opened is revoked again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_service_is_a_clear_error_and_nothing_is_written() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    server.create_account("eve@example.com", PW).await;
    let bus = PrivateBus::start();
    assert!(!bus.has_owner("org.freedesktop.secrets"));
    let m = Machine::on_bus(Some(bus.address.clone()));
    let started = Instant::now();
    let out = m.login(url, "eve@example.com", "eve-pc");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    println!("no Secret Service, after {:?}:\n{err}", started.elapsed());
    assert!(
        err.contains("no Secret Service keyring is available"),
        "{err}"
    );
    assert!(
        err.contains("gnome-keyring"),
        "the error names the fix: {err}"
    );
    assert!(err.contains("never stored in a file"), "{err}");
    assert_eq!(files_with_tokens(m.home.path()), Vec::<PathBuf>::new());
    // The session the server opened for this sign-in was closed again: another device
    // of the account sees only itself.
    let other = server.sign_in("eve@example.com", PW, "eve-phone").await;
    let list: serde_json::Value = reqwest::Client::new()
        .get(format!("{url}/v1/sessions"))
        .bearer_auth(other.access_token.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1, "{list}");
}

/// No D-Bus session at all (a bare SSH login): the same clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_dbus_session_at_all_is_a_clear_error() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    server.create_account("finn@example.com", PW).await;
    let m = Machine::on_bus(None);
    let out = m.login(url, "finn@example.com", "finn-pc");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("no Secret Service keyring is available"),
        "{err}"
    );
    assert_eq!(files_with_tokens(m.home.path()), Vec::<PathBuf>::new());
}

/// Every file under `root` that contains something shaped like a refresh token.
fn files_with_tokens(root: &Path) -> Vec<PathBuf> {
    files_containing(&[root.to_path_buf()], &["rt_".to_owned()], UNIX_EPOCH)
}

/// `login` with the password on stdin and extra environment.
fn login_with(m: &Machine, server: &str, email: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = m.cmd(
        server,
        &[
            "login",
            "--email",
            email,
            "--device-name",
            "Laptop",
            "--password-stdin",
        ],
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    with_input(cmd, &format!("{PW}\n"))
}

/// A server whose certificate comes from the company's own CA: sessionctl says how to
/// trust it, and works once told (`SESSIONCTL_CA_FILE`, or `--ca-file`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_is_trusted_only_when_given() {
    require_secret_service();
    let ca = testkit::tls::TestCa::new("Company CA");
    let server = TestServer::start_with(testkit::Options::default().tls(&ca)).await;
    server.create_account("ca@example.com", PW).await;
    let m = Machine::new();

    let out = login_with(&m, server.url(), "ca@example.com", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("certificate is not trusted") && err.contains("--ca-file"),
        "{err}"
    );

    let ca_file = ca.ca_file().display().to_string();
    let out = login_with(
        &m,
        server.url(),
        "ca@example.com",
        &[("SESSIONCTL_CA_FILE", &ca_file)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = m.run(server.url(), &["--ca-file", &ca_file, "devices"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Laptop"));
}

/// Plain http:// to another machine is refused before anything is sent, with
/// the fix; `--insecure-http` is the explicit way round it for a test server.
#[test]
fn plain_http_to_another_machine_is_refused() {
    let m = Machine::on_bus(None);
    let out = login_with(&m, "http://sessions.example.com", "ann@example.com", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("https://sessions.example.com") && err.contains("--insecure-http"),
        "{err}"
    );
}
