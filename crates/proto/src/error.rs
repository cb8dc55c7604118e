//! The one error shape of the API: `{"error": "<code>", "error_description": "<text>"}`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable snake_case code; OAuth endpoints use the codes of RFC 6749 §5.2.
    pub error: String,
    /// Text for people. Never contains a token, a password or a hash.
    #[serde(default)]
    pub error_description: String,
}

/// Stable error codes. Clients match on these, never on the description.
pub mod codes {
    // RFC 6749 §5.2 and RFC 7009 / 7662.
    pub const INVALID_REQUEST: &str = "invalid_request";
    pub const INVALID_CLIENT: &str = "invalid_client";
    pub const INVALID_GRANT: &str = "invalid_grant";
    pub const UNSUPPORTED_GRANT_TYPE: &str = "unsupported_grant_type";
    pub const UNSUPPORTED_TOKEN_TYPE: &str = "unsupported_token_type";
    // RFC 6750 §3.1.
    pub const INVALID_TOKEN: &str = "invalid_token";
    // This API.
    pub const INVALID_JSON: &str = "invalid_json";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "unsupported_media_type";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const VALIDATION_FAILED: &str = "validation_failed";
    pub const NOT_FOUND: &str = "not_found";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const EMAIL_TAKEN: &str = "email_taken";
    pub const WEAK_PASSWORD: &str = "weak_password";
    pub const SIGNUP_DISABLED: &str = "signup_disabled";
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    pub const TOO_MANY_ATTEMPTS: &str = "too_many_attempts";
    pub const SERVER_ERROR: &str = "server_error";
    pub const TEMPORARILY_UNAVAILABLE: &str = "temporarily_unavailable";
}
