//! The revocation feed for resource servers (`GET /v1/revocations`, and its SSE twin).

use serde::{Deserialize, Serialize};

use crate::{Jti, SessionId, Timestamp, UserId};

/// A revoked session: every token with this `sid` is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedSession {
    pub sid: SessionId,
    pub at: Timestamp,
}

/// A revoked access token, refused until it expires anyway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedToken {
    pub jti: Jti,
    /// The token's own expiry: the entry can be dropped after it.
    pub exp: Timestamp,
}

/// An account signed out everywhere: tokens issued before `not_before` are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountNotBefore {
    pub sub: UserId,
    pub not_before: Timestamp,
}

/// `GET /v1/revocations?after=<cursor>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationsPage {
    /// Pass as `after` to get what came since.
    pub cursor: String,
    pub sessions: Vec<RevokedSession>,
    pub tokens: Vec<RevokedToken>,
    pub accounts: Vec<AccountNotBefore>,
}
