//! Sign-in failure limits, per account and per client address.
//!
//! A sliding window of failure instants per key; a key with `limit` failures inside
//! the window is refused until the oldest of them leaves it. Counts are per instance
//! (in memory): with several instances an attacker gets `limit` tries on each, which
//! the 50 ms argon2 cost keeps slow anyway.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct FailureLimiter {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl FailureLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1) as usize,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` when the key must wait before trying again.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.lock();
        let Some(q) = map.get_mut(key) else {
            return Ok(());
        };
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= self.limit {
            let oldest = q.front().copied().unwrap_or(now);
            let wait = self.window.saturating_sub(now.duration_since(oldest));
            return Err(wait.max(Duration::from_secs(1)));
        }
        if q.is_empty() {
            map.remove(key);
        }
        Ok(())
    }

    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut map = self.lock();
        let q = map.entry(key.to_owned()).or_default();
        q.push_back(now);
        while q.len() > self.limit {
            q.pop_front();
        }
    }

    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Forgets keys whose failures have all left the window.
    pub fn prune(&self, now: Instant) {
        self.lock().retain(|_, q| {
            q.back()
                .is_some_and(|t| now.duration_since(*t) < self.window)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_blocks_until_the_oldest_failure_leaves_the_window() {
        let l = FailureLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(l.check("a", t0).is_ok());
            l.record_failure("a", t0 + Duration::from_secs(i));
        }
        let wait = l.check("a", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(l.check("b", t0).is_ok(), "other keys are unaffected");
        assert!(l.check("a", t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn clearing_forgives() {
        let l = FailureLimiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        l.record_failure("a", t0);
        assert!(l.check("a", t0).is_err());
        l.clear("a");
        assert!(l.check("a", t0).is_ok());
        l.record_failure("b", t0);
        l.prune(t0 + Duration::from_secs(61));
        assert!(l.check("b", t0 + Duration::from_secs(61)).is_ok());
    }
}
