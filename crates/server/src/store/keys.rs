//! Signing keys, kept in the database so every instance signs with the same one.

use sqlx::Row as _;

use super::{Result, Store};
use crate::time::Millis;

#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    /// The Ed25519 seed, sealed under the KEK when one is configured (`crate::seal`).
    pub secret: Vec<u8>,
    pub created_at: Millis,
    pub retired_at: Option<Millis>,
    /// Removed as compromised: refused at once, everywhere.
    pub removed_at: Option<Millis>,
}

impl Store {
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT kid, secret, created_at, retired_at, removed_at FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredKey {
                    kid: r.try_get("kid")?,
                    secret: r.try_get("secret")?,
                    created_at: Millis(r.try_get("created_at")?),
                    retired_at: r.try_get::<Option<i64>, _>("retired_at")?.map(Millis),
                    removed_at: r.try_get::<Option<i64>, _>("removed_at")?.map(Millis),
                })
            })
            .collect()
    }

    /// Adds a key as the current one and retires every other, in one transaction.
    pub async fn add_signing_key(&self, kid: &str, secret: &[u8], now: Millis) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO signing_keys (kid, secret, created_at) VALUES ($1, $2, $3)")
            .bind(kid)
            .bind(secret)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates the first key unless one exists (several instances may race at first
    /// start; they serialise on the feed lock).
    pub async fn add_first_signing_key(&self, kid: &str, secret: &[u8], now: Millis) -> Result<()> {
        let mut tx = self.begin_feed_write().await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys")
            .fetch_one(&mut *tx)
            .await?;
        if existing == 0 {
            sqlx::query("INSERT INTO signing_keys (kid, secret, created_at) VALUES ($1, $2, $3)")
                .bind(kid)
                .bind(secret)
                .bind(now.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a key's stored secret (sealing one stored before a KEK was configured).
    pub async fn reseal_signing_key(&self, kid: &str, secret: &[u8]) -> Result<()> {
        sqlx::query("UPDATE signing_keys SET secret = $1 WHERE kid = $2")
            .bind(secret)
            .bind(kid)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Removes a compromised key at once: marked removed (it neither signs nor
    /// verifies any more) and announced on the feed, so every instance and guard drops
    /// it. If it was the current key, `replacement` becomes current in the same
    /// transaction. `None` if there is no such key (or it was removed already), else
    /// whether a replacement became current.
    pub async fn remove_signing_key(
        &self,
        kid: &str,
        replacement: (&str, &[u8]),
        now: Millis,
        feed_expires_at: Millis,
    ) -> Result<Option<bool>> {
        let mut tx = self.begin_feed_write().await?;
        let current: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT retired_at FROM signing_keys WHERE kid = $1 AND removed_at IS NULL",
        )
        .bind(kid)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(retired_at) = current else {
            return Ok(None);
        };
        let was_current = retired_at.is_none();
        if was_current {
            sqlx::query("INSERT INTO signing_keys (kid, secret, created_at) VALUES ($1, $2, $3)")
                .bind(replacement.0)
                .bind(replacement.1)
                .bind(now.0)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "UPDATE signing_keys SET removed_at = $1, retired_at = COALESCE(retired_at, $1) WHERE kid = $2",
        )
        .bind(now.0)
        .bind(kid)
        .execute(&mut *tx)
        .await?;
        super::feed::insert_key_removed(&mut tx, now, kid, feed_expires_at).await?;
        self.commit_feed_write(tx).await?;
        Ok(Some(was_current))
    }

    /// Records that `instance` issues access tokens living `ttl` (refreshed while it runs).
    pub async fn claim_access_ttl(
        &self,
        instance: &str,
        ttl: std::time::Duration,
        now: Millis,
    ) -> Result<()> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO access_ttl_claims (instance, ttl_ms, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (instance) DO UPDATE SET ttl_ms = excluded.ttl_ms, seen_at = excluded.seen_at",
        )
        .bind(instance)
        .bind(ttl_ms)
        .bind(now.0)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The longest access-token lifetime any instance may still have tokens of: claims
    /// whose instance was seen within that lifetime plus `slack`.
    pub async fn longest_access_ttl(
        &self,
        now: Millis,
        slack: std::time::Duration,
    ) -> Result<Option<std::time::Duration>> {
        let slack_ms = i64::try_from(slack.as_millis()).unwrap_or(i64::MAX);
        let ms: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(ttl_ms) FROM access_ttl_claims WHERE seen_at + ttl_ms + $1 > $2",
        )
        .bind(slack_ms)
        .bind(now.0)
        .fetch_one(&self.read)
        .await?;
        Ok(ms.map(|ms| std::time::Duration::from_millis(ms.max(0).unsigned_abs())))
    }
}
