//! `session-manager`: the desktop app. `--server URL` names the session server to
//! sign in to (remembered after the first sign-in); `--hidden` starts it in the tray
//! without a window (how "Start at login" starts it).

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
    /// Start without a window, watching from the tray (as at login). Starting the app
    /// again opens the window.
    #[arg(long)]
    hidden: bool,
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
    // One app per desktop session and configuration directory: a second start hands
    // its arguments to the running one (which opens its window) and exits. Registered
    // first, so that a second start stops before anything else begins.
    let single = tauri_plugin_single_instance::Builder::new()
        .callback(|app, argv, _cwd| app::window::started_again(app, &argv))
        .dbus_id(instance_name())
        .build();
    let app = app::builder(
        tauri::Builder::default().plugin(single),
        app::AppContext::new(manager, server),
    )
    .build(tauri::generate_context!())
    .context("the app could not start")?;

    let has_tray = app::tray::install(app.handle());
    if args.hidden {
        if !has_tray {
            tracing::warn!("started hidden without a tray: start the app again to open it");
        }
        app::window::start_hidden(app.handle());
    } else {
        app::window::open(app.handle()).context("could not open the window")?;
    }
    app.run(app::window::on_run_event);
    Ok(())
}

/// The name the running app holds on the session bus. An app started with a
/// configuration directory of its own (`XDG_CONFIG_HOME`: the demo of `scripts/run`,
/// the tests) is another profile, and runs beside the person's own app.
fn instance_name() -> String {
    const APP: &str = "dev.session_manager.desktop";
    let Some(config) = std::env::var_os("XDG_CONFIG_HOME").filter(|c| !c.is_empty()) else {
        return APP.to_string();
    };
    let default = std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".config"));
    if default.as_deref() == Some(std::path::Path::new(&config)) {
        return APP.to_string();
    }
    // FNV-1a: a short name element that stays the same from build to build.
    let hash = config
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{APP}.profile_{hash:016x}")
}
