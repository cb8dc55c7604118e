//! The device list: listing, renaming, signing devices out, the activity log.

use std::net::IpAddr;

use proto::SessionId;
use proto::activity::{ActivityEvent, ActivityKind, ActivityList};
use proto::events::{Event, SessionRenamed};
use proto::sessions::{RevocationReason, RevokeScope, SessionInfo, SessionList, SignedOut};
use proto::tokens::Claims;

use super::refresh::revoked_event;
use super::validate::validate_name;
use super::{App, AppError, Result};
use crate::store::{AccountChange, Actor, Revoke, Session, Which};
use crate::time::Millis;

/// Signed-out sessions are listed (with `include=signed_out`) this long after they ended.
const SIGNED_OUT_SHOWN: std::time::Duration = std::time::Duration::from_secs(7 * 86_400);

/// The activity log shows this many entries, newest first.
const ACTIVITY_PAGE: i64 = 200;

impl App {
    /// The caller's live sessions (its own first, then most recently seen), and with
    /// `signed_out` those signed out in the last 7 days after them, most recent first.
    pub async fn list_sessions(&self, caller: &Claims, signed_out: bool) -> Result<SessionList> {
        let now = Millis::now();
        let mut sessions: Vec<SessionInfo> = self
            .store
            .live_sessions(caller.sub, now)
            .await?
            .into_iter()
            .map(|s| session_info(s, caller.sid))
            .collect();
        // The caller's own first; the store already ordered the rest by last_seen_at.
        if let Some(pos) = sessions.iter().position(|s| s.current) {
            let own = sessions.remove(pos);
            sessions.insert(0, own);
        }
        if signed_out {
            let ended = self
                .store
                .signed_out_sessions(caller.sub, now.minus(SIGNED_OUT_SHOWN))
                .await?;
            sessions.extend(ended.into_iter().map(|(s, f)| {
                let mut info = session_info(s, caller.sid);
                info.current = false;
                info.set_signed_out(SignedOut {
                    revoked_at: f.revoked_at.to_datetime(),
                    revoked_reason: f.reason,
                    wiped_at: f.wiped_at.map(Millis::to_datetime),
                    wiped_ip: f.wiped_ip,
                });
                info
            }));
        }
        Ok(SessionList { sessions })
    }

    pub async fn rename_session(
        &self,
        caller: &Claims,
        id: SessionId,
        name: &str,
        ip: Option<IpAddr>,
    ) -> Result<SessionInfo> {
        let name = validate_name(name)?;
        let ip_text = ip.map(|i| i.to_string());
        let now = Millis::now();
        let session = self
            .store
            .rename_session(
                caller.sub,
                id,
                &name,
                Actor {
                    session_id: Some(caller.sid),
                    ip: ip_text.as_deref(),
                },
                now,
                |s| {
                    Event::SessionRenamed(SessionRenamed {
                        session_id: s.id,
                        device: s.device.clone(),
                        by_session_id: Some(caller.sid),
                    })
                },
                self.event_expiry(now),
            )
            .await?
            .ok_or(AppError::NotFound)?;
        self.publish().await;
        Ok(session_info(session, caller.sid))
    }

    pub async fn delete_session(
        &self,
        caller: &Claims,
        id: SessionId,
        ip: Option<IpAddr>,
    ) -> Result<()> {
        let reason = if id == caller.sid {
            RevocationReason::Logout
        } else {
            RevocationReason::Revoked
        };
        let revoked = self
            .revoke(caller, Which::One(id), reason, false, ip)
            .await?;
        if revoked == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    }

    pub async fn revoke_scope(
        &self,
        caller: &Claims,
        scope: RevokeScope,
        ip: Option<IpAddr>,
    ) -> Result<u64> {
        match scope {
            RevokeScope::Others => {
                self.revoke(
                    caller,
                    Which::AllBut(Some(caller.sid)),
                    RevocationReason::RevokedOthers,
                    false,
                    ip,
                )
                .await
            }
            RevokeScope::All => {
                self.revoke(
                    caller,
                    Which::AllBut(None),
                    RevocationReason::SignedOutEverywhere,
                    true,
                    ip,
                )
                .await
            }
        }
    }

    /// Revokes sessions of the caller's account; with `everywhere`, also every token
    /// of the account issued before now.
    async fn revoke(
        &self,
        caller: &Claims,
        which: Which,
        reason: RevocationReason,
        everywhere: bool,
        ip: Option<IpAddr>,
    ) -> Result<u64> {
        let ip_text = ip.map(|i| i.to_string());
        let now = Millis::now();
        let revoked = self
            .store
            .revoke_sessions(
                Revoke {
                    user_id: caller.sub,
                    which,
                    reason,
                    activity: ActivityKind::Revoked,
                    actor: Actor {
                        session_id: Some(caller.sid),
                        ip: ip_text.as_deref(),
                    },
                    now,
                    feed_expires_at: self.revocation_expiry(now),
                    account: AccountChange {
                        not_before: everywhere.then_some(now),
                        activity: everywhere.then_some(ActivityKind::SignedOutEverywhere),
                        ..AccountChange::default()
                    },
                    events: &[],
                    event_expires_at: self.event_expiry(now),
                },
                |s, by| revoked_event(s, reason, Some(caller.sid), by, now),
            )
            .await?;
        if !revoked.is_empty() || everywhere {
            self.publish().await;
        }
        tracing::info!(user = %caller.sub, by = %caller.sid, reason = reason.as_str(), count = revoked.len(), "sessions revoked");
        crate::metrics::revoked(reason, revoked.len() as u64);
        Ok(revoked.len() as u64)
    }

    pub async fn activity(&self, caller: &Claims) -> Result<ActivityList> {
        let events = self
            .store
            .activity(caller.sub, ACTIVITY_PAGE)
            .await?
            .into_iter()
            .map(|r| ActivityEvent {
                at: r.at.to_datetime(),
                kind: r.kind,
                session_id: r.session_id,
                device: r.device,
                ip: r.ip,
                by_session_id: r.by_session_id,
                reason: r.reason,
            })
            .collect();
        Ok(ActivityList { events })
    }
}

fn session_info(s: Session, caller: SessionId) -> SessionInfo {
    SessionInfo {
        current: s.id == caller,
        id: s.id,
        device: s.device,
        created_at: s.created_at.to_datetime(),
        last_seen_at: s.last_seen_at.to_datetime(),
        last_ip: s.last_ip,
        revoked_at: None,
        revoked_reason: None,
        wiped_at: None,
        wiped_ip: None,
    }
}
