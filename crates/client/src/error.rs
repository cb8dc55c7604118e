//! Errors of the client. Every variant has a stable `code()` (the app's `AppError.code`)
//! and a `hint()` that tells a person what to do about it.

use std::time::Duration;

/// What went wrong with the OS keychain. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeychainError {
    /// The keychain exists but is locked (or answered that it needs a prompt).
    #[error("the {backend} is locked ({detail})")]
    Locked { backend: String, detail: String },
    /// The keychain did not answer in time: almost always a locked keychain waiting
    /// on an unlock prompt nobody can see.
    #[error("the {backend} did not answer within {} s", after.as_secs())]
    TimedOut { backend: String, after: Duration },
    /// There is no keychain service to talk to at all.
    #[error("no {backend} is available ({detail})")]
    Unavailable { backend: String, detail: String },
    /// Any other failure of the keychain.
    #[error("the {backend} failed: {detail}")]
    Failed { backend: String, detail: String },
}

impl KeychainError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Locked { .. } | Self::TimedOut { .. } => ErrorCode::KeychainLocked,
            Self::Unavailable { .. } | Self::Failed { .. } => ErrorCode::KeychainUnavailable,
        }
    }

    /// What the user can do about it. No plain-text fallback is ever offered.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Locked { .. } | Self::TimedOut { .. } => LOCKED_HINT,
            Self::Unavailable { .. } => UNAVAILABLE_HINT,
            Self::Failed { .. } => {
                "Check that your keychain works (try its own app), then try again."
            }
        }
    }
}

#[cfg(target_os = "macos")]
const LOCKED_HINT: &str =
    "Unlock the login keychain (Keychain Access, or `security unlock-keychain`), then try again.";
#[cfg(target_os = "windows")]
const LOCKED_HINT: &str =
    "Sign in to Windows interactively so Credential Manager is available, then try again.";
#[cfg(not(any(target_os = "macos", target_os = "windows")))]
const LOCKED_HINT: &str = "Unlock your keyring (log in to your desktop session, or run `gnome-keyring-daemon --unlock` / open KeePassXC), then try again.";

#[cfg(target_os = "macos")]
const UNAVAILABLE_HINT: &str = "The macOS Keychain could not be reached; run this as the logged-in user, then try again. Tokens are never stored in a file instead.";
#[cfg(target_os = "windows")]
const UNAVAILABLE_HINT: &str = "Windows Credential Manager could not be reached; run this as the logged-in user, then try again. Tokens are never stored in a file instead.";
#[cfg(not(any(target_os = "macos", target_os = "windows")))]
const UNAVAILABLE_HINT: &str = "Start a Secret Service provider in your D-Bus session (gnome-keyring, KeePassXC or KWallet); on a headless machine run the command under `dbus-run-session` with `gnome-keyring-daemon --unlock`. Tokens are never stored in a file instead.";

/// The stable code of every failure the client reports: `AppError.code` of the desktop
/// app (exported to its TypeScript, so the UI cannot miss one) and `error.code` of
/// `sessionctl --json`. Each travels as its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ErrorCode {
    InvalidCredentials,
    /// Too many attempts; `retry_after_secs` says how long to wait, when the server said.
    RateLimited,
    ServerUnreachable,
    /// The server ended this device's session; the local credential is already gone.
    SessionRevoked,
    NotSignedIn,
    /// Unknown, or not yours: the server answers both the same way.
    NotFound,
    /// The server refused the input; the message says why, in words for people.
    ValidationFailed,
    /// The keychain is locked, or did not answer in time.
    KeychainLocked,
    /// There is no working keychain.
    KeychainUnavailable,
    ServerError,
    /// The small non-secret config file could not be read or written.
    ConfigError,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: &'static [ErrorCode] = &[
        Self::InvalidCredentials,
        Self::RateLimited,
        Self::ServerUnreachable,
        Self::SessionRevoked,
        Self::NotSignedIn,
        Self::NotFound,
        Self::ValidationFailed,
        Self::KeychainLocked,
        Self::KeychainUnavailable,
        Self::ServerError,
        Self::ConfigError,
    ];

    /// The code as it travels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::RateLimited => "rate_limited",
            Self::ServerUnreachable => "server_unreachable",
            Self::SessionRevoked => "session_revoked",
            Self::NotSignedIn => "not_signed_in",
            Self::NotFound => "not_found",
            Self::ValidationFailed => "validation_failed",
            Self::KeychainLocked => "keychain_locked",
            Self::KeychainUnavailable => "keychain_unavailable",
            Self::ServerError => "server_error",
            Self::ConfigError => "config_error",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets a code be compared with the text a caller sees (`err.code() == "not_found"`).
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Every failure the client reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("wrong email or password")]
    InvalidCredentials,
    /// The password a signed-in device gave to confirm a change (a new password,
    /// two-step settings) is not the account's. Code `invalid_credentials`; counted
    /// like a failed sign-in.
    #[error("the password is wrong")]
    WrongPassword,
    /// The password was right and the account has two-step sign-in: answer the
    /// challenge with [`crate::SessionManager::sign_in_second_step`]. Nothing was
    /// stored yet. Code `validation_failed` (a code is missing) until the app has words
    /// of its own for it.
    #[error("this account has two-step sign-in: a code from the authenticator app is needed")]
    TwoStepRequired {
        challenge: Box<crate::two_step::TwoStepChallenge>,
    },
    /// A two-step code (or recovery code) that is wrong or was already used. Code
    /// `validation_failed`.
    #[error("the code is wrong or was already used")]
    InvalidCode,
    /// The two-step challenge expired, was already answered, or was given up after too
    /// many wrong codes: sign in again. Code `validation_failed`.
    #[error("this sign-in expired or was already completed")]
    TwoStepExpired,
    #[error("too many attempts")]
    RateLimited { retry_after: Option<Duration> },
    #[error("cannot reach the server at {server} ({reason})")]
    Unreachable { server: String, reason: String },
    /// The server ended this device's session; the local credential is already gone.
    #[error("this device has been signed out")]
    SessionRevoked,
    #[error("not signed in")]
    NotSignedIn,
    /// Unknown, or not yours: the server answers both the same way.
    #[error("no such device")]
    NotFound,
    #[error("{message}")]
    Validation { code: String, message: String },
    #[error("keychain: {0}")]
    Keychain(#[from] KeychainError),
    #[error("the server answered {status} ({code}): {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    /// The small non-secret config file could not be read or written.
    #[error("config file {path}: {message}")]
    Config { path: String, message: String },
}

impl ClientError {
    /// The stable code the app and `--json` outputs use.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidCredentials | Self::WrongPassword => ErrorCode::InvalidCredentials,
            Self::TwoStepRequired { .. } | Self::InvalidCode | Self::TwoStepExpired => {
                ErrorCode::ValidationFailed
            }
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unreachable { .. } => ErrorCode::ServerUnreachable,
            Self::SessionRevoked => ErrorCode::SessionRevoked,
            Self::NotSignedIn => ErrorCode::NotSignedIn,
            Self::NotFound => ErrorCode::NotFound,
            Self::Validation { .. } => ErrorCode::ValidationFailed,
            Self::Keychain(e) => e.code(),
            Self::Server { .. } => ErrorCode::ServerError,
            Self::Config { .. } => ErrorCode::ConfigError,
        }
    }

    /// Seconds to wait before trying again, for `rate_limited`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after } => retry_after.map(|d| d.as_secs()),
            _ => None,
        }
    }

    /// What to do about it, in plain words.
    pub fn hint(&self) -> String {
        match self {
            Self::InvalidCredentials => "Check the email and password and try again.".into(),
            Self::WrongPassword => "Type your current password again.".into(),
            Self::TwoStepRequired { .. } => {
                "Enter the code your authenticator app shows (or one of your recovery codes).".into()
            }
            Self::InvalidCode => {
                "Wait for the next code of your authenticator app (or use a recovery code), then try again.".into()
            }
            Self::TwoStepExpired => "Sign in again.".into(),
            Self::RateLimited { retry_after } => match retry_after {
                Some(d) => format!("Wait {} s, then try again.", d.as_secs().max(1)),
                None => "Wait a minute, then try again.".into(),
            },
            Self::Unreachable { .. } => {
                "Check your network and the server address (--server URL, SESSIONCTL_SERVER), then try again.".into()
            }
            Self::SessionRevoked | Self::NotSignedIn => "Sign in again (sessionctl login --email YOU).".into(),
            Self::NotFound => "List your devices (sessionctl devices) and use an id or name from there.".into(),
            Self::Validation { .. } => "Correct the input and try again.".into(),
            Self::Keychain(e) => e.hint().into(),
            Self::Server { .. } => "Try again later; if it persists, tell the server's operator.".into(),
            Self::Config { .. } => "Fix or remove that file (it holds no secrets), then try again.".into(),
        }
    }

    /// The serializable form the desktop app hands to its web view.
    pub fn to_info(&self) -> ErrorInfo {
        ErrorInfo {
            code: self.code(),
            message: format!("{self}. {}", self.hint()),
            retry_after_secs: self.retry_after_secs(),
        }
    }
}

/// `AppError` of the desktop app: what every failed command rejects with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorInfo {
    pub code: ErrorCode,
    /// What went wrong and what to do about it, in words for people.
    pub message: String,
    /// For `rate_limited`: seconds to wait, when the server said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub retry_after_secs: Option<u64>,
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_apps_codes() {
        assert_eq!(
            ClientError::InvalidCredentials.code(),
            "invalid_credentials"
        );
        let locked = ClientError::Keychain(KeychainError::TimedOut {
            backend: "Secret Service".into(),
            after: Duration::from_secs(5),
        });
        assert_eq!(locked.code(), "keychain_locked");
        assert!(locked.to_string().contains("did not answer within 5 s"));
        let info = ClientError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
        }
        .to_info();
        assert_eq!(info.retry_after_secs, Some(30));
        assert_eq!(info.code, "rate_limited");
    }

    #[test]
    fn the_after_a_scare_errors_use_codes_the_app_already_has_words_for() {
        assert_eq!(ClientError::WrongPassword.code(), "invalid_credentials");
        assert_eq!(ClientError::InvalidCode.code(), "validation_failed");
        assert_eq!(ClientError::TwoStepExpired.code(), "validation_failed");
        let info = ClientError::InvalidCode.to_info();
        assert_eq!(
            info.message,
            "the code is wrong or was already used. Wait for the next code of your authenticator app (or use a recovery code), then try again."
        );
    }

    #[test]
    fn codes_travel_as_todays_strings() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{code}\""));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
        }
        let config = ClientError::Config {
            path: "/tmp/x".into(),
            message: "unreadable".into(),
        };
        assert_eq!(
            serde_json::to_value(config.to_info()).unwrap()["code"],
            "config_error"
        );
    }
}
