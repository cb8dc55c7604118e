//! `sessionctl`: sign this computer in, see and sign out your devices, from a terminal.
//!
//! Exit codes: 0 success, 1 failure, 2 usage, 3 not signed in.

mod output;

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use client::{ClientError, ClientEvent, Session, SessionManager};
use proto::Password;

/// Exit code: usage error (also what clap uses).
const EXIT_USAGE: u8 = 2;
/// Exit code: not signed in (or signed out from elsewhere).
const EXIT_NOT_SIGNED_IN: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "sessionctl",
    version,
    about = "See and sign out the devices signed in to your account."
)]
struct Cli {
    /// The session server, e.g. https://id.example.com (default: the one you last signed in to).
    #[arg(long, global = true, env = "SESSIONCTL_SERVER", value_name = "URL")]
    server: Option<String>,
    /// Also trust the CA certificates in this PEM file (a server with a private CA).
    #[arg(long, global = true, env = "SESSIONCTL_CA_FILE", value_name = "FILE")]
    ca_file: Option<std::path::PathBuf>,
    /// Allow plain http:// to a server on another machine. Only for a test server of
    /// your own: your password and tokens would cross the network unencrypted.
    #[arg(long, global = true, env = "SESSIONCTL_INSECURE_HTTP")]
    insecure_http: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Sign this computer in. The password is read without echo, or from stdin.
    Login {
        #[arg(long)]
        email: String,
        /// How this computer shows in your device list (default: its host name).
        #[arg(long, value_name = "N")]
        device_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the devices signed in to your account.
    Devices(JsonFlag),
    /// Give a device a new name.
    Rename {
        /// The device's id or current name.
        device: String,
        /// The new name.
        new_name: String,
    },
    /// Sign one device out (by id or name).
    Revoke {
        /// The device's id or name.
        device: String,
    },
    /// Sign this computer out (or the others, or all devices).
    Logout {
        /// Sign out every other device; stay signed in here.
        #[arg(long, conflicts_with = "everywhere")]
        others: bool,
        /// Sign out every device, this one included.
        #[arg(long)]
        everywhere: bool,
    },
    /// Show account, server, token expiry, pending sign-outs and the keychain.
    Status(JsonFlag),
    /// Print account events as they happen (Ctrl-C to stop).
    Watch,
}

#[derive(Args, Debug)]
struct JsonFlag {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl Command {
    fn json(&self) -> bool {
        matches!(
            self,
            Command::Devices(JsonFlag { json: true }) | Command::Status(JsonFlag { json: true })
        )
    }
}

/// A failure with the exit code it deserves.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let error = e.into();
        let code = match error.downcast_ref::<ClientError>() {
            Some(ClientError::NotSignedIn | ClientError::SessionRevoked) => EXIT_NOT_SIGNED_IN,
            _ => 1,
        };
        Self { code, error }
    }
}

fn usage(message: &str) -> Failure {
    Failure {
        code: EXIT_USAGE,
        error: anyhow::anyhow!("{message}"),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = std::env::var("SESSIONCTL_LOG").unwrap_or_else(|_| "error".into());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .init();
    let json = cli.command.json();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sessionctl: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli));
    // A keychain call that timed out may still sit in a blocking thread; do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            output::print_error(&f.error, json);
            ExitCode::from(f.code)
        }
    }
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    let manager = SessionManager::new(client::Options {
        app_version: Some(format!("sessionctl {}", env!("CARGO_PKG_VERSION"))),
        ca_file: cli.ca_file.clone(),
        insecure_http: cli.insecure_http,
        ..Default::default()
    })?;
    // Every start finishes what earlier logouts could not: revoking on the server.
    let report = manager
        .retry_pending_revocations(Duration::from_secs(3))
        .await;
    if report.confirmed > 0 {
        eprintln!(
            "The server confirmed {} earlier sign-out{}.",
            report.confirmed,
            if report.confirmed == 1 { "" } else { "s" }
        );
    }
    let server = cli.server.as_deref();
    match cli.command {
        Command::Login {
            email,
            device_name,
            password_stdin,
        } => {
            let server = match server {
                Some(s) => s.to_string(),
                None => manager.default_server()?.ok_or_else(|| {
                    usage("no server given: pass --server URL or set SESSIONCTL_SERVER")
                })?,
            };
            let password = read_password(password_stdin)?;
            let session = manager
                .sign_in(&server, &email, &password, device_name.as_deref())
                .await?;
            println!(
                "{}",
                output::signed_in(&session, &manager.keychain_backend())
            );
            Ok(0)
        }
        Command::Devices(JsonFlag { json }) => {
            let session = manager.session(server).await?;
            let devices = session.list_devices().await?;
            if json {
                output::print_json(&serde_json::json!({ "sessions": devices }))?;
            } else {
                print!("{}", output::devices_table(&devices, chrono::Utc::now()));
            }
            Ok(0)
        }
        Command::Rename { device, new_name } => {
            let session = manager.session(server).await?;
            let target = session.find_device(&device).await?;
            let renamed = session.rename_device(target.id, &new_name).await?;
            println!(
                "Renamed \"{}\" to \"{}\".",
                target.device.name, renamed.device.name
            );
            Ok(0)
        }
        Command::Revoke { device } => {
            let session = manager.session(server).await?;
            let target = session.find_device(&device).await?;
            session.sign_out_device(target.id).await?;
            if target.id == session.session_id() {
                println!(
                    "Signed out this device (\"{}\"); its keychain entry is removed.",
                    target.device.name
                );
            } else {
                println!("Signed out \"{}\" ({}).", target.device.name, target.id);
            }
            Ok(0)
        }
        Command::Logout { others, everywhere } => {
            let session = manager.session(server).await?;
            if others {
                let n = session.sign_out_others().await?;
                println!(
                    "Signed out {n} other device{}.",
                    if n == 1 { "" } else { "s" }
                );
            } else if everywhere {
                let n = session.sign_out_everywhere().await?;
                println!(
                    "Signed out everywhere: {n} device{}, this one included. The keychain entry is removed.",
                    if n == 1 { "" } else { "s" }
                );
            } else {
                let outcome = session.logout().await?;
                println!("{}", output::logout(&outcome));
            }
            Ok(0)
        }
        Command::Status(JsonFlag { json }) => {
            let mut status = manager.status(server).await?;
            let mut note = None;
            // A keychain that did not answer once will not answer now: do not wait twice.
            if status.signed_in && status.keychain.available {
                match manager.session(server).await {
                    Ok(s) => match s.ensure_fresh().await {
                        Ok(exp) => status.access_token_expires_at = Some(exp),
                        Err(ClientError::SessionRevoked | ClientError::NotSignedIn) => {
                            status = manager.status(server).await?;
                            note = Some("This device was signed out from elsewhere; its keychain entry is removed.".to_string());
                        }
                        Err(e) => {
                            note =
                                Some(format!("Could not check the session with the server: {e}."))
                        }
                    },
                    Err(e) => note = Some(e.to_string()),
                }
            }
            if json {
                output::print_json(&status)?;
            } else {
                print!(
                    "{}",
                    output::status(&status, note.as_deref(), chrono::Utc::now())
                );
            }
            Ok(if status.signed_in {
                0
            } else {
                EXIT_NOT_SIGNED_IN
            })
        }
        Command::Watch => {
            let session = manager.session(server).await?;
            session.ensure_fresh().await?;
            watch(&manager, &session).await
        }
    }
}

async fn watch(manager: &SessionManager, session: &Session) -> Result<u8, Failure> {
    let mut events = manager.subscribe();
    session.start_events();
    eprintln!("Watching {} (Ctrl-C to stop).", session.account());
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(0),
            ev = events.recv() => match ev {
                Ok(ev) => {
                    if let Some(line) = output::event_line(&ev, session.session_id()) {
                        println!("{line}");
                    }
                    if let ClientEvent::Online { online, .. } = &ev {
                        eprintln!("{}", if *online { "(connected)" } else { "(disconnected; reconnecting)" });
                    }
                    if matches!(ev, ClientEvent::SignedOut { .. }) {
                        return Ok(EXIT_NOT_SIGNED_IN);
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => eprintln!("({n} events skipped)"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(1),
            }
        }
    }
}

/// The password comes from a no-echo prompt on the terminal, or from stdin when asked;
/// never from the command line or the environment.
fn read_password(from_stdin: bool) -> Result<Password, Failure> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("could not read the password from standard input")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        if !std::io::stdin().is_terminal() {
            return Err(usage(
                "no terminal to ask for the password: pipe it in with --password-stdin",
            ));
        }
        rpassword::prompt_password("Password: ").context("could not read the password")?
    };
    if password.is_empty() {
        return Err(usage("the password is empty"));
    }
    Ok(Password::new(password))
}
