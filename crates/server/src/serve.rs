//! Running the server: bind, start the background work, serve until stopped.
//!
//! [`Server`] is the whole server in one value: the binary starts one and stops it on
//! SIGTERM/Ctrl-C; tests start one per test on port 0 in their own process and stop it
//! (or just drop it).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::app::{App, Settings};
use crate::config::ServeArgs;
use crate::store::Store;

/// How often histogram samples are folded into their buckets between scrapes.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// Scrapers are few: the metrics listener needs no more connections than this.
const METRICS_MAX_CONNECTIONS: usize = 64;

/// A server bound to its address and serving, until [`Server::stop`] or drop.
pub struct Server {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    tls: Option<std::sync::Arc<crate::http::listener::Tls>>,
    issuer: String,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Opens the database (applying migrations), binds `args.listen` (port 0 picks a
    /// free one) and starts serving. Returns once requests can be answered.
    pub async fn start(mut args: ServeArgs, database_url: &str) -> anyhow::Result<Server> {
        args.resource_servers = args
            .all_resource_servers()
            .map_err(|why| anyhow::anyhow!("--resource-servers-file: {why}"))?;
        let store = Store::connect(database_url)
            .await
            .with_context(|| format!("opening the database ({})", redact_url(database_url)))?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(std::sync::Arc::new(
                crate::http::listener::Tls::load(cert, key)
                    .context("loading --tls-cert/--tls-key")?,
            )),
            _ => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let metrics_listener = match args.metrics_listen {
            Some(at) => Some(
                tokio::net::TcpListener::bind(at)
                    .await
                    .with_context(|| format!("cannot listen on {at} (--metrics-listen)"))?,
            ),
            None => None,
        };
        let metrics_addr = metrics_listener
            .as_ref()
            .map(tokio::net::TcpListener::local_addr)
            .transpose()?;
        // The recorder exists before the first request is counted.
        crate::metrics::handle();
        let issuer = args
            .issuer
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{addr}"));
        let sealer = args.sealer()?;
        if !sealer.has_kek() {
            tracing::warn!(
                "no key-encryption key: signing keys and two-step secrets are stored unsealed in the database; \
                 pass --key-encryption-key-file (see `session-server keys generate-kek`)"
            );
        }
        if !args.no_web && !crate::http::web_page::built() {
            tracing::warn!(
                "the account page was not built into this binary (compiled without Node.js, or with SESSION_SERVER_WEB_PAGE=skip): \
                 /account says so, and its API works; see README, \"Account page\""
            );
        }
        let shutdown = CancellationToken::new();
        let app = App::new(
            Settings::from_args(&args, issuer.clone()),
            sealer,
            store.clone(),
            shutdown.clone(),
        )
        .await?;
        let mut background = app.spawn_background();
        let stop = shutdown.clone();
        background.spawn("metrics upkeep", async move {
            let mut tick = tokio::time::interval(METRICS_UPKEEP_EVERY);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => crate::metrics::upkeep(),
                }
            }
        });
        tracing::info!(
            listen = %addr,
            tls = tls.is_some(),
            issuer = %issuer,
            database = %redact_url(database_url),
            open_signup = args.open_signup,
            metrics = %metrics_addr.map_or_else(|| "on the public listener".to_owned(), |a| a.to_string()),
            "session server ready"
        );

        let router = crate::http::router(app.clone(), metrics_listener.is_none());
        let max_connections = crate::http::listener::usable_connection_cap(args.max_connections);
        let stop = shutdown.clone();
        let metrics_task = metrics_listener.map(|l| {
            tokio::spawn(crate::http::listener::serve(
                l,
                crate::http::metrics_router(),
                METRICS_MAX_CONNECTIONS,
                None,
                shutdown.clone(),
            ))
        });
        let serving_tls = tls.clone();
        let task = tokio::spawn(async move {
            let serve =
                crate::http::listener::serve(listener, router, max_connections, serving_tls, stop);
            tokio::pin!(serve);
            // A background task that dies stops the server (watch cancels `stop`);
            // requests in flight still finish.
            tokio::select! {
                () = &mut serve => {}
                () = background.watch() => serve.await,
            }
            // Background loops end on the same token; wait for them, so nothing is
            // half-done when the database closes.
            background.join().await;
            if let Some(t) = metrics_task {
                let _ = t.await;
            }
            store.close().await;
            tracing::info!("stopped");
            drop(app);
            Ok(())
        });
        Ok(Server {
            addr,
            metrics_addr,
            tls,
            issuer,
            shutdown,
            task: Some(task),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of `--metrics-listen`, if given.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// `http://<address>` of the listener (`https://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Reads the TLS certificate and key files again (SIGHUP): new connections get the
    /// new certificate. On error the old one stays and the error is returned.
    pub fn reload_tls(&self) -> Result<bool, crate::http::listener::TlsError> {
        match &self.tls {
            Some(tls) => tls.reload().map(|()| true),
            None => Ok(false),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Stops accepting, ends event streams, lets requests in flight finish, waits for
    /// the background work, closes the database.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        tracing::info!("shutting down: finishing requests in flight");
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => task.await.context("the server task panicked")?,
            None => Ok(()),
        }
    }

    /// Resolves when the server stops by itself (a background task failed).
    pub async fn stopped(&self) {
        self.shutdown.cancelled().await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A server dropped without `stop` still stops: in tests, the end of the test.
        self.shutdown.cancel();
    }
}

/// `session-server` (serve): until SIGTERM or Ctrl-C.
pub async fn run(args: ServeArgs, database_url: String) -> anyhow::Result<()> {
    let server = Server::start(args, &database_url).await?;
    // A line for scripts and tests that start the server on port 0.
    println!("session-server listening on {}", server.url());
    tokio::select! {
        _ = wait_for_signal() => {}
        _ = server.stopped() => tracing::error!("a background task failed; stopping"),
        () = reload_on_hangup(&server) => {}
    }
    server.stop().await
}

/// SIGHUP reloads the TLS certificate and key, as daemons do after a renewal; a bad
/// file is logged and the current certificate kept. Never returns.
async fn reload_on_hangup(server: &Server) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut hup) = signal(SignalKind::hangup()) {
            while hup.recv().await.is_some() {
                match server.reload_tls() {
                    Ok(true) => tracing::info!("SIGHUP: TLS certificate and key reloaded"),
                    Ok(false) => tracing::info!("SIGHUP: no TLS configured; nothing to reload"),
                    Err(e) => tracing::error!(
                        error = %e,
                        "SIGHUP: cannot reload the TLS certificate; keeping the current one"
                    ),
                }
            }
        }
    }
    std::future::pending::<()>().await
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
