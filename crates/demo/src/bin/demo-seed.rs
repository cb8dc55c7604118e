//! `demo-seed`: prepares the demo of `scripts/run` on a fresh server, through the
//! client library: the demo account, three other devices signed in ("Old tablet",
//! "Phone", "Work laptop", each a machine of its own), and this computer signed in as
//! a fourth device in the OS keychain and the config directory the app reads
//! (`XDG_CONFIG_HOME`), so that the app opens signed in.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;

#[derive(Parser, Debug)]
struct Args {
    /// The session server (open sign-up).
    #[arg(long)]
    server: String,
    #[arg(long, default_value = demo::DEMO_EMAIL)]
    email: String,
    #[arg(long, default_value = demo::DEMO_PASSWORD)]
    password: String,
    /// Other devices to sign in, in this order (the last is the most recent).
    #[arg(long = "device", default_values_t = demo::DEMO_DEVICES.map(String::from))]
    devices: Vec<String>,
    /// More devices ("Device 5", "Device 6", ...) after those, e.g. to fill a long list.
    #[arg(long, default_value_t = 0)]
    extra: usize,
    /// This computer's device name (default: its host name).
    #[arg(long)]
    this_device: Option<String>,
    /// Do not sign this computer in.
    #[arg(long)]
    no_this_device: bool,
    /// Instead of seeding: sign in as another device (`--as`) and sign out the device
    /// with this name, as someone at another computer would.
    #[arg(long, value_name = "DEVICE")]
    sign_out: Option<String>,
    /// The name of the device that signs out `--sign-out`.
    #[arg(long = "as", default_value = "New phone")]
    as_device: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    wait_until_ready(&args.server).await?;
    if let Some(target) = &args.sign_out {
        let other =
            demo::OtherDevice::sign_in(&args.server, &args.email, &args.password, &args.as_device)
                .await?;
        let device = other.session.find_device(target).await?;
        other.session.sign_out_device(device.id).await?;
        eprintln!(
            "\"{}\" signed out \"{}\"",
            args.as_device, device.device.name
        );
        return Ok(());
    }
    demo::create_account(&args.server, &args.email, &args.password).await?;
    let mut names = args.devices.clone();
    let named = names.len();
    names.extend((0..args.extra).map(|i| format!("Device {}", named + i + 2)));
    // Kept alive until the end, then dropped: their sessions stay live on the server.
    let others =
        demo::sign_in_other_devices(&args.server, &args.email, &args.password, &names).await?;
    eprintln!(
        "signed in {} other devices: {}",
        others.len(),
        summary(&names)
    );
    if !args.no_this_device {
        let session = demo::sign_in_this_device(
            None,
            &args.server,
            &args.email,
            &args.password,
            args.this_device.as_deref(),
        )
        .await?;
        eprintln!(
            "signed this computer in as \"{}\" (refresh token in the OS keychain)",
            session.device_name()
        );
        let me = std::env::current_exe()?;
        eprintln!(
            "to sign it out from another device, run in another terminal:\n    {} --server {} --sign-out '{}'",
            me.display(),
            args.server,
            session.device_name().replace('\'', "'\\''")
        );
    }
    Ok(())
}

fn summary(names: &[String]) -> String {
    if names.len() <= 5 {
        names.join(", ")
    } else {
        format!("{}, … {}", names[..3].join(", "), names[names.len() - 1])
    }
}

/// The server was just started: wait for its discovery document.
async fn wait_until_ready(server: &str) -> anyhow::Result<()> {
    let url = format!(
        "{}/.well-known/oauth-authorization-server",
        server.trim_end_matches('/')
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = tokio::net::TcpStream::connect(host_port(server)?)
            .await
            .is_ok();
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("the server at {url} did not answer within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn host_port(server: &str) -> anyhow::Result<String> {
    let rest = server
        .split_once("://")
        .map(|(_, r)| r)
        .context("the server URL needs a scheme (http://…)")?;
    Ok(rest.split('/').next().unwrap_or(rest).to_string())
}
