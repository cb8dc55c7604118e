//! `sessionctl`: sign this computer in, see and sign out your devices, from a terminal.
//!
//! Exit codes: 0 success, 1 failure, 2 usage, 3 not signed in.

mod account;
mod output;
mod prompt;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use client::{ClientError, ClientEvent, Session, SessionManager};

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
    /// Sign this computer in. The password is read without echo, or from stdin; with
    /// two-step sign-in on, the code too.
    Login {
        #[arg(long)]
        email: String,
        /// How this computer shows in your device list (default: its host name).
        #[arg(long, value_name = "N")]
        device_name: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Read the two-step code from the next line of standard input.
        #[arg(long)]
        totp_stdin: bool,
        /// Answer two-step sign-in with one of your recovery codes instead of a code.
        #[arg(long)]
        recovery_code: bool,
    },
    /// List the devices signed in to your account.
    Devices(DevicesArgs),
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
    /// Change your password; every other device is signed out unless you keep them.
    Passwd {
        /// Keep your other devices signed in.
        #[arg(long)]
        keep_other_devices: bool,
        /// Read the current password and the new one from the first two lines of
        /// standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Two-step sign-in: a code from an authenticator app after the password.
    #[command(name = "2fa", subcommand)]
    TwoStep(TwoStepCommand),
}

#[derive(Subcommand, Debug)]
enum TwoStepCommand {
    /// Turn two-step sign-in on: add the account to your authenticator app, confirm
    /// with its first code, store the recovery codes.
    Enable(SecretInput),
    /// Turn two-step sign-in off (your password and a code, or a recovery code).
    Disable(SecretInput),
    /// Whether two-step sign-in is on.
    Status(JsonFlag),
}

/// Where a command's password and code come from when not from prompts.
#[derive(Args, Debug)]
struct SecretInput {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Read the code from the next line of standard input.
    #[arg(long)]
    totp_stdin: bool,
}

#[derive(Args, Debug)]
struct JsonFlag {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct DevicesArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also the devices signed out in the last 7 days, and whether each has erased
    /// its keys.
    #[arg(long)]
    all: bool,
}

impl Command {
    fn json(&self) -> bool {
        matches!(
            self,
            Command::Devices(DevicesArgs { json: true, .. })
                | Command::Status(JsonFlag { json: true })
                | Command::TwoStep(TwoStepCommand::Status(JsonFlag { json: true }))
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
            totp_stdin,
            recovery_code,
        } => {
            let server = match server {
                Some(s) => s.to_string(),
                None => manager.default_server()?.ok_or_else(|| {
                    usage("no server given: pass --server URL or set SESSIONCTL_SERVER")
                })?,
            };
            let password = prompt::password("Password: ", password_stdin)?;
            let session = match manager
                .sign_in(&server, &email, &password, device_name.as_deref())
                .await
            {
                Ok(session) => session,
                Err(ClientError::TwoStepRequired { challenge }) => {
                    account::second_step(&manager, &challenge, recovery_code, totp_stdin).await?
                }
                Err(e) => return Err(e.into()),
            };
            println!(
                "{}",
                output::signed_in(&session, &manager.keychain_backend())
            );
            Ok(0)
        }
        Command::Devices(DevicesArgs { json, all }) => {
            let session = manager.session(server).await?;
            let devices = if all {
                session.list_devices_with_signed_out().await?
            } else {
                session.list_devices().await?
            };
            if json {
                output::print_json(&serde_json::json!({ "sessions": devices }))?;
            } else {
                let now = chrono::Local::now();
                let (live, signed_out): (Vec<_>, Vec<_>) =
                    devices.into_iter().partition(|d| d.signed_out().is_none());
                print!("{}", output::devices_table(&live, now.to_utc()));
                if all {
                    print!("{}", output::signed_out_devices(&signed_out, &now));
                }
            }
            Ok(0)
        }
        Command::Rename { device, new_name } => {
            let session = manager.session(server).await?;
            let target = session.find_device(&device).await?;
            let renamed = session.rename_device(target.id, &new_name).await?;
            println!(
                "{}",
                output::renamed(&target.device.name, &renamed.device.name)
            );
            Ok(0)
        }
        Command::Revoke { device } => {
            let session = manager.session(server).await?;
            let target = session.find_device(&device).await?;
            session.sign_out_device(target.id).await?;
            println!(
                "{}",
                output::revoked(&target, target.id == session.session_id())
            );
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
                let receipts = manager.pending_receipts()?;
                print!(
                    "{}",
                    output::status(&status, &receipts, note.as_deref(), chrono::Utc::now())
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
        Command::Passwd {
            keep_other_devices,
            password_stdin,
        } => {
            let session = manager.session(server).await?;
            account::passwd(&session, keep_other_devices, password_stdin).await
        }
        Command::TwoStep(command) => {
            let session = manager.session(server).await?;
            match command {
                TwoStepCommand::Enable(input) => {
                    account::two_step_enable(&session, input.password_stdin, input.totp_stdin).await
                }
                TwoStepCommand::Disable(input) => {
                    account::two_step_disable(&session, input.password_stdin, input.totp_stdin)
                        .await
                }
                TwoStepCommand::Status(JsonFlag { json }) => {
                    account::two_step_status(&session, json).await
                }
            }
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
