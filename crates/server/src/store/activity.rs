//! The account's security history (`GET /v1/activity`): written inside the
//! transactions that do what it records, read newest first.

use proto::activity::ActivityKind;
use proto::sessions::RevocationReason;
use proto::{Device, SessionId, UserId};
use sqlx::AnyConnection;

use super::{Result, Store, StoreError, parse_id};
use crate::time::Millis;

/// One entry to record.
#[derive(Debug, Clone, Copy)]
pub struct ActivityRecord<'a> {
    pub user_id: UserId,
    pub at: Millis,
    pub kind: ActivityKind,
    /// The session concerned.
    pub session_id: Option<SessionId>,
    /// That session's device as it is now (kept as a snapshot).
    pub device: Option<&'a Device>,
    pub ip: Option<&'a str>,
    /// The session that did it, when another device did.
    pub by_session_id: Option<SessionId>,
    pub reason: Option<RevocationReason>,
}

/// One entry as read back.
#[derive(Debug, Clone)]
pub struct ActivityRow {
    pub at: Millis,
    pub kind: ActivityKind,
    pub session_id: Option<SessionId>,
    pub device: Option<Device>,
    pub ip: Option<String>,
    pub by_session_id: Option<SessionId>,
    pub reason: Option<RevocationReason>,
}

#[derive(sqlx::FromRow)]
struct RawRow {
    at: i64,
    kind: String,
    session_id: Option<String>,
    device: Option<String>,
    ip: Option<String>,
    by_session_id: Option<String>,
    reason: Option<String>,
}

impl TryFrom<RawRow> for ActivityRow {
    type Error = StoreError;
    fn try_from(r: RawRow) -> Result<Self> {
        // A kind or reason this version does not know was written by a newer instance
        // (a rolling upgrade): it is shown as `unknown`, never dropped.
        let kind = ActivityKind::parse(&r.kind).unwrap_or(ActivityKind::Unknown);
        Ok(ActivityRow {
            at: Millis(r.at),
            kind,
            session_id: r.session_id.as_deref().map(parse_id).transpose()?,
            device: r
                .device
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|_| StoreError::Corrupt("an activity device is not valid JSON"))?,
            ip: r.ip,
            by_session_id: r.by_session_id.as_deref().map(parse_id).transpose()?,
            reason: r
                .reason
                .as_deref()
                .map(|s| RevocationReason::parse(s).unwrap_or(RevocationReason::Unknown)),
        })
    }
}

impl Store {
    /// The newest `limit` entries of an account, newest first.
    pub async fn activity(&self, user_id: UserId, limit: i64) -> Result<Vec<ActivityRow>> {
        self.flush_touches().await;
        let rows: Vec<RawRow> = sqlx::query_as(
            "SELECT at, kind, session_id, device, ip, by_session_id, reason FROM activity \
             WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(user_id.to_string())
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(ActivityRow::try_from).collect()
    }

    /// Records one entry on its own (what is not part of a larger change).
    pub async fn record_activity(&self, a: ActivityRecord<'_>) -> Result<()> {
        let mut conn = self.write.acquire().await?;
        insert(&mut conn, a).await
    }
}

pub(super) async fn insert(tx: &mut AnyConnection, a: ActivityRecord<'_>) -> Result<()> {
    let device = a
        .device
        .map(serde_json::to_string)
        .transpose()
        .map_err(|_| StoreError::Corrupt("a device cannot be written as JSON"))?;
    sqlx::query(
        "INSERT INTO activity (user_id, at, kind, session_id, device, ip, by_session_id, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.user_id.to_string())
    .bind(a.at.0)
    .bind(a.kind.as_str())
    .bind(a.session_id.map(|s| s.to_string()))
    .bind(device)
    .bind(a.ip)
    .bind(a.by_session_id.map(|s| s.to_string()))
    .bind(a.reason.map(RevocationReason::as_str))
    .execute(&mut *tx)
    .await?;
    Ok(())
}
