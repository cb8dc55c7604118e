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

    /// How long a retry of the very same refresh gets the same successor instead of
    /// counting as reuse (lost responses, racing requests).
    #[arg(long, env = "SESSION_SERVER_REFRESH_GRACE", default_value = "30s", value_parser = parse_duration)]
    pub refresh_grace: Duration,

    /// Credentials of a resource server for introspection and the revocation feed,
    /// as NAME:SECRET. Repeatable; in the environment, comma-separated.
    #[arg(
        long = "resource-server",
        env = "SESSION_SERVER_RESOURCE_SERVERS",
        value_delimiter = ','
    )]
    pub resource_servers: Vec<ResourceServer>,

    /// Failed sign-ins tolerated per account within the window before 429.
    #[arg(long, env = "SESSION_SERVER_SIGNIN_ACCOUNT_LIMIT", default_value_t = 5)]
    pub signin_account_limit: u32,

    /// Failed sign-ins tolerated per client address within the window before 429.
    #[arg(
        long,
        env = "SESSION_SERVER_SIGNIN_ADDRESS_LIMIT",
        default_value_t = 20
    )]
    pub signin_address_limit: u32,

    /// The window of the sign-in failure limits.
    #[arg(long, env = "SESSION_SERVER_SIGNIN_WINDOW", default_value = "15m", value_parser = parse_duration)]
    pub signin_window: Duration,

    /// How often the revocation stream sends a heartbeat when nothing else happens
    /// (guards fail closed when their feed is silent for longer than their bound).
    #[arg(long, env = "SESSION_SERVER_FEED_HEARTBEAT", default_value = "5s", value_parser = parse_duration)]
    pub feed_heartbeat: Duration,

    /// Take the client address from the last X-Forwarded-For entry (only behind a
    /// reverse proxy you run; otherwise clients could choose their address).
    #[arg(long, env = "SESSION_SERVER_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
}

impl ServeArgs {
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
