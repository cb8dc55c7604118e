//! What the event streams read: a device's backlog and live events, and the revocation
//! feed for resource servers.

use std::sync::Arc;

use proto::UserId;
use proto::revocations::{RevocationEvent, RevocationsPage};
use tokio::sync::broadcast;

use super::{App, Result};
use crate::feed::{Signal, StreamEvent};
use crate::store::FeedEntry;
use crate::time::Millis;

/// Entries per page of `GET /v1/revocations` (and per read of a stream's backlog).
pub const REVOCATION_PAGE: i64 = 10_000;
/// A resuming device stream gets at most this many missed events; one that missed more
/// reloads its device list anyway.
const DEVICE_BACKLOG: i64 = 1000;

impl App {
    /// Live device events of an account, from now on.
    pub fn subscribe_device_events(&self, user: UserId) -> broadcast::Receiver<Arc<Signal>> {
        self.hub.subscribe(user)
    }

    /// The device events of an account after the feed id `after` (a stream resuming
    /// with `Last-Event-ID`).
    pub async fn device_events_after(&self, user: UserId, after: i64) -> Result<Vec<StreamEvent>> {
        let page = self
            .store
            .account_feed_after(user, after, DEVICE_BACKLOG)
            .await?;
        Ok(page
            .entries
            .into_iter()
            .filter_map(|e| e.event.map(|event| StreamEvent { id: e.id, event }))
            .collect())
    }

    /// Where a fresh device stream starts: the feed's newest id, sent as the stream's
    /// first `id` so that a client which reconnects before any event arrives resumes
    /// from here instead of losing what happened in between. Read after subscribing,
    /// so an event is either after it (and resumable) or already delivered live.
    pub async fn device_stream_start(&self) -> Result<i64> {
        Ok(self.store.feed_head().await?)
    }

    /// Live revocations, from now on.
    pub fn subscribe_revocations(&self) -> broadcast::Receiver<Arc<FeedEntry>> {
        self.hub.subscribe_revocations()
    }

    /// One page of `GET /v1/revocations`: entries that still matter after `after`.
    pub async fn revocations_page(&self, after: i64) -> Result<RevocationsPage> {
        let page = self.store.feed_after(after, REVOCATION_PAGE).await?;
        let mut out = RevocationsPage {
            cursor: page.last_id.unwrap_or(after).to_string(),
            has_more: page.full,
            ..Default::default()
        };
        let now = Millis::now();
        for e in page.entries.iter().filter(|e| e.expires_at > now) {
            match e.to_revocation() {
                Some(RevocationEvent::Session(s)) => out.sessions.push(s),
                Some(RevocationEvent::Token(t)) => out.tokens.push(t),
                Some(RevocationEvent::Account(a)) => out.accounts.push(a),
                Some(RevocationEvent::Key(k)) => out.keys.push(k),
                None => {}
            }
        }
        Ok(out)
    }

    /// Every revocation after `after` (a revocation stream's backlog), and the feed id
    /// it reaches.
    pub async fn revocations_after(&self, after: i64) -> Result<(Vec<FeedEntry>, i64)> {
        let mut backlog = Vec::new();
        let mut cursor = after;
        loop {
            let page = self.store.feed_after(cursor, REVOCATION_PAGE).await?;
            if let Some(last) = page.last_id {
                cursor = last;
            }
            backlog.extend(page.entries.into_iter().filter(FeedEntry::is_revocation));
            if !page.full {
                break;
            }
        }
        Ok((backlog, cursor))
    }
}
