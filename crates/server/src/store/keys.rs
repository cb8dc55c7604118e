//! Signing keys, kept in the database so every instance signs with the same one.

use sqlx::Row as _;

use super::{Result, Store};
use crate::time::Millis;

#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub secret: Vec<u8>,
    pub created_at: Millis,
    pub retired_at: Option<Millis>,
}

impl Store {
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT kid, secret, created_at, retired_at FROM signing_keys ORDER BY created_at, kid",
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
}
