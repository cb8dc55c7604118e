//! Live events: what the client tells its caller, and the loop that keeps the
//! `/v1/events` stream open.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use proto::SessionId;
use proto::events::Event;
use serde::{Deserialize, Serialize};

use crate::error::ClientError;
use crate::http::Failure;
use crate::session::Session;
use crate::store::AccountKey;
use proto::sse::SseParser;

/// This device was signed out from elsewhere (`SignedOutNotice` of docs/app-ipc.md).
/// By the time anyone sees it, the keychain entry is already gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedOutNotice {
    pub by_session_id: Option<SessionId>,
    pub by_device_name: Option<String>,
    /// `revoked`, `revoked_others`, `signed_out_everywhere`, `refresh_token_reuse`,
    /// `admin`, or `unknown` when the device learned it only from a refused refresh.
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// What the client tells its caller (the app, or `sessionctl watch`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClientEvent {
    /// This device's session ended elsewhere; its keychain entry is already wiped.
    SignedOut {
        account: AccountKey,
        notice: SignedOutNotice,
    },
    /// Any other event of the account's stream, passed on as the server sent it: a new
    /// sign-in, a rename, another device signed out, a security alert.
    Remote { account: AccountKey, event: Event },
    /// The event stream connected (`true`) or dropped (`false`).
    Online { account: AccountKey, online: bool },
    /// The number of logouts still waiting for the server changed.
    PendingRevocations { count: usize },
}

impl ClientEvent {
    /// For a device list on screen: the reason to refetch it, if this event is one
    /// (the `devices-changed` reasons of docs/app-ipc.md).
    pub fn devices_changed_reason(&self) -> Option<&'static str> {
        match self {
            Self::Remote { event, .. } => Some(event.name()),
            Self::SignedOut { .. } => Some(Event::SESSION_REVOKED),
            _ => None,
        }
    }
}

/// Exponential backoff with jitter, capped.
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            attempt: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.attempt.min(16));
        self.attempt = self.attempt.saturating_add(1);
        let capped = exp.min(self.max);
        // ±20 % jitter so that many clients do not reconnect in lockstep.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let factor = 0.8 + f64::from(nanos % 1000) / 2500.0;
        capped.mul_f64(factor)
    }
}

/// With the server sending a comment at least every 15 s, this much silence means the
/// connection is dead even if TCP has not noticed.
const IDLE_LIMIT: Duration = Duration::from_secs(45);

/// Keeps the event stream of one session open until the session ends.
pub(crate) async fn run(session: Session) {
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
    while !session.is_ended() {
        let (token, generation) = match session.token().await {
            Ok(t) => t,
            Err(ClientError::SessionRevoked | ClientError::NotSignedIn) => break,
            Err(e) => {
                tracing::debug!(error = %e, "event stream: no token yet");
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        let resp = match session.api().events(&token).await {
            Ok(r) => r,
            Err(Failure::Unauthorized) => {
                match session.refresh_after_401(generation).await {
                    Err(ClientError::SessionRevoked | ClientError::NotSignedIn) => break,
                    Err(_) => tokio::time::sleep(backoff.next_delay()).await,
                    Ok(_) => {}
                }
                continue;
            }
            Err(f) => {
                tracing::debug!(error = %f.into_client(), "event stream: connect failed");
                session.set_online(false);
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        session.set_online(true);
        backoff.reset();
        session.network_returned();
        let mut parser = SseParser::default();
        let mut stream = resp.bytes_stream();
        'read: loop {
            match tokio::time::timeout(IDLE_LIMIT, stream.next()).await {
                Ok(Some(Ok(chunk))) => {
                    for ev in parser.feed(&chunk) {
                        if session.handle_sse(&ev.name, &ev.data).await.is_break() {
                            break 'read;
                        }
                    }
                }
                _ => break 'read,
            }
        }
        session.set_online(false);
        if !session.is_ended() {
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
    session.set_online(false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(80) && first <= Duration::from_millis(120));
        for _ in 0..40 {
            assert!(b.next_delay() <= Duration::from_millis(2400));
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(120));
    }
}
