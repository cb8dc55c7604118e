//! Sign-in, refresh and the access token's claims.

use serde::{Deserialize, Serialize};

use crate::{AccessToken, Device, Jti, Password, RefreshToken, SessionId, UserId};

/// `POST /v1/sessions`: sign a device in.
#[derive(Debug, Serialize, Deserialize)]
pub struct SignInRequest {
    pub email: String,
    pub password: Password,
    pub device: Device,
}

/// Answer of a sign-in and of `POST /oauth/token`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: AccessToken,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub refresh_token: RefreshToken,
    pub session_id: SessionId,
}

/// The claims of an access token (a JWT signed with EdDSA).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The account.
    pub sub: UserId,
    /// The session (device).
    pub sid: SessionId,
    pub jti: Jti,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
}

/// Grant types `POST /oauth/token` knows.
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
