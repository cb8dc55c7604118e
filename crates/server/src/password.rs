//! Password hashing with argon2id, off the async runtime.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use proto::Password;

/// Costs chosen to take about 50 ms on the reference machine (2 cores): 19 MiB and two
/// passes, the OWASP-recommended minimum memory.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    /// A hash of a random password, verified against when the email is unknown, so
    /// a wrong email costs the same time as a wrong password.
    decoy: String,
}

impl Hasher {
    pub fn new() -> Self {
        let params = Params::new(MEMORY_KIB, PASSES, 1, None).unwrap_or_default();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy_pw = crate::secrets::new_refresh_token();
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let decoy = argon
            .hash_password(decoy_pw.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        Self { argon, decoy }
    }

    /// Hashes a password into a PHC string (runs on a blocking thread).
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let argon = self.argon.clone();
        let pw = password.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon
                .hash_password(pw.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|_| HashError)
        })
        .await
        .map_err(|_| HashError)?
    }

    /// Verifies a password against a stored hash, or against the decoy when there is
    /// none, so both failures take the same time.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> bool {
        let argon = self.argon.clone();
        let pw = password.clone();
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.decoy.clone(), false),
        };
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| {
                    argon
                        .verify_password(pw.expose().as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        ok && real
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

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
        assert!(h.verify(&pw, Some(&stored)).await);
        assert!(!h.verify(&Password::new("wrong horse"), Some(&stored)).await);
        // Unknown account: the decoy is checked and the answer is always no.
        assert!(!h.verify(&pw, None).await);
        assert!(!h.verify(&pw, Some("not a phc string")).await);
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
