//! Test support: a real session server per test on a random loopback port, with a
//! SQLite file in a temporary directory or a database of its own in a throwaway
//! PostgreSQL cluster.
//!
//! - [`TestServer`] runs the server inside the test process by default (the library's
//!   [`session_server::serve::Server`], started from the very flags the binary takes),
//!   or, with [`Options::process`], the real `session-server` binary in a process of its
//!   own: for `kill -9`, SIGTERM and what the binary itself prints.
//! - [`binary`]: any workspace binary, built on demand (no `cargo build` needed first).
//! - [`on_both_backends!`]: one test per backend for each scenario.
//! - [`keychain`]: the real Secret Service (`scripts/with-secret-service`).
//! - [`tls`]: a throwaway certificate authority, and servers over HTTPS.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: failing loudly is the point

mod authenticator;
mod binary;
pub mod keychain;
mod logs;
mod postgres;
pub mod tls;

pub use authenticator::{authenticator, unix_now};

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proto::tokens::TokenResponse;
use proto::{SessionId, UserId};
use session_server::config::ServeArgs;
use session_server::serve::Server;

pub use binary::binary;
pub use postgres::PgCluster;

/// Generates, for each scenario `async fn name(backend: Backend)`, one test per
/// backend: `sqlite::name` and `postgres::name`. (The calling crate needs tokio.)
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await
                }
            )*
        }
    };
}

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
    /// Run the real `session-server` binary in a process of its own (built on demand)
    /// instead of the server inside the test process: for what only a process has
    /// (`kill -9`, SIGTERM, its own output), and for benchmarks (the server as deployed).
    pub process: bool,
    /// The `RUST_LOG` of a server process. Tests log everything (`debug`, or
    /// `SERVER_LOG`, so the log-hygiene checks see every line); benchmarks use
    /// production's `info`. In-process servers log through the test process's one
    /// subscriber instead (see [`TestServer::logs`]).
    pub log: Option<String>,
    /// The CA (PEM) that the harness's own HTTP client trusts: set by [`Options::tls`].
    pub ca_pem: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            extra_args: Vec::new(),
            database_url: None,
            open_signup: true,
            durable: false,
            process: false,
            log: None,
            ca_pem: None,
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

    /// Serves HTTPS with a certificate for `127.0.0.1` and `localhost` issued by `ca`
    /// (its files written into the CA's directory); the harness trusts `ca`.
    pub fn tls(mut self, ca: &tls::TestCa) -> Self {
        let (cert, key) = ca.server_files(&["127.0.0.1", "localhost"]);
        self.extra_args.push("--tls-cert".into());
        self.extra_args.push(cert.display().to_string());
        self.extra_args.push("--tls-key".into());
        self.extra_args.push(key.display().to_string());
        self.ca_pem = Some(ca.cert_pem());
        self
    }

    /// The real binary in a process of its own (see [`Options::process`]).
    pub fn process(mut self) -> Self {
        self.process = true;
        self
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Signal(&'static str);
const SIGTERM: Signal = Signal("TERM");
const SIGKILL: Signal = Signal("KILL");

/// A running session server: in this process, or the binary in a process of its own.
pub struct TestServer {
    running: Option<Running>,
    process: bool,
    url: String,
    port: u16,
    database_url: String,
    /// The serve flags, as the binary takes them (without `--listen`).
    flags: Vec<String>,
    /// A server process's stdout and stderr.
    process_logs: Arc<Mutex<String>>,
    log: String,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

enum Running {
    InProcess(Server),
    Process(Child),
}

impl TestServer {
    /// A server on SQLite with open sign-up and a resource server `rs:rs-secret`.
    pub async fn start() -> TestServer {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> TestServer {
        assert!(
            opts.process || opts.log.is_none(),
            "Options::log is the RUST_LOG of a server process; in-process servers log \
             through the test process's subscriber (SERVER_LOG)"
        );
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
        let mut flags = vec!["--resource-server".to_owned(), "rs:rs-secret".to_owned()];
        if opts.open_signup {
            flags.push("--open-signup".to_owned());
        }
        flags.extend(opts.extra_args);
        let log = opts
            .log
            .clone()
            .or_else(|| std::env::var("SERVER_LOG").ok())
            .unwrap_or_else(|| "debug".into());
        let mut http = reqwest::Client::builder().pool_idle_timeout(proto::CLIENT_POOL_IDLE);
        if let Some(pem) = &opts.ca_pem {
            http = http.add_root_certificate(
                reqwest::Certificate::from_pem(pem.as_bytes()).expect("the test CA"),
            );
        }
        let mut server = TestServer {
            running: None,
            process: opts.process,
            url: String::new(),
            port: 0,
            database_url,
            flags,
            process_logs: Arc::new(Mutex::new(String::new())),
            log,
            _dir: dir,
            http: http.build().expect("the harness's HTTP client"),
        };
        server.launch(0).await;
        server
    }

    async fn launch(&mut self, port: u16) {
        if self.process {
            self.spawn(port).await;
        } else {
            self.start_in_process(port).await;
        }
    }

    /// The library's server in this process, from the very flags the binary takes.
    async fn start_in_process(&mut self, port: u16) {
        logs::capture();
        let listen = format!("127.0.0.1:{port}");
        let flags = ["--listen", listen.as_str()]
            .into_iter()
            .chain(self.flags.iter().map(String::as_str));
        let args = ServeArgs::from_flags(flags)
            .unwrap_or_else(|e| panic!("the test server's flags {:?}: {e}", self.flags));
        let server = Server::start(args, &self.database_url)
            .await
            .unwrap_or_else(|e| panic!("the in-process server did not start: {e:#}"));
        self.port = server.local_addr().port();
        self.url = server.url();
        self.running = Some(Running::InProcess(server));
    }

    /// The `session-server` binary in a process of its own.
    async fn spawn(&mut self, port: u16) {
        let mut cmd = Command::new(server_binary().await);
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database-url")
            .arg(&self.database_url)
            .args(&self.flags)
            .env("RUST_LOG", &self.log)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn session-server");
        let (url_tx, url_rx) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let logs = self.process_logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("session-server listening on ") {
                    let _ = url_tx.send(url.trim().to_owned());
                }
                logs.lock().unwrap().push_str(&format!("{line}\n"));
            }
        });
        let logs = self.process_logs.clone();
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
        self.running = Some(Running::Process(child));
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

    /// `http://127.0.0.1:PORT` (`https://` with [`Options::tls`]).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The server process's id (process mode, while it runs).
    pub fn pid(&self) -> Option<u32> {
        match &self.running {
            Some(Running::Process(child)) => Some(child.id()),
            _ => None,
        }
    }

    /// What the server has logged so far. A server process: its stdout and stderr. In
    /// process: every line the test process logged (its servers', the test's own), a
    /// stricter search for the log-hygiene checks.
    pub fn logs(&self) -> String {
        if self.process {
            self.process_logs.lock().unwrap().clone()
        } else {
            logs::captured()
        }
    }

    /// Stops the server as SIGTERM does (requests in flight finish, event streams
    /// close) and waits until it has; the database stays for [`TestServer::start_again`].
    pub async fn stop(&mut self) {
        match self.running.take() {
            Some(Running::InProcess(server)) => server
                .stop()
                .await
                .unwrap_or_else(|e| panic!("the in-process server failed to stop: {e:#}")),
            Some(Running::Process(child)) => self.signal(child, SIGTERM).await,
            None => {}
        }
    }

    /// SIGHUP to the server process (reload the TLS certificate). Process mode only.
    pub fn hangup(&self) {
        let Some(Running::Process(child)) = &self.running else {
            panic!(
                "hangup needs the server in a process of its own: start it with Options::process()"
            );
        };
        let ok = std::process::Command::new("kill")
            .args(["-s", "HUP", &child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -HUP failed");
    }

    /// SIGKILL: a crash, with no chance to flush anything. Process mode only.
    pub async fn kill(&mut self) {
        match self.running.take() {
            Some(Running::InProcess(_)) => panic!(
                "kill needs the server in a process of its own: start it with Options::process()"
            ),
            Some(Running::Process(child)) => self.signal(child, SIGKILL).await,
            None => {}
        }
    }

    async fn signal(&mut self, mut child: Child, sig: Signal) {
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
        assert!(self.running.is_none(), "stop or kill the server first");
        let port = self.port;
        self.launch(port).await;
    }

    /// The exit status if the server process has ended (process mode).
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
        match &mut self.running {
            Some(Running::Process(child)) => child.try_wait().ok().flatten(),
            _ => None,
        }
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

/// The `session-server` binary, from async code: the first call may build it.
async fn server_binary() -> PathBuf {
    tokio::task::spawn_blocking(|| binary("session-server"))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// Runs `session-server <args>` against a database; panics on failure.
pub async fn run_cli(database_url: &str, args: &[&str]) -> String {
    let out = tokio::process::Command::new(server_binary().await)
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
        // An in-process server stops when dropped, like any other field.
        if let Some(Running::Process(mut child)) = self.running.take() {
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
