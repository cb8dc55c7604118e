//! Following the server's revocation stream into the guard's denylist.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt as _;
use proto::revocations::{EVENT_HEARTBEAT, EVENT_REVOCATION, RevocationEvent};
use proto::sse::SseParser;

use crate::Inner;

/// Follows the stream until shut down, reconnecting with backoff and resuming from the
/// last applied cursor, so no revocation is missed across a disconnect.
pub(crate) async fn follow(inner: Arc<Inner>) {
    let url = format!("{}/v1/revocations/stream", inner.config.server);
    let mut backoff = Duration::from_millis(50);
    loop {
        let outcome = tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            r = read_stream(&inner, &url) => r,
        };
        inner.connected.store(false, Ordering::Release);
        match outcome {
            Ok(()) => {
                tracing::info!("revocation stream ended; reconnecting");
                backoff = Duration::from_millis(50);
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "revocation stream failed")
            }
        }
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

async fn read_stream(inner: &Inner, url: &str) -> Result<(), String> {
    let cursor = inner.cursor.load(Ordering::Acquire);
    let r = inner
        .http
        .get(url)
        .basic_auth(&inner.config.client_id, Some(&inner.config.client_secret))
        .header("last-event-id", cursor.to_string())
        .header("accept", "text/event-stream")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("the server answered {}", r.status()));
    }
    inner.connected.store(true, Ordering::Release);
    let mut parser = SseParser::default();
    let mut body = r.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        for event in parser.feed(&chunk) {
            // Only the server's own events prove the feed is current: a heartbeat is
            // sent only while the server has every revocation, so keep-alive comments
            // (which any proxy or a cut-off server still sends) do not count.
            match event.name.as_str() {
                EVENT_REVOCATION => {
                    inner.heard();
                    apply(inner, &event.data, event.id.as_deref());
                }
                EVENT_HEARTBEAT => {
                    inner.heard();
                    inner.caught_up.notify_waiters();
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn apply(inner: &Inner, data: &str, id: Option<&str>) {
    match serde_json::from_str::<RevocationEvent>(data) {
        Ok(RevocationEvent::Key(k)) => inner.remove_key(&k.kid),
        Ok(event) => inner.deny_mut().apply(&event),
        // A newer server's event this guard cannot read: skipped, never a wall that
        // stops every revocation behind it.
        Err(e) => {
            tracing::error!(error = %e, cursor = ?id, "skipping a revocation this guard cannot read")
        }
    }
    if let Some(id) = id.and_then(|i| i.parse::<i64>().ok()) {
        inner.cursor.store(id, Ordering::Release);
    }
    inner.applied.notify_waiters();
}

/// Refetches the JWKS every `jwks_refresh_interval` until shut down, so keys that left
/// it (retired and expired, or removed) stop verifying here too.
pub(crate) async fn refresh_keys(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(inner.config.jwks_refresh_interval);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        inner.fetch_jwks().await;
    }
}

/// Drops denylist entries past their use, every minute, until shut down.
pub(crate) async fn prune(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        inner.deny_mut().prune(now);
    }
}

/// Publishes the feed's state to the metrics every second, until shut down.
pub(crate) async fn report(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = inner.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let heard = inner.last_heard_ms.load(Ordering::Acquire);
        let silent = inner.now_ms().saturating_sub(heard).max(0);
        crate::metrics::feed_state(
            inner.connected.load(Ordering::Acquire),
            Duration::from_millis(silent as u64),
        );
    }
}
