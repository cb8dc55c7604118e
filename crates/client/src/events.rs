//! Live events: what the client tells its caller, and the loop that keeps the
//! `/v1/events` stream open.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;
use proto::SessionId;
use proto::events::Event;
use proto::sessions::RevocationReason;
use serde::{Deserialize, Serialize};

use crate::error::ClientError;
use crate::http::Failure;
use crate::session::Session;
use crate::store::AccountKey;
use proto::sse::SseParser;

/// This device was signed out from elsewhere. By the time anyone sees it, the keychain
/// entry is already gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignedOutNotice {
    /// The session that did it, if another device did.
    pub by_session_id: Option<SessionId>,
    pub by_device_name: Option<String>,
    /// Why; `unknown` when the device learned it only from a refused refresh.
    pub reason: RevocationReason,
    pub at: DateTime<Utc>,
}

impl SignedOutNotice {
    /// What to tell the person ("This device was signed out from Work laptop at 14:02."),
    /// with the moment in `now`'s time zone, said relative to `now`.
    pub fn message<Tz: TimeZone>(&self, now: &DateTime<Tz>) -> String {
        // The client makes a notice only when the session was ended from elsewhere (its
        // own sign-outs, and their echo on the event stream, make none), so it is never
        // this device's own action.
        proto::notice::signed_out_message(
            self.reason,
            self.by_device_name.as_deref(),
            false,
            &proto::notice::moment(self.at, now),
        )
    }
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

/// A stream that ends by itself after being open at least this long was closed by the
/// server on purpose (its access token expired: every 5 minutes by default): reconnect
/// at once, without reporting the device offline. One that ends sooner backs off.
const CLEAN_END_AFTER: Duration = Duration::from_secs(1);

/// Keeps the event stream of one session open until the session ends.
///
/// The server closes a stream when the access token it was opened with expires or is
/// revoked; each new stream is opened with a fresh token and the `id` of the last
/// event received (`Last-Event-ID`), so that the server first sends what happened in
/// between: nothing is missed, nothing comes twice.
pub(crate) async fn run(session: Session) {
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
    let mut last_event_id: Option<String> = None;
    while !session.is_ended() {
        let (token, generation) = match session.token().await {
            Ok(t) => t,
            Err(ClientError::SessionRevoked | ClientError::NotSignedIn) => break,
            Err(e) => {
                tracing::debug!(error = %e, "event stream: no token yet");
                session.set_online(false);
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        let resp = match session.api().events(&token, last_event_id.as_deref()).await {
            Ok(r) => r,
            Err(Failure::Unauthorized) => {
                match session.refresh_after_401(generation).await {
                    Err(ClientError::SessionRevoked | ClientError::NotSignedIn) => break,
                    Err(_) => {
                        session.set_online(false);
                        tokio::time::sleep(backoff.next_delay()).await;
                    }
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
        let opened = tokio::time::Instant::now();
        session.set_online(true);
        backoff.reset();
        session.network_returned();
        let mut parser = SseParser::default();
        let mut stream = resp.bytes_stream();
        let ended_cleanly = 'read: loop {
            match tokio::time::timeout(IDLE_LIMIT, stream.next()).await {
                Ok(Some(Ok(chunk))) => {
                    for ev in parser.feed(&chunk) {
                        let flow = session.handle_sse(&ev.name, &ev.data).await;
                        if ev.id.is_some() {
                            last_event_id = ev.id;
                        }
                        if flow.is_break() {
                            break 'read true;
                        }
                    }
                    // The stream's greeting names its start position with no event;
                    // resuming from it loses nothing that happens before the first one.
                    if let Some(id) = parser.last_event_id() {
                        last_event_id = Some(id.to_owned());
                    }
                }
                Ok(None) => break 'read true,
                // A broken connection, or one silent past the keep-alives.
                Ok(Some(Err(_))) | Err(_) => break 'read false,
            }
        };
        if session.is_ended() {
            break;
        }
        if ended_cleanly && opened.elapsed() >= CLEAN_END_AFTER {
            tracing::debug!("event stream closed by the server; reopening");
            continue;
        }
        session.set_online(false);
        tokio::time::sleep(backoff.next_delay()).await;
    }
    session.set_online(false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    /// 3 Mar 2025 15:00 on a clock two hours ahead of UTC.
    fn now() -> DateTime<FixedOffset> {
        FixedOffset::east_opt(2 * 3600)
            .unwrap()
            .with_ymd_and_hms(2025, 3, 3, 15, 0, 0)
            .unwrap()
    }

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        now()
            .timezone()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_notice_names_the_device_and_the_moment() {
        let notice = SignedOutNotice {
            by_session_id: Some(SessionId::new()),
            by_device_name: Some("Work laptop".into()),
            reason: RevocationReason::Revoked,
            at: local(2025, 3, 3, 14, 2),
        };
        assert_eq!(
            notice.message(&now()),
            "This device was signed out from Work laptop at 14:02."
        );
        let refused_refresh = SignedOutNotice {
            by_session_id: None,
            by_device_name: None,
            reason: RevocationReason::Unknown,
            at: local(2025, 3, 2, 9, 30),
        };
        assert_eq!(
            refused_refresh.message(&now()),
            "This device was signed out from another device yesterday at 09:30."
        );
    }

    #[test]
    fn a_notice_reads_back_with_its_reason_as_the_server_wrote_it() {
        let json = r#"{"by_session_id":null,"by_device_name":"Phone","reason":"refresh_token_reuse","at":"2025-03-03T12:02:00Z"}"#;
        let notice: SignedOutNotice = serde_json::from_str(json).unwrap();
        assert_eq!(notice.reason, RevocationReason::RefreshTokenReuse);
        assert_eq!(serde_json::to_string(&notice).unwrap(), json);
    }

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
