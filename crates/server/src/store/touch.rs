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
        let batch: Vec<Pending> = pending.drain().map(|(_, p)| p).collect();
        if let Err(e) = write(pool, backend, &batch).await {
            // The tokens are committed; only "last seen" is lost. Say so and go on.
            tracing::warn!(error = %e, sessions = batch.len(), "touching sessions after their refreshes failed");
        }
    }
    for done in waiting.drain(..) {
        let _ = done.send(());
    }
}

async fn write(pool: &AnyPool, backend: Backend, batch: &[Pending]) -> Result<()> {
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    };
    for p in batch {
        let row: Option<SessionRow> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1 AND revoked_at IS NULL"
        ))
        .bind(p.first.session_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { continue };
        let session = Session::try_from(row)?;
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
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1, last_ip = $2, \
             idle_expires_at = CASE WHEN $3 < expires_at THEN $3 ELSE expires_at END \
             WHERE id = $4 AND revoked_at IS NULL AND last_seen_at <= $1",
        )
        .bind(p.last.at.0)
        .bind(p.last.ip.as_deref())
        .bind(p.last.idle_until.0)
        .bind(p.last.session_id.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
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
