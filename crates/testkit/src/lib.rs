//! Test support: the real `session-server` binary on a random loopback port, one per
//! test, with a SQLite file in a temporary directory or a database of its own in a
//! throwaway PostgreSQL cluster.
//!
//! The binary is found through `SESSION_SERVER_BIN`, or next to the running test
//! executable (`target/<profile>/session-server`): build it first (`scripts/test` does,
//! with `cargo build --workspace --bins`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: failing loudly is the point

mod postgres;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proto::tokens::TokenResponse;
use proto::{SessionId, UserId};

pub use postgres::PgCluster;

/// Which database a test server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How to start a test server.
#[derive(Clone, Debug)]
pub struct Options {
    pub backend: Backend,
    /// Flags added after the standard ones.
    pub extra_args: Vec<String>,
    /// Start on this database instead of a fresh one (several instances on one database).
    pub database_url: Option<String>,
    /// Pass `--open-signup` (the default).
    pub open_signup: bool,
    /// PostgreSQL with its durability settings on (fsync, synchronous commit), for
    /// benchmarks; tests use a faster cluster without them.
    pub durable: bool,
    /// The server's `RUST_LOG`. Tests log everything (`debug`, so the log-hygiene checks
    /// see every line); benchmarks use production's `info`.
    pub log: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            extra_args: Vec::new(),
            database_url: None,
            open_signup: true,
            durable: false,
            log: None,
        }
    }
}

impl Options {
    pub fn backend(backend: Backend) -> Self {
        Self {
            backend,
            ..Self::default()
        }
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.extra_args.push(a.into());
        self
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Signal(&'static str);
const SIGTERM: Signal = Signal("TERM");
const SIGKILL: Signal = Signal("KILL");

/// A running `session-server` process.
pub struct TestServer {
    child: Option<Child>,
    url: String,
    port: u16,
    database_url: String,
    args: Vec<String>,
    logs: Arc<Mutex<String>>,
    log: String,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

/// The path of a workspace binary, built before the tests run.
pub fn binary(name: &str) -> PathBuf {
    let env_key = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Ok(p) = std::env::var(&env_key) {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/<test-binary> → target/<profile>/<name>
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let candidate = dir.join(name);
    assert!(
        candidate.exists(),
        "{} not found at {}: build it first (`cargo build --workspace --bins`, as scripts/test does) or set {env_key}",
        name,
        candidate.display()
    );
    candidate
}

impl TestServer {
    /// A server on SQLite with open sign-up and a resource server `rs:rs-secret`.
    pub async fn start() -> TestServer {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = match (&opts.database_url, opts.backend) {
            (Some(url), _) => url.clone(),
            (None, Backend::Sqlite) => {
                format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("sessions.db").display()
                )
            }
            (None, Backend::Postgres) if opts.durable => {
                PgCluster::durable().await.new_database().await
            }
            (None, Backend::Postgres) => PgCluster::shared().await.new_database().await,
        };
        let mut args = vec![
            "--database-url".to_owned(),
            database_url.clone(),
            "--resource-server".to_owned(),
            "rs:rs-secret".to_owned(),
        ];
        if opts.open_signup {
            args.push("--open-signup".to_owned());
        }
        args.extend(opts.extra_args);
        let log = opts
            .log
            .clone()
            .or_else(|| std::env::var("SERVER_LOG").ok())
            .unwrap_or_else(|| "debug".into());
        let mut server = TestServer {
            log,
            child: None,
            url: String::new(),
            port: 0,
            database_url,
            args,
            logs: Arc::new(Mutex::new(String::new())),
            _dir: dir,
            http: reqwest::Client::new(),
        };
        server.spawn(0).await;
        server
    }

    async fn spawn(&mut self, port: u16) {
        let mut cmd = Command::new(binary("session-server"));
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .args(&self.args)
            .env("RUST_LOG", &self.log)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn session-server");
        let (url_tx, url_rx) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("session-server listening on ") {
                    let _ = url_tx.send(url.trim().to_owned());
                }
                logs.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                logs.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            if let Ok(url) = url_rx.try_recv() {
                break url;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "session-server exited with {status} before it was ready:\n{}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "session-server not ready after 60 s:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        self.port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        self.url = url;
        self.child = Some(child);
        // Ready means discovery answers, as the acceptance checks define it.
        loop {
            let r = self
                .http
                .get(format!(
                    "{}/.well-known/oauth-authorization-server",
                    self.url
                ))
                .send()
                .await;
            if matches!(r, Ok(ref r) if r.status() == 200) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "discovery never answered:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Everything the server has logged so far (stdout and stderr).
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// SIGTERM, and wait for the process to end.
    pub async fn stop(&mut self) {
        self.signal(SIGTERM).await;
    }

    /// SIGKILL: a crash.
    pub async fn kill(&mut self) {
        self.signal(SIGKILL).await;
    }

    async fn signal(&mut self, sig: Signal) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-s", sig.0, &pid])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if child.try_wait().expect("wait").is_some() {
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "session-server ignored SIG{} for 20 s:\n{}",
                    sig.0,
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the server again on the same database and port, after stop or kill.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "stop or kill the server first");
        let port = self.port;
        self.spawn(port).await;
    }

    /// The exit status if the process has ended.
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub async fn create_account(&self, email: &str, password: &str) -> UserId {
        let r = self
            .http
            .post(format!("{}/v1/accounts", self.url))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .expect("create account");
        assert_eq!(
            r.status(),
            201,
            "create account: {}",
            r.text().await.unwrap_or_default()
        );
        let body: proto::CreateAccountResponse = r.json().await.expect("json");
        body.user_id
    }

    /// Signs a device in over plain HTTP (another device, as seen from a test).
    pub async fn sign_in(&self, email: &str, password: &str, device_name: &str) -> TokenResponse {
        let r = self
            .http
            .post(format!("{}/v1/sessions", self.url))
            .json(&serde_json::json!({
                "email": email,
                "password": password,
                "device": {"name": device_name, "platform": "linux", "os_version": "Debian 12", "app_version": "test"}
            }))
            .send()
            .await
            .expect("sign in");
        assert_eq!(
            r.status(),
            201,
            "sign in: {}",
            r.text().await.unwrap_or_default()
        );
        r.json().await.expect("token json")
    }

    /// Asks the server's own admin command whether a session has ended.
    pub async fn session_is_revoked(&self, sid: SessionId) -> bool {
        let out = self
            .admin(&["show-session", &sid.to_string(), "--json"])
            .await;
        let v: serde_json::Value = serde_json::from_str(&out).expect("show-session json");
        !v["revoked_at"].is_null()
    }

    /// Runs `session-server admin <args>` on this server's database; returns stdout.
    pub async fn admin(&self, args: &[&str]) -> String {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        run_cli(&self.database_url, &all).await
    }

    /// Runs `session-server <args>` (e.g. `keys rotate`) on this server's database.
    pub async fn cli(&self, args: &[&str]) -> String {
        run_cli(&self.database_url, args).await
    }
}

/// Runs `session-server <args>` against a database; panics on failure.
pub async fn run_cli(database_url: &str, args: &[&str]) -> String {
    let out = tokio::process::Command::new(binary("session-server"))
        .arg("--database-url")
        .arg(database_url)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run session-server admin");
    assert!(
        out.status.success(),
        "session-server {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A path inside the repository (for fixtures).
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}
