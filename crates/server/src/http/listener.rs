//! Accepting connections: the server's own loop instead of `axum::serve`, for what a
//! hostile internet needs and `axum::serve` does not offer.
//!
//! - A connection that does not send a complete request head within
//!   [`HEADER_READ_TIMEOUT`] is closed (half-sent requests, idle keep-alive), so a few
//!   hundred such connections cannot hold the server's sockets.
//! - At most `max_connections` connections are open; past that the server stops
//!   accepting (new connections wait in the kernel's backlog) instead of running out of
//!   file descriptors.
//! - With `--tls-cert`/`--tls-key`, connections are TLS (rustls, HTTP/1.1): the
//!   handshake is timed out like a request head, and [`Tls::reload`] (SIGHUP) swaps the
//!   certificate for new connections, keeping the old one if the files are bad.
//! - Shutdown stops accepting, lets requests in flight finish (event streams end on the
//!   app's shutdown token), and gives up on connections after [`DRAIN_TIMEOUT`].
//!
//! Request bodies and handlers are bounded by the router's request timeout; event
//! streams are exempt (see `http::router`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// A request head must arrive whole within this (also the idle limit between requests
/// on a kept-alive connection).
pub const HEADER_READ_TIMEOUT: Duration = proto::SERVER_IDLE_LIMIT;
/// How long shutdown waits for connections to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// File descriptors kept for everything that is not a client connection (the
/// database, logs, the listener itself).
const SPARE_FDS: u64 = 256;

/// The connection cap actually usable: `wanted`, raising this process's file
/// descriptor limit to what the system allows, and lowered (with a warning) if even
/// that is not enough.
pub fn usable_connection_cap(wanted: usize) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the file descriptor limit");
            return wanted;
        }
    };
    let room = usize::try_from(limit.saturating_sub(SPARE_FDS)).unwrap_or(usize::MAX);
    if room < wanted {
        tracing::warn!(
            wanted,
            allowed = room,
            fd_limit = limit,
            "the file descriptor limit allows fewer connections than --max-connections; raise `ulimit -n`"
        );
        room.max(1)
    } else {
        wanted
    }
}

/// A TLS handshake must complete within this, like a request head.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{path} holds no certificate")]
    NoCertificate { path: String },
    #[error("the certificate and key cannot be used: {0}")]
    Invalid(#[from] rustls::Error),
}

/// The server's certificate and key: read from their files at start and again on
/// [`Tls::reload`]. A connection takes the configuration current when it arrives, so a
/// reload is seen by new connections while open ones keep theirs.
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Tls {
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        Ok(Self {
            current: RwLock::new(Arc::new(server_config(cert, key)?)),
            cert: cert.to_owned(),
            key: key.to_owned(),
        })
    }

    /// Reads the files again. On error the previous certificate stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = Arc::new(server_config(&self.cert, &self.key)?);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, TlsError> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    fn read<'a>(
        what: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(rustls::pki_types::pem::Error) -> TlsError + 'a {
        move |source| TlsError::Read {
            what,
            path: path.display().to_string(),
            source,
        }
    }
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(read("the certificate", cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read("the certificate", cert))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.display().to_string(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(read("the key", key))?;
    // The ring provider by name: the process may link another, and rustls refuses to
    // guess between two.
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    // HTTP/1.1 is what this server speaks; say so to clients that ask.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves `router` on `listener` until `shutdown` is cancelled; over TLS when `tls` is
/// given.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    max_connections: usize,
    tls: Option<Arc<Tls>>,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true)
        // Responses are small, so copying a body into the one write buffer costs
        // nothing measurable, while the vectored writes' queue would stay allocated
        // for the life of every event stream (~0.3 KiB each).
        .writev(false);
    loop {
        // Take a slot before accepting: at the cap, connections wait in the backlog.
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset during accept: wait a
                    // moment instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service =
            router
                .clone()
                .map_request(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(remote));
                    req
                });
        let service = TowerToHyperService::new(service);
        let open = crate::metrics::OpenConnection::open();
        let http = http.clone();
        let watcher = graceful.watcher();
        // One task type per transport: a task is allocated at its future's size, and a
        // plain connection's future is a fraction of one that also holds a TLS session
        // and its handshake. Every open event stream is such a task, and this is most
        // of its memory.
        match tls.as_ref() {
            None => {
                let conn = watcher.watch(http.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move {
                    let _open = open;
                    ended(conn.await);
                    drop(permit);
                });
            }
            // The certificate current now: a reload is seen by the next connection.
            Some(tls) => {
                let acceptor = tls.acceptor();
                tokio::spawn(async move {
                    let _open = open;
                    // The handshake runs here, not in the accept loop, and is timed out
                    // like a request head, so a silent client holds only its own slot.
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        Ok(Ok(stream)) => ended(
                            watcher
                                .watch(http.serve_connection(TokioIo::new(stream), service))
                                .await,
                        ),
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("some connections did not finish within the drain timeout");
        }
    }
}

fn ended(result: Result<(), hyper::Error>) {
    // No upgrades: the API has no WebSockets.
    if let Err(e) = result {
        tracing::trace!(error = %e, "connection ended with an error");
    }
}
