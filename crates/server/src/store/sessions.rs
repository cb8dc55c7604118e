//! Sessions (one per signed-in device): creating, listing, renaming, and revoking —
//! every change committed together with its activity entry and its feed entries.

use proto::activity::ActivityKind;
use proto::events::Event;
use proto::sessions::RevocationReason;
use proto::{Device, Jti, SessionId, UserId};
use sqlx::AnyConnection;

use super::activity::{self, ActivityRecord};
use super::feed;
use super::{Result, Store, StoreError, parse_id};
use crate::time::Millis;

#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub device: Device,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub last_ip: Option<String>,
}

/// Whether and until when a session lives.
#[derive(Debug, Clone, Copy)]
pub struct SessionLife {
    pub revoked_at: Option<Millis>,
    /// The absolute end.
    pub expires_at: Millis,
    /// The end if it is not refreshed before.
    pub idle_expires_at: Millis,
}

impl SessionLife {
    pub fn is_live(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && self.expires_at > now && self.idle_expires_at > now
    }

    /// When the session ends if nothing happens.
    pub fn ends_at(&self) -> Millis {
        self.expires_at.min(self.idle_expires_at)
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    id: String,
    user_id: String,
    device_name: String,
    platform: String,
    os_version: String,
    app_version: String,
    created_at: i64,
    last_seen_at: i64,
    last_ip: Option<String>,
}

pub(super) const SESSION_COLUMNS: &str = "id, user_id, device_name, platform, os_version, app_version, created_at, last_seen_at, last_ip";

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self> {
        Ok(Session {
            id: parse_id(&r.id)?,
            user_id: parse_id(&r.user_id)?,
            device: Device {
                name: r.device_name,
                platform: r.platform,
                os_version: r.os_version,
                app_version: r.app_version,
            },
            created_at: Millis(r.created_at),
            last_seen_at: Millis(r.last_seen_at),
            last_ip: r.last_ip,
        })
    }
}

/// A new session and its first refresh token.
pub struct NewSession<'a> {
    pub id: SessionId,
    pub user_id: UserId,
    pub device: &'a Device,
    pub ip: Option<&'a str>,
    pub now: Millis,
    pub idle_expires_at: Millis,
    pub expires_at: Millis,
    pub refresh_hash: &'a [u8],
    /// Announced on the feed (a device event), kept until `event_expires_at`.
    pub event: &'a Event,
    pub event_expires_at: Millis,
}

/// Which sessions of an account a revocation targets.
#[derive(Clone, Copy, Debug)]
pub enum Which {
    One(SessionId),
    /// Every session, but the one given.
    AllBut(Option<SessionId>),
    /// No session (a change to the account alone).
    None,
}

/// Who asked for a change.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub session_id: Option<SessionId>,
    pub ip: Option<&'a str>,
}

impl Actor<'_> {
    pub const SERVER: Actor<'static> = Actor {
        session_id: None,
        ip: None,
    };
}

/// A revocation, as [`crate::app::App`] decided it.
pub struct Revoke<'a> {
    pub user_id: UserId,
    pub which: Which,
    pub reason: RevocationReason,
    /// The activity entry each revoked session gets.
    pub activity: ActivityKind,
    pub actor: Actor<'a>,
    pub now: Millis,
    /// When the feed entries stop mattering (every token they stop has expired).
    pub feed_expires_at: Millis,
    /// What changes on the account in the same transaction.
    pub account: AccountChange<'a>,
    /// More device events for the account, committed with the revocation (an alert),
    /// kept until `event_expires_at`.
    pub events: &'a [Event],
    pub event_expires_at: Millis,
}

/// A change to the account committed with a revocation.
#[derive(Debug, Default, Clone, Copy)]
pub struct AccountChange<'a> {
    /// Refuse every token of the account issued before this instant (sign out everywhere).
    pub not_before: Option<Millis>,
    /// A new password hash.
    pub password_hash: Option<&'a str>,
    /// The account's own activity entry for the change.
    pub activity: Option<ActivityKind>,
}

/// One ended session.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub session: Session,
}

/// How a signed-out session ended, and its wipe receipt.
#[derive(Debug, Clone)]
pub struct SignedOutFacts {
    pub revoked_at: Millis,
    pub reason: RevocationReason,
    pub wiped_at: Option<Millis>,
    pub wiped_ip: Option<String>,
}

/// What a wipe receipt did.
#[derive(Debug)]
pub enum WipeOutcome {
    /// Recorded for this (revoked) session.
    Recorded(Session),
    /// The session had a receipt already: nothing changed.
    AlreadyWiped,
    /// No revoked session has that id and token.
    NotFound,
}

/// A session as an operator sees it, ended or not.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct SessionStatus {
    pub id: String,
    pub user_id: String,
    pub device_name: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub idle_expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    pub revoked_by: Option<String>,
}

impl Store {
    /// Creates a session with its first refresh token, records the sign-in and
    /// announces it on the feed, atomically.
    pub async fn create_session(&self, s: NewSession<'_>) -> Result<Session> {
        let mut tx = self.begin_feed_write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, device_name, platform, os_version, app_version, \
             created_at, last_seen_at, last_ip, idle_expires_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)",
        )
        .bind(s.id.to_string())
        .bind(s.user_id.to_string())
        .bind(&s.device.name)
        .bind(&s.device.platform)
        .bind(&s.device.os_version)
        .bind(&s.device.app_version)
        .bind(s.now.0)
        .bind(s.ip)
        .bind(s.idle_expires_at.0)
        .bind(s.expires_at.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO refresh_tokens (hash, session_id, issued_at) VALUES ($1, $2, $3)")
            .bind(s.refresh_hash)
            .bind(s.id.to_string())
            .bind(s.now.0)
            .execute(&mut *tx)
            .await?;
        activity::insert(
            &mut tx,
            ActivityRecord {
                user_id: s.user_id,
                at: s.now,
                kind: ActivityKind::SignedIn,
                session_id: Some(s.id),
                device: Some(s.device),
                ip: s.ip,
                by_session_id: None,
                reason: None,
            },
        )
        .await?;
        feed::insert_event(
            &mut tx,
            s.user_id,
            s.now,
            s.event,
            Some(s.id),
            s.event_expires_at,
        )
        .await?;
        self.commit_feed_write(tx).await?;
        Ok(Session {
            id: s.id,
            user_id: s.user_id,
            device: s.device.clone(),
            created_at: s.now,
            last_seen_at: s.now,
            last_ip: s.ip.map(str::to_owned),
        })
    }

    /// The account's live sessions, most recently seen first.
    pub async fn live_sessions(&self, user_id: UserId, now: Millis) -> Result<Vec<Session>> {
        self.flush_touches().await;
        let rows: Vec<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND idle_expires_at > $2 \
             ORDER BY last_seen_at DESC, id DESC LIMIT 1000"
        ))
        .bind(user_id.to_string())
        .bind(now.0)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Session::try_from).collect()
    }

    /// Marks a live session as used now (last seen, from where) and pushes its idle end.
    pub async fn touch_session(
        &self,
        id: SessionId,
        now: Millis,
        ip: Option<&str>,
        idle_until: Millis,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1, last_ip = $2, \
             idle_expires_at = CASE WHEN $3 < expires_at THEN $3 ELSE expires_at END \
             WHERE id = $4 AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(ip)
        .bind(idle_until.0)
        .bind(id.to_string())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// A live session of this account, if it is one.
    pub async fn live_session(
        &self,
        user_id: UserId,
        id: SessionId,
        now: Millis,
    ) -> Result<Option<Session>> {
        self.flush_touches().await;
        let row: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions \
             WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3 AND idle_expires_at > $3"
        ))
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(now.0)
        .fetch_optional(&self.read)
        .await?;
        row.map(Session::try_from).transpose()
    }

    /// Renames a live session of this account, recording `activity` and announcing the
    /// event `event_for` makes of the renamed session. `None` if there is no such session.
    #[allow(clippy::too_many_arguments)]
    pub async fn rename_session(
        &self,
        user_id: UserId,
        id: SessionId,
        name: &str,
        actor: Actor<'_>,
        now: Millis,
        event_for: impl FnOnce(&Session) -> Event + Send,
        event_expires_at: Millis,
    ) -> Result<Option<Session>> {
        let mut tx = self.begin_feed_write().await?;
        let changed = sqlx::query(
            "UPDATE sessions SET device_name = $1 \
             WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $4 AND idle_expires_at > $4",
        )
        .bind(name)
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(now.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let row: SessionRow = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
        let session = Session::try_from(row)?;
        activity::insert(
            &mut tx,
            ActivityRecord {
                user_id,
                at: now,
                kind: ActivityKind::Renamed,
                session_id: Some(id),
                device: Some(&session.device),
                ip: actor.ip,
                by_session_id: actor.session_id,
                reason: None,
            },
        )
        .await?;
        let event = event_for(&session);
        feed::insert_event(&mut tx, user_id, now, &event, Some(id), event_expires_at).await?;
        self.commit_feed_write(tx).await?;
        Ok(Some(session))
    }

    /// Revokes the targeted sessions of one account that are not revoked yet, durably,
    /// each with a feed entry carrying the event `event_for` makes of it (given the
    /// revoked session and the device that asked) and an activity entry; plus the
    /// account stamp and the extra events of `r`, all in one transaction.
    pub async fn revoke_sessions(
        &self,
        r: Revoke<'_>,
        event_for: impl Fn(&Session, Option<&Device>) -> Event + Send,
    ) -> Result<Vec<Revocation>> {
        let mut tx = self.begin_feed_write().await?;
        let rows: Vec<SessionRow> = match r.which {
            Which::One(id) => {
                sqlx::query_as(&format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions \
                     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL"
                ))
                .bind(id.to_string())
                .bind(r.user_id.to_string())
                .fetch_all(&mut *tx)
                .await?
            }
            Which::AllBut(keep) => {
                sqlx::query_as(&format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions \
                     WHERE user_id = $1 AND revoked_at IS NULL AND id <> $2"
                ))
                .bind(r.user_id.to_string())
                .bind(keep.map(|k| k.to_string()).unwrap_or_default())
                .fetch_all(&mut *tx)
                .await?
            }
            Which::None => Vec::new(),
        };
        let sessions = rows
            .into_iter()
            .map(Session::try_from)
            .collect::<Result<Vec<_>>>()?;
        let by_device = match r.actor.session_id {
            Some(by) => session_device(&mut tx, by).await?,
            None => None,
        };
        let mut out = Vec::with_capacity(sessions.len());
        for s in sessions {
            // Sessions past their expiry are dead already; they still get marked so
            // the record says how they ended.
            let event = event_for(&s, by_device.as_ref());
            mark_revoked(&mut tx, &s, &r, &event).await?;
            out.push(Revocation { session: s });
        }
        if let Some(nb) = r.account.not_before {
            sqlx::query("UPDATE accounts SET not_before = $1 WHERE id = $2")
                .bind(nb.0)
                .bind(r.user_id.to_string())
                .execute(&mut *tx)
                .await?;
            feed::insert_account_not_before(&mut tx, r.user_id, r.now, nb, r.feed_expires_at)
                .await?;
        }
        if let Some(hash) = r.account.password_hash {
            sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(r.user_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(kind) = r.account.activity {
            activity::insert(
                &mut tx,
                ActivityRecord {
                    user_id: r.user_id,
                    at: r.now,
                    kind,
                    session_id: r.actor.session_id,
                    device: by_device.as_ref(),
                    ip: r.actor.ip,
                    by_session_id: r.actor.session_id,
                    reason: None,
                },
            )
            .await?;
        }
        for event in r.events {
            let session = match event {
                Event::SecurityAlert(a) => a.session_id,
                _ => None,
            };
            feed::insert_event(
                &mut tx,
                r.user_id,
                r.now,
                event,
                session,
                r.event_expires_at,
            )
            .await?;
        }
        self.commit_feed_write(tx).await?;
        Ok(out)
    }

    /// Revokes one access token until `feed_expires_at` (its expiry and the leeway).
    pub async fn revoke_jti(
        &self,
        user_id: UserId,
        jti: Jti,
        now: Millis,
        feed_expires_at: Millis,
    ) -> Result<()> {
        let mut tx = self.begin_feed_write().await?;
        feed::insert_token_revoked(&mut tx, user_id, now, jti, feed_expires_at).await?;
        self.commit_feed_write(tx).await
    }

    /// The account's sessions revoked since `since`, most recent first, with how they
    /// ended and their wipe receipt.
    pub async fn signed_out_sessions(
        &self,
        user_id: UserId,
        since: Millis,
    ) -> Result<Vec<(Session, SignedOutFacts)>> {
        self.flush_touches().await;
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            session: SessionRow,
            revoked_at: i64,
            revoked_reason: Option<String>,
            wiped_at: Option<i64>,
            wiped_ip: Option<String>,
        }
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS}, revoked_at, revoked_reason, wiped_at, wiped_ip FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NOT NULL AND revoked_at >= $2 \
             ORDER BY revoked_at DESC, id DESC LIMIT 1000"
        ))
        .bind(user_id.to_string())
        .bind(since.0)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    Session::try_from(r.session)?,
                    SignedOutFacts {
                        revoked_at: Millis(r.revoked_at),
                        reason: r
                            .revoked_reason
                            .as_deref()
                            .and_then(RevocationReason::parse)
                            .unwrap_or(RevocationReason::Unknown),
                        wiped_at: r.wiped_at.map(Millis),
                        wiped_ip: r.wiped_ip,
                    },
                ))
            })
            .collect()
    }

    /// Records a signed-out device's wipe receipt: if session `id` is revoked and
    /// `token_hash` is one of its refresh tokens, the first receipt sets `wiped_at` and
    /// `wiped_ip`, records the `wiped` activity and announces the event `event_for`
    /// makes, in one transaction.
    pub async fn record_wipe(
        &self,
        id: SessionId,
        token_hash: &[u8],
        now: Millis,
        ip: Option<&str>,
        event_for: impl FnOnce(&Session) -> Event + Send,
        event_expires_at: Millis,
    ) -> Result<WipeOutcome> {
        let mut tx = self.begin_feed_write().await?;
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            session: SessionRow,
            revoked_at: Option<i64>,
            wiped_at: Option<i64>,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT s.id, s.user_id, s.device_name, s.platform, s.os_version, s.app_version, \
             s.created_at, s.last_seen_at, s.last_ip, s.revoked_at, s.wiped_at \
             FROM sessions s JOIN refresh_tokens t ON t.session_id = s.id \
             WHERE s.id = $1 AND t.hash = $2",
        )
        .bind(id.to_string())
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(WipeOutcome::NotFound);
        };
        if row.revoked_at.is_none() {
            return Ok(WipeOutcome::NotFound);
        }
        if row.wiped_at.is_some() {
            return Ok(WipeOutcome::AlreadyWiped);
        }
        let session = Session::try_from(row.session)?;
        sqlx::query(
            "UPDATE sessions SET wiped_at = $1, wiped_ip = $2 WHERE id = $3 AND wiped_at IS NULL",
        )
        .bind(now.0)
        .bind(ip)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        activity::insert(
            &mut tx,
            ActivityRecord {
                user_id: session.user_id,
                at: now,
                kind: ActivityKind::Wiped,
                session_id: Some(id),
                device: Some(&session.device),
                ip,
                by_session_id: None,
                reason: None,
            },
        )
        .await?;
        let event = event_for(&session);
        feed::insert_event(
            &mut tx,
            session.user_id,
            now,
            &event,
            Some(id),
            event_expires_at,
        )
        .await?;
        self.commit_feed_write(tx).await?;
        Ok(WipeOutcome::Recorded(session))
    }

    /// Any session by id, for the admin command.
    pub async fn session_status(&self, id: SessionId) -> Result<Option<SessionStatus>> {
        self.flush_touches().await;
        Ok(sqlx::query_as(
            "SELECT id, user_id, device_name, created_at, last_seen_at, expires_at, idle_expires_at, \
             revoked_at, revoked_reason, revoked_by FROM sessions WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }
}

async fn session_device(tx: &mut AnyConnection, id: SessionId) -> Result<Option<Device>> {
    let row: Option<SessionRow> = sqlx::query_as(&format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(Session::try_from).transpose()?.map(|s| s.device))
}

async fn mark_revoked(
    tx: &mut AnyConnection,
    s: &Session,
    r: &Revoke<'_>,
    event: &Event,
) -> Result<()> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2, revoked_by = $3 WHERE id = $4 AND revoked_at IS NULL",
    )
    .bind(r.now.0)
    .bind(r.reason.as_str())
    .bind(r.actor.session_id.map(|s| s.to_string()))
    .bind(s.id.to_string())
    .execute(&mut *tx)
    .await?;
    // The refresh tokens can do nothing any more; the successor seals go at once.
    sqlx::query("UPDATE refresh_tokens SET successor_sealed = NULL WHERE session_id = $1")
        .bind(s.id.to_string())
        .execute(&mut *tx)
        .await?;
    feed::insert_session_revoked(tx, s.user_id, r.now, s.id, event, r.feed_expires_at).await?;
    activity::insert(
        tx,
        ActivityRecord {
            user_id: s.user_id,
            at: r.now,
            kind: r.activity,
            session_id: Some(s.id),
            device: Some(&s.device),
            ip: r.actor.ip,
            by_session_id: r.actor.session_id,
            reason: Some(r.reason),
        },
    )
    .await
}
