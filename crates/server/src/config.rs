//! Configuration: command-line flags, each with an environment variable twin.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use crate::time::parse_duration;

#[derive(clap::Args, Clone, Debug)]
pub struct ServeArgs {
    /// Address to listen on. Port 0 picks a free port (printed at start).
    #[arg(long, env = "SESSION_SERVER_LISTEN", default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,

    /// The issuer (`iss`) of access tokens and the base of every URL in discovery.
    /// Defaults to http://<listen address>.
    #[arg(long, env = "SESSION_SERVER_ISSUER")]
    pub issuer: Option<String>,

    /// The audience (`aud`) of access tokens.
    #[arg(
        long,
        env = "SESSION_SERVER_AUDIENCE",
        default_value = "session-manager"
    )]
    pub audience: String,

    /// Let anyone create an account with POST /v1/accounts. Off by default: then
    /// accounts come from `session-server admin create-user`.
    #[arg(long, env = "SESSION_SERVER_OPEN_SIGNUP")]
    pub open_signup: bool,

    /// Lifetime of access tokens.
    #[arg(long, env = "SESSION_SERVER_ACCESS_TTL", default_value = "300s", value_parser = parse_duration)]
    pub access_ttl: Duration,

    /// A session not refreshed for this long ends.
    #[arg(long, env = "SESSION_SERVER_REFRESH_IDLE_TTL", default_value = "30d", value_parser = parse_duration)]
    pub refresh_idle_ttl: Duration,

    /// A session ends this long after sign-in, however active.
    #[arg(long, env = "SESSION_SERVER_REFRESH_MAX_TTL", default_value = "90d", value_parser = parse_duration)]
    pub refresh_max_ttl: Duration,

    /// Credentials of a resource server for introspection and the revocation feed,
    /// as NAME:SECRET. Repeatable; in the environment, comma-separated.
    #[arg(
        long = "resource-server",
        env = "SESSION_SERVER_RESOURCE_SERVERS",
        value_delimiter = ','
    )]
    pub resource_servers: Vec<ResourceServer>,

    /// A file of resource-server credentials, one NAME:SECRET a line (`#` comments and
    /// blank lines ignored), added to --resource-server: keeps the secrets out of the
    /// command line and the environment (the packaged service passes it as a systemd
    /// credential).
    #[arg(
        long,
        env = "SESSION_SERVER_RESOURCE_SERVERS_FILE",
        value_name = "FILE"
    )]
    pub resource_servers_file: Option<std::path::PathBuf>,

    /// Failed sign-ins tolerated per account from one client address within the window
    /// before that address must wait (even with the right password).
    #[arg(
        long,
        env = "SESSION_SERVER_SIGNIN_ACCOUNT_ADDRESS_LIMIT",
        default_value_t = 5
    )]
    pub signin_account_address_limit: u32,

    /// Failed sign-ins tolerated per account from all addresses together within the
    /// window: a ceiling only a guessing attack spread over many addresses reaches.
    #[arg(
        long,
        env = "SESSION_SERVER_SIGNIN_ACCOUNT_LIMIT",
        default_value_t = 100
    )]
    pub signin_account_limit: u32,

    /// Failed sign-ins tolerated per client address (all accounts) within the window.
    #[arg(
        long,
        env = "SESSION_SERVER_SIGNIN_ADDRESS_LIMIT",
        default_value_t = 20
    )]
    pub signin_address_limit: u32,

    /// The window of the sign-in limits.
    #[arg(long, env = "SESSION_SERVER_SIGNIN_WINDOW", default_value = "15m", value_parser = parse_duration)]
    pub signin_window: Duration,

    /// Sign-ups (`POST /v1/accounts`) allowed per client address per hour.
    #[arg(
        long,
        env = "SESSION_SERVER_SIGNUP_ADDRESS_LIMIT",
        default_value_t = 30
    )]
    pub signup_address_limit: u32,

    /// Failed refreshes, and failed resource-server authentications (introspection,
    /// the revocation feed), tolerated per client address within the sign-in window.
    #[arg(
        long,
        env = "SESSION_SERVER_FAILURE_ADDRESS_LIMIT",
        default_value_t = 60
    )]
    pub failure_address_limit: u32,

    /// Password hashes computed at once (each takes a core and 19 MiB for ~50 ms).
    /// Defaults to one fewer than the cores (at least one), leaving a core for the
    /// devices already signed in; checks beyond it wait in a bounded queue, and past
    /// that queue get 503 with Retry-After.
    #[arg(long, env = "SESSION_SERVER_HASH_CONCURRENCY")]
    pub hash_concurrency: Option<usize>,

    /// How often the revocation stream sends a heartbeat when nothing else happens
    /// (guards fail closed when their feed is silent for longer than their bound).
    #[arg(long, env = "SESSION_SERVER_FEED_HEARTBEAT", default_value = "5s", value_parser = parse_duration)]
    pub feed_heartbeat: Duration,

    /// A file holding the key-encryption key (32 random bytes, base64) that seals
    /// signing keys and two-step secrets in the database; or set
    /// SESSION_SERVER_KEY_ENCRYPTION_KEY to the key itself. Without one they are stored
    /// unsealed (the server warns). Make one with `session-server keys generate-kek`.
    #[arg(
        long,
        env = "SESSION_SERVER_KEY_ENCRYPTION_KEY_FILE",
        global = true,
        value_name = "FILE"
    )]
    pub key_encryption_key_file: Option<std::path::PathBuf>,

    /// Connections served at once (event streams included: every signed-in device holds
    /// one). Past it the server stops accepting until one closes. Its file-descriptor
    /// limit is raised to allow this where the system permits.
    #[arg(long, env = "SESSION_SERVER_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,

    /// Do not serve the account page (`/account`) and its API.
    #[arg(long, env = "SESSION_SERVER_NO_WEB")]
    pub no_web: bool,

    /// A browser signed in on the account page is signed out after this long unused.
    #[arg(long, env = "SESSION_SERVER_WEB_IDLE_TTL", default_value = "1h", value_parser = parse_duration)]
    pub web_idle_ttl: Duration,

    /// A browser signed in on the account page is signed out this long after sign-in.
    #[arg(long, env = "SESSION_SERVER_WEB_MAX_TTL", default_value = "12h", value_parser = parse_duration)]
    pub web_max_ttl: Duration,
    /// Serve HTTPS with this certificate chain (PEM; the server's certificate first).
    /// Reloaded with the key on SIGHUP: new connections get the new certificate.
    #[arg(
        long,
        env = "SESSION_SERVER_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long,
        env = "SESSION_SERVER_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<std::path::PathBuf>,

    /// Serve `GET /metrics` (Prometheus) on this address instead of the public
    /// listener, e.g. 127.0.0.1:9100 for a scraper on the same host or network.
    #[arg(long, env = "SESSION_SERVER_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// Take the client address from the last X-Forwarded-For entry (only behind a
    /// reverse proxy you run; otherwise clients could choose their address).
    #[arg(long, env = "SESSION_SERVER_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
}

/// The environment variable that may hold the key-encryption key itself.
pub const KEK_ENV: &str = "SESSION_SERVER_KEY_ENCRYPTION_KEY";

impl ServeArgs {
    /// The sealer for secrets at rest, from `--key-encryption-key-file` or the
    /// environment.
    pub fn sealer(&self) -> Result<crate::seal::Sealer, crate::seal::SealError> {
        use crate::seal::{Kek, Sealer};
        let kek = match (&self.key_encryption_key_file, std::env::var(KEK_ENV)) {
            (Some(path), _) => Some(Kek::from_file(path)?),
            (None, Ok(text)) if !text.trim().is_empty() => Some(Kek::from_base64(&text)?),
            _ => None,
        };
        Ok(Sealer::new(kek))
    }

    /// Every resource server: `--resource-server` and the lines of
    /// `--resource-servers-file`. The error says which file and line, never a secret.
    pub fn all_resource_servers(&self) -> Result<Vec<ResourceServer>, String> {
        let mut all = self.resource_servers.clone();
        if let Some(path) = &self.resource_servers_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                all.push(
                    line.parse()
                        .map_err(|why| format!("{} line {}: {why}", path.display(), n + 1))?,
                );
            }
        }
        Ok(all)
    }

    /// The serve flags from a list, as the binary parses them (environment twins
    /// included): what in-process test servers are started with.
    pub fn from_flags<I, T>(flags: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let argv = std::iter::once(std::ffi::OsString::from("session-server"))
            .chain(flags.into_iter().map(Into::into));
        <Flags as clap::Parser>::try_parse_from(argv).map(|f| f.serve)
    }
}

/// A resource server's Basic-auth credentials. `Debug` hides the secret.
#[derive(Clone)]
pub struct ResourceServer {
    pub name: String,
    pub secret: String,
}

impl fmt::Debug for ResourceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResourceServer({}:<redacted>)", self.name)
    }
}

impl FromStr for ResourceServer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some((name, secret)) if !name.is_empty() && !secret.is_empty() => Ok(Self {
                name: name.to_owned(),
                secret: secret.to_owned(),
            }),
            _ => Err("expected NAME:SECRET, both non-empty".into()),
        }
    }
}

/// The default database: a SQLite file in the user's data directory.
pub fn default_database_url() -> anyhow::Result<String> {
    let dir = dirs::data_dir()
        .ok_or_else(|| anyhow::anyhow!("no data directory for this user; pass --database-url"))?
        .join("session-manager");
    Ok(format!(
        "sqlite://{}?mode=rwc",
        dir.join("sessions.db").display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_servers_come_from_flags_and_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("resource-servers");
        std::fs::write(&file, "# the API\napi:s3cret\n\n  billing:an0ther  \n").unwrap();
        let args = ServeArgs::from_flags([
            "--resource-server",
            "rs:x",
            "--resource-servers-file",
            file.to_str().unwrap(),
        ])
        .unwrap();
        let names: Vec<String> = args
            .all_resource_servers()
            .unwrap()
            .into_iter()
            .map(|r| format!("{}:{}", r.name, r.secret))
            .collect();
        assert_eq!(names, ["rs:x", "api:s3cret", "billing:an0ther"]);

        std::fs::write(&file, "api:s3cret\nno-secret-here\n").unwrap();
        let err = args.all_resource_servers().unwrap_err();
        assert!(err.contains("line 2") && !err.contains("s3cret"), "{err}");
    }
}
