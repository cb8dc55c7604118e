//! Tokens already verified: a repeat costs a hash lookup instead of a signature check.
//!
//! Keyed by the whole token string (never a part of it: a cache keyed by the signature
//! alone would accept a forged payload wearing a genuine signature). The hasher is
//! foldhash with a per-process random seed: several times faster than SipHash on a
//! 400-byte token, and still not something callers can aim collisions at.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

type Map = HashMap<Box<str>, Arc<Claims>, foldhash::fast::RandomState>;

use proto::tokens::Claims;

pub(crate) struct TokenCache {
    map: RwLock<Map>,
    capacity: usize,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            // Room for a busy minute up front, so the first requests do not pay for growth.
            map: RwLock::new(Map::with_capacity_and_hasher(
                capacity.min(4096),
                foldhash::fast::RandomState::default(),
            )),
            capacity,
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Claims>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
    }

    /// Forgets every verified token (a key they may have been verified with is gone).
    pub(crate) fn clear(&self) {
        self.map.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    #[cfg(test)]
    fn insert(&self, token: &str, claims: Arc<Claims>, now_secs: i64) {
        self.insert_if(token, claims, now_secs, || true);
    }

    /// Inserts unless `still_valid`, asked under the cache's lock, says no: a
    /// [`TokenCache::clear`] that raced the verification either comes after the insert
    /// (and removes it) or before the question (and the answer is no).
    pub(crate) fn insert_if(
        &self,
        token: &str,
        claims: Arc<Claims>,
        now_secs: i64,
        still_valid: impl FnOnce() -> bool,
    ) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if !still_valid() {
            return;
        }
        if map.len() >= self.capacity {
            map.retain(|_, c| c.exp > now_secs);
            if map.len() >= self.capacity {
                // Full of live tokens: start over rather than track recency on every hit.
                map.clear();
            }
        }
        map.insert(token.into(), claims);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::{Jti, SessionId, UserId};

    fn claims(exp: i64) -> Arc<Claims> {
        Arc::new(Claims {
            iss: "i".into(),
            aud: "a".into(),
            sub: UserId::new(),
            sid: SessionId::new(),
            jti: Jti::new(),
            iat: 0,
            exp,
        })
    }

    #[test]
    fn a_full_cache_drops_expired_tokens_first() {
        let cache = TokenCache::new(2);
        cache.insert("old", claims(10), 0);
        cache.insert("live", claims(1_000), 0);
        cache.insert("new", claims(1_000), 100);
        assert!(cache.get("old").is_none());
        assert!(cache.get("live").is_some());
        assert!(cache.get("new").is_some());
        assert!(cache.get("ne").is_none(), "keys match whole tokens only");
    }
}
