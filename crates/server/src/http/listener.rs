//! Accepting connections: the server's own loop instead of `axum::serve`, for what a
//! hostile internet needs and `axum::serve` does not offer.
//!
//! - A connection that does not send a complete request head within
//!   [`HEADER_READ_TIMEOUT`] is closed (half-sent requests, idle keep-alive), so a few
//!   hundred such connections cannot hold the server's sockets.
//! - At most `max_connections` connections are open; past that the server stops
//!   accepting (new connections wait in the kernel's backlog) instead of running out of
//!   file descriptors.
//! - Shutdown stops accepting, lets requests in flight finish (event streams end on the
//!   app's shutdown token), and gives up on connections after [`DRAIN_TIMEOUT`].
//!
//! Request bodies and handlers are bounded by the router's request timeout; event
//! streams are exempt (see `http::router`).

use std::net::SocketAddr;
use std::sync::Arc;
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
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
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

/// Serves `router` on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    max_connections: usize,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
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
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        // No upgrades: the API has no WebSockets.
        let conn = graceful.watch(conn);
        let open = crate::metrics::OpenConnection::new();
        tokio::spawn(async move {
            let _open = open;
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("some connections did not finish within the drain timeout");
        }
    }
}
