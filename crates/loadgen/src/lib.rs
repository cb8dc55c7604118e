//! Load models of the session server at scale, shared by the benchmarks in `benches/`:
//!
//! - `mix`: two release instances on one durable PostgreSQL, 100,000 seeded sessions, an
//!   open-loop mix of a day's operations with event streams held open, and a guard fed
//!   by the second instance;
//! - `streams`: one instance holding 10,000 event streams: memory per stream, and how
//!   fast a revocation reaches every stream of its account;
//! - `http_refresh`: refresh over loopback HTTP, one rotating chain per connection,
//!   against the same connections' JWKS floor.
//!
//! What they share lives here: sessions seeded in SQL with known refresh tokens
//! ([`seed`]), latency records ([`stats`]), a server's CPU and memory read from `/proc`
//! ([`procfs`]), and a lean HTTP/1 connection for the load that must not cost the
//! machine more than the server it measures ([`h1`]).

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmarks: failing loudly is the point

pub mod h1;
pub mod procfs;
pub mod seed;
pub mod stats;

/// The password of every seeded account.
pub const PASSWORD: &str = "correct horse battery staple";

/// Reads `--name value` flags (and `--flag` switches) from the command line; `cargo
/// bench` adds `--bench`, which is ignored.
pub struct Flags(Vec<String>);

impl Flags {
    pub fn from_env() -> Self {
        Self(std::env::args().skip(1).collect())
    }

    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        self.0
            .iter()
            .position(|a| a == name)
            .and_then(|i| self.0.get(i + 1))
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{name}: cannot read {v:?}"))
            })
            .unwrap_or(default)
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }

    /// A comma-separated list, e.g. `--rates 1,3,10`.
    pub fn list<T: std::str::FromStr + Clone>(&self, name: &str, default: &[T]) -> Vec<T> {
        match self.0.iter().position(|a| a == name) {
            Some(i) => self.0[i + 1]
                .split(',')
                .map(|v| {
                    v.parse()
                        .unwrap_or_else(|_| panic!("{name}: cannot read {v:?}"))
                })
                .collect(),
            None => default.to_vec(),
        }
    }
}

/// The argon2id hash of [`PASSWORD`], as the server stores it.
pub async fn password_hash() -> String {
    session_server::password::Hasher::new()
        .hash(&proto::Password::new(PASSWORD))
        .await
        .expect("hash the seeded accounts' password")
}

/// The machine's load average over the last minute, stated beside every result.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Prints a progress line on stderr with the seconds since the benchmark started.
pub fn note(msg: impl std::fmt::Display) {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let t = START.get_or_init(std::time::Instant::now).elapsed();
    eprintln!("[{:7.1} s] {msg}", t.as_secs_f64());
}
