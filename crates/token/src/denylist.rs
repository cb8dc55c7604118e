//! The revocation denylist: what a validator consults after a signature checks out.
//!
//! Entries are kept compact because a busy deployment can hold a million of them:
//! a session or token id (128 bits) is folded to a 64-bit key and stored with its
//! expiry in 32-bit seconds (12 bytes plus the table's control byte). Two ids that fold
//! to the same key make the second one look revoked as well: a refusal, never an
//! acceptance, at odds of about n / 2^64 per lookup.
//!
//! An entry can go once every token it could stop has expired (`until`), which keeps
//! the list as small as the access-token lifetime allows.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use proto::revocations::RevocationEvent;
use proto::tokens::Claims;
use proto::{Jti, SessionId, Timestamp, UserId};
use uuid::Uuid;

use crate::issued_at_ms;

/// Why a verified token is refused anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Revoked {
    #[error("the session of this token has been signed out")]
    Session,
    #[error("this token has been revoked")]
    Token,
    #[error("the account was signed out everywhere after this token was issued")]
    Account,
}

/// Keys are already uniformly mixed, so the table hashes them as they are.
#[derive(Default)]
struct PreMixed(u64);

impl Hasher for PreMixed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by the maps below; stay correct if that changes.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Table<V> = HashMap<u64, V, BuildHasherDefault<PreMixed>>;

/// Folds a UUID to 64 well-mixed bits (a bijective mix of hi ^ lo).
fn fold(id: &Uuid) -> u64 {
    let (hi, lo) = id.as_u64_pair();
    let mut x = hi ^ lo.rotate_left(32);
    // splitmix64 finaliser: every input bit affects every output bit.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn secs_u32(unix_secs: i64) -> u32 {
    unix_secs.clamp(0, i64::from(u32::MAX)) as u32
}

/// How long an entry is kept when the feed does not say (a server older than `until`):
/// access tokens live minutes, so a day is ample and still bounded.
pub const DEFAULT_ENTRY_LIFETIME_SECS: i64 = 24 * 3600;

/// The end of an entry's use: `until` when the feed gives it.
fn until(until: Option<Timestamp>, at: Timestamp) -> i64 {
    until.map_or(at.timestamp() + DEFAULT_ENTRY_LIFETIME_SECS, |u| {
        u.timestamp()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenylistStats {
    pub sessions: usize,
    pub tokens: usize,
    pub accounts: usize,
}

#[derive(Default)]
pub struct Denylist {
    /// Seconds an entry is kept past its `until`: the validators' clock leeway, during
    /// which an expired token is still accepted and so must still be refused.
    leeway_secs: u32,
    /// folded sid → unix seconds after which no token of the session can be alive.
    sessions: Table<u32>,
    /// folded jti → the token's own `exp`.
    tokens: Table<u32>,
    /// folded sub → (not-before in ms, unix seconds after which the entry is moot).
    accounts: Table<(i64, u32)>,
}

impl std::fmt::Debug for Denylist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Denylist")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Denylist {
    pub fn new() -> Self {
        Self::default()
    }

    /// A denylist for validators that accept tokens up to `leeway_secs` past `exp`: it
    /// keeps every entry that much longer.
    pub fn with_leeway(leeway_secs: i64) -> Self {
        Self {
            leeway_secs: secs_u32(leeway_secs),
            ..Self::default()
        }
    }

    /// Refuse every token of `sid`. `until`: unix seconds when its last token expires.
    pub fn revoke_session(&mut self, sid: &SessionId, until: i64) {
        let until = secs_u32(until);
        let e = self.sessions.entry(fold(sid.as_uuid())).or_insert(until);
        *e = (*e).max(until);
    }

    /// Refuse one token until its `exp` (unix seconds).
    pub fn revoke_token(&mut self, jti: &Jti, exp: i64) {
        let exp = secs_u32(exp);
        let e = self.tokens.entry(fold(jti.as_uuid())).or_insert(exp);
        *e = (*e).max(exp);
    }

    /// Refuse every token of `sub` issued before `not_before_ms`. The latest instant wins.
    pub fn set_not_before(&mut self, sub: &UserId, not_before_ms: i64, until: i64) {
        let until = secs_u32(until);
        let e = self
            .accounts
            .entry(fold(sub.as_uuid()))
            .or_insert((not_before_ms, until));
        *e = (e.0.max(not_before_ms), e.1.max(until));
    }

    /// Applies one event of the revocation feed. The server (following its own feed) and
    /// every guard (following the server's stream) apply events through this one
    /// function, so they cannot disagree about what an event stops or for how long.
    pub fn apply(&mut self, event: &RevocationEvent) {
        match event {
            RevocationEvent::Session(s) => self.revoke_session(&s.sid, until(s.until, s.at)),
            RevocationEvent::Token(t) => self.revoke_token(&t.jti, t.exp.timestamp()),
            RevocationEvent::Account(a) => self.set_not_before(
                &a.sub,
                a.not_before.timestamp_millis(),
                until(a.until, a.not_before),
            ),
            // Keys are the key set's business: a token of a removed key no longer
            // verifies at all.
            RevocationEvent::Key(_) => {}
        }
    }

    /// Whether a token whose signature and claims already verified has been revoked.
    pub fn check(&self, claims: &Claims) -> Result<(), Revoked> {
        if self.sessions.contains_key(&fold(claims.sid.as_uuid())) {
            return Err(Revoked::Session);
        }
        if self.tokens.contains_key(&fold(claims.jti.as_uuid())) {
            return Err(Revoked::Token);
        }
        if let Some(&(not_before, _)) = self.accounts.get(&fold(claims.sub.as_uuid()))
            && issued_at_ms(claims) < not_before
        {
            return Err(Revoked::Account);
        }
        Ok(())
    }

    pub fn is_session_revoked(&self, sid: &SessionId) -> bool {
        self.sessions.contains_key(&fold(sid.as_uuid()))
    }

    /// Drops entries that can no longer stop any token. Returns how many went.
    pub fn prune(&mut self, now_secs: i64) -> usize {
        let now = secs_u32(now_secs).saturating_sub(self.leeway_secs);
        let before = self.len();
        self.sessions.retain(|_, until| *until >= now);
        self.tokens.retain(|_, until| *until >= now);
        self.accounts.retain(|_, (_, until)| *until >= now);
        before - self.len()
    }

    pub fn len(&self) -> usize {
        self.sessions.len() + self.tokens.len() + self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn stats(&self) -> DenylistStats {
        DenylistStats {
            sessions: self.sessions.len(),
            tokens: self.tokens.len(),
            accounts: self.accounts.len(),
        }
    }

    /// Pre-sizes the session table, e.g. before loading a known number of entries.
    pub fn reserve_sessions(&mut self, additional: usize) {
        self.sessions.reserve(additional);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            iss: "i".into(),
            aud: "a".into(),
            sub: UserId::new(),
            sid: SessionId::new(),
            jti: Jti::new(),
            iat: 0,
            exp: i64::MAX,
        }
    }

    #[test]
    fn a_revoked_session_refuses_its_tokens_and_only_those() {
        let mut d = Denylist::new();
        let c = claims();
        let other = claims();
        d.revoke_session(&c.sid, 100);
        assert_eq!(d.check(&c), Err(Revoked::Session));
        assert_eq!(d.check(&other), Ok(()));
    }

    #[test]
    fn a_revoked_jti_refuses_that_token_only() {
        let mut d = Denylist::new();
        let c = claims();
        let mut sibling = c.clone();
        sibling.jti = Jti::new();
        d.revoke_token(&c.jti, 100);
        assert_eq!(d.check(&c), Err(Revoked::Token));
        assert_eq!(d.check(&sibling), Ok(()));
    }

    #[test]
    fn not_before_refuses_older_tokens_and_spares_newer_ones() {
        let mut d = Denylist::new();
        let old = claims();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let cut = issued_at_ms(&claims());
        std::thread::sleep(std::time::Duration::from_millis(3));
        let mut newer = claims();
        newer.sub = old.sub;
        d.set_not_before(&old.sub, cut, 100);
        assert_eq!(d.check(&old), Err(Revoked::Account));
        assert_eq!(d.check(&newer), Ok(()));
        // An earlier instant arriving late does not undo a later one.
        d.set_not_before(&old.sub, cut - 60_000, 100);
        assert_eq!(d.check(&old), Err(Revoked::Account));
    }

    #[test]
    fn prune_drops_only_entries_past_their_use() {
        let mut d = Denylist::new();
        let a = claims();
        let b = claims();
        d.revoke_session(&a.sid, 1_000);
        d.revoke_session(&b.sid, 3_000);
        d.revoke_token(&a.jti, 1_500);
        d.set_not_before(&a.sub, 0, 1_000);
        assert_eq!(d.prune(2_000), 3);
        assert_eq!(d.check(&b), Err(Revoked::Session));
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn feed_events_apply_with_their_until_or_a_day() {
        use proto::revocations::{AccountNotBefore, RevokedSession, RevokedToken};
        let at = |secs| chrono::DateTime::from_timestamp(secs, 0).unwrap();
        let mut d = Denylist::new();
        let c = claims();
        d.apply(&RevocationEvent::Session(RevokedSession {
            sid: c.sid,
            at: at(1_000),
            until: Some(at(1_300)),
        }));
        let quiet = claims();
        d.apply(&RevocationEvent::Session(RevokedSession {
            sid: quiet.sid,
            at: at(1_000),
            until: None,
        }));
        let t = claims();
        d.apply(&RevocationEvent::Token(RevokedToken {
            jti: t.jti,
            exp: at(1_200),
        }));
        let a = claims();
        d.apply(&RevocationEvent::Account(AccountNotBefore {
            sub: a.sub,
            not_before: chrono::DateTime::from_timestamp_millis(issued_at_ms(&a) + 1).unwrap(),
            until: None,
        }));
        for refused in [&c, &quiet, &t, &a] {
            assert!(d.check(refused).is_err());
        }
        // The session entry goes at its until, the token's at its exp, the ones
        // without until a day after their instant.
        assert_eq!(d.prune(1_250), 1);
        assert_eq!(d.prune(1_301), 1);
        assert_eq!(d.prune(1_000 + DEFAULT_ENTRY_LIFETIME_SECS - 1), 0);
        assert!(d.check(&quiet).is_err());
        assert_eq!(d.prune(1_000 + DEFAULT_ENTRY_LIFETIME_SECS + 1), 1);
        assert!(d.check(&quiet).is_ok());
    }

    #[test]
    fn an_entry_outlives_its_token_by_the_leeway() {
        let mut d = Denylist::with_leeway(5);
        let c = claims();
        d.revoke_token(&c.jti, 1_000);
        assert_eq!(
            d.prune(1_004),
            0,
            "a token 4 s past exp is still accepted, so refused"
        );
        assert!(d.check(&c).is_err());
        assert_eq!(d.prune(1_006), 1);
    }

    #[test]
    fn folding_spreads_sequential_uuids() {
        // UUIDv7s made in one millisecond share their high bits; the keys must not.
        let keys: std::collections::HashSet<u64> =
            (0..100_000).map(|_| fold(&Uuid::now_v7())).collect();
        assert_eq!(keys.len(), 100_000);
    }
}
