//! Touching sessions after their refreshes, in batches. A refresh's spend commits only
//! the token and its successor; the session's "last seen" (time, address), its idle end
//! and the sampled `refreshed` activity entry follow within `FLUSH_EVERY`, coalesced per
//! session: on SQLite, whose single writer is the bound, a busy session costs one update
//! per flush instead of one per refresh.
//!
//! What this gives up: a crash within `FLUSH_EVERY` of a refresh forgets that refresh's
//! touch — the session's last-seen stays at the refresh before (its idle end too, a
//! month away), never anything about the token itself, which is committed. Reads that
//! show sessions or activity flush first (`Store::flush_touches`), so an answer never
//! lags the refreshes before it.

use std::collections::HashMap;
use std::time::Duration;

use proto::activity::ActivityKind;
use proto::{SessionId, UserId};
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::activity::{self, ActivityRecord};
use super::sessions::{SESSION_COLUMNS, Session, SessionRow};
use super::{Backend, Result, Store};
use crate::time::Millis;

/// How long a touch may wait before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A flush comes earlier once this many sessions wait.
const FLUSH_AT: usize = 512;
const QUEUE: usize = 8192;

/// One refresh's touch of its session.
#[derive(Debug, Clone)]
pub struct Touch {
    pub session_id: SessionId,
    pub user_id: UserId,
    pub at: Millis,
    pub ip: Option<String>,
    pub idle_until: Millis,
    /// A `refreshed` activity entry is recorded if the session was last seen before this.
    pub sample_before: Millis,
}

pub(super) enum Request {
    Touch(Touch),
    /// Write what waits, then answer.
    Flush(oneshot::Sender<()>),
}

pub(super) type ToucherQueue = mpsc::Sender<Request>;

/// Per session: the earliest touch (whose moment and address a sampled activity entry
/// gets) and the latest (what the session shows).
#[derive(Clone)]
struct Pending {
    first: Touch,
    last: Touch,
}

pub(super) fn start(
    pool: AnyPool,
    backend: Backend,
    closing: CancellationToken,
    tasks: &mut tokio::task::JoinSet<()>,
) -> ToucherQueue {
    let (queue, requests) = mpsc::channel(QUEUE);
    tasks.spawn(toucher(pool, backend, requests, closing));
    queue
}

async fn toucher(
    pool: AnyPool,
    backend: Backend,
    mut requests: mpsc::Receiver<Request>,
    closing: CancellationToken,
) {
    let mut pending: HashMap<SessionId, Pending> = HashMap::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = tokio::select! {
            r = requests.recv() => r,
            _ = tick.tick() => None,
            () = closing.cancelled() => {
                // Closing: take what is queued, write it, stop.
                requests.close();
                while let Some(r) = requests.recv().await {
                    take(&mut pending, &mut waiting, r);
                }
                flush(&pool, backend, &mut pending, &mut waiting).await;
                return;
            }
        };
        match next {
            Some(r) => {
                let urgent = matches!(r, Request::Flush(_));
                take(&mut pending, &mut waiting, r);
                // Drain what else is queued without waiting.
                while let Ok(r) = requests.try_recv() {
                    take(&mut pending, &mut waiting, r);
                }
                if urgent || pending.len() >= FLUSH_AT {
                    flush(&pool, backend, &mut pending, &mut waiting).await;
                }
            }
            None => flush(&pool, backend, &mut pending, &mut waiting).await,
        }
    }
}

fn take(
    pending: &mut HashMap<SessionId, Pending>,
    waiting: &mut Vec<oneshot::Sender<()>>,
    r: Request,
) {
    match r {
        Request::Touch(t) => {
            pending
                .entry(t.session_id)
                .and_modify(|p| {
                    if t.at >= p.last.at {
                        p.last = t.clone();
                    }
                })
                .or_insert_with(|| Pending {
                    first: t.clone(),
                    last: t,
                });
        }
        Request::Flush(done) => waiting.push(done),
    }
}

async fn flush(
    pool: &AnyPool,
    backend: Backend,
    pending: &mut HashMap<SessionId, Pending>,
    waiting: &mut Vec<oneshot::Sender<()>>,
) {
    if !pending.is_empty() {
        let mut batch: Vec<Pending> = pending.drain().map(|(_, p)| p).collect();
        let mut tries = 0;
        loop {
            match write(pool, backend, &batch).await {
                Ok(held) if held.is_empty() => break,
                // Sessions whose rows another transaction holds (a revocation, a
                // rename) were passed over; they are tried again in a transaction of
                // their own once it has committed, and past that wait for the next flush.
                Ok(held) if tries < RETRIES => {
                    tries += 1;
                    batch = held;
                    tokio::time::sleep(RETRY_AFTER).await;
                }
                Ok(held) => {
                    for p in held {
                        pending
                            .entry(p.first.session_id)
                            .and_modify(|later| later.first = p.first.clone())
                            .or_insert(p);
                    }
                    break;
                }
                Err(e) => {
                    // The tokens are committed; only "last seen" is lost. Say so and go on.
                    tracing::warn!(error = %e, sessions = batch.len(), "touching sessions after their refreshes failed");
                    break;
                }
            }
        }
    }
    for done in waiting.drain(..) {
        let _ = done.send(());
    }
}

/// Sessions read or updated per statement (each row binds at most four values, well
/// within both databases' limits on bound parameters).
const ROWS_PER_STATEMENT: usize = 256;

/// How often sessions whose rows another transaction held are tried again within one
/// flush, and how long apart: a revocation or a rename holds its rows for milliseconds.
const RETRIES: usize = 20;
const RETRY_AFTER: Duration = Duration::from_millis(5);

/// Writes a batch in one transaction with a few statements, whatever its size: the
/// touched sessions are read in one query (for the sampling decision and the device
/// snapshot), the sampled activity entries inserted (one an hour per session at most),
/// and every session updated by one multi-row UPDATE. Statement by statement, 300
/// sessions cost 600 round trips, and a device list waiting on the flush waited for them.
///
/// On PostgreSQL the read locks the rows it will update and passes over those another
/// transaction holds (`SKIP LOCKED`), which are returned to be tried again: the toucher
/// never waits for a row, so it can never be one side of a deadlock. Waiting, it was:
/// a revocation locks its sessions one by one while the toucher held some of them and
/// waited for another, and PostgreSQL broke the cycle only after its one-second
/// `deadlock_timeout`, with every feed writer queued behind the revocation meanwhile.
async fn write(pool: &AnyPool, backend: Backend, batch: &[Pending]) -> Result<Vec<Pending>> {
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    };
    let mut held = Vec::new();
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        let ids = (1..=chunk.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        // The lock an UPDATE takes, so foreign-key checks of others still pass.
        let lock = match backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR NO KEY UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE revoked_at IS NULL AND id IN ({ids}){lock}"
        );
        let mut select = sqlx::query_as::<_, SessionRow>(&sql);
        for p in chunk {
            select = select.bind(p.first.session_id.to_string());
        }
        let live: HashMap<SessionId, Session> = select
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|row| Session::try_from(row).map(|s| (s.id, s)))
            .collect::<Result<_>>()?;
        if backend == Backend::Postgres && live.len() < chunk.len() {
            held.extend(passed_over(&mut tx, chunk, &live).await?);
        }
        let mut touched = Vec::with_capacity(chunk.len());
        for p in chunk {
            let Some(session) = live.get(&p.first.session_id) else {
                continue;
            };
            if session.last_seen_at <= p.first.sample_before {
                activity::insert(
                    &mut tx,
                    ActivityRecord {
                        user_id: p.first.user_id,
                        at: p.first.at,
                        kind: ActivityKind::Refreshed,
                        session_id: Some(session.id),
                        device: Some(&session.device),
                        ip: p.first.ip.as_deref(),
                        by_session_id: None,
                        reason: None,
                    },
                )
                .await?;
            }
            touched.push(&p.last);
        }
        if touched.is_empty() {
            continue;
        }
        // A VALUES list's columns are column1, column2, … on both databases;
        // PostgreSQL wants the bound parameters' types.
        let values = (0..touched.len())
            .map(|n| {
                let b = n * 4;
                match backend {
                    Backend::Sqlite => format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4),
                    Backend::Postgres => format!(
                        "(${}::text, ${}::bigint, ${}::text, ${}::bigint)",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4
                    ),
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE sessions SET last_seen_at = v.column2, last_ip = v.column3, \
             idle_expires_at = CASE WHEN v.column4 < sessions.expires_at THEN v.column4 ELSE sessions.expires_at END \
             FROM (VALUES {values}) AS v \
             WHERE sessions.id = v.column1 AND sessions.revoked_at IS NULL AND sessions.last_seen_at <= v.column2"
        );
        let mut update = sqlx::query(&sql);
        for t in touched {
            update = update
                .bind(t.session_id.to_string())
                .bind(t.at.0)
                .bind(t.ip.as_deref())
                .bind(t.idle_until.0);
        }
        update.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(held)
}

/// Of the sessions the locking read did not return, those still live: passed over
/// because another transaction holds their rows (the others were revoked or are gone,
/// and need no touch). A plain read does not wait for row locks.
async fn passed_over(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    chunk: &[Pending],
    returned: &HashMap<SessionId, Session>,
) -> Result<Vec<Pending>> {
    let missing: Vec<&Pending> = chunk
        .iter()
        .filter(|p| !returned.contains_key(&p.first.session_id))
        .collect();
    let ids = (1..=missing.len())
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT id FROM sessions WHERE revoked_at IS NULL AND id IN ({ids})");
    let mut select = sqlx::query_scalar::<_, String>(&sql);
    for p in &missing {
        select = select.bind(p.first.session_id.to_string());
    }
    let live: std::collections::HashSet<String> =
        select.fetch_all(&mut **tx).await?.into_iter().collect();
    Ok(missing
        .into_iter()
        .filter(|p| live.contains(&p.first.session_id.to_string()))
        .cloned()
        .collect())
}

impl Store {
    /// Queues a refresh's touch of its session.
    pub(super) async fn touch_later(&self, t: Touch) {
        if self.toucher.send(Request::Touch(t)).await.is_err() {
            tracing::debug!("the session toucher has stopped (closing)");
        }
    }

    /// Writes every touch queued so far; returns once they are committed.
    pub async fn flush_touches(&self) {
        let (done, written) = oneshot::channel();
        if self.toucher.send(Request::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}
