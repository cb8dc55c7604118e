//! Refresh tokens: rotation, and what a spent token presented again means (a retry of
//! the same refresh, or reuse of a copied token); token revocation and introspection.

use std::net::IpAddr;
use std::time::Instant;

use proto::activity::ActivityKind;
use proto::events::{AlertKind, Event, SecurityAlert, SessionRevoked};
use proto::introspection::IntrospectionResponse;
use proto::sessions::RevocationReason;
use proto::tokens::TokenResponse;

use super::{App, AppError, Result};
use crate::ratelimit::{address_key, same_client};
use crate::secrets;
use crate::store::{AccountChange, ActivityRecord, Actor, Revoke, Spend, TokenFacts, Which};
use crate::time::Millis;

/// A `refreshed` activity entry is recorded at most this often per session.
pub const ACTIVITY_SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

const DEAD: &str = "The refresh token is invalid, expired or revoked; sign in again.";
const REUSED: &str =
    "This refresh token was already used. The session has been signed out to protect the account.";

/// The rule for a spent token presented again (`None` if it is not spent): from the
/// client address that spent it, while its successor has never been used, it is a
/// retry of that same refresh (a lost response, racing requests, a client that lost the
/// answer and tries again at its next start) and gets the same successor again, for as
/// long as the session lives. From another address, or once the successor has been
/// used, it is reuse: a copy of the token.
fn judge_spent(facts: &TokenFacts, ip: Option<IpAddr>) -> Option<Spent> {
    facts.spent_at?;
    let spent_from = facts
        .spent_ip
        .as_deref()
        .and_then(|s| s.parse::<IpAddr>().ok());
    let same_client = matches!((spent_from, ip), (Some(a), Some(b)) if same_client(a, b));
    Some(match &facts.successor_sealed {
        Some(sealed) if same_client && facts.successor_spent_at.is_none() => {
            Spent::Retry(sealed.clone())
        }
        _ => Spent::Reuse,
    })
}

/// What presenting a spent refresh token means.
enum Spent {
    /// The same refresh again (a lost response, racing requests): the same successor.
    Retry(Vec<u8>),
    /// A copy of the token used after its owner: presumed theft.
    Reuse,
}

impl App {
    pub async fn refresh(&self, presented: &str, ip: Option<IpAddr>) -> Result<TokenResponse> {
        // An address that keeps presenting dead tokens is throttled (each costs a
        // database lookup); one that refreshes well is never slowed.
        let address = ip.map(address_key);
        if let Some(a) = &address {
            self.limits
                .failures_address
                .check(a, Instant::now())
                .inspect_err(|_| crate::metrics::throttled(crate::metrics::Limit::FailuresAddress))
                .map_err(AppError::TooManyAttempts)?;
        }
        let result = self.refresh_checked(presented, ip).await;
        if matches!(result, Err(AppError::InvalidGrant(why)) if why == DEAD) {
            crate::metrics::refresh(crate::metrics::Refresh::Dead);
        }
        if let (Err(AppError::InvalidGrant(_)), Some(a)) = (&result, &address) {
            self.limits.failures_address.record(a, Instant::now());
        }
        result
    }

    async fn refresh_checked(&self, presented: &str, ip: Option<IpAddr>) -> Result<TokenResponse> {
        if !secrets::looks_like_refresh_token(presented) {
            return Err(AppError::InvalidGrant(DEAD));
        }
        let now = Millis::now();
        let presented_hash = secrets::hash_refresh_token(presented);
        let successor = secrets::new_refresh_token();
        let sealed = secrets::seal_successor(presented, successor.expose());
        let ip_text = ip.map(|i| i.to_string());
        let spent = self
            .store
            .spend_refresh_token(Spend {
                presented_hash: &presented_hash,
                successor_hash: &secrets::hash_refresh_token(successor.expose()),
                successor_sealed: &sealed,
                now,
                idle_until: now.plus(self.settings.refresh_idle_ttl),
                ip: ip_text.as_deref(),
                sample_before: now.minus(ACTIVITY_SAMPLE_EVERY),
            })
            .await?;
        if let Some(s) = spent {
            crate::metrics::refresh(crate::metrics::Refresh::Rotated);
            return Ok(self.token_response(s.user_id, s.session_id, successor, now));
        }

        // Unknown, already spent, or its session has ended.
        let Some(facts) = self.store.refresh_token_facts(&presented_hash).await? else {
            return Err(AppError::InvalidGrant(DEAD));
        };
        if !facts.life.is_live(now) {
            return Err(AppError::InvalidGrant(DEAD));
        }
        match judge_spent(&facts, ip) {
            // Unspent after all (our spend lost only to a session check that has since
            // passed): the caller may simply try again.
            None => Err(AppError::InvalidGrant(DEAD)),
            Some(Spent::Retry(sealed)) => {
                let same = secrets::open_successor(presented, &sealed)
                    .ok_or(AppError::InvalidGrant(DEAD))?;
                let session = &facts.session;
                self.store
                    .record_activity(ActivityRecord {
                        user_id: session.user_id,
                        at: now,
                        kind: ActivityKind::RefreshRetried,
                        session_id: Some(session.id),
                        device: Some(&session.device),
                        ip: ip_text.as_deref(),
                        by_session_id: None,
                        reason: None,
                    })
                    .await?;
                tracing::info!(session = %session.id, "refresh retried: the same successor again");
                crate::metrics::refresh(crate::metrics::Refresh::Retried);
                Ok(self.token_response(session.user_id, session.id, same, now))
            }
            Some(Spent::Reuse) => {
                crate::metrics::refresh(crate::metrics::Refresh::ReuseDetected);
                self.revoke_for_reuse(&facts, ip_text.as_deref(), now)
                    .await?;
                Err(AppError::InvalidGrant(REUSED))
            }
        }
    }

    /// Ends a session whose refresh token was reused, and alerts the account.
    async fn revoke_for_reuse(
        &self,
        facts: &TokenFacts,
        ip: Option<&str>,
        now: Millis,
    ) -> Result<()> {
        let session = &facts.session;
        let alert = Event::SecurityAlert(SecurityAlert {
            kind: AlertKind::RefreshTokenReuse,
            session_id: Some(session.id),
            at: now.to_datetime(),
            message: format!(
                "A refresh token of \"{}\" was used twice, which suggests it was copied. \
                 That device has been signed out.",
                session.device.name
            ),
        });
        self.store
            .revoke_sessions(
                Revoke {
                    user_id: session.user_id,
                    which: Which::One(session.id),
                    reason: RevocationReason::RefreshTokenReuse,
                    activity: ActivityKind::RefreshTokenReuse,
                    actor: Actor {
                        session_id: None,
                        ip,
                    },
                    now,
                    feed_expires_at: self.revocation_expiry(now),
                    account: AccountChange::default(),
                    events: std::slice::from_ref(&alert),
                    event_expires_at: self.event_expiry(now),
                },
                |s, by| revoked_event(s, RevocationReason::RefreshTokenReuse, None, by, now),
            )
            .await?;
        self.publish().await;
        tracing::warn!(user = %session.user_id, session = %session.id, "refresh token reuse: session revoked");
        crate::metrics::revoked(RevocationReason::RefreshTokenReuse, 1);
        Ok(())
    }

    /// RFC 7009. Unknown and dead tokens are fine: the answer is the same. A spent
    /// refresh token that is not a retry (see [`judge_spent`]) is reuse, and handled as
    /// such: a copy of it is being used, whoever presents it.
    pub async fn revoke_token(&self, token: &str, ip: Option<IpAddr>) -> Result<()> {
        let now = Millis::now();
        if secrets::looks_like_refresh_token(token) {
            let hash = secrets::hash_refresh_token(token);
            let Some(facts) = self.store.refresh_token_facts(&hash).await? else {
                return Ok(());
            };
            if !facts.life.is_live(now) {
                return Ok(());
            }
            let ip_text = ip.map(|i| i.to_string());
            if let Some(Spent::Reuse) = judge_spent(&facts, ip) {
                return self.revoke_for_reuse(&facts, ip_text.as_deref(), now).await;
            }
            let session = &facts.session;
            let revoked = self
                .store
                .revoke_sessions(
                    Revoke {
                        user_id: session.user_id,
                        which: Which::One(session.id),
                        reason: RevocationReason::Logout,
                        activity: ActivityKind::Revoked,
                        actor: Actor {
                            session_id: Some(session.id),
                            ip: ip_text.as_deref(),
                        },
                        now,
                        feed_expires_at: self.revocation_expiry(now),
                        account: AccountChange::default(),
                        events: &[],
                        event_expires_at: self.event_expiry(now),
                    },
                    |s, by| revoked_event(s, RevocationReason::Logout, Some(session.id), by, now),
                )
                .await?;
            if !revoked.is_empty() {
                self.publish().await;
                crate::metrics::revoked(RevocationReason::Logout, revoked.len() as u64);
                tracing::info!(session = %session.id, "signed out by token revocation");
            }
            return Ok(());
        }
        let keys = self.keys.current();
        // An expired token needs no revocation; one that does not verify is not ours.
        if let Ok(claims) = token::verify(token, &keys.verify, &self.expect, now.secs()) {
            self.store
                .revoke_jti(
                    claims.sub,
                    claims.jti,
                    now,
                    // Accepted until exp and the leeway: refused that long.
                    Millis(claims.exp.saturating_mul(1000))
                        .plus(std::time::Duration::from_secs(
                            super::LEEWAY_SECS.unsigned_abs(),
                        ))
                        .plus(super::RETENTION_MARGIN),
                )
                .await?;
            self.publish().await;
            crate::metrics::token_revoked();
            tracing::info!(session = %claims.sid, "access token revoked");
        }
        Ok(())
    }

    /// RFC 7662.
    pub async fn introspect(&self, token: &str) -> Result<IntrospectionResponse> {
        let now = Millis::now();
        if secrets::looks_like_refresh_token(token) {
            let facts = self
                .store
                .refresh_token_facts(&secrets::hash_refresh_token(token))
                .await?;
            return Ok(match facts {
                Some(f) if f.life.is_live(now) && f.spent_at.is_none() => IntrospectionResponse {
                    active: true,
                    sub: Some(f.session.user_id),
                    sid: Some(f.session.id),
                    exp: Some(f.life.ends_at().secs()),
                    iat: Some(f.issued_at.secs()),
                    iss: Some(self.settings.issuer.clone()),
                    token_type: Some("refresh_token".into()),
                    ..Default::default()
                },
                _ => IntrospectionResponse::inactive(),
            });
        }
        Ok(match self.authenticate(token) {
            Ok(c) => IntrospectionResponse {
                active: true,
                sub: Some(c.sub),
                sid: Some(c.sid),
                jti: Some(c.jti),
                exp: Some(c.exp),
                iat: Some(c.iat),
                iss: Some(c.iss),
                aud: Some(c.aud),
                token_type: Some("access_token".into()),
            },
            Err(_) => IntrospectionResponse::inactive(),
        })
    }
}

/// The `session.revoked` event of one revoked session.
pub(super) fn revoked_event(
    s: &crate::store::Session,
    reason: RevocationReason,
    by: Option<proto::SessionId>,
    by_device: Option<&proto::Device>,
    now: Millis,
) -> Event {
    Event::SessionRevoked(SessionRevoked {
        session_id: s.id,
        reason,
        by_session_id: by,
        at: Some(now.to_datetime()),
        device: Some(s.device.clone()),
        by_device: by_device.cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Session, SessionLife};

    fn facts(spent_ago: std::time::Duration, spent_ip: &str, successor_used: bool) -> TokenFacts {
        let now = Millis::now();
        TokenFacts {
            session: Session {
                id: proto::SessionId::new(),
                user_id: proto::UserId::new(),
                device: proto::Device::default(),
                created_at: now,
                last_seen_at: now,
                last_ip: None,
            },
            life: SessionLife {
                revoked_at: None,
                expires_at: now.plus(std::time::Duration::from_secs(86_400 * 30)),
                idle_expires_at: now.plus(std::time::Duration::from_secs(86_400)),
            },
            issued_at: now.minus(spent_ago),
            spent_at: Some(now.minus(spent_ago)),
            spent_ip: Some(spent_ip.to_owned()),
            successor_spent_at: successor_used.then_some(now),
            successor_sealed: Some(b"sealed".to_vec()),
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_retry_is_the_same_address_before_the_successor_is_used_whenever_it_comes() {
        let day = std::time::Duration::from_secs(86_400);
        // A client that lost the answer yesterday and starts again today.
        assert!(matches!(
            judge_spent(&facts(day, "192.0.2.7", false), ip("192.0.2.7")),
            Some(Spent::Retry(_))
        ));
        // The same device on its IPv6 network with a new privacy address.
        assert!(matches!(
            judge_spent(&facts(day, "2001:db8::1", false), ip("2001:db8::2")),
            Some(Spent::Retry(_))
        ));
        // A copy presented from elsewhere a second later.
        let second = std::time::Duration::from_secs(1);
        assert!(matches!(
            judge_spent(&facts(second, "192.0.2.7", false), ip("203.0.113.66")),
            Some(Spent::Reuse)
        ));
        // The successor was used: the old token is a copy, wherever it comes from.
        assert!(matches!(
            judge_spent(&facts(second, "192.0.2.7", true), ip("192.0.2.7")),
            Some(Spent::Reuse)
        ));
        // No address to compare: never a retry.
        assert!(matches!(
            judge_spent(&facts(second, "192.0.2.7", false), None),
            Some(Spent::Reuse)
        ));
    }
}
