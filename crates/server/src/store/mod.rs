//! Storage: the only module that speaks SQL. It stores and returns facts; what they mean
//! (is this a retry or theft, how long is an entry kept, what does an alert say) is
//! decided by [`crate::app::App`].
//!
//! One code path serves SQLite and PostgreSQL through sqlx's `Any` driver: ids are
//! stored as text, times as integer milliseconds, hashes as bytes, so every statement is
//! portable. Invariants kept here:
//! - a revocation (session row marked, feed entry, activity) commits in one transaction,
//!   before the caller answers;
//! - feed entries become visible in id order (SQLite: one writer; PostgreSQL: feed
//!   writers serialise on an advisory lock), so a follower's cursor never skips one;
//! - refresh tokens exist here only as SHA-256 hashes.
//!
//! By job: [`accounts`], [`sessions`] (and revocation), [`refresh`] (spending refresh
//! tokens, with SQLite's group-commit spender), [`feed`] (the feed and its listener),
//! [`keys`] (signing keys), [`activity`].

mod accounts;
mod activity;
mod feed;
mod keys;
mod refresh;
mod sessions;
mod touch;
mod two_step;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Executor as _};
use tokio_util::sync::CancellationToken;

pub use accounts::Account;
pub use activity::{ActivityRecord, ActivityRow};
pub use feed::{FeedEntry, FeedKind, FeedPage, FeedSignals, Wake};
pub use keys::StoredKey;
pub use refresh::{Spend, Spent, TokenFacts};
pub use sessions::{
    AccountChange, Actor, NewSession, Revocation, Revoke, Session, SessionLife, SessionStatus,
    SignedOutFacts, Which, WipeOutcome,
};
pub use touch::Touch;
pub use two_step::{Challenge, NewChallenge};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

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
    #[error("the refresh-token spender has stopped")]
    SpenderStopped,
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Whether the database could not be reached or answered in time (it is down,
    /// restarting, out of connections, or a statement hit its timeout): a condition that
    /// passes by itself, answered 503 with `Retry-After`, not the server's bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(e) => is_unavailable(e),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => is_unavailable(e),
            _ => false,
        }
    }
}

fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // PostgreSQL's SQLSTATEs: class 08 (connection exception), the server shutting
            // down or starting up (57P01-57P03), too many connections (53300), a statement
            // cancelled by its timeout (57014), a lock not obtained in time (55P03).
            code.starts_with("08")
                || matches!(
                    &*code,
                    "57P01" | "57P02" | "57P03" | "53300" | "57014" | "55P03"
                )
        }),
        _ => false,
    }
}

/// How long a request waits for a PostgreSQL connection (including connecting) before
/// giving up with 503: while the database is unreachable every request that needs it is
/// answered within this, instead of hanging.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// PostgreSQL cancels a statement that runs longer than this (a lock pile-up, a database
/// that stalls): the request is answered 503 rather than held.
const STATEMENT_TIMEOUT_MS: u32 = 5_000;

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
    /// The queue of the tasks that spend refresh tokens in batches (group commit).
    spender: Option<refresh::SpenderQueue>,
    /// The queue of the task that touches sessions after their refreshes.
    toucher: touch::ToucherQueue,
    /// Ends the store's own tasks (the spender) on [`Store::close`].
    closing: CancellationToken,
    tasks: std::sync::Arc<tokio::sync::Mutex<tokio::task::JoinSet<()>>>,
}

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
        let closing = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
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
                let spender = refresh::start_spender(write.clone(), closing.clone(), &mut tasks);
                let toucher = touch::start(write.clone(), backend, closing.clone(), &mut tasks);
                Store {
                    toucher,
                    backend,
                    write,
                    read,
                    url: url.to_owned(),
                    spender: Some(spender),
                    closing,
                    tasks: std::sync::Arc::new(tokio::sync::Mutex::new(tasks)),
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                format!("SET statement_timeout = {STATEMENT_TIMEOUT_MS}").as_str(),
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                let spender = refresh::start_pg_spenders(pool.clone(), closing.clone(), &mut tasks);
                let toucher = touch::start(pool.clone(), backend, closing.clone(), &mut tasks);
                Store {
                    toucher,
                    backend,
                    write: pool.clone(),
                    read: pool,
                    url: url.to_owned(),
                    spender: Some(spender),
                    closing,
                    tasks: std::sync::Arc::new(tokio::sync::Mutex::new(tasks)),
                }
            }
        };
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Stops the store's own tasks (after they finish what they hold) and closes the pools.
    pub async fn close(&self) {
        self.closing.cancel();
        let mut tasks = self.tasks.lock().await;
        while let Some(ended) = tasks.join_next().await {
            if let Err(e) = ended
                && e.is_panic()
            {
                tracing::error!(error = %e, "a store task panicked");
            }
        }
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

    /// A write transaction that will add to the feed: on PostgreSQL it first takes the
    /// advisory lock that orders feed writers, so feed ids commit in order.
    async fn begin_feed_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(feed::FEED_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Commits a transaction that added to the feed, waking the other instances once
    /// it is committed (PostgreSQL NOTIFY; SQLite followers poll, a single file has a
    /// single host).
    async fn commit_feed_write(&self, mut tx: sqlx::Transaction<'static, sqlx::Any>) -> Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(feed::FEED_CHANNEL)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
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

fn parse_id<T: FromStr>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Corrupt("an id is not a UUID"))
}

#[cfg(test)]
mod tests;
