//! Accounts: email, password hash, the sign-out-everywhere instant.

use proto::UserId;
use sqlx::Row as _;

use super::{Result, Store, StoreError, parse_id};
use crate::time::Millis;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub created_at: Millis,
    /// The two-step secret (sealed), once confirmed.
    pub two_step_secret: Option<Vec<u8>>,
    /// A two-step secret being enrolled (sealed), until its first code confirms it.
    pub two_step_pending: Option<Vec<u8>>,
}

const ACCOUNT_COLUMNS: &str =
    "id, email, password_hash, created_at, two_step_secret, two_step_pending";

fn account(r: sqlx::any::AnyRow) -> Result<Account> {
    Ok(Account {
        id: parse_id(&r.try_get::<String, _>("id")?)?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        created_at: Millis(r.try_get("created_at")?),
        two_step_secret: r.try_get("two_step_secret")?,
        two_step_pending: r.try_get("two_step_pending")?,
    })
}

impl Store {
    pub async fn create_account(
        &self,
        id: UserId,
        email: &str,
        password_hash: &str,
        now: Millis,
    ) -> Result<()> {
        let r = sqlx::query(
            "INSERT INTO accounts (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.to_string())
        .bind(email)
        .bind(password_hash)
        .bind(now.0)
        .execute(&self.write)
        .await;
        match r {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.read)
        .await?;
        row.map(account).transpose()
    }

    pub async fn account_by_id(&self, id: UserId) -> Result<Option<Account>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.map(account).transpose()
    }

    pub async fn account_not_before(&self, user_id: UserId) -> Result<Option<Millis>> {
        let nb: Option<Option<i64>> =
            sqlx::query_scalar("SELECT not_before FROM accounts WHERE id = $1")
                .bind(user_id.to_string())
                .fetch_optional(&self.read)
                .await?;
        Ok(nb.flatten().map(Millis))
    }
}
