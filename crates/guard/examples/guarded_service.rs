//! A service protected by the guard.
//!
//!   cargo run -p session-guard --example guarded_service -- \
//!       --server http://127.0.0.1:7878 --client-id rs --client-secret rs-secret
//!
//! (start the server with `--resource-server rs:rs-secret`). Then
//! `curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/hello`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use guard::{Guard, GuardConfig, GuardedClaims};

#[derive(Parser)]
struct Args {
    /// The session server.
    #[arg(long, env = "GUARD_SERVER", default_value = "http://127.0.0.1:7878")]
    server: String,
    /// This service's resource-server credentials.
    #[arg(long, env = "GUARD_CLIENT_ID", default_value = "rs")]
    client_id: String,
    #[arg(long, env = "GUARD_CLIENT_SECRET")]
    client_secret: String,
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Fail closed when the revocation feed is silent this many seconds.
    #[arg(long, default_value_t = 30)]
    max_feed_silence: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let args = Args::parse();
    let mut config = GuardConfig::new(args.server, args.client_id, args.client_secret);
    config.max_feed_silence = Duration::from_secs(args.max_feed_silence);
    let guard = Guard::start(config).await?;

    let status_guard = guard.clone();
    let app = Router::new()
        .route(
            "/hello",
            get(|GuardedClaims(c): GuardedClaims| async move {
                format!("Hello, {} (session {})\n", c.sub, c.sid)
            }),
        )
        .layer(guard.layer())
        // Outside the layer: health is public.
        .route(
            "/healthz",
            get(move || {
                let s = status_guard.status();
                async move {
                    Json(serde_json::json!({
                        "feed_connected": s.connected,
                        "cursor": s.cursor,
                        "silent_for_ms": s.silent_for.as_millis() as u64,
                    }))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!(
        "guarded service listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
