//! Refresh tokens: rotation, and what a spent token presented again means (a retry of
//! the same refresh, or reuse of a copied token); token revocation and introspection.

use std::net::IpAddr;

use proto::activity::ActivityKind;
use proto::events::{AlertKind, Event, SecurityAlert, SessionRevoked};
use proto::introspection::IntrospectionResponse;
use proto::sessions::RevocationReason;
use proto::tokens::TokenResponse;

use super::{App, AppError, Result};
use crate::secrets;
use crate::store::{Actor, Revoke, Spend, TokenFacts, Which};
use crate::time::Millis;

/// A `refreshed` activity entry is recorded at most this often per session.
pub const ACTIVITY_SAMPLE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

const DEAD: &str = "The refresh token is invalid, expired or revoked; sign in again.";
const REUSED: &str =
    "This refresh token was already used. The session has been signed out to protect the account.";

/// What presenting a spent refresh token means.
enum Spent {
    /// The same refresh again (a lost response, racing requests): the same successor.
    Retry(Vec<u8>),
    /// A copy of the token used after its owner: presumed theft.
    Reuse,
}

impl App {
    pub async fn refresh(&self, presented: &str, ip: Option<IpAddr>) -> Result<TokenResponse> {
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
            return Ok(self.token_response(s.user_id, s.session_id, successor, now));
        }

        // Unknown, already spent, or its session has ended.
        let Some(facts) = self.store.refresh_token_facts(&presented_hash).await? else {
            return Err(AppError::InvalidGrant(DEAD));
        };
        if !facts.life.is_live(now) {
            return Err(AppError::InvalidGrant(DEAD));
        }
        match self.judge_spent(&facts, now) {
            // Unspent after all (our spend lost only to a session check that has since
            // passed): the caller may simply try again.
            None => Err(AppError::InvalidGrant(DEAD)),
            Some(Spent::Retry(sealed)) => {
                let same = secrets::open_successor(presented, &sealed)
                    .ok_or(AppError::InvalidGrant(DEAD))?;
                tracing::debug!(session = %facts.session.id, "refresh retried");
                Ok(self.token_response(facts.session.user_id, facts.session.id, same, now))
            }
            Some(Spent::Reuse) => {
                self.revoke_for_reuse(&facts, ip_text.as_deref(), now)
                    .await?;
                Err(AppError::InvalidGrant(REUSED))
            }
        }
    }

    /// The rule for a spent token presented again: within the grace window, and while
    /// its successor has never been used, it is a retry of the same refresh; otherwise
    /// reuse. `None` if the token is not spent.
    fn judge_spent(&self, facts: &TokenFacts, now: Millis) -> Option<Spent> {
        let spent_at = facts.spent_at?;
        let in_grace = now.0 - spent_at.0 <= self.settings.refresh_grace.as_millis() as i64;
        Some(match &facts.successor_sealed {
            Some(sealed) if in_grace && facts.successor_spent_at.is_none() => {
                Spent::Retry(sealed.clone())
            }
            _ => Spent::Reuse,
        })
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
                    not_before: None,
                    events: std::slice::from_ref(&alert),
                    event_expires_at: self.event_expiry(now),
                },
                |s, by| revoked_event(s, RevocationReason::RefreshTokenReuse, None, by, now),
            )
            .await?;
        self.publish().await;
        tracing::warn!(user = %session.user_id, session = %session.id, "refresh token reuse: session revoked");
        Ok(())
    }

    /// RFC 7009. Unknown and dead tokens are fine: the answer is the same.
    pub async fn revoke_token(&self, token: &str) -> Result<()> {
        let now = Millis::now();
        if secrets::looks_like_refresh_token(token) {
            let hash = secrets::hash_refresh_token(token);
            if let Some(facts) = self.store.refresh_token_facts(&hash).await?
                && facts.life.is_live(now)
            {
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
                                ip: None,
                            },
                            now,
                            feed_expires_at: self.revocation_expiry(now),
                            not_before: None,
                            events: &[],
                            event_expires_at: self.event_expiry(now),
                        },
                        |s, by| {
                            revoked_event(s, RevocationReason::Logout, Some(session.id), by, now)
                        },
                    )
                    .await?;
                if !revoked.is_empty() {
                    self.publish().await;
                    tracing::info!(session = %session.id, "signed out by token revocation");
                }
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
                    Millis(claims.exp.saturating_mul(1000)),
                )
                .await?;
            self.publish().await;
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
