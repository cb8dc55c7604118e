//! The feed: revocations and device events in commit order, which every instance
//! follows into its denylist and its event streams, and its listener (PostgreSQL
//! `LISTEN/NOTIFY`, or polling for SQLite) that says when there may be more.

use std::time::Duration;

use proto::events::Event;
use proto::{Jti, SessionId, UserId};
use sqlx::AnyConnection;
use tokio_util::sync::CancellationToken;

use super::{Backend, Result, Store, StoreError, parse_id};
use crate::time::Millis;

/// Key of the PostgreSQL advisory lock that orders feed writers.
pub(super) const FEED_LOCK: i64 = 0x5E55_1011;
/// The channel instances LISTEN on for new feed entries.
pub(super) const FEED_CHANNEL: &str = "session_manager_feed";

/// One entry of the feed, as followers read it.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub id: i64,
    pub at: Millis,
    pub user_id: UserId,
    pub kind: FeedKind,
    pub expires_at: Millis,
    /// The device-stream event to fan out, if any.
    pub event: Option<Event>,
}

#[derive(Debug, Clone)]
pub enum FeedKind {
    SessionRevoked(SessionId),
    TokenRevoked(Jti),
    AccountNotBefore(Millis),
    /// A compromised signing key, removed: every token it signed is refused.
    KeyRemoved(String),
    Event,
}

impl FeedEntry {
    /// Whether this entry stops tokens (as opposed to a plain device event).
    pub fn is_revocation(&self) -> bool {
        !matches!(self.kind, FeedKind::Event)
    }

    /// The entry as resource servers see it; `None` for plain device events.
    pub fn to_revocation(&self) -> Option<proto::revocations::RevocationEvent> {
        use proto::revocations::{
            AccountNotBefore, RevocationEvent, RevokedKey, RevokedSession, RevokedToken,
        };
        Some(match &self.kind {
            FeedKind::SessionRevoked(sid) => RevocationEvent::Session(RevokedSession {
                sid: *sid,
                at: self.at.to_datetime(),
                until: Some(self.expires_at.to_datetime()),
            }),
            FeedKind::TokenRevoked(jti) => RevocationEvent::Token(RevokedToken {
                jti: *jti,
                exp: self.expires_at.to_datetime(),
            }),
            FeedKind::AccountNotBefore(nb) => RevocationEvent::Account(AccountNotBefore {
                sub: self.user_id,
                not_before: nb.to_datetime(),
                until: Some(self.expires_at.to_datetime()),
            }),
            FeedKind::KeyRemoved(kid) => RevocationEvent::Key(RevokedKey {
                kid: kid.clone(),
                at: self.at.to_datetime(),
            }),
            FeedKind::Event => return None,
        })
    }
}

#[derive(sqlx::FromRow)]
struct FeedRow {
    id: i64,
    at: i64,
    user_id: String,
    kind: String,
    session_id: Option<String>,
    jti: Option<String>,
    not_before: Option<i64>,
    expires_at: i64,
    event_name: Option<String>,
    event: Option<String>,
    kid: Option<String>,
}

impl TryFrom<FeedRow> for FeedEntry {
    type Error = StoreError;
    fn try_from(r: FeedRow) -> Result<Self> {
        let kind = match r.kind.as_str() {
            "session_revoked" => FeedKind::SessionRevoked(parse_id(
                r.session_id
                    .as_deref()
                    .ok_or(StoreError::Corrupt("feed entry without session"))?,
            )?),
            "token_revoked" => FeedKind::TokenRevoked(parse_id(
                r.jti
                    .as_deref()
                    .ok_or(StoreError::Corrupt("feed entry without jti"))?,
            )?),
            "account_not_before" => FeedKind::AccountNotBefore(Millis(
                r.not_before
                    .ok_or(StoreError::Corrupt("feed entry without instant"))?,
            )),
            "key_removed" => FeedKind::KeyRemoved(
                r.kid
                    .clone()
                    .ok_or(StoreError::Corrupt("feed entry without key id"))?,
            ),
            "event" => FeedKind::Event,
            _ => return Err(StoreError::Corrupt("unknown feed entry kind")),
        };
        let event = match (r.event_name, r.event) {
            (Some(name), Some(data)) => Event::parse(&name, &data)
                .map_err(|_| StoreError::Corrupt("feed event is not valid JSON"))?,
            _ => None,
        };
        Ok(FeedEntry {
            id: r.id,
            at: Millis(r.at),
            user_id: parse_id(&r.user_id)?,
            kind,
            expires_at: Millis(r.expires_at),
            event,
        })
    }
}

/// A page of the feed.
#[derive(Debug, Default)]
pub struct FeedPage {
    pub entries: Vec<FeedEntry>,
    /// The id of the last row read, readable or not: where the next page starts.
    pub last_id: Option<i64>,
    /// Whether the page was full (there may be more).
    pub full: bool,
}

const FEED_COLUMNS: &str =
    "id, at, user_id, kind, session_id, jti, not_before, expires_at, event_name, event, kid";

/// Rows a follower cannot read (written by a newer version, or damaged) are skipped with
/// an error in the log: one bad row must never freeze the feed for everyone behind it.
fn readable(rows: Vec<FeedRow>, limit: i64) -> FeedPage {
    let full = rows.len() as i64 >= limit;
    let last_id = rows.last().map(|r| r.id);
    let entries = rows
        .into_iter()
        .filter_map(|row| {
            let id = row.id;
            FeedEntry::try_from(row)
                .map_err(|e| tracing::error!(feed_id = id, error = %e, "skipping an unreadable feed entry"))
                .ok()
        })
        .collect();
    FeedPage {
        entries,
        last_id,
        full,
    }
}

impl Store {
    /// Feed entries after `cursor`, oldest first, at most `limit` rows.
    pub async fn feed_after(&self, cursor: i64, limit: i64) -> Result<FeedPage> {
        let rows: Vec<FeedRow> = sqlx::query_as(&format!(
            "SELECT {FEED_COLUMNS} FROM feed WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(cursor)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(readable(rows, limit))
    }

    /// One account's feed entries after `cursor` (for resuming a device stream).
    pub async fn account_feed_after(
        &self,
        user_id: UserId,
        cursor: i64,
        limit: i64,
    ) -> Result<FeedPage> {
        let rows: Vec<FeedRow> = sqlx::query_as(&format!(
            "SELECT {FEED_COLUMNS} FROM feed WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(user_id.to_string())
        .bind(cursor)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(readable(rows, limit))
    }

    /// The newest feed id (0 if the feed is empty).
    pub async fn feed_head(&self) -> Result<i64> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM feed")
            .fetch_one(&self.read)
            .await?;
        Ok(head.unwrap_or(0))
    }

    /// Drops feed entries that stopped mattering before `before`. Returns how many.
    pub async fn prune_feed(&self, before: Millis) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM feed WHERE expires_at < $1")
            .bind(before.0)
            .execute(&self.write)
            .await?
            .rows_affected())
    }

    /// Drops refresh tokens spent before `before` (their reuse is no longer recognised).
    pub async fn prune_spent_tokens(&self, before: Millis) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM refresh_tokens WHERE spent_at < $1")
                .bind(before.0)
                .execute(&self.write)
                .await?
                .rows_affected(),
        )
    }

    /// Signals of new feed entries, until `shutdown`.
    pub fn feed_signals(&self, poll_every: Duration, shutdown: CancellationToken) -> FeedSignals {
        FeedSignals {
            url: self.url.clone(),
            backend: self.backend,
            poll_every,
            shutdown,
            listener: None,
            backoff: MIN_BACKOFF,
            tick: None,
        }
    }
}

pub(super) async fn insert_event(
    tx: &mut AnyConnection,
    user_id: UserId,
    now: Millis,
    event: &Event,
    session_id: Option<SessionId>,
    expires_at: Millis,
) -> Result<()> {
    insert_with_event(tx, "event", user_id, now, session_id, event, expires_at).await
}

pub(super) async fn insert_session_revoked(
    tx: &mut AnyConnection,
    user_id: UserId,
    now: Millis,
    sid: SessionId,
    event: &Event,
    expires_at: Millis,
) -> Result<()> {
    insert_with_event(
        tx,
        "session_revoked",
        user_id,
        now,
        Some(sid),
        event,
        expires_at,
    )
    .await
}

/// A feed entry of `kind` carrying a device event.
async fn insert_with_event(
    tx: &mut AnyConnection,
    kind: &str,
    user_id: UserId,
    now: Millis,
    session_id: Option<SessionId>,
    event: &Event,
    expires_at: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO feed (at, user_id, kind, session_id, expires_at, event_name, event) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(now.0)
    .bind(user_id.to_string())
    .bind(kind)
    .bind(session_id.map(|s| s.to_string()))
    .bind(expires_at.0)
    .bind(event.name())
    .bind(event.data().to_string())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn insert_account_not_before(
    tx: &mut AnyConnection,
    user_id: UserId,
    now: Millis,
    not_before: Millis,
    expires_at: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO feed (at, user_id, kind, not_before, expires_at) VALUES ($1, $2, 'account_not_before', $3, $4)",
    )
    .bind(now.0)
    .bind(user_id.to_string())
    .bind(not_before.0)
    .bind(expires_at.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Feed entries that concern no account carry this user id.
pub const NO_ACCOUNT: &str = "00000000-0000-0000-0000-000000000000";

pub(super) async fn insert_key_removed(
    tx: &mut AnyConnection,
    now: Millis,
    kid: &str,
    expires_at: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO feed (at, user_id, kind, kid, expires_at) VALUES ($1, $2, 'key_removed', $3, $4)",
    )
    .bind(now.0)
    .bind(NO_ACCOUNT)
    .bind(kid)
    .bind(expires_at.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(super) async fn insert_token_revoked(
    tx: &mut AnyConnection,
    user_id: UserId,
    now: Millis,
    jti: Jti,
    expires_at: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO feed (at, user_id, kind, jti, expires_at) VALUES ($1, $2, 'token_revoked', $3, $4)",
    )
    .bind(now.0)
    .bind(user_id.to_string())
    .bind(jti.to_string())
    .bind(expires_at.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

// ----- the listener ---------------------------------------------------------------

/// Why a follower should look at the feed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Another instance committed to the feed (PostgreSQL NOTIFY).
    Notified,
    /// Time to look anyway: SQLite's poll (its other writer is the admin command, which
    /// cannot notify), or PostgreSQL's slow poll that backs notifications up.
    Poll,
    /// The notification link was (re)established: what was written while it was down
    /// has not been announced.
    Reconnected,
}

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Says when the feed may have grown. See [`Store::feed_signals`].
pub struct FeedSignals {
    url: String,
    backend: Backend,
    poll_every: Duration,
    shutdown: CancellationToken,
    listener: Option<sqlx::postgres::PgListener>,
    backoff: Duration,
    tick: Option<tokio::time::Interval>,
}

impl FeedSignals {
    /// Whether notifications are being received (always true on SQLite, which polls):
    /// while false, entries written by other instances arrive only by polling.
    pub fn connected(&self) -> bool {
        self.backend == Backend::Sqlite || self.listener.is_some()
    }

    /// Waits for the next reason to look at the feed; `None` once shut down.
    pub async fn next(&mut self) -> Option<Wake> {
        match self.backend {
            Backend::Sqlite => {
                let every = self.poll_every;
                let tick = self.tick.get_or_insert_with(|| {
                    let mut t = tokio::time::interval(every);
                    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    t
                });
                tokio::select! {
                    () = self.shutdown.cancelled() => None,
                    _ = tick.tick() => Some(Wake::Poll),
                }
            }
            Backend::Postgres => self.next_notification().await,
        }
    }

    async fn next_notification(&mut self) -> Option<Wake> {
        let Some(listener) = self.listener.as_mut() else {
            return match self.connect().await {
                Ok(listener) => {
                    self.listener = Some(listener);
                    self.backoff = MIN_BACKOFF;
                    Some(Wake::Reconnected)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for feed notifications; retrying");
                    let wait = self.backoff;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                    tokio::select! {
                        () = self.shutdown.cancelled() => None,
                        // Meanwhile the follower polls, so nothing waits for the link.
                        () = tokio::time::sleep(wait) => Some(Wake::Poll),
                    }
                }
            };
        };
        tokio::select! {
            () = self.shutdown.cancelled() => None,
            () = tokio::time::sleep(self.poll_every) => Some(Wake::Poll),
            n = listener.try_recv() => match n {
                Ok(Some(_)) => Some(Wake::Notified),
                // The connection dropped; sqlx reconnects on the next receive, and
                // notifications sent meanwhile are lost.
                Ok(None) => {
                    tracing::info!("feed listener reconnecting");
                    Some(Wake::Reconnected)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "feed listener failed; reconnecting");
                    self.listener = None;
                    Some(Wake::Poll)
                }
            },
        }
    }

    async fn connect(&self) -> Result<sqlx::postgres::PgListener, sqlx::Error> {
        let mut listener = sqlx::postgres::PgListener::connect(&self.url).await?;
        listener.listen(FEED_CHANNEL).await?;
        Ok(listener)
    }
}
