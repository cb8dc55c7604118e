//! Following the feed: every instance applies new feed entries, in order, to its
//! in-memory denylist and hands device events to its hub. Local writes catch up before
//! answering (so a revocation bites on this instance before the call returns); entries
//! written elsewhere arrive when the store's [`FeedSignals`] say so (PostgreSQL NOTIFY,
//! or polling for SQLite, whose other writer is the admin command), and a slow poll
//! backs both up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use proto::UserId;
use proto::events::Event;
use token::Denylist;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::keys::Keys;
use crate::store::{Backend, FeedEntry, FeedKind, FeedSignals, Store, StoreError};
use crate::time::Millis;

/// SQLite's followers poll this often (the admin command, the only other writer,
/// cannot notify them).
pub const SQLITE_POLL: Duration = Duration::from_millis(200);
/// PostgreSQL's followers also poll this often, in case a notification is lost.
pub const POSTGRES_POLL: Duration = Duration::from_secs(2);
/// Feed rows read per query.
const PAGE: i64 = 5_000;
/// Events a slow device stream may fall behind before it is closed (it resumes with
/// `Last-Event-ID`).
const DEVICE_CHANNEL: usize = 32;
/// Revocations a slow resource-server stream may fall behind before it is closed.
const REVOCATION_CHANNEL: usize = 4096;

/// One device-stream event with its feed id (the SSE `id:` a stream resumes from).
#[derive(Debug, Clone)]
pub struct StreamEvent {
    pub id: i64,
    pub event: Event,
}

/// What an account's open streams are told.
// Always shared behind an `Arc`: the size of the small variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Signal {
    /// An event to send.
    Event(StreamEvent),
    /// A token of the account was revoked, or its sign-out-everywhere instant moved:
    /// each stream checks that its own token still stands.
    Recheck,
    /// Every stream must end and reconnect (a signing key was removed: tokens it signed
    /// no longer verify, and streams do not keep their tokens to check).
    Reconnect,
}

/// Fan-out on one instance: device events to each account's event streams, and every
/// revocation to the resource servers' revocation streams.
#[derive(Debug)]
pub struct Hub {
    accounts: Mutex<HashMap<UserId, broadcast::Sender<Arc<Signal>>>>,
    revocations: broadcast::Sender<Arc<FeedEntry>>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            accounts: Mutex::default(),
            revocations: broadcast::channel(REVOCATION_CHANNEL).0,
        }
    }
}

impl Hub {
    pub fn subscribe_revocations(&self) -> broadcast::Receiver<Arc<FeedEntry>> {
        self.revocations.subscribe()
    }

    pub fn subscribe(&self, user: UserId) -> broadcast::Receiver<Arc<Signal>> {
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(user)
            .or_insert_with(|| broadcast::channel(DEVICE_CHANNEL).0)
            .subscribe()
    }

    fn publish(&self, user: UserId, signal: Signal) {
        let mut map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(&user) {
            if tx.receiver_count() == 0 {
                map.remove(&user);
            } else {
                let _ = tx.send(Arc::new(signal));
            }
        }
    }

    fn reconnect_all(&self) {
        let map = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        let signal = Arc::new(Signal::Reconnect);
        for tx in map.values() {
            let _ = tx.send(signal.clone());
        }
    }
}

pub struct Feed {
    store: Store,
    /// Reloaded at once when a key is removed as compromised.
    keys: Keys,
    denylist: Arc<RwLock<Denylist>>,
    hub: Arc<Hub>,
    /// The last feed id applied. The async mutex also serialises catch-ups, so entries
    /// are applied and published exactly once, in order.
    cursor: tokio::sync::Mutex<i64>,
    /// When a catch-up last succeeded, and whether notifications are arriving: what
    /// "this instance is current" means for the revocation stream's heartbeat.
    caught_up_at: Mutex<Option<Instant>>,
    link_up: AtomicBool,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed").finish_non_exhaustive()
    }
}

impl Feed {
    /// Loads every entry still in the feed into the denylist (what survives a restart
    /// or a crash), then follows from the newest.
    pub async fn load(
        store: Store,
        keys: Keys,
        denylist: Arc<RwLock<Denylist>>,
        hub: Arc<Hub>,
    ) -> Result<Arc<Self>, StoreError> {
        let feed = Arc::new(Self {
            store,
            keys,
            denylist,
            hub,
            cursor: tokio::sync::Mutex::new(0),
            caught_up_at: Mutex::new(None),
            link_up: AtomicBool::new(true),
        });
        let mut cursor = feed.cursor.lock().await;
        let now = Millis::now();
        loop {
            let page = feed.store.feed_after(*cursor, PAGE).await?;
            let Some(last) = page.last_id else { break };
            *cursor = last;
            let mut deny = feed.denylist.write().unwrap_or_else(|p| p.into_inner());
            for entry in page.entries.iter().filter(|e| e.expires_at > now) {
                if let Some(revocation) = entry.to_revocation() {
                    deny.apply(&revocation);
                }
            }
            if !page.full {
                break;
            }
        }
        drop(cursor);
        feed.mark_caught_up();
        Ok(feed)
    }

    /// Applies and publishes whatever the feed holds past our cursor.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let mut cursor = self.cursor.lock().await;
        let mut applied = 0;
        loop {
            let page = self.store.feed_after(*cursor, PAGE).await?;
            let Some(last) = page.last_id else { break };
            applied += page.entries.len();
            *cursor = last;
            {
                let mut deny = self.denylist.write().unwrap_or_else(|p| p.into_inner());
                for revocation in page.entries.iter().filter_map(FeedEntry::to_revocation) {
                    deny.apply(&revocation);
                }
            }
            if page
                .entries
                .iter()
                .any(|e| matches!(e.kind, FeedKind::KeyRemoved(_)))
            {
                // A compromised key: stop signing and verifying with it now, not at the
                // next periodic reload.
                if let Err(e) = self.keys.reload(&self.store).await {
                    tracing::error!(error = %e, "reloading keys after a key removal failed");
                }
            }
            for entry in page.entries {
                if entry.is_revocation() && self.hub.revocations.receiver_count() > 0 {
                    let _ = self.hub.revocations.send(Arc::new(entry.clone()));
                }
                match (&entry.kind, entry.event) {
                    (_, Some(event)) => self.hub.publish(
                        entry.user_id,
                        Signal::Event(StreamEvent {
                            id: entry.id,
                            event,
                        }),
                    ),
                    (FeedKind::TokenRevoked(_) | FeedKind::AccountNotBefore(_), None) => {
                        self.hub.publish(entry.user_id, Signal::Recheck)
                    }
                    (FeedKind::KeyRemoved(_), None) => self.hub.reconnect_all(),
                    _ => {}
                }
            }
            if !page.full {
                break;
            }
        }
        drop(cursor);
        self.mark_caught_up();
        crate::metrics::feed_caught_up(applied);
        Ok(())
    }

    fn mark_caught_up(&self) {
        *self.caught_up_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }

    /// Whether this instance has everything committed to the feed up to about
    /// `within` ago: the last catch-up succeeded that recently and notifications from
    /// other instances are arriving.
    pub fn is_current(&self, within: Duration) -> bool {
        let recent = self
            .caught_up_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at.elapsed() <= within);
        recent && self.link_up.load(Ordering::Acquire)
    }

    /// Publishes the follower's state to the metrics.
    pub fn report_state(&self) {
        let since = self
            .caught_up_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|at| at.elapsed());
        crate::metrics::feed_state(self.is_current(crate::app::FEED_CURRENT_WITHIN), since);
    }

    pub async fn cursor(&self) -> i64 {
        *self.cursor.lock().await
    }

    /// Follows the feed until cancelled.
    pub async fn follow(self: Arc<Self>, shutdown: CancellationToken) {
        let poll = match self.store.backend() {
            Backend::Sqlite => SQLITE_POLL,
            Backend::Postgres => POSTGRES_POLL,
        };
        let mut signals: FeedSignals = self.store.feed_signals(poll, shutdown);
        while let Some(wake) = signals.next().await {
            self.link_up.store(signals.connected(), Ordering::Release);
            if let Err(e) = self.catch_up().await {
                tracing::warn!(error = %e, ?wake, "reading the feed failed; retrying");
            }
            self.report_state();
        }
    }
}
