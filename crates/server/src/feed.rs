//! Following the feed: every instance applies new feed entries, in order, to its
//! in-memory denylist and hands device events to its hub. Local writes catch up before
//! answering (so a revocation bites on this instance before the call returns); entries
//! written elsewhere arrive by PostgreSQL NOTIFY, or by polling for SQLite (whose other
//! writer is the admin command), and a poll backs both up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use proto::UserId;
use proto::events::Event;
use token::Denylist;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::store::{Backend, FEED_CHANNEL, FeedEntry, FeedKind, Store, StoreError};
use crate::time::Millis;

/// One device-stream event with its feed id (the SSE `id:` a stream resumes from).
#[derive(Debug, Clone)]
pub struct StreamEvent {
    pub id: i64,
    pub event: Event,
}

/// Fan-out on one instance: device events to each account's event streams, and every
/// revocation to the resource servers' revocation streams.
#[derive(Debug)]
pub struct Hub {
    accounts: Mutex<HashMap<UserId, broadcast::Sender<Arc<StreamEvent>>>>,
    revocations: broadcast::Sender<Arc<FeedEntry>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            accounts: Mutex::default(),
            revocations: broadcast::channel(4096).0,
        }
    }
}

impl Hub {
    pub fn subscribe_revocations(&self) -> broadcast::Receiver<Arc<FeedEntry>> {
        self.revocations.subscribe()
    }

    pub fn subscribe(&self, user: UserId) -> broadcast::Receiver<Arc<StreamEvent>> {
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(user)
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }

    fn publish(&self, user: UserId, event: StreamEvent) {
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(&user) {
            if tx.receiver_count() == 0 {
                map.remove(&user);
            } else {
                let _ = tx.send(Arc::new(event));
            }
        }
    }
}

pub struct Feed {
    store: Store,
    denylist: Arc<RwLock<Denylist>>,
    hub: Arc<Hub>,
    /// The last feed id applied. The async mutex also serialises catch-ups, so entries
    /// are applied and published exactly once, in order.
    cursor: tokio::sync::Mutex<i64>,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").finish_non_exhaustive()
    }
}

const PAGE: i64 = 5_000;

impl Feed {
    /// Loads every entry still in the feed into the denylist (what survives a restart
    /// or a crash), then follows from the newest.
    pub async fn load(
        store: Store,
        denylist: Arc<RwLock<Denylist>>,
        hub: Arc<Hub>,
    ) -> Result<Arc<Self>, StoreError> {
        let feed = Arc::new(Self {
            store,
            denylist,
            hub,
            cursor: tokio::sync::Mutex::new(0),
        });
        let mut cursor = feed.cursor.lock().await;
        let now = Millis::now();
        loop {
            let page = feed.store.feed_after(*cursor, PAGE).await?;
            let Some(last) = page.last() else { break };
            *cursor = last.id;
            let mut deny = feed.denylist.write().unwrap_or_else(|p| p.into_inner());
            for entry in page.iter().filter(|e| e.expires_at > now) {
                apply(&mut deny, entry);
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        drop(cursor);
        Ok(feed)
    }

    /// Applies and publishes whatever the feed holds past our cursor.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let mut cursor = self.cursor.lock().await;
        loop {
            let page = self.store.feed_after(*cursor, PAGE).await?;
            let n = page.len();
            let Some(last) = page.last() else { break };
            *cursor = last.id;
            {
                let mut deny = self.denylist.write().unwrap_or_else(|p| p.into_inner());
                for entry in &page {
                    apply(&mut deny, entry);
                }
            }
            for entry in page {
                if entry.is_revocation() && self.hub.revocations.receiver_count() > 0 {
                    let _ = self.hub.revocations.send(Arc::new(entry.clone()));
                }
                if let Some(event) = entry.event {
                    self.hub.publish(
                        entry.user_id,
                        StreamEvent {
                            id: entry.id,
                            event,
                        },
                    );
                }
            }
            if n < PAGE as usize {
                break;
            }
        }
        Ok(())
    }

    pub async fn cursor(&self) -> i64 {
        *self.cursor.lock().await
    }

    /// Follows the feed until cancelled.
    pub async fn follow(self: Arc<Self>, shutdown: CancellationToken) {
        match self.store.backend() {
            Backend::Sqlite => self.poll(Duration::from_millis(200), shutdown).await,
            Backend::Postgres => self.listen(shutdown).await,
        }
    }

    async fn poll(&self, every: Duration, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, "reading the revocation feed failed; retrying");
            }
        }
    }

    async fn listen(&self, shutdown: CancellationToken) {
        use sqlx::postgres::PgListener;
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut listener = match PgListener::connect(self.store.url()).await {
                Ok(mut l) => match l.listen(FEED_CHANNEL).await {
                    Ok(()) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN failed; retrying");
                        if sleep_or_cancel(backoff, &shutdown).await {
                            return;
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cannot connect to listen for revocations; retrying");
                    if sleep_or_cancel(backoff, &shutdown).await {
                        return;
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            backoff = Duration::from_millis(100);
            // Whatever was written while we were not listening.
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, "catching up on the revocation feed failed");
            }
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    // A slow poll backs up the notifications.
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    n = listener.try_recv() => match n {
                        Ok(Some(_)) => {}
                        Ok(None) => tracing::info!("revocation listener reconnecting"),
                        Err(e) => {
                            tracing::warn!(error = %e, "revocation listener failed; reconnecting");
                            break;
                        }
                    },
                }
                if let Err(e) = self.catch_up().await {
                    tracing::warn!(error = %e, "reading the revocation feed failed; retrying");
                }
            }
        }
    }
}

async fn sleep_or_cancel(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

fn apply(deny: &mut Denylist, entry: &FeedEntry) {
    let until = entry.expires_at.secs();
    match &entry.kind {
        FeedKind::SessionRevoked(sid) => deny.revoke_session(sid, until),
        FeedKind::TokenRevoked(jti) => deny.revoke_token(jti, until),
        FeedKind::AccountNotBefore(nb) => deny.set_not_before(&entry.user_id, nb.0, until),
        FeedKind::Event => {}
    }
}
