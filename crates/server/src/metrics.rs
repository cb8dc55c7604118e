//! The server's metrics, in Prometheus's text format (`GET /metrics`): every name and
//! label is written here once, and the rest of the server records facts through these
//! functions where they happen — `http` for requests and connections, `app` for
//! outcomes (refreshes, revocations, throttling, the hashing queue), `feed` for the
//! follower.
//!
//! Recorded through the `metrics` facade into `metrics-exporter-prometheus`'s recorder,
//! installed once per process (several in-process test servers share it; the binary has
//! one server).

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use proto::sessions::RevocationReason;

pub const HTTP_REQUESTS: &str = "session_server_http_requests_total";
pub const HTTP_DURATION: &str = "session_server_http_request_duration_seconds";
pub const CONNECTIONS_OPEN: &str = "session_server_connections_open";
pub const REFRESHES: &str = "session_server_refreshes_total";
pub const REVOCATIONS: &str = "session_server_revocations_total";
pub const FEED_LAG: &str = "session_server_feed_lag_entries";
pub const FEED_BEHIND: &str = "session_server_feed_seconds_since_caught_up";
pub const FEED_CURRENT: &str = "session_server_feed_current";
pub const STREAMS_OPEN: &str = "session_server_event_streams_open";
pub const THROTTLED: &str = "session_server_throttled_total";
pub const HASH_WAITING: &str = "session_server_password_hash_waiting";
pub const HASH_BUSY: &str = "session_server_password_hash_busy_total";
pub const DATABASE_UNAVAILABLE: &str = "session_server_database_unavailable_total";

/// Latency buckets (seconds): from a cached token check to a password hash under load.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), LATENCY_BUCKETS)
            .expect("the latency buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            // A program embedding the server installed its own recorder: our series go
            // there, and /metrics shows only what this (empty) one holds.
            tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
        }
        describe();
        handle
    })
}

/// The text of `GET /metrics`.
pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}

/// Drains histogram samples into their buckets, so memory stays flat between scrapes.
pub fn upkeep() {
    handle().run_upkeep();
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to answer an HTTP request (to the response head; event streams: until they open)."
    );
    describe_gauge!(
        CONNECTIONS_OPEN,
        "Client connections open (event streams included)."
    );
    describe_counter!(
        REFRESHES,
        "Refresh-token presentations by outcome: rotated, retried (same successor again), reuse_detected (session revoked), dead (unknown, expired or revoked)."
    );
    describe_counter!(
        REVOCATIONS,
        "Sessions and tokens revoked through this instance, by reason."
    );
    describe_gauge!(
        FEED_LAG,
        "Feed entries the follower found behind its cursor when it last caught up (0 when it keeps up)."
    );
    describe_gauge!(
        FEED_BEHIND,
        "Seconds since the feed follower last caught up."
    );
    describe_gauge!(
        FEED_CURRENT,
        "1 while the feed follower is current (database and notifications answer), else 0; heartbeats are sent only while 1."
    );
    describe_gauge!(
        STREAMS_OPEN,
        "Open event streams: device (GET /v1/events) and revocation (GET /v1/revocations/stream)."
    );
    describe_counter!(
        THROTTLED,
        "Requests refused with 429 by the attempt limits, by limit."
    );
    describe_gauge!(HASH_WAITING, "Password checks waiting for a free hasher.");
    describe_counter!(
        HASH_BUSY,
        "Password checks refused with 503 because the hashing queue was full or too slow."
    );
    describe_counter!(
        DATABASE_UNAVAILABLE,
        "Requests answered 503 because the database was unreachable."
    );
}

/// One answered request. `route` is the matched path template (`/v1/sessions/{id}`),
/// never the raw path, so ids and garbage paths cannot blow up the series.
pub fn request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("route", route.to_owned()),
        ("method", method.to_owned()),
        ("status", status.to_string()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// Counts an open client connection until dropped.
#[derive(Debug)]
pub struct OpenConnection(());

impl OpenConnection {
    pub fn open() -> Self {
        gauge!(CONNECTIONS_OPEN).increment(1.0);
        Self(())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        gauge!(CONNECTIONS_OPEN).decrement(1.0);
    }
}

/// Which event stream.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    Device,
    Revocation,
}

/// Counts an open event stream until dropped.
#[derive(Debug)]
pub struct OpenStream(Stream);

impl OpenStream {
    pub fn new(kind: Stream) -> Self {
        gauge!(STREAMS_OPEN, "stream" => stream_label(kind)).increment(1.0);
        Self(kind)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        gauge!(STREAMS_OPEN, "stream" => stream_label(self.0)).decrement(1.0);
    }
}

fn stream_label(kind: Stream) -> &'static str {
    match kind {
        Stream::Device => "device",
        Stream::Revocation => "revocation",
    }
}

/// What became of a presented refresh token.
#[derive(Debug, Clone, Copy)]
pub enum Refresh {
    Rotated,
    Retried,
    ReuseDetected,
    Dead,
}

pub fn refresh(outcome: Refresh) {
    let label = match outcome {
        Refresh::Rotated => "rotated",
        Refresh::Retried => "retried",
        Refresh::ReuseDetected => "reuse_detected",
        Refresh::Dead => "dead",
    };
    counter!(REFRESHES, "outcome" => label).increment(1);
}

/// `count` sessions revoked for `reason`.
pub fn revoked(reason: RevocationReason, count: u64) {
    if count > 0 {
        counter!(REVOCATIONS, "reason" => reason.as_str()).increment(count);
    }
}

/// One access token (`jti`) revoked.
pub fn token_revoked() {
    counter!(REVOCATIONS, "reason" => "token").increment(1);
}

/// Which attempt limit refused a request.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// Failed sign-ins for one account from one address.
    SigninAccountAddress,
    /// Failed sign-ins for one account from all addresses.
    SigninAccount,
    /// Failed sign-ins from one address.
    SigninAddress,
    /// Sign-ups from one address.
    SignupAddress,
    /// Failed refreshes and resource-server authentications from one address.
    FailuresAddress,
}

pub fn throttled(limit: Limit) {
    let label = match limit {
        Limit::SigninAccountAddress => "signin_account_address",
        Limit::SigninAccount => "signin_account",
        Limit::SigninAddress => "signin_address",
        Limit::SignupAddress => "signup_address",
        Limit::FailuresAddress => "failures_address",
    };
    counter!(THROTTLED, "limit" => label).increment(1);
}

pub fn hash_waiting(waiting: usize) {
    gauge!(HASH_WAITING).set(waiting as f64);
}

pub fn hash_busy() {
    counter!(HASH_BUSY).increment(1);
}

pub fn database_unavailable() {
    counter!(DATABASE_UNAVAILABLE).increment(1);
}

/// The follower caught up, having found `applied` entries past its cursor.
pub fn feed_caught_up(applied: usize) {
    gauge!(FEED_LAG).set(applied as f64);
}

/// The follower's state, refreshed at every wake-up (and at every readiness check).
pub fn feed_state(current: bool, since_caught_up: Option<Duration>) {
    gauge!(FEED_CURRENT).set(if current { 1.0 } else { 0.0 });
    if let Some(age) = since_caught_up {
        gauge!(FEED_BEHIND).set(age.as_secs_f64());
    }
}
