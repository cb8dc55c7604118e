//! Attempt limits: sliding windows of attempt instants per key (an account, a client
//! address, or the pair), held in memory per instance.
//!
//! An attempt is counted when it *starts* ([`Limiter::begin`]), so a hundred guesses
//! sent at once get no more password checks than the limit allows, whatever the
//! argon2 queue does; an attempt that turned out fine is taken back
//! ([`Limiter::refund`]), so only failures accumulate. Limits that only count cheap
//! failures use [`Limiter::check`] and [`Limiter::record`].

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys the limiter tracks at most; past that it forgets the idlest (an attacker
/// rotating addresses cannot grow the map without bound).
const MAX_KEYS: usize = 200_000;

#[derive(Debug)]
pub struct Limiter {
    limit: usize,
    window: Duration,
    entries: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// An attempt counted by [`Limiter::begin`], to [`Limiter::refund`] if it went well.
#[derive(Debug)]
#[must_use]
pub struct Ticket {
    key: String,
    at: Instant,
}

impl Limiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit: limit.max(1) as usize,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn expire(&self, q: &mut VecDeque<Instant>, now: Instant) {
        while q
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
    }

    /// How long `q` must wait before its next attempt, if it is at the limit.
    fn wait(&self, q: &VecDeque<Instant>, now: Instant) -> Option<Duration> {
        (q.len() >= self.limit).then(|| {
            let oldest = q.front().copied().unwrap_or(now);
            self.window
                .saturating_sub(now.saturating_duration_since(oldest))
                .max(Duration::from_secs(1))
        })
    }

    /// Counts an attempt for `key` now, or `Err(wait)` if the key is at its limit.
    pub fn begin(&self, key: &str, now: Instant) -> Result<Ticket, Duration> {
        let mut map = self.lock();
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            self.evict(&mut map, now);
        }
        let q = map.entry(key.to_owned()).or_default();
        self.expire(q, now);
        if let Some(wait) = self.wait(q, now) {
            return Err(wait);
        }
        q.push_back(now);
        Ok(Ticket {
            key: key.to_owned(),
            at: now,
        })
    }

    /// Takes back an attempt that went well.
    pub fn refund(&self, ticket: Ticket) {
        let mut map = self.lock();
        if let Some(q) = map.get_mut(&ticket.key) {
            if let Some(pos) = q.iter().position(|t| *t == ticket.at) {
                q.remove(pos);
            }
            if q.is_empty() {
                map.remove(&ticket.key);
            }
        }
    }

    /// `Err(wait)` when `key` is at its limit (without counting anything).
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.lock();
        let Some(q) = map.get_mut(key) else {
            return Ok(());
        };
        self.expire(q, now);
        match self.wait(q, now) {
            Some(wait) => Err(wait),
            None => {
                if q.is_empty() {
                    map.remove(key);
                }
                Ok(())
            }
        }
    }

    /// Counts a failure for `key`.
    pub fn record(&self, key: &str, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            self.evict(&mut map, now);
        }
        let q = map.entry(key.to_owned()).or_default();
        q.push_back(now);
        // More than the limit changes nothing; keep the newest, which wait the longest.
        while q.len() > self.limit {
            q.pop_front();
        }
    }

    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Forgets keys whose attempts have all left the window.
    pub fn prune(&self, now: Instant) {
        self.lock().retain(|_, q| {
            q.back()
                .is_some_and(|t| now.saturating_duration_since(*t) < self.window)
        });
    }

    fn evict(&self, map: &mut HashMap<String, VecDeque<Instant>>, now: Instant) {
        map.retain(|_, q| {
            q.back()
                .is_some_and(|t| now.saturating_duration_since(*t) < self.window)
        });
        if map.len() >= MAX_KEYS {
            // Still full of live keys: forget the tenth whose last attempt is oldest.
            let mut lasts: Vec<Instant> = map.values().filter_map(|q| q.back().copied()).collect();
            lasts.sort_unstable();
            if let Some(&cut) = lasts.get(lasts.len() / 10) {
                map.retain(|_, q| q.back().is_some_and(|t| *t > cut));
            }
        }
    }
}

/// The key of a client address: an IPv4 address, or an IPv6 /64 (one household or
/// office network gets one /64 and picks addresses inside it at will).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Whether two addresses are the same client's, as the limits count them.
pub fn same_client(a: IpAddr, b: IpAddr) -> bool {
    address_key(a) == address_key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_count_when_they_start_and_refunds_take_them_back() {
        let l = Limiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let tickets: Vec<Ticket> = (0..3).map(|_| l.begin("a", t0).unwrap()).collect();
        // The fourth, even before any of the first three finished, must wait.
        let wait = l.begin("a", t0 + Duration::from_secs(10)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(l.begin("b", t0).is_ok(), "other keys are unaffected");
        // One of the three went well: its slot is free again.
        let mut tickets = tickets.into_iter();
        l.refund(tickets.next().unwrap());
        assert!(l.begin("a", t0 + Duration::from_secs(10)).is_ok());
        assert!(
            l.begin("a", t0 + Duration::from_secs(61)).is_ok(),
            "the window slides"
        );
    }

    #[test]
    fn failures_recorded_after_the_fact_limit_too() {
        let l = Limiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(l.check("a", t0).is_ok());
        l.record("a", t0);
        assert!(l.check("a", t0).is_err());
        l.clear("a");
        assert!(l.check("a", t0).is_ok());
        l.record("b", t0);
        l.prune(t0 + Duration::from_secs(61));
        assert!(l.check("b", t0 + Duration::from_secs(61)).is_ok());
    }

    #[test]
    fn an_ipv6_network_is_one_client() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(same_client(a, b));
        assert!(!same_client(a, c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert!(same_client(mapped, "192.0.2.7".parse().unwrap()));
    }

    #[test]
    fn the_map_is_bounded() {
        let l = Limiter::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS + 10) {
            l.record(&i.to_string(), t0 + Duration::from_micros(i as u64));
        }
        assert!(l.lock().len() <= MAX_KEYS);
    }
}
