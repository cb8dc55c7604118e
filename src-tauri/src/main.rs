//! `session-manager`: the desktop app. `--server URL` names the session server to
//! sign in to (remembered after the first sign-in).

use anyhow::Context as _;
use clap::Parser;
use client::{Options, SessionManager};

#[derive(Parser, Debug)]
#[command(
    name = "session-manager",
    version,
    about = "See every device where you are signed in, and sign any of them out."
)]
struct Args {
    /// The session server, e.g. https://sessions.example.com (default: the one last used).
    #[arg(long, env = "SESSION_MANAGER_SERVER")]
    server: Option<String>,
    /// Also trust the CA certificates in this PEM file (a server with a private CA).
    #[arg(long, env = "SESSION_MANAGER_CA_FILE", value_name = "FILE")]
    ca_file: Option<std::path::PathBuf>,
    /// Allow plain http:// to a server on another machine. Only for a test server of
    /// your own: your password and tokens would cross the network unencrypted.
    #[arg(long, env = "SESSION_MANAGER_INSECURE_HTTP")]
    insecure_http: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let server = args
        .server
        .map(|s| client::normalize_server_url(&s))
        .transpose()?;
    let manager = SessionManager::new(Options {
        app_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        ca_file: args.ca_file,
        insecure_http: args.insecure_http,
        ..Options::default()
    })?;
    app::builder(
        tauri::Builder::default(),
        app::AppContext::new(manager, server),
    )
    .run(tauri::generate_context!())
    .context("the app stopped with an error")
}
