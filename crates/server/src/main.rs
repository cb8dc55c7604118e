//! `session-server`: the binary. Serves by default; `keys` and `admin` subcommands
//! work on the same database.

use std::io::{IsTerminal as _, Read as _};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use proto::Password;
use session_server::app::{Admin, AppError};
use session_server::config::{ServeArgs, default_database_url};
use session_server::store::Store;
use tracing_subscriber::EnvFilter;

#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(
    name = "session-server",
    version,
    about = "Session Manager's session server: signs devices in, rotates refresh tokens, revokes at once."
)]
struct Cli {
    /// Database: sqlite://<file>?mode=rwc or postgres://user:pass@host/db.
    /// Defaults to a SQLite file in your data directory.
    #[arg(long, env = "SESSION_SERVER_DATABASE_URL", global = true)]
    database_url: Option<String>,

    /// Log format: `pretty` for people, `json` for collectors. Levels via RUST_LOG.
    #[arg(
        long,
        env = "SESSION_SERVER_LOG_FORMAT",
        default_value = "pretty",
        global = true
    )]
    log_format: LogFormat,

    #[command(flatten)]
    serve: ServeArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Administration of accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Add a new current signing key. The old key keeps verifying (and stays in the
    /// JWKS) until every token it signed has expired. Running servers pick it up
    /// within 30 seconds.
    Rotate,
    /// List the signing keys.
    List,
    /// Remove a compromised key at once: every token it signed is refused by every
    /// instance and guard within seconds (they see it on the revocation feed). If it
    /// is the current key, a new one replaces it. For a routine change use `rotate`.
    Retire {
        /// The key id (`keys list`). A key id is base64url and may start with `-`,
        /// which must not be read as a flag.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Print a new random key-encryption key (base64) for --key-encryption-key-file.
    GenerateKek,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// End every session of a compromised account, as "sign out everywhere".
    RevokeUser {
        email: String,
        /// How long the servers' access tokens live, if longer than they say: the
        /// revocation is remembered for the longest lifetime any running server uses.
        #[arg(long, value_parser = session_server::time::parse_duration)]
        access_ttl: Option<std::time::Duration>,
    },
    /// Show one session (device), ended or not.
    ShowSession {
        id: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Create an account (for servers without open sign-up). The password is read
    /// from a no-echo prompt, or from standard input with --password-stdin.
    CreateUser {
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let database_url = match cli.database_url {
        Some(url) => url,
        None => default_database_url()?,
    };
    match cli.command {
        None => session_server::serve::run(cli.serve, database_url).await,
        Some(Command::Keys {
            command: KeysCommand::GenerateKek,
        }) => {
            println!("{}", session_server::seal::Kek::generate_base64());
            Ok(())
        }
        Some(Command::Keys { command }) => keys(command, &cli.serve, &database_url).await,
        Some(Command::Admin { command }) => admin(command, &cli.serve, &database_url).await,
    }
}

async fn open(serve: &ServeArgs, database_url: &str) -> anyhow::Result<Admin> {
    let sealer = serve.sealer()?;
    let store = Store::connect(database_url).await.with_context(|| {
        format!(
            "opening the database ({})",
            session_server::serve::redact_url(database_url)
        )
    })?;
    Ok(Admin::new(store, sealer))
}

/// An application error as the operator should read it: with its sources.
fn operator_error(e: AppError) -> anyhow::Error {
    anyhow::anyhow!(session_server::http::error_chain(&e))
}

async fn keys(command: KeysCommand, serve: &ServeArgs, database_url: &str) -> anyhow::Result<()> {
    let admin = open(serve, database_url).await?;
    match command {
        KeysCommand::Rotate => {
            let kid = admin.rotate_key().await.map_err(operator_error)?;
            println!("New signing key {kid} is now current. Running servers switch within 30 s;");
            println!("the previous key stays published until the tokens it signed have expired.");
        }
        KeysCommand::Retire { kid } => {
            match admin.remove_key(&kid).await.map_err(operator_error)? {
                None => bail!("no signing key {kid} (see `session-server keys list`)"),
                Some(removal) => {
                    println!(
                        "Signing key {kid} removed: running servers and guards refuse the tokens it signed within seconds."
                    );
                    if let Some(new) = removal.replacement {
                        println!("It was the current key; {new} signs from now on.");
                    }
                }
            }
        }
        KeysCommand::GenerateKek => unreachable!("handled before the database is opened"),
        KeysCommand::List => {
            for k in admin.keys().await.map_err(operator_error)? {
                let state = match (k.removed_at, k.retired_at) {
                    (Some(at), _) => format!("REMOVED {}", at.to_datetime().to_rfc3339()),
                    (None, None) => "current".to_owned(),
                    (None, Some(at)) => format!("retired {}", at.to_datetime().to_rfc3339()),
                };
                println!(
                    "{}  created {}  {}",
                    k.kid,
                    k.created_at.to_datetime().to_rfc3339(),
                    state
                );
            }
        }
    }
    admin.close().await;
    Ok(())
}

async fn admin(command: AdminCommand, serve: &ServeArgs, database_url: &str) -> anyhow::Result<()> {
    let admin = open(serve, database_url).await?;
    match command {
        AdminCommand::RevokeUser { email, access_ttl } => {
            let (count, at) = match admin.revoke_user(&email, access_ttl).await {
                Ok(done) => done,
                Err(AppError::NotFound) => bail!("no account with the email {}", email.trim()),
                Err(AppError::Invalid(_)) => bail!("that is not a valid email address"),
                Err(e) => return Err(operator_error(e)),
            };
            println!(
                "Signed {} out everywhere: {count} session(s) ended; every token issued before {} is refused.",
                email.trim().to_lowercase(),
                at.to_datetime().to_rfc3339()
            );
        }
        AdminCommand::ShowSession { id, json } => {
            let id: proto::SessionId = id
                .parse()
                .map_err(|_| anyhow::anyhow!("'{id}' is not a session id"))?;
            let Some(s) = admin.show_session(id).await.map_err(operator_error)? else {
                bail!("no session with the id {id}");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                let t = |ms: i64| session_server::time::Millis(ms).to_datetime().to_rfc3339();
                println!(
                    "session     {}\naccount     {}\ndevice      {}",
                    s.id, s.user_id, s.device_name
                );
                println!(
                    "signed in   {}\nlast seen   {}",
                    t(s.created_at),
                    t(s.last_seen_at)
                );
                match (s.revoked_at, &s.revoked_reason) {
                    (Some(at), reason) => println!(
                        "revoked     {} ({})",
                        t(at),
                        reason.as_deref().unwrap_or("unknown")
                    ),
                    (None, _) => println!(
                        "state       live until {}",
                        t(s.idle_expires_at.min(s.expires_at))
                    ),
                }
            }
        }
        AdminCommand::CreateUser {
            email,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            let id = admin
                .create_user(&email, &password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("Created account {email} ({id}).");
        }
    }
    admin.close().await;
    Ok(())
}

fn read_password(from_stdin: bool) -> anyhow::Result<Password> {
    let pw = if from_stdin || !std::io::stdin().is_terminal() {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("Password for the new account: ")?;
        let again = rpassword::prompt_password("Once more: ")?;
        if first != again {
            bail!("the two passwords differ");
        }
        first
    };
    Ok(Password::new(pw))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key id is base64url: about one in 32 starts with `-`, and the operator
    /// removing a compromised key must not be told it is an unknown flag.
    #[test]
    fn a_key_id_starting_with_a_hyphen_is_a_key_id() {
        let cli = Cli::try_parse_from([
            "session-server",
            "keys",
            "retire",
            "-u4MHlXh7iTIGYRXhesdsJcUTJohhzdQYTkxVzPNOMo",
        ])
        .unwrap();
        let Some(Command::Keys {
            command: KeysCommand::Retire { kid },
        }) = cli.command
        else {
            panic!("not keys retire: {cli:?}");
        };
        assert_eq!(kid, "-u4MHlXh7iTIGYRXhesdsJcUTJohhzdQYTkxVzPNOMo");
    }
}
