//! Spending refresh tokens. A token is spent by one conditional UPDATE, so of any number
//! of concurrent attempts exactly one rotates; what a spent token presented again means
//! (a retry, or theft) is for the caller to decide from [`TokenFacts`].
//!
//! The UPDATE that spends a token fires the `refresh_token_rotated` trigger, which stores
//! the successor (migration 0006); the session's touch and the sampled activity follow,
//! batched (`touch.rs`). Spends are committed in groups, and each caller hears back only
//! after its group's commit:
//! - SQLite, whose single writer is the bottleneck: one task takes every spend waiting
//!   and runs them as one statement (one transaction, one command to the writer);
//! - PostgreSQL, where each commit waits for its WAL flush: a few tasks each take the
//!   spends waiting and run them as *one* multi-row UPDATE, so a thousand refreshes a
//!   second cost tens of commits, not a thousand.

use proto::{SessionId, UserId};
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::sessions::{Session, SessionLife, SessionRow};
use super::{Result, Store, StoreError, parse_id};
use crate::time::Millis;

/// One spend of a refresh token.
#[derive(Debug)]
pub struct Spend<'a> {
    pub presented_hash: &'a [u8],
    pub successor_hash: &'a [u8],
    /// The successor sealed with a key only the presented token can derive.
    pub successor_sealed: &'a [u8],
    pub now: Millis,
    /// The session's new idle end.
    pub idle_until: Millis,
    pub ip: Option<&'a str>,
    /// A `refreshed` activity entry is recorded if the session was last seen before this.
    pub sample_before: Millis,
}

/// A token that was live and is now spent.
#[derive(Debug, Clone, Copy)]
pub struct Spent {
    pub session_id: SessionId,
    pub user_id: UserId,
}

/// Everything known about a refresh token, unchanged by looking.
#[derive(Debug, Clone)]
pub struct TokenFacts {
    pub session: Session,
    pub life: SessionLife,
    pub issued_at: Millis,
    /// When it was spent, from which address, and whether its successor has been spent since.
    pub spent_at: Option<Millis>,
    pub spent_ip: Option<String>,
    pub successor_spent_at: Option<Millis>,
    /// The successor, sealed under a key derived from this token (gone once the session ends).
    pub successor_sealed: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct FactsRow {
    issued_at: i64,
    spent_at: Option<i64>,
    spent_ip: Option<String>,
    successor_sealed: Option<Vec<u8>>,
    successor_spent_at: Option<i64>,
    revoked_at: Option<i64>,
    expires_at: i64,
    idle_expires_at: i64,
    #[sqlx(flatten)]
    session: SessionRow,
}

const FACTS: &str = "SELECT t.issued_at, t.spent_at, t.spent_ip, t.successor_sealed, \
     n.spent_at AS successor_spent_at, s.revoked_at, s.expires_at, s.idle_expires_at, \
     s.id, s.user_id, s.device_name, s.platform, s.os_version, s.app_version, s.created_at, s.last_seen_at, s.last_ip \
     FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
     LEFT JOIN refresh_tokens n ON n.hash = t.successor_hash \
     WHERE t.hash = $1";

impl Store {
    /// Spends a live token of a live session, storing its successor. `None` if the token
    /// is unknown, already spent, or its session has ended.
    pub async fn spend_refresh_token(&self, s: Spend<'_>) -> Result<Option<Spent>> {
        let job = SpendJob::from(&s);
        let spent = match &self.spender {
            Some(queue) => {
                let (reply, answer) = oneshot::channel();
                queue
                    .send((job, reply))
                    .await
                    .map_err(|_| StoreError::SpenderStopped)?;
                answer.await.map_err(|_| StoreError::SpenderStopped)??
            }
            None => job.run(&self.write).await?,
        };
        let Some((sid, user)) = spent else {
            return Ok(None);
        };
        let spent = Spent {
            session_id: parse_id(&sid)?,
            user_id: parse_id(&user)?,
        };
        self.touch_later(super::touch::Touch {
            session_id: spent.session_id,
            user_id: spent.user_id,
            at: s.now,
            ip: s.ip.map(str::to_owned),
            idle_until: s.idle_until,
            sample_before: s.sample_before,
        })
        .await;
        Ok(Some(spent))
    }

    /// What is known about a refresh token (by its hash), if it is one of ours.
    pub async fn refresh_token_facts(&self, hash: &[u8]) -> Result<Option<TokenFacts>> {
        let row: Option<FactsRow> = sqlx::query_as(FACTS)
            .bind(hash)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok(TokenFacts {
                session: Session::try_from(r.session)?,
                life: SessionLife {
                    revoked_at: r.revoked_at.map(Millis),
                    expires_at: Millis(r.expires_at),
                    idle_expires_at: Millis(r.idle_expires_at),
                },
                issued_at: Millis(r.issued_at),
                spent_at: r.spent_at.map(Millis),
                spent_ip: r.spent_ip,
                successor_spent_at: r.successor_spent_at.map(Millis),
                successor_sealed: r.successor_sealed,
            })
        })
        .transpose()
    }
}

// ----- the spend statement and SQLite's group-commit spender -------------------------

/// One spend, owned so it can wait in the spender's queue.
#[derive(Debug)]
pub(super) struct SpendJob {
    now: i64,
    successor_hash: Vec<u8>,
    successor_sealed: Vec<u8>,
    presented_hash: Vec<u8>,
    ip: Option<String>,
}

type SpendReply = oneshot::Sender<Result<Option<(String, String)>>>;
pub(super) type SpenderQueue = mpsc::Sender<(SpendJob, SpendReply)>;

/// How many spends may wait for the spender before callers wait to queue.
const SPEND_QUEUE: usize = 1024;
/// Most spends one batch commits.
const MAX_SPEND_BATCH: usize = 128;
/// PostgreSQL: batches in flight at once (each on its own connection), so one batch's
/// round trip and commit overlap the next.
const PG_SPENDERS: usize = 4;

impl From<&Spend<'_>> for SpendJob {
    fn from(s: &Spend<'_>) -> Self {
        SpendJob {
            now: s.now.0,
            successor_hash: s.successor_hash.to_vec(),
            successor_sealed: s.successor_sealed.to_vec(),
            presented_hash: s.presented_hash.to_vec(),
            ip: s.ip.map(str::to_owned),
        }
    }
}

impl SpendJob {
    /// The one statement of a rotation (the trigger does the rest). Returns (session id,
    /// user id) if the token was live and is now spent.
    async fn run<'e, E>(&self, exec: E) -> Result<Option<(String, String)>, sqlx::Error>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        sqlx::query_as(
            "UPDATE refresh_tokens SET spent_at = $1, successor_hash = $2, successor_sealed = $3, \
             spent_ip = $5 \
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
        .fetch_optional(exec)
        .await
    }
}

pub(super) fn start_spender(
    pool: AnyPool,
    closing: CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> SpenderQueue {
    let (queue, jobs) = mpsc::channel(SPEND_QUEUE);
    tasks.spawn(batch_spender(pool, jobs, closing));
    queue
}

/// PostgreSQL's spenders: `PG_SPENDERS` tasks sharing one queue.
pub(super) fn start_pg_spenders(
    pool: AnyPool,
    closing: CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> SpenderQueue {
    let (queue, jobs) = mpsc::channel(SPEND_QUEUE);
    let jobs = std::sync::Arc::new(tokio::sync::Mutex::new(jobs));
    for _ in 0..PG_SPENDERS {
        tasks.spawn(pg_spender(pool.clone(), jobs.clone(), closing.clone()));
    }
    queue
}

/// Takes the spends waiting (at least one; `None` once closed and drained).
async fn next_batch(
    jobs: &mut mpsc::Receiver<(SpendJob, SpendReply)>,
    closing: &CancellationToken,
) -> Option<Vec<(SpendJob, SpendReply)>> {
    let first = tokio::select! {
        job = jobs.recv() => job,
        // Closing: refuse new spends, finish those already queued.
        () = closing.cancelled() => { jobs.close(); jobs.recv().await }
    }?;
    let mut batch = vec![first];
    while batch.len() < MAX_SPEND_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

async fn pg_spender(
    pool: AnyPool,
    jobs: std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<(SpendJob, SpendReply)>>>,
    closing: CancellationToken,
) {
    loop {
        let batch = {
            let mut jobs = jobs.lock().await;
            next_batch(&mut jobs, &closing).await
        };
        let Some(batch) = batch else { return };
        let outcome = spend_pg_batch(&pool, &batch).await;
        answer(&pool, batch, outcome).await;
    }
}

/// Tells each caller of a batch its result. Whatever failed, failed for the whole
/// statement or transaction: each spend then runs on its own, so one bad spend cannot
/// fail the others.
async fn answer(
    pool: &AnyPool,
    batch: Vec<(SpendJob, SpendReply)>,
    outcome: Result<Vec<Option<(String, String)>>, sqlx::Error>,
) {
    match outcome {
        Ok(results) => {
            for ((_, reply), result) in batch.into_iter().zip(results) {
                let _ = reply.send(Ok(result));
            }
        }
        Err(_) => {
            for (job, reply) in batch {
                let _ = reply.send(job.run(pool).await.map_err(StoreError::from));
            }
        }
    }
}

/// The index of the first occurrence of each token in a batch: the same token twice in
/// a batch (racing requests) is spent once, by its first occurrence; the others find it
/// spent afterwards, as if they had come a moment later.
fn first_occurrences(batch: &[(SpendJob, SpendReply)]) -> Vec<usize> {
    let mut seen = std::collections::HashSet::new();
    batch
        .iter()
        .enumerate()
        .filter(|(_, (job, _))| seen.insert(job.presented_hash.as_slice()))
        .map(|(i, _)| i)
        .collect()
}

/// `VALUES` rows for `rows` spends: `row(first)` writes one row's six placeholders
/// (now, successor hash, sealed successor, presented hash, address, batch index),
/// numbered from `first`.
fn values_rows(rows: usize, row: impl Fn(usize) -> String) -> String {
    (0..rows)
        .map(|n| row(n * 6 + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds the spends `rows` (indices into `batch`) in the order `values_rows` numbers them.
fn bind_rows<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    batch: &'q [(SpendJob, SpendReply)],
    rows: &[usize],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for &i in rows {
        let job = &batch[i].0;
        query = query
            .bind(job.now)
            .bind(job.successor_hash.as_slice())
            .bind(job.successor_sealed.as_slice())
            .bind(job.presented_hash.as_slice())
            .bind(job.ip.as_deref())
            .bind(i as i64);
    }
    query
}

/// Puts each spent row (batch index, session id, user id) at its place in the batch.
fn by_index(spent: Vec<(i64, String, String)>, len: usize) -> Vec<Option<(String, String)>> {
    let mut out = vec![None; len];
    for (idx, sid, user) in spent {
        if let Some(slot) = usize::try_from(idx).ok().and_then(|i| out.get_mut(i)) {
            *slot = Some((sid, user));
        }
    }
    out
}

/// One multi-row UPDATE for a whole batch (autocommit: one commit).
async fn spend_pg_batch(
    pool: &AnyPool,
    batch: &[(SpendJob, SpendReply)],
) -> Result<Vec<Option<(String, String)>>, sqlx::Error> {
    let rows = first_occurrences(batch);
    let values = values_rows(rows.len(), |b| {
        format!(
            "(${}::bigint, ${}::bytea, ${}::bytea, ${}::bytea, ${}::text, ${}::bigint)",
            b,
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        )
    });
    let sql = format!(
        "UPDATE refresh_tokens AS t SET spent_at = v.now, successor_hash = v.successor_hash, \
         successor_sealed = v.sealed, spent_ip = v.ip \
         FROM (VALUES {values}) AS v(now, successor_hash, sealed, presented, ip, idx) \
         WHERE t.hash = v.presented AND t.spent_at IS NULL AND EXISTS (SELECT 1 FROM sessions s \
           WHERE s.id = t.session_id AND s.revoked_at IS NULL \
           AND s.expires_at > v.now AND s.idle_expires_at > v.now) \
         RETURNING v.idx, t.session_id, (SELECT s.user_id FROM sessions s WHERE s.id = t.session_id)"
    );
    let query = bind_rows(sqlx::query_as(&sql), batch, &rows);
    Ok(by_index(query.fetch_all(pool).await?, batch.len()))
}

/// SQLite has one writer. Under load, handing its connection from request to request
/// costs more than the statements themselves, so one task takes every spend waiting and
/// commits them in one statement. Each caller hears back only after that commit.
async fn batch_spender(
    pool: AnyPool,
    mut jobs: mpsc::Receiver<(SpendJob, SpendReply)>,
    closing: CancellationToken,
) {
    while let Some(batch) = next_batch(&mut jobs, &closing).await {
        let outcome = spend_batch(&pool, &batch).await;
        answer(&pool, batch, outcome).await;
    }
}

/// A whole batch as one statement, so the writer connection is handed one command a
/// batch instead of one per spend plus BEGIN and COMMIT (each a round trip to sqlx's
/// SQLite thread). Not `UPDATE … FROM (VALUES …)` as on PostgreSQL: SQLite plans that
/// join as a scan of `refresh_tokens`; `hash IN (SELECT presented FROM v)` is a lookup
/// by the primary key per spend, and the per-row values come from `v` by the same key.
/// One statement is one transaction (autocommit).
async fn spend_batch(
    pool: &AnyPool,
    batch: &[(SpendJob, SpendReply)],
) -> Result<Vec<Option<(String, String)>>, sqlx::Error> {
    if let [(job, _)] = batch {
        return Ok(vec![job.run(pool).await?]);
    }
    let rows = first_occurrences(batch);
    let values = values_rows(rows.len(), |b| {
        format!(
            "(${}, ${}, ${}, ${}, ${}, ${})",
            b,
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        )
    });
    let of_this_row = "FROM v WHERE v.presented = refresh_tokens.hash";
    let sql = format!(
        "WITH v(now, successor_hash, sealed, presented, ip, idx) AS (VALUES {values}) \
         UPDATE refresh_tokens SET spent_at = (SELECT now {of_this_row}), \
           successor_hash = (SELECT successor_hash {of_this_row}), \
           successor_sealed = (SELECT sealed {of_this_row}), \
           spent_ip = (SELECT ip {of_this_row}) \
         WHERE hash IN (SELECT presented FROM v) AND spent_at IS NULL \
           AND EXISTS (SELECT 1 FROM sessions s, v WHERE v.presented = refresh_tokens.hash \
             AND s.id = refresh_tokens.session_id AND s.revoked_at IS NULL \
             AND s.expires_at > v.now AND s.idle_expires_at > v.now) \
         RETURNING (SELECT idx {of_this_row}), session_id, \
           (SELECT s.user_id FROM sessions s WHERE s.id = refresh_tokens.session_id)"
    );
    let query = bind_rows(sqlx::query_as(&sql), batch, &rows);
    Ok(by_index(query.fetch_all(pool).await?, batch.len()))
}

#[cfg(test)]
impl Store {
    /// Spends `spends` as one batch of this backend's spender, past its queue, so a test
    /// knows they were committed together (the queue batches only what is waiting).
    pub(super) async fn spend_as_one_batch(
        &self,
        spends: &[Spend<'_>],
    ) -> Result<Vec<Option<Spent>>> {
        let batch: Vec<(SpendJob, SpendReply)> = spends
            .iter()
            .map(|s| (SpendJob::from(s), oneshot::channel().0))
            .collect();
        let spent = match self.backend {
            super::Backend::Sqlite => spend_batch(&self.write, &batch).await?,
            super::Backend::Postgres => spend_pg_batch(&self.write, &batch).await?,
        };
        spent
            .into_iter()
            .map(|s| {
                s.map(|(sid, user)| {
                    Ok(Spent {
                        session_id: parse_id(&sid)?,
                        user_id: parse_id(&user)?,
                    })
                })
                .transpose()
            })
            .collect()
    }
}
