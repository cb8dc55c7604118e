//! Password hashing with argon2id, off the async runtime.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proto::Password;
use tokio::sync::Semaphore;

/// Costs chosen to take about 50 ms on the reference machine (2 cores): 19 MiB and two
/// passes, the OWASP-recommended minimum memory.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// How many password checks may wait for a free hasher before more are refused with
/// 503, per concurrent hash allowed.
const QUEUE_PER_HASHER: usize = 32;
/// The longest a password check waits for a free hasher.
const MAX_WAIT: Duration = Duration::from_secs(5);
/// How long a refusal for a full line is held before it is answered. A client that
/// honours `Retry-After` never notices; one that does not (a flood) gets four answers
/// a second per connection instead of thousands, and the cores it would have spent on
/// refusals stay with the devices already signed in.
const REFUSAL_PAUSE: Duration = Duration::from_millis(250);

/// Hashes and verifies passwords with argon2id on blocking threads, at most
/// `concurrency` at a time (each takes 19 MiB and a core for ~50 ms), with a bounded
/// queue in front: a flood of sign-ins gets 503s instead of taking every core and
/// gigabytes of memory from the devices already signed in.
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    /// A hash of a random password, verified against when the email is unknown, so
    /// a wrong email costs the same time as a wrong password.
    decoy: String,
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

impl Hasher {
    /// A hasher running one hash fewer at once than there are cores (at least one), so
    /// a core is always left for the devices already signed in.
    pub fn new() -> Self {
        Self::with_concurrency(
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
                .saturating_sub(1),
        )
    }

    pub fn with_concurrency(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        let params = Params::new(MEMORY_KIB, PASSES, 1, None).unwrap_or_default();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy_pw = crate::secrets::new_refresh_token();
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let decoy = argon
            .hash_password(decoy_pw.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        Self {
            argon,
            decoy,
            permits: Arc::new(Semaphore::new(concurrency)),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: concurrency * (1 + QUEUE_PER_HASHER),
        }
    }

    /// Password checks admitted and not finished (running or waiting) now.
    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// A place in line for one hash or check, or `Busy` when the line is full. Taken
    /// before any other work of a sign-in (its database lookup included), so a flood is
    /// turned away at the cost of an atomic increment.
    fn admit(&self) -> Result<Admission, HashError> {
        let before = self.waiting.fetch_add(1, Ordering::AcqRel);
        if before >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            crate::metrics::hash_busy();
            return Err(HashError::Busy);
        }
        crate::metrics::hash_waiting(before + 1);
        Ok(Admission {
            hasher: self.clone(),
            _place: Place(self.waiting.clone()),
        })
    }

    /// [`Hasher::admit`], with a refusal held for [`REFUSAL_PAUSE`] first.
    pub async fn admit_or_pause(&self) -> Result<Admission, HashError> {
        let admitted = self.admit();
        if admitted.is_err() {
            tokio::time::sleep(REFUSAL_PAUSE).await;
        }
        admitted
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        self.admit_or_pause().await?.hash(password).await
    }

    /// Verifies a password against a stored hash, or against the decoy when there is
    /// none, so both failures take the same time. `Err` only when the hasher is busy.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<bool, HashError> {
        self.admit_or_pause().await?.verify(password, stored).await
    }
}

/// A place in the hashers' line (see [`Hasher::admit`]), given back when dropped.
struct Place(Arc<AtomicUsize>);

impl Drop for Place {
    fn drop(&mut self) {
        let before = self.0.fetch_sub(1, Ordering::AcqRel);
        crate::metrics::hash_waiting(before.saturating_sub(1));
    }
}

/// An admitted hash or check: runs once a hasher is free.
pub struct Admission {
    hasher: Hasher,
    _place: Place,
}

impl Admission {
    /// Runs `job` on a blocking thread once a hasher is free; `Busy` if the wait is
    /// too long.
    async fn run<T: Send + 'static>(
        self,
        job: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit =
            tokio::time::timeout(MAX_WAIT, self.hasher.permits.clone().acquire_owned()).await;
        let permit = permit
            .inspect_err(|_| crate::metrics::hash_busy())
            .map_err(|_| HashError::Busy)?
            .map_err(|_| HashError::Failed)?;
        let argon = self.hasher.argon.clone();
        let place = self._place;
        tokio::task::spawn_blocking(move || {
            let out = job(&argon);
            drop(permit);
            drop(place);
            out
        })
        .await
        .map_err(|_| HashError::Failed)
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(self, password: &Password) -> Result<String, HashError> {
        let pw = password.clone();
        self.run(move |argon| {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon
                .hash_password(pw.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|_| HashError::Failed)
        })
        .await?
    }

    /// Verifies a password against a stored hash, or against the decoy when there is
    /// none, so both failures take the same time. `Err` only when the hasher is busy.
    pub async fn verify(
        self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<bool, HashError> {
        let pw = password.clone();
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.hasher.decoy.clone(), false),
        };
        let ok = self
            .run(move |argon| {
                PasswordHash::new(&hash)
                    .map(|parsed| {
                        argon
                            .verify_password(pw.expose().as_bytes(), &parsed)
                            .is_ok()
                    })
                    .unwrap_or(false)
            })
            .await?;
        Ok(ok && real)
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed")]
    Failed,
    /// Every hasher is taken and the queue in front of them is full.
    #[error("too many password checks are waiting")]
    Busy,
}

/// Why a password is refused at sign-up.
pub fn password_problem(password: &Password, email: &str) -> Option<&'static str> {
    let pw = password.expose();
    if pw.chars().count() < MIN_PASSWORD_CHARS {
        return Some("The password must have at least 8 characters.");
    }
    if pw.len() > MAX_PASSWORD_BYTES {
        return Some("The password must be at most 1024 bytes.");
    }
    let first = pw.chars().next();
    if pw.chars().all(|c| Some(c) == first) {
        return Some("The password must not repeat a single character.");
    }
    if pw.eq_ignore_ascii_case(email)
        || email
            .split('@')
            .next()
            .is_some_and(|l| pw.eq_ignore_ascii_case(l))
    {
        return Some("The password must not be the email address.");
    }
    const COMMON: &[&str] = &[
        "password",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "password1",
        "iloveyou",
        "11111111",
        "abcdefgh",
        "letmein1",
        "qwerty123",
        "passw0rd",
    ];
    if COMMON.iter().any(|c| pw.eq_ignore_ascii_case(c)) {
        return Some("That password is among the most common ones; choose another.");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = Hasher::new();
        let pw = Password::new("correct horse battery");
        let stored = h.hash(&pw).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(h.verify(&pw, Some(&stored)).await.unwrap());
        assert!(
            !h.verify(&Password::new("wrong horse"), Some(&stored))
                .await
                .unwrap()
        );
        // Unknown account: the decoy is checked and the answer is always no.
        assert!(!h.verify(&pw, None).await.unwrap());
        assert!(!h.verify(&pw, Some("not a phc string")).await.unwrap());
    }

    #[tokio::test]
    async fn a_refusal_for_a_full_line_is_held_a_moment_an_admission_is_not() {
        let h = Hasher::with_concurrency(1);
        let line: Vec<Admission> = (0..h.max_waiting).map(|_| h.admit().unwrap()).collect();
        let asked = std::time::Instant::now();
        assert!(matches!(h.admit_or_pause().await, Err(HashError::Busy)));
        assert!(asked.elapsed() >= REFUSAL_PAUSE, "{:?}", asked.elapsed());
        drop(line);
        let asked = std::time::Instant::now();
        assert!(h.admit_or_pause().await.is_ok());
        assert!(asked.elapsed() < REFUSAL_PAUSE, "{:?}", asked.elapsed());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_checks_is_queued_then_refused_never_run_all_at_once() {
        let h = Hasher::with_concurrency(1);
        let pw = Password::new("correct horse battery");
        let checks: Vec<_> = (0..(QUEUE_PER_HASHER + 20))
            .map(|_| {
                let h = h.clone();
                let pw = pw.clone();
                tokio::spawn(async move { h.verify(&pw, None).await })
            })
            .collect();
        let mut busy = 0;
        for c in checks {
            match c.await.unwrap() {
                Err(HashError::Busy) => busy += 1,
                Ok(false) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(busy >= 19, "at least the overflow was refused ({busy})");
        assert_eq!(h.queued(), 0);
    }

    #[test]
    fn weak_passwords_are_named() {
        let e = "ann@example.com";
        assert!(password_problem(&Password::new("short"), e).is_some());
        assert!(password_problem(&Password::new("aaaaaaaaaa"), e).is_some());
        assert!(password_problem(&Password::new("Password"), e).is_some());
        assert!(password_problem(&Password::new("ann@example.com"), e).is_some());
        assert!(password_problem(&Password::new("correct horse battery"), e).is_none());
    }
}
