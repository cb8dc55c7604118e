//! The guard's metrics, through the `metrics` facade: the service embedding the guard
//! installs a recorder (Prometheus, StatsD, …) before starting it; without one they cost
//! nothing. Every name is written here once.

use std::time::Duration;

use metrics::{Counter, counter, describe_counter, describe_gauge, gauge};

use crate::Denied;

pub const FEED_SILENCE: &str = "session_guard_feed_silence_seconds";
pub const FEED_CONNECTED: &str = "session_guard_feed_connected";
pub const CACHE: &str = "session_guard_token_cache_total";
pub const REFUSALS: &str = "session_guard_refusals_total";

/// Handles resolved once, so a request costs an atomic add per metric, not a lookup.
pub(crate) struct GuardMetrics {
    pub(crate) cache_hit: Counter,
    pub(crate) cache_miss: Counter,
    missing: Counter,
    invalid: Counter,
    revoked: Counter,
    feed_stale: Counter,
}

impl GuardMetrics {
    pub(crate) fn new() -> Self {
        describe_gauge!(
            FEED_SILENCE,
            metrics::Unit::Seconds,
            "Seconds since the revocation feed was last heard from (a heartbeat or a revocation); past max_feed_silence the guard answers 503."
        );
        describe_gauge!(
            FEED_CONNECTED,
            "1 while the revocation stream is connected."
        );
        describe_counter!(
            CACHE,
            "Token checks answered from the verified-token cache (hit) or by a signature check (miss)."
        );
        describe_counter!(
            REFUSALS,
            "Requests refused, by reason: missing, invalid, revoked, feed_stale."
        );
        Self {
            cache_hit: counter!(CACHE, "result" => "hit"),
            cache_miss: counter!(CACHE, "result" => "miss"),
            missing: counter!(REFUSALS, "reason" => "missing"),
            invalid: counter!(REFUSALS, "reason" => "invalid"),
            revoked: counter!(REFUSALS, "reason" => "revoked"),
            feed_stale: counter!(REFUSALS, "reason" => "feed_stale"),
        }
    }

    pub(crate) fn refused(&self, denied: &Denied) {
        match denied {
            Denied::Missing => &self.missing,
            Denied::Invalid(_) => &self.invalid,
            Denied::Revoked(_) => &self.revoked,
            Denied::FeedStale => &self.feed_stale,
        }
        .increment(1);
    }
}

pub(crate) fn feed_state(connected: bool, silent_for: Duration) {
    gauge!(FEED_CONNECTED).set(if connected { 1.0 } else { 0.0 });
    gauge!(FEED_SILENCE).set(silent_for.as_secs_f64());
}
