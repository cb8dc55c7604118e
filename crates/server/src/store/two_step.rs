//! Two-step sign-in: the account's TOTP secret (sealed), the last step a code was
//! accepted for (each code works once), recovery codes (hashed, each works once), and
//! the challenges of sign-ins waiting for their second step.

use proto::activity::ActivityKind;
use proto::events::Event;
use proto::{Device, UserId};

use super::activity::{self, ActivityRecord};
use super::feed;
use super::{Result, Store, StoreError, parse_id};
use crate::time::Millis;

/// A sign-in waiting for its second step.
pub struct NewChallenge<'a> {
    pub hash: &'a [u8],
    pub user_id: UserId,
    pub device: &'a Device,
    pub ip: Option<&'a str>,
    pub expires_at: Millis,
}

/// A challenge as stored.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub user_id: UserId,
    pub device: Device,
    pub ip: Option<String>,
    pub expires_at: Millis,
    pub used: bool,
    /// Wrong codes answered to it so far.
    pub failures: i64,
}

impl Store {
    /// Stores (or, with `None`, drops) a secret being enrolled.
    pub async fn set_two_step_pending(&self, user: UserId, sealed: Option<&[u8]>) -> Result<()> {
        sqlx::query("UPDATE accounts SET two_step_pending = $1 WHERE id = $2")
            .bind(sealed)
            .bind(user.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Turns two-step sign-in on with the pending secret `pending` (if it is still the
    /// pending one), its first accepted `step`, and fresh recovery codes; records the
    /// activity. `false` if the pending secret changed meanwhile.
    #[allow(clippy::too_many_arguments)]
    pub async fn enable_two_step(
        &self,
        user: UserId,
        pending: &[u8],
        step: i64,
        recovery_hashes: &[[u8; 32]],
        now: Millis,
        actor_session: Option<proto::SessionId>,
        ip: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE accounts SET two_step_secret = two_step_pending, two_step_pending = NULL, \
             two_step_last_step = $1 WHERE id = $2 AND two_step_pending = $3",
        )
        .bind(step)
        .bind(user.to_string())
        .bind(pending)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, hash) VALUES ($1, $2)")
                .bind(user.to_string())
                .bind(&hash[..])
                .execute(&mut *tx)
                .await?;
        }
        activity::insert(
            &mut tx,
            ActivityRecord {
                user_id: user,
                at: now,
                kind: ActivityKind::TwoStepEnabled,
                session_id: actor_session,
                device: None,
                ip,
                by_session_id: actor_session,
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Turns two-step sign-in off: secret, pending secret and recovery codes go; the
    /// activity is recorded and `alert` announced, in one transaction.
    pub async fn disable_two_step(
        &self,
        user: UserId,
        now: Millis,
        actor_session: Option<proto::SessionId>,
        ip: Option<&str>,
        alert: &Event,
        event_expires_at: Millis,
    ) -> Result<()> {
        let mut tx = self.begin_feed_write().await?;
        sqlx::query(
            "UPDATE accounts SET two_step_secret = NULL, two_step_pending = NULL, \
             two_step_last_step = NULL WHERE id = $1",
        )
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        activity::insert(
            &mut tx,
            ActivityRecord {
                user_id: user,
                at: now,
                kind: ActivityKind::TwoStepDisabled,
                session_id: actor_session,
                device: None,
                ip,
                by_session_id: actor_session,
                reason: None,
            },
        )
        .await?;
        feed::insert_event(&mut tx, user, now, alert, actor_session, event_expires_at).await?;
        self.commit_feed_write(tx).await
    }

    /// Accepts a code of `step` once: `true` if no code of this step or a later one was
    /// accepted before (atomic, so two requests with one code cannot both pass).
    pub async fn accept_two_step_code(&self, user: UserId, step: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE accounts SET two_step_last_step = $1 WHERE id = $2 \
             AND two_step_secret IS NOT NULL \
             AND (two_step_last_step IS NULL OR two_step_last_step < $1)",
        )
        .bind(step)
        .bind(user.to_string())
        .execute(&self.write)
        .await?
        .rows_affected()
            == 1)
    }

    /// Uses a recovery code (by its hash) once ever: `true` if it was unused.
    pub async fn use_recovery_code(&self, user: UserId, hash: &[u8], now: Millis) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at IS NULL",
        )
        .bind(now.0)
        .bind(user.to_string())
        .bind(hash)
        .execute(&self.write)
        .await?
        .rows_affected()
            == 1)
    }

    pub async fn create_challenge(&self, c: NewChallenge<'_>) -> Result<()> {
        let device = serde_json::to_string(c.device)
            .map_err(|_| StoreError::Corrupt("a device cannot be written as JSON"))?;
        sqlx::query(
            "INSERT INTO signin_challenges (hash, user_id, device, ip, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(c.hash)
        .bind(c.user_id.to_string())
        .bind(device)
        .bind(c.ip)
        .bind(c.expires_at.0)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn challenge(&self, hash: &[u8]) -> Result<Option<Challenge>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            user_id: String,
            device: String,
            ip: Option<String>,
            expires_at: i64,
            used_at: Option<i64>,
            failures: i64,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT user_id, device, ip, expires_at, used_at, failures FROM signin_challenges WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.write)
        .await?;
        row.map(|r| {
            Ok(Challenge {
                user_id: parse_id(&r.user_id)?,
                device: serde_json::from_str(&r.device)
                    .map_err(|_| StoreError::Corrupt("a challenge's device is not JSON"))?,
                ip: r.ip,
                expires_at: Millis(r.expires_at),
                used: r.used_at.is_some(),
                failures: r.failures,
            })
        })
        .transpose()
    }

    /// Counts a wrong code against a challenge; returns the failures so far.
    pub async fn challenge_failed(&self, hash: &[u8]) -> Result<i64> {
        sqlx::query("UPDATE signin_challenges SET failures = failures + 1 WHERE hash = $1")
            .bind(hash)
            .execute(&self.write)
            .await?;
        Ok(self.challenge(hash).await?.map_or(0, |c| c.failures))
    }

    /// Uses a challenge once: `true` if it was unused and unexpired.
    pub async fn use_challenge(&self, hash: &[u8], now: Millis) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE signin_challenges SET used_at = $1 WHERE hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now.0)
        .bind(hash)
        .execute(&self.write)
        .await?
        .rows_affected()
            == 1)
    }

    /// Drops challenges that expired before `before`.
    pub async fn prune_challenges(&self, before: Millis) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM signin_challenges WHERE expires_at < $1")
                .bind(before.0)
                .execute(&self.write)
                .await?
                .rows_affected(),
        )
    }
}
