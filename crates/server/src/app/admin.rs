//! The operator's commands (`session-server keys …`, `admin …`), with the same rules as
//! the routes: they run against the database without a listening server.

use std::time::Duration;

use proto::activity::ActivityKind;
use proto::sessions::RevocationReason;
use proto::{Password, SessionId, UserId};

use super::accounts::create_account_in;
use super::refresh::revoked_event;
use super::validate::normalize_email;
use super::{AppError, EVENT_RETENTION, Result, revocation_retention};
use crate::keys::{self, KeysError};
use crate::password::Hasher;
use crate::seal::Sealer;
use crate::store::{AccountChange, Actor, Revoke, SessionStatus, Store, StoredKey, Which};
use crate::time::Millis;

/// The operator's side of the app.
#[derive(Debug)]
pub struct Admin {
    store: Store,
    sealer: Sealer,
}

/// When no running instance has said how long its access tokens live (none has run
/// since this version), revocations are kept as long as the default lifetime allows.
const DEFAULT_ACCESS_TTL: Duration = Duration::from_secs(300);
/// Slack on an instance's claim: it renews it at every prune.
const CLAIM_SLACK: Duration = Duration::from_secs(2 * 300);

/// A signing key as `keys list` shows it.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub kid: String,
    pub created_at: Millis,
    /// When it stopped signing (it keeps verifying until its tokens have expired).
    pub retired_at: Option<Millis>,
    /// When it was removed as compromised (it verifies nothing any more).
    pub removed_at: Option<Millis>,
}

/// One session as `admin show-session` reports it.
pub type SessionReport = SessionStatus;

impl Admin {
    pub fn new(store: Store, sealer: Sealer) -> Self {
        Self { store, sealer }
    }

    /// The longest access-token lifetime the servers on this database use (as they
    /// claim it while they run), or the default if none has.
    pub async fn servers_access_ttl(&self) -> Result<Duration> {
        Ok(self
            .store
            .longest_access_ttl(Millis::now(), CLAIM_SLACK)
            .await?
            .unwrap_or(DEFAULT_ACCESS_TTL))
    }

    /// Creates an account whatever the sign-up setting.
    pub async fn create_user(&self, email: &str, password: &Password) -> Result<UserId> {
        create_account_in(&self.store, &Hasher::new(), email, password).await
    }

    /// Signs a compromised account out everywhere: every session ends and every token
    /// issued before now is refused, for as long as the longest access-token lifetime
    /// of the servers (or `access_ttl` if given). Returns the sessions ended and the
    /// instant.
    pub async fn revoke_user(
        &self,
        email: &str,
        access_ttl: Option<Duration>,
    ) -> Result<(usize, Millis)> {
        let access_ttl = match access_ttl {
            Some(ttl) => ttl.max(self.servers_access_ttl().await?),
            None => self.servers_access_ttl().await?,
        };
        let email = normalize_email(email)
            .ok_or_else(|| AppError::Invalid("That is not a valid email address.".into()))?;
        let account = self
            .store
            .account_by_email(&email)
            .await?
            .ok_or(AppError::NotFound)?;
        let now = Millis::now();
        let revoked = self
            .store
            .revoke_sessions(
                Revoke {
                    user_id: account.id,
                    which: Which::AllBut(None),
                    reason: RevocationReason::Admin,
                    activity: ActivityKind::Revoked,
                    actor: Actor::SERVER,
                    now,
                    feed_expires_at: now.plus(revocation_retention(access_ttl)),
                    account: AccountChange {
                        not_before: Some(now),
                        activity: Some(ActivityKind::SignedOutEverywhere),
                        ..AccountChange::default()
                    },
                    events: &[],
                    event_expires_at: now.plus(EVENT_RETENTION),
                },
                |s, by| revoked_event(s, RevocationReason::Admin, None, by, now),
            )
            .await?;
        tracing::info!(user = %account.id, count = revoked.len(), "account signed out everywhere by an administrator");
        Ok((revoked.len(), now))
    }

    /// Any session, ended or not.
    pub async fn show_session(&self, id: SessionId) -> Result<Option<SessionReport>> {
        Ok(self.store.session_status(id).await?)
    }

    /// Adds a new current signing key; the old one keeps verifying until its tokens expire.
    pub async fn rotate_key(&self) -> Result<String> {
        let key = keys::rotate(&self.store, &self.sealer)
            .await
            .map_err(AppError::Keys)?;
        Ok(key.kid().to_owned())
    }

    /// Removes a compromised key at once: every instance and guard refuses the tokens
    /// it signed within seconds. `None` if there is no such key.
    pub async fn remove_key(&self, kid: &str) -> Result<Option<keys::Removal>> {
        let retain = revocation_retention(self.servers_access_ttl().await?);
        keys::remove(&self.store, &self.sealer, kid, Millis::now().plus(retain))
            .await
            .map_err(AppError::Keys)
    }

    /// The signing keys, oldest first (without their secrets).
    pub async fn keys(&self) -> Result<Vec<KeyInfo>> {
        let keys = self
            .store
            .signing_keys()
            .await
            .map_err(|e| AppError::Keys(KeysError::Store(e)))?;
        Ok(keys
            .into_iter()
            .map(|k: StoredKey| KeyInfo {
                kid: k.kid,
                created_at: k.created_at,
                retired_at: k.retired_at,
                removed_at: k.removed_at,
            })
            .collect())
    }

    pub async fn close(self) {
        self.store.close().await;
    }
}
