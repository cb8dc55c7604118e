//! Two-step sign-in as a device meets it: the challenge a sign-in gets back when the
//! account has it on, and the answer that completes the sign-in.

use std::time::{Duration, Instant};

use proto::SecretText;

/// A sign-in waiting for its second step: what [`crate::ClientError::TwoStepRequired`]
/// carries. Answer it with [`crate::SessionManager::sign_in_second_step`] before it
/// expires (the server gives a few minutes); nothing is stored until then.
#[derive(Clone, Debug)]
pub struct TwoStepChallenge {
    pub(crate) server: String,
    pub(crate) email: String,
    pub(crate) device_name: String,
    /// Opaque, from the server; redacted in `Debug`.
    pub(crate) challenge: SecretText,
    pub(crate) expires_in: Duration,
    pub(crate) received_at: Instant,
}

impl TwoStepChallenge {
    /// The server the sign-in is on (normalized).
    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn email(&self) -> &str {
        &self.email
    }

    /// The name this device signed in with; the session will carry it.
    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// How long the server said the challenge can be answered.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// True once it can no longer be answered (by this device's clock).
    pub fn is_expired(&self) -> bool {
        self.received_at.elapsed() >= self.expires_in
    }
}

/// The second step of a sign-in: a code from the authenticator app, or one of the
/// recovery codes shown when two-step sign-in was turned on (each works once).
#[derive(Clone, Debug)]
pub enum TwoStepAnswer {
    Code(SecretText),
    RecoveryCode(SecretText),
}

impl TwoStepAnswer {
    /// A code as typed: spaces (authenticator apps show "123 456") left out.
    pub fn code(typed: &str) -> Self {
        Self::Code(SecretText::new(without_spaces(typed)))
    }

    /// A recovery code as typed (its case and spaces do not matter to the server; the
    /// ends are trimmed here).
    pub fn recovery_code(typed: &str) -> Self {
        Self::RecoveryCode(SecretText::new(typed.trim()))
    }
}

/// "123 456" → "123456": how a TOTP code is typed after reading it from an app.
pub(crate) fn without_spaces(typed: &str) -> String {
    typed.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_taken_as_typed_without_its_spaces() {
        let TwoStepAnswer::Code(c) = TwoStepAnswer::code(" 123 456\n") else {
            panic!("a code")
        };
        assert_eq!(c.expose(), "123456");
        let TwoStepAnswer::RecoveryCode(r) = TwoStepAnswer::recovery_code(" abcd-efgh \n") else {
            panic!("a recovery code")
        };
        assert_eq!(r.expose(), "abcd-efgh");
    }

    #[test]
    fn the_challenge_never_shows_in_debug() {
        let c = TwoStepChallenge {
            server: "https://id.example.com".into(),
            email: "a@example.com".into(),
            device_name: "laptop".into(),
            challenge: SecretText::new("ch_very-secret"),
            expires_in: Duration::from_secs(300),
            received_at: Instant::now(),
        };
        assert!(!format!("{c:?}").contains("very-secret"));
        assert!(!c.is_expired());
    }
}
