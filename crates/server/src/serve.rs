//! Running the server: bind, start the background work, serve until SIGTERM/Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::app::{App, Settings};
use crate::config::ServeArgs;
use crate::store::Store;

pub async fn run(args: ServeArgs, database_url: String) -> anyhow::Result<()> {
    let store = Store::connect(&database_url)
        .await
        .with_context(|| format!("opening the database ({})", redact_url(&database_url)))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr()?;
    let issuer = args
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let shutdown = CancellationToken::new();
    let app = App::new(
        Settings::from_args(&args, issuer.clone()),
        &args,
        store.clone(),
        shutdown.clone(),
    )
    .await?;
    app.spawn_background();

    tracing::info!(
        listen = %local,
        issuer = %issuer,
        database = %redact_url(&database_url),
        open_signup = args.open_signup,
        "session server ready"
    );
    // A line for scripts and tests that start the server on port 0.
    println!("session-server listening on http://{local}");

    let router = crate::http::router(app.clone());
    let stop = shutdown.clone();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        // Ends event streams and background loops, so in-flight requests can drain.
        stop.cancel();
    })
    .await?;
    store.close().await;
    tracing::info!("stopped");
    let _ = Arc::strong_count(&app);
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// A database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..scheme_end], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_stay_out_of_logs() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/sessions"),
            "postgres://app:***@db:5432/sessions"
        );
        assert_eq!(
            redact_url("sqlite:///tmp/x.db?mode=rwc"),
            "sqlite:///tmp/x.db?mode=rwc"
        );
    }
}
