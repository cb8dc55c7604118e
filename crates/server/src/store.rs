//! Storage: the only module that speaks SQL.
//!
//! One code path serves SQLite and PostgreSQL through sqlx's `Any` driver: ids are
//! stored as text, times as integer milliseconds, hashes as bytes, so every statement is
//! portable. Invariants kept here:
//! - a revocation (session row marked, feed entry, activity) commits in one transaction,
//!   before the caller answers;
//! - feed entries become visible in id order (SQLite: one writer; PostgreSQL: feed
//!   writers serialise on an advisory lock), so a follower's cursor never skips one;
//! - refresh tokens exist here only as SHA-256 hashes.

use std::str::FromStr;
use std::time::Duration;

use proto::events::{Event, SessionRevoked};
use proto::sessions::RevocationReason;
use proto::{Device, Jti, SessionId, UserId};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor as _, Row as _};

use crate::time::Millis;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Key of the PostgreSQL advisory lock that orders feed writers.
const FEED_LOCK: i64 = 0x5E55_1011;
/// The channel instances LISTEN on for new feed entries.
pub const FEED_CHANNEL: &str = "session_manager_feed";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    #[error("that email address is already registered")]
    EmailTaken,
    #[error("cannot create the database directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Handle to the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// SQLite: the single writer connection, so write transactions never fight over
    /// the lock. PostgreSQL: the same pool as `read`.
    write: AnyPool,
    read: AnyPool,
    url: String,
    /// SQLite: the queue of the task that spends refresh tokens in batches.
    spender: Option<tokio::sync::mpsc::Sender<(SpendJob, SpendReply)>>,
}

// ----- rows -------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct Account {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub device: Device,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub last_ip: Option<String>,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
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

const SESSION_COLUMNS: &str = "id, user_id, device_name, platform, os_version, app_version, created_at, last_seen_at, last_ip";

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

fn parse_id<T: FromStr>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Corrupt("an id is not a UUID"))
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
}

/// What a refresh attempt found and did.
#[derive(Debug)]
pub enum Refresh {
    /// The token was live: it is now spent and its successor stored.
    Rotated {
        session_id: SessionId,
        user_id: UserId,
    },
    /// The token was spent moments ago and its successor is unused: a retry of the
    /// same refresh. The sealed successor is returned for the caller to open.
    Retry { session: Session, sealed: Vec<u8> },
    /// A spent token presented again: the session has been revoked.
    Reuse(Revocation),
    /// Unknown token, or its session has ended.
    Dead,
}

/// Parameters of a refresh.
pub struct RefreshParams<'a> {
    pub presented_hash: &'a [u8],
    pub successor_hash: &'a [u8],
    /// The successor sealed with a key only the presented token can derive.
    pub successor_sealed: &'a [u8],
    pub now: Millis,
    pub grace: Duration,
    pub idle_ttl: Duration,
    pub ip: Option<&'a str>,
    /// How long feed entries for a revoked session are kept (the longest access-token life).
    pub retain: Duration,
}

// `refreshed` activity is sampled by the rotation trigger: at most one entry per session
// per hour (the 3600000 in migration 0002).

/// One ended session, as the caller needs it to tell the world.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub reason: RevocationReason,
}

/// Who asked for a revocation.
#[derive(Clone, Copy)]
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

impl FeedEntry {
    /// Whether this entry stops tokens (as opposed to a plain device event).
    pub fn is_revocation(&self) -> bool {
        !matches!(self.kind, FeedKind::Event)
    }

    /// The entry as resource servers see it; `None` for plain device events.
    pub fn to_revocation(&self) -> Option<proto::revocations::RevocationEvent> {
        use proto::revocations::{AccountNotBefore, RevocationEvent, RevokedSession, RevokedToken};
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
            FeedKind::Event => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub enum FeedKind {
    SessionRevoked(SessionId),
    TokenRevoked(Jti),
    AccountNotBefore(Millis),
    Event,
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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub kind: String,
    pub session_id: Option<String>,
    pub device: Option<String>,
    pub ip: Option<String>,
    pub by_session_id: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub secret: Vec<u8>,
    pub created_at: Millis,
    pub retired_at: Option<Millis>,
}

/// Status of a refresh token, for introspection and `/oauth/revoke`.
#[derive(Debug, Clone)]
pub struct RefreshTokenInfo {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub spent: bool,
    pub session_live: bool,
    pub issued_at: Millis,
    pub expires_at: Millis,
}

// ----- connecting -------------------------------------------------------------

impl Store {
    /// Connects and applies the embedded migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = AnyConnectOptions::from_str(url)?;
        let store = match backend {
            Backend::Sqlite => {
                ensure_sqlite_dir(url)?;
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| Box::pin(async move { sqlite_pragmas(conn).await }))
                    .connect_with(options.clone())
                    .await?;
                // WAL lets readers run beside the writer; it is a property of the file,
                // set once, before the readers open it. With WAL, synchronous=NORMAL keeps
                // every committed transaction across a process crash (kill -9); only a
                // power loss can take the last ones.
                write.execute("PRAGMA journal_mode = WAL").await?;
                SQLITE_MIGRATIONS.run(&write).await?;
                let read = AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _| Box::pin(async move { sqlite_pragmas(conn).await }))
                    .connect_with(options)
                    .await?;
                let (spender, jobs) = tokio::sync::mpsc::channel(1024);
                tokio::spawn(batch_spender(write.clone(), jobs));
                Store {
                    backend,
                    write,
                    read,
                    url: url.to_owned(),
                    spender: Some(spender),
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .connect_with(options)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                Store {
                    backend,
                    write: pool.clone(),
                    read: pool,
                    url: url.to_owned(),
                    // PostgreSQL runs spends side by side on its own connections.
                    spender: None,
                }
            }
        };
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            // IMMEDIATE takes the write lock up front: a transaction that reads and then
            // writes cannot fail half-way on a lock another process (the admin CLI) took.
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    /// Serialises feed writers on PostgreSQL so feed ids commit in order.
    async fn lock_feed(&self, tx: &mut AnyConnection) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(FEED_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Wakes the other instances once the transaction commits (PostgreSQL only;
    /// SQLite followers poll, a single file has a single host).
    async fn notify_feed(&self, tx: &mut AnyConnection) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(FEED_CHANNEL)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}

async fn sqlite_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    conn.execute("PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;")
        .await?;
    Ok(())
}

fn ensure_sqlite_dir(url: &str) -> Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(())
}

// ----- accounts ---------------------------------------------------------------

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
        let row = sqlx::query("SELECT id, email, password_hash FROM accounts WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(Account {
                id: parse_id(&r.try_get::<String, _>("id")?)?,
                email: r.try_get("email")?,
                password_hash: r.try_get("password_hash")?,
            })
        })
        .transpose()
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

// ----- sessions -----------------------------------------------------------------

impl Store {
    /// Creates a session with its first refresh token, records the sign-in and
    /// announces it on the feed, atomically.
    pub async fn create_session(&self, s: NewSession<'_>) -> Result<Session> {
        let mut tx = self.begin_write().await?;
        self.lock_feed(&mut tx).await?;
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
        insert_activity(
            &mut tx,
            s.user_id,
            s.now,
            "signed_in",
            Some(s.id),
            Some(s.device),
            s.ip,
            None,
            None,
        )
        .await?;
        let event = Event::SessionCreated(proto::events::SessionCreated {
            session_id: s.id,
            device: s.device.clone(),
        });
        insert_feed_event(&mut tx, s.user_id, s.now, &event, Some(s.id)).await?;
        self.notify_feed(&mut tx).await?;
        tx.commit().await?;
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

    /// A live session of this account, if it is one.
    pub async fn live_session(
        &self,
        user_id: UserId,
        id: SessionId,
        now: Millis,
    ) -> Result<Option<Session>> {
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

    /// Renames a live session of this account. `None` if there is no such session.
    pub async fn rename_session(
        &self,
        user_id: UserId,
        id: SessionId,
        name: &str,
        actor: Actor<'_>,
        now: Millis,
    ) -> Result<Option<Session>> {
        let mut tx = self.begin_write().await?;
        self.lock_feed(&mut tx).await?;
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
        insert_activity(
            &mut tx,
            user_id,
            now,
            "renamed",
            Some(id),
            Some(&session.device),
            actor.ip,
            actor.session_id,
            None,
        )
        .await?;
        let event = Event::SessionRenamed(proto::events::SessionRenamed {
            session_id: id,
            device: session.device.clone(),
            by_session_id: actor.session_id,
        });
        insert_feed_event(&mut tx, user_id, now, &event, Some(id)).await?;
        self.notify_feed(&mut tx).await?;
        tx.commit().await?;
        Ok(Some(session))
    }

    /// Revokes the given live sessions of one account (those already ended are
    /// skipped), durably, with a feed entry and an activity entry each. With
    /// `not_before`, also stamps the account (sign out everywhere).
    #[allow(clippy::too_many_arguments)]
    pub async fn revoke_sessions(
        &self,
        user_id: UserId,
        which: Which,
        reason: RevocationReason,
        actor: Actor<'_>,
        not_before: Option<Millis>,
        now: Millis,
        retain: Duration,
    ) -> Result<Vec<Revocation>> {
        let mut tx = self.begin_write().await?;
        self.lock_feed(&mut tx).await?;
        let rows: Vec<SessionRow> = match which {
            Which::One(id) => {
                sqlx::query_as(&format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions \
                     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL"
                ))
                .bind(id.to_string())
                .bind(user_id.to_string())
                .fetch_all(&mut *tx)
                .await?
            }
            Which::AllBut(keep) => {
                sqlx::query_as(&format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions \
                     WHERE user_id = $1 AND revoked_at IS NULL AND id <> $2"
                ))
                .bind(user_id.to_string())
                .bind(keep.map(|k| k.to_string()).unwrap_or_default())
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let sessions = rows
            .into_iter()
            .map(Session::try_from)
            .collect::<Result<Vec<_>>>()?;
        let by_device = match actor.session_id {
            Some(by) => session_device(&mut tx, by).await?,
            None => None,
        };
        let mut out = Vec::with_capacity(sessions.len());
        for s in &sessions {
            // Sessions past their expiry are dead already; they still get marked so
            // the record says how they ended, but nobody needs telling.
            out.push(
                revoke_in_tx(&mut tx, s, reason, actor, by_device.as_ref(), now, retain).await?,
            );
        }
        if let Some(nb) = not_before {
            sqlx::query("UPDATE accounts SET not_before = $1 WHERE id = $2")
                .bind(nb.0)
                .bind(user_id.to_string())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO feed (at, user_id, kind, not_before, expires_at) VALUES ($1, $2, 'account_not_before', $3, $4)",
            )
            .bind(now.0)
            .bind(user_id.to_string())
            .bind(nb.0)
            .bind(now.plus(retain).0)
            .execute(&mut *tx)
            .await?;
            insert_activity(
                &mut tx,
                user_id,
                now,
                "signed_out_everywhere",
                actor.session_id,
                by_device.as_ref(),
                actor.ip,
                actor.session_id,
                None,
            )
            .await?;
        }
        self.notify_feed(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Revokes one access token until its expiry.
    pub async fn revoke_jti(
        &self,
        user_id: UserId,
        jti: Jti,
        exp: Millis,
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.lock_feed(&mut tx).await?;
        sqlx::query(
            "INSERT INTO feed (at, user_id, kind, jti, expires_at) VALUES ($1, $2, 'token_revoked', $3, $4)",
        )
        .bind(now.0)
        .bind(user_id.to_string())
        .bind(jti.to_string())
        .bind(exp.0)
        .execute(&mut *tx)
        .await?;
        self.notify_feed(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Which sessions of an account a revocation targets.
#[derive(Clone, Copy, Debug)]
pub enum Which {
    One(SessionId),
    /// Every session, but the one given.
    AllBut(Option<SessionId>),
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

async fn revoke_in_tx(
    tx: &mut AnyConnection,
    s: &Session,
    reason: RevocationReason,
    actor: Actor<'_>,
    by_device: Option<&Device>,
    now: Millis,
    retain: Duration,
) -> Result<Revocation> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2, revoked_by = $3 WHERE id = $4 AND revoked_at IS NULL",
    )
    .bind(now.0)
    .bind(reason.as_str())
    .bind(actor.session_id.map(|s| s.to_string()))
    .bind(s.id.to_string())
    .execute(&mut *tx)
    .await?;
    // The refresh tokens can do nothing any more; the successor seals go at once.
    sqlx::query("UPDATE refresh_tokens SET successor_sealed = NULL WHERE session_id = $1")
        .bind(s.id.to_string())
        .execute(&mut *tx)
        .await?;
    let event = Event::SessionRevoked(SessionRevoked {
        session_id: s.id,
        reason,
        by_session_id: actor.session_id,
        at: Some(now.to_datetime()),
        device: Some(s.device.clone()),
        by_device: by_device.cloned(),
    });
    let data = event.data().to_string();
    sqlx::query(
        "INSERT INTO feed (at, user_id, kind, session_id, expires_at, event_name, event) \
         VALUES ($1, $2, 'session_revoked', $3, $4, $5, $6)",
    )
    .bind(now.0)
    .bind(s.user_id.to_string())
    .bind(s.id.to_string())
    .bind(now.plus(retain).0)
    .bind(event.name())
    .bind(data)
    .execute(&mut *tx)
    .await?;
    let kind = if reason == RevocationReason::RefreshTokenReuse {
        "refresh_token_reuse"
    } else {
        "revoked"
    };
    insert_activity(
        tx,
        s.user_id,
        now,
        kind,
        Some(s.id),
        Some(&s.device),
        actor.ip,
        actor.session_id,
        Some(reason),
    )
    .await?;
    Ok(Revocation {
        session_id: s.id,
        user_id: s.user_id,
        reason,
    })
}

#[allow(clippy::too_many_arguments)]
async fn insert_activity(
    tx: &mut AnyConnection,
    user_id: UserId,
    at: Millis,
    kind: &str,
    session_id: Option<SessionId>,
    device: Option<&Device>,
    ip: Option<&str>,
    by_session_id: Option<SessionId>,
    reason: Option<RevocationReason>,
) -> Result<()> {
    let device = device.map(|d| serde_json::to_string(d).unwrap_or_default());
    sqlx::query(
        "INSERT INTO activity (user_id, at, kind, session_id, device, ip, by_session_id, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user_id.to_string())
    .bind(at.0)
    .bind(kind)
    .bind(session_id.map(|s| s.to_string()))
    .bind(device)
    .bind(ip)
    .bind(by_session_id.map(|s| s.to_string()))
    .bind(reason.map(|r| r.as_str()))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Device-stream events that are not revocations are kept an hour, for streams that
/// resume with `Last-Event-ID`.
const EVENT_RETENTION: Duration = Duration::from_secs(3600);

async fn insert_feed_event(
    tx: &mut AnyConnection,
    user_id: UserId,
    now: Millis,
    event: &Event,
    session_id: Option<SessionId>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO feed (at, user_id, kind, session_id, expires_at, event_name, event) \
         VALUES ($1, $2, 'event', $3, $4, $5, $6)",
    )
    .bind(now.0)
    .bind(user_id.to_string())
    .bind(session_id.map(|s| s.to_string()))
    .bind(now.plus(EVENT_RETENTION).0)
    .bind(event.name())
    .bind(event.data().to_string())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

// ----- refresh tokens -----------------------------------------------------------

#[derive(sqlx::FromRow)]
struct TokenLookup {
    spent_at: Option<i64>,
    successor_sealed: Option<Vec<u8>>,
    successor_spent_at: Option<i64>,
    revoked_at: Option<i64>,
    expires_at: i64,
    idle_expires_at: i64,
    #[sqlx(flatten)]
    session: SessionRow,
}

const TOKEN_LOOKUP: &str = "SELECT t.spent_at, t.successor_sealed, n.spent_at AS successor_spent_at, \
     s.revoked_at, s.expires_at, s.idle_expires_at, \
     s.id, s.user_id, s.device_name, s.platform, s.os_version, s.app_version, s.created_at, s.last_seen_at, s.last_ip \
     FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
     LEFT JOIN refresh_tokens n ON n.hash = t.successor_hash \
     WHERE t.hash = $1";

impl Store {
    /// Rotates a refresh token: see [`Refresh`] for the outcomes. Race-proof on both
    /// backends: the token is spent by a conditional UPDATE, so of any number of
    /// concurrent attempts exactly one rotates and the others see its successor.
    ///
    /// The common case is one statement: the UPDATE that spends the token fires the
    /// `refresh_token_rotated` trigger, which stores the successor, samples the activity
    /// and touches the session in the same statement (migration 0002). Everything else —
    /// an unknown token, a retry, reuse, a race lost — takes the careful path.
    pub async fn refresh(&self, p: RefreshParams<'_>) -> Result<Refresh> {
        let job = SpendJob {
            now: p.now.0,
            successor_hash: p.successor_hash.to_vec(),
            successor_sealed: p.successor_sealed.to_vec(),
            presented_hash: p.presented_hash.to_vec(),
            ip: p.ip.map(str::to_owned),
            idle_until: p.now.plus(p.idle_ttl).0,
        };
        let spent = match &self.spender {
            Some(queue) => {
                let (reply, answer) = tokio::sync::oneshot::channel();
                queue
                    .send((job, reply))
                    .await
                    .map_err(|_| StoreError::Corrupt("the spending task has stopped"))?;
                answer
                    .await
                    .map_err(|_| StoreError::Corrupt("the spending task has stopped"))??
            }
            None => job.run(&self.write).await?,
        };
        match spent {
            Some((sid, user)) => Ok(Refresh::Rotated {
                session_id: parse_id(&sid)?,
                user_id: parse_id(&user)?,
            }),
            // Unknown, already spent (a retry? reuse?), or its session has ended.
            None => self.refresh_spent(p).await,
        }
    }

    /// A token found spent (or unspendable): a retry within the grace window, or reuse.
    async fn refresh_spent(&self, p: RefreshParams<'_>) -> Result<Refresh> {
        let mut tx = self.begin_write().await?;
        let Some(mut found) = self.lookup_token(&mut tx, p.presented_hash).await? else {
            return Ok(Refresh::Dead);
        };
        let session = Session::try_from(found.session)?;
        if found.revoked_at.is_some()
            || found.expires_at <= p.now.0
            || found.idle_expires_at <= p.now.0
        {
            return Ok(Refresh::Dead);
        }
        let Some(spent_at) = found.spent_at else {
            // Unspent after all (our UPDATE lost only to a session check that has since
            // passed, or a rolled-back race): let the caller try again as a fresh refresh.
            return Ok(Refresh::Dead);
        };
        let in_grace = p.now.0 - spent_at <= p.grace.as_millis() as i64;
        if in_grace
            && found.successor_spent_at.is_none()
            && let Some(sealed) = found.successor_sealed.take()
        {
            return Ok(Refresh::Retry { session, sealed });
        }

        // Reuse of a spent token: presumed theft. End the session.
        self.lock_feed(&mut tx).await?;
        let revocation = revoke_in_tx(
            &mut tx,
            &session,
            RevocationReason::RefreshTokenReuse,
            Actor {
                session_id: None,
                ip: p.ip,
            },
            None,
            p.now,
            p.retain,
        )
        .await?;
        let alert = Event::SecurityAlert(proto::events::SecurityAlert {
            kind: proto::events::AlertKind::RefreshTokenReuse,
            session_id: Some(session.id),
            at: p.now.to_datetime(),
            message: format!(
                "A refresh token of \"{}\" was used twice, which suggests it was copied. \
                 That device has been signed out.",
                session.device.name
            ),
        });
        insert_feed_event(&mut tx, session.user_id, p.now, &alert, Some(session.id)).await?;
        self.notify_feed(&mut tx).await?;
        tx.commit().await?;
        Ok(Refresh::Reuse(revocation))
    }

    async fn lookup_token(
        &self,
        tx: &mut AnyConnection,
        hash: &[u8],
    ) -> Result<Option<TokenLookup>> {
        Ok(sqlx::query_as(TOKEN_LOOKUP)
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?)
    }

    /// What a refresh token is, without changing anything.
    pub async fn refresh_token_info(
        &self,
        hash: &[u8],
        now: Millis,
    ) -> Result<Option<RefreshTokenInfo>> {
        let row = sqlx::query(
            "SELECT t.session_id, t.spent_at, t.issued_at, s.user_id, s.revoked_at, s.expires_at, s.idle_expires_at \
             FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.read)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let revoked_at: Option<i64> = r.try_get("revoked_at")?;
        let expires_at: i64 = r.try_get("expires_at")?;
        let idle: i64 = r.try_get("idle_expires_at")?;
        Ok(Some(RefreshTokenInfo {
            session_id: parse_id(&r.try_get::<String, _>("session_id")?)?,
            user_id: parse_id(&r.try_get::<String, _>("user_id")?)?,
            spent: r.try_get::<Option<i64>, _>("spent_at")?.is_some(),
            session_live: revoked_at.is_none() && expires_at > now.0 && idle > now.0,
            issued_at: Millis(r.try_get("issued_at")?),
            expires_at: Millis(expires_at.min(idle)),
        }))
    }
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
    /// Any session by id, for the admin command.
    pub async fn session_status(&self, id: SessionId) -> Result<Option<SessionStatus>> {
        Ok(sqlx::query_as(
            "SELECT id, user_id, device_name, created_at, last_seen_at, expires_at, idle_expires_at, \
             revoked_at, revoked_reason, revoked_by FROM sessions WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?)
    }
}

// ----- spending refresh tokens ----------------------------------------------------

/// One spend of the refresh fast path, owned so it can wait in the spender's queue.
#[derive(Debug)]
struct SpendJob {
    now: i64,
    successor_hash: Vec<u8>,
    successor_sealed: Vec<u8>,
    presented_hash: Vec<u8>,
    ip: Option<String>,
    idle_until: i64,
}

type SpendReply = tokio::sync::oneshot::Sender<Result<Option<(String, String)>>>;

impl SpendJob {
    /// The one statement of a rotation (the trigger of migration 0002 does the rest).
    /// Returns (session id, user id) if the token was live and is now spent.
    async fn run<'e, E>(&self, exec: E) -> Result<Option<(String, String)>, sqlx::Error>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        sqlx::query_as(
            "UPDATE refresh_tokens SET spent_at = $1, successor_hash = $2, successor_sealed = $3, \
             spent_ip = $5, spent_idle_until = $6 \
             WHERE hash = $4 AND spent_at IS NULL AND EXISTS (SELECT 1 FROM sessions s \
               WHERE s.id = refresh_tokens.session_id AND s.revoked_at IS NULL \
               AND s.expires_at > $1 AND s.idle_expires_at > $1) \
             RETURNING session_id, (SELECT s.user_id FROM sessions s WHERE s.id = refresh_tokens.session_id)",
        )
        .bind(self.now)
        .bind(self.successor_hash.as_slice())
        .bind(self.successor_sealed.as_slice())
        .bind(self.presented_hash.as_slice())
        .bind(self.ip.as_deref())
        .bind(self.idle_until)
        .fetch_optional(exec)
        .await
    }
}

/// Most spends one batch commits.
const MAX_SPEND_BATCH: usize = 128;

/// SQLite has one writer. Under load, handing its connection from request to request
/// costs more than the statements themselves, so one task takes every spend waiting and
/// commits them in one transaction. Each caller hears back only after that commit.
async fn batch_spender(
    pool: AnyPool,
    mut jobs: tokio::sync::mpsc::Receiver<(SpendJob, SpendReply)>,
) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_SPEND_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match spend_batch(&pool, &batch).await {
            Ok(results) => {
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    let _ = reply.send(Ok(result));
                }
            }
            // Whatever failed, failed for the whole transaction: run each on its own,
            // so one bad spend cannot fail the others.
            Err(_) => {
                for (job, reply) in batch {
                    let _ = reply.send(job.run(&pool).await.map_err(StoreError::from));
                }
            }
        }
    }
}

async fn spend_batch(
    pool: &AnyPool,
    batch: &[(SpendJob, SpendReply)],
) -> Result<Vec<Option<(String, String)>>, sqlx::Error> {
    if let [(job, _)] = batch {
        // Alone: no transaction needed around one statement.
        return Ok(vec![job.run(pool).await?]);
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut out = Vec::with_capacity(batch.len());
    for (job, _) in batch {
        out.push(job.run(&mut *tx).await?);
    }
    tx.commit().await?;
    Ok(out)
}

// ----- activity -----------------------------------------------------------------

impl Store {
    pub async fn activity(&self, user_id: UserId, limit: i64) -> Result<Vec<ActivityRow>> {
        Ok(sqlx::query_as(
            "SELECT at, kind, session_id, device, ip, by_session_id, reason FROM activity \
             WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(user_id.to_string())
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }
}

// ----- feed -------------------------------------------------------------------------

impl Store {
    /// Feed entries after `cursor`, oldest first.
    pub async fn feed_after(&self, cursor: i64, limit: i64) -> Result<Vec<FeedEntry>> {
        let rows: Vec<FeedRow> = sqlx::query_as(
            "SELECT id, at, user_id, kind, session_id, jti, not_before, expires_at, event_name, event \
             FROM feed WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(cursor)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(FeedEntry::try_from).collect()
    }

    /// One account's feed entries after `cursor` (for resuming a device stream).
    pub async fn account_feed_after(&self, user_id: UserId, cursor: i64) -> Result<Vec<FeedEntry>> {
        let rows: Vec<FeedRow> = sqlx::query_as(
            "SELECT id, at, user_id, kind, session_id, jti, not_before, expires_at, event_name, event \
             FROM feed WHERE user_id = $1 AND id > $2 ORDER BY id LIMIT 1000",
        )
        .bind(user_id.to_string())
        .bind(cursor)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(FeedEntry::try_from).collect()
    }

    /// The newest feed id (0 if the feed is empty).
    pub async fn feed_head(&self) -> Result<i64> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM feed")
            .fetch_one(&self.read)
            .await?;
        Ok(head.unwrap_or(0))
    }

    /// Drops what can no longer matter: feed entries past their use and refresh tokens
    /// spent long ago. Returns (feed entries, tokens) removed.
    pub async fn prune(&self, now: Millis, spent_token_retention: Duration) -> Result<(u64, u64)> {
        let feed = sqlx::query("DELETE FROM feed WHERE expires_at < $1")
            .bind(now.0)
            .execute(&self.write)
            .await?
            .rows_affected();
        let tokens = sqlx::query("DELETE FROM refresh_tokens WHERE spent_at < $1")
            .bind(now.0 - spent_token_retention.as_millis() as i64)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok((feed, tokens))
    }
}

// ----- signing keys -------------------------------------------------------------

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

    /// Creates the first key unless one exists (several instances may race at first start).
    pub async fn add_first_signing_key(&self, kid: &str, secret: &[u8], now: Millis) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.lock_feed(&mut tx).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn refresh_after_an_hour_is_sampled_into_the_activity(store: Store) {
        let now = Millis::now();
        let user = UserId::new();
        store
            .create_account(user, &format!("{user}@example.com"), "x", now)
            .await
            .unwrap();
        let device = Device {
            name: "Laptop".into(),
            platform: "linux".into(),
            os_version: "12".into(),
            app_version: "1".into(),
        };
        let sid = SessionId::new();
        store
            .create_session(NewSession {
                id: sid,
                user_id: user,
                device: &device,
                ip: Some("192.0.2.1"),
                now,
                idle_expires_at: now.plus(Duration::from_secs(86_400)),
                expires_at: now.plus(Duration::from_secs(86_400)),
                refresh_hash: b"first",
            })
            .await
            .unwrap();
        let params = |presented: &'static [u8], successor: &'static [u8]| RefreshParams {
            presented_hash: presented,
            successor_hash: successor,
            successor_sealed: b"sealed",
            now: Millis::now(),
            grace: Duration::from_secs(30),
            idle_ttl: Duration::from_secs(3600),
            ip: Some("192.0.2.2"),
            retain: Duration::from_secs(300),
        };
        // A refresh right after sign-in is not worth an entry...
        assert!(matches!(
            store.refresh(params(b"first", b"second")).await.unwrap(),
            Refresh::Rotated { .. }
        ));
        // ...one after more than an hour of silence is.
        sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 7200000 WHERE id = $1")
            .bind(sid.to_string())
            .execute(&store.write)
            .await
            .unwrap();
        let r = store.refresh(params(b"second", b"third")).await.unwrap();
        assert!(
            matches!(r, Refresh::Rotated { session_id, user_id } if session_id == sid && user_id == user)
        );
        let kinds: Vec<String> = store
            .activity(user, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.kind)
            .collect();
        assert_eq!(kinds, ["refreshed", "signed_in"]);
        let entry = store.activity(user, 1).await.unwrap().remove(0);
        let snapshot: Device = serde_json::from_str(entry.device.as_deref().unwrap()).unwrap();
        assert_eq!(snapshot, device);
        assert_eq!(entry.ip.as_deref(), Some("192.0.2.2"));
        // The trigger touched the session too.
        let s = store
            .live_session(user, sid, Millis::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.last_ip.as_deref(), Some("192.0.2.2"));
        store.close().await;
    }

    #[tokio::test]
    async fn sqlite_rotation_trigger_samples_activity() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
        refresh_after_an_hour_is_sampled_into_the_activity(Store::connect(&url).await.unwrap())
            .await;
    }

    #[tokio::test]
    async fn postgres_rotation_trigger_samples_activity() {
        let url = testkit::PgCluster::shared().await.new_database().await;
        refresh_after_an_hour_is_sampled_into_the_activity(Store::connect(&url).await.unwrap())
            .await;
    }

    #[tokio::test]
    async fn sqlite_runs_in_wal_mode_with_normal_sync_on_every_connection() {
        let dir = std::env::temp_dir().join(format!("store-test-{}", uuid::Uuid::now_v7()));
        let url = format!("sqlite://{}?mode=rwc", dir.join("s.db").display());
        let store = Store::connect(&url).await.unwrap();
        for pool in [&store.write, &store.read] {
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            // 1 = NORMAL: with WAL, durable across a process crash without an fsync per commit.
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(sync, 1);
            let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(fk, 1);
        }
        store.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
