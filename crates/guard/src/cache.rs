//! Tokens already verified: a repeat costs a hash lookup instead of a signature check.
//!
//! Keyed by the whole token string (never a part of it: a cache keyed by the signature
//! alone would accept a forged payload wearing a genuine signature), with the standard
//! library's randomly keyed SipHash so callers cannot aim collisions at it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use proto::tokens::Claims;

pub(crate) struct TokenCache {
    map: RwLock<HashMap<Box<str>, Arc<Claims>>>,
    capacity: usize,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Claims>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
    }

    pub(crate) fn insert(&self, token: &str, claims: Arc<Claims>, now_secs: i64) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
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
