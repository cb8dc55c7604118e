//! A throwaway PostgreSQL cluster for the test process, from Debian's binaries.
//!
//! With `SESSION_TEST_POSTGRES_URL` set (a superuser URL of a server someone else
//! runs, e.g. `.ci/run`'s), that server is used. Otherwise the first test that needs
//! PostgreSQL runs `initdb` into a temporary directory (as the `postgres` user when we
//! are root: initdb refuses root) and starts it on a free loopback port; a watchdog
//! stops it and removes its directory when the test process ends. Each test gets a
//! database of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tokio::sync::OnceCell;

pub struct PgCluster {
    /// Superuser URL without a database name.
    base_url: String,
    /// Set when we started the cluster ourselves.
    local: Option<Local>,
}

struct Local {
    bin: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    as_postgres: bool,
    /// The data directory and the server options `pg_ctl start` was given, so that a
    /// dedicated cluster can be started again as it was.
    data: PathBuf,
    opts: String,
}

static CLUSTER: OnceCell<PgCluster> = OnceCell::const_new();
static DURABLE: OnceCell<PgCluster> = OnceCell::const_new();

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn find_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").exists());
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin). \
             Install Debian's `postgresql` package (scripts/test does), set PG_BIN, \
             or point SESSION_TEST_POSTGRES_URL at a server."
        )
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl PgCluster {
    /// The cluster shared by every test of this process.
    pub async fn shared() -> &'static PgCluster {
        CLUSTER
            .get_or_init(|| async {
                match std::env::var("SESSION_TEST_POSTGRES_URL") {
                    Ok(url) => PgCluster {
                        base_url: url.trim_end_matches('/').to_owned(),
                        local: None,
                    },
                    Err(_) => tokio::task::spawn_blocking(|| start_local(false))
                        .await
                        .expect("start postgres"),
                }
            })
            .await
    }

    /// A cluster of this process with PostgreSQL's durability settings left on
    /// (benchmarks: a commit waits for its WAL flush, as in production).
    pub async fn durable() -> &'static PgCluster {
        DURABLE
            .get_or_init(|| async {
                tokio::task::spawn_blocking(|| start_local(true))
                    .await
                    .expect("start postgres")
            })
            .await
    }

    /// A cluster of its own for one test, which it may stop and start again (database
    /// outages) without disturbing the other tests' shared cluster. Removed when the
    /// test process ends, like the others.
    pub async fn dedicated() -> PgCluster {
        tokio::task::spawn_blocking(|| start_local(false))
            .await
            .expect("start postgres")
    }

    /// Stops the cluster as an outage would (`pg_ctl stop -m fast`: connections are cut,
    /// new ones refused). Only a [`PgCluster::dedicated`] cluster may be stopped.
    pub async fn stop(&self) {
        let local = self.dedicated_local("stop");
        let (bin, data, as_postgres) = (local.bin.clone(), local.data.clone(), local.as_postgres);
        let out = tokio::task::spawn_blocking(move || {
            command(&bin.join("pg_ctl"), as_postgres)
                .arg("-D")
                .arg(&data)
                .args(["-m", "fast", "-w", "stop"])
                .output()
        })
        .await
        .expect("join")
        .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts a stopped dedicated cluster again, on the same port with the same data.
    pub async fn start(&self) {
        let local = self.dedicated_local("start");
        let (bin, data, opts, as_postgres, log) = (
            local.bin.clone(),
            local.data.clone(),
            local.opts.clone(),
            local.as_postgres,
            local.socket_dir.join("log"),
        );
        let out = tokio::task::spawn_blocking(move || {
            command(&bin.join("pg_ctl"), as_postgres)
                .arg("-D")
                .arg(&data)
                .args(["-o", &opts, "-l"])
                .arg(&log)
                .args(["-w", "start"])
                .output()
        })
        .await
        .expect("join")
        .expect("run pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn dedicated_local(&self, what: &str) -> &Local {
        let local = self.local.as_ref().unwrap_or_else(|| {
            panic!("cannot {what} a PostgreSQL server this process did not start")
        });
        assert!(
            !std::ptr::eq(
                self,
                CLUSTER.get().map_or(std::ptr::null(), |c| c as *const _)
            ) && !std::ptr::eq(
                self,
                DURABLE.get().map_or(std::ptr::null(), |c| c as *const _)
            ),
            "only a dedicated cluster may be stopped or started (PgCluster::dedicated)"
        );
        local
    }

    /// A new empty database; returns its URL.
    pub async fn new_database(&self) -> String {
        let name = format!("t_{}", uuid::Uuid::now_v7().simple());
        self.psql(&format!("CREATE DATABASE {name}")).await;
        self.url_for(&name)
    }

    pub fn url_for(&self, db: &str) -> String {
        match self.base_url.split_once('?') {
            Some((base, query)) => format!("{}/{db}?{query}", strip_db(base)),
            None => format!("{}/{db}", strip_db(&self.base_url)),
        }
    }

    async fn psql(&self, sql: &str) {
        let sql = sql.to_owned();
        let (program, args): (PathBuf, Vec<String>) = match &self.local {
            Some(l) => (
                l.bin.join("psql"),
                vec![
                    "-h".into(),
                    l.socket_dir.display().to_string(),
                    "-p".into(),
                    l.port.to_string(),
                    "-U".into(),
                    "postgres".into(),
                    "-d".into(),
                    "postgres".into(),
                ],
            ),
            None => (PathBuf::from("psql"), vec![self.url_for("postgres")]),
        };
        let as_postgres = self.local.as_ref().is_some_and(|l| l.as_postgres);
        let out = tokio::task::spawn_blocking(move || {
            command(&program, as_postgres)
                .args(&args)
                .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", &sql])
                .output()
        })
        .await
        .expect("join")
        .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn strip_db(url: &str) -> &str {
    // postgres://user@host:port[/db] → postgres://user@host:port
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => &url[..i + 3 + j],
            None => url,
        },
        None => url,
    }
}

fn command(program: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start_local(durable: bool) -> PgCluster {
    let bin = find_bin_dir();
    let as_postgres = is_root();
    // Not a TempDir: the watchdog removes it after the postgres user's server is gone.
    let dir =
        std::env::temp_dir().join(format!("session-test-pg-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("pg dir");
    let data = dir.join("data");
    if as_postgres {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown")
            .success();
        assert!(
            ok,
            "chown to postgres failed (is Debian's postgresql package installed?)"
        );
    }
    let out = command(&bin.join("initdb"), as_postgres)
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&data)
        .output()
        .expect("run initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    // A test cluster: durability of the cluster itself is not under test here (the
    // server's own kill -9 test kills the server, not PostgreSQL).
    let fast = if durable {
        ""
    } else {
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    };
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300{fast}",
        dir.display()
    );
    let out = command(&bin.join("pg_ctl"), as_postgres)
        .args(["-D"])
        .arg(&data)
        .args(["-o", &opts, "-l"])
        .arg(dir.join("log"))
        .args(["-w", "start"])
        .output()
        .expect("run pg_ctl");
    assert!(
        out.status.success(),
        "pg_ctl start failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(dir.join("log")).unwrap_or_default()
    );
    spawn_watchdog(&bin, &data, &dir, as_postgres);
    PgCluster {
        base_url: format!("postgres://postgres@127.0.0.1:{port}"),
        local: Some(Local {
            bin,
            socket_dir: dir,
            port,
            as_postgres,
            data,
            opts,
        }),
    }
}

/// Stops the cluster once this test process is gone, however it ends.
fn spawn_watchdog(bin: &Path, data: &Path, dir: &Path, as_postgres: bool) {
    let me = std::process::id();
    let pg_ctl = bin.join("pg_ctl");
    let stop = if as_postgres {
        format!(
            "runuser -u postgres -- {} -D {} -m immediate stop",
            pg_ctl.display(),
            data.display()
        )
    } else {
        format!(
            "{} -D {} -m immediate stop",
            pg_ctl.display(),
            data.display()
        )
    };
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {}",
        dir.display()
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}
