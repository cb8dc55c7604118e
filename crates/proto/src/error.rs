//! The one error shape of the API: `{"error": "<code>", "error_description": "<text>"}`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable snake_case code; OAuth endpoints use the codes of RFC 6749 §5.2.
    pub error: ErrorCode,
    /// Text for people. Never contains a token, a password or a hash.
    #[serde(default)]
    pub error_description: String,
    /// With `mfa_required`: the opaque challenge to answer at `POST /v1/sessions/two-step`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<crate::SecretText>,
    /// With `mfa_required`: seconds the challenge can be answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

impl ErrorBody {
    pub fn new(error: ErrorCode, error_description: impl Into<String>) -> Self {
        Self {
            error,
            error_description: error_description.into(),
            challenge: None,
            expires_in: None,
        }
    }
}

/// Every error code of the API, as one enum shared by the server (which answers with
/// them), the guard, and the client (which matches on them, never on the description).
/// On the wire each is its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // RFC 6749 §5.2 and RFC 7009 / 7662.
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnsupportedGrantType,
    UnsupportedTokenType,
    // RFC 6750 §3.1.
    InvalidToken,
    // This API.
    InvalidJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    ValidationFailed,
    NotFound,
    MethodNotAllowed,
    EmailTaken,
    WeakPassword,
    SignupDisabled,
    InvalidCredentials,
    TooManyAttempts,
    ServerError,
    TemporarilyUnavailable,
    /// The request's body did not arrive in time.
    RequestTimeout,
    /// The password was right and the account has two-step sign-in: answer the challenge.
    MfaRequired,
    /// A wrong, reused or malformed two-step code.
    InvalidCode,
    /// A two-step challenge that is unknown, expired or already used.
    InvalidChallenge,
    /// 409: the account is not in the state the request needs (confirming two-step
    /// sign-in with no enrolment started, enrolling while it is on).
    Conflict,
    /// A code this version does not know (a newer server): read the description.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// Every code this version knows, for documentation and tests.
    pub const ALL: &'static [ErrorCode] = &[
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnsupportedGrantType,
        Self::UnsupportedTokenType,
        Self::InvalidToken,
        Self::InvalidJson,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::ValidationFailed,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::EmailTaken,
        Self::WeakPassword,
        Self::SignupDisabled,
        Self::InvalidCredentials,
        Self::TooManyAttempts,
        Self::ServerError,
        Self::TemporarilyUnavailable,
        Self::RequestTimeout,
        Self::MfaRequired,
        Self::InvalidCode,
        Self::InvalidChallenge,
        Self::Conflict,
    ];

    /// The code as it travels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InvalidToken => "invalid_token",
            Self::InvalidJson => "invalid_json",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ValidationFailed => "validation_failed",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::EmailTaken => "email_taken",
            Self::WeakPassword => "weak_password",
            Self::SignupDisabled => "signup_disabled",
            Self::InvalidCredentials => "invalid_credentials",
            Self::TooManyAttempts => "too_many_attempts",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::RequestTimeout => "request_timeout",
            Self::MfaRequired => "mfa_required",
            Self::InvalidCode => "invalid_code",
            Self::InvalidChallenge => "invalid_challenge",
            Self::Conflict => "conflict",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_travel_as_their_snake_case_names() {
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_string(code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
            let back: ErrorCode = serde_json::from_str(&format!("\"{code}\"")).unwrap();
            assert_eq!(back, *code);
        }
    }

    #[test]
    fn a_code_from_a_newer_server_is_unknown_not_an_error() {
        let body: ErrorBody =
            serde_json::from_str(r#"{"error":"brand_new","error_description":"x"}"#).unwrap();
        assert_eq!(body.error, ErrorCode::Unknown);
    }
}
