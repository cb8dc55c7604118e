//! The revocation feed for resource servers (`GET /v1/revocations`, and its SSE twin).

use serde::{Deserialize, Serialize};

use crate::{Jti, SessionId, Timestamp, UserId};

/// A revoked session: every token with this `sid` is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedSession {
    pub sid: SessionId,
    pub at: Timestamp,
    /// When no token of the session can be alive any more, so the entry can go
    /// (an addition to shared/API.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
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
    /// When every token issued before `not_before` has expired (an addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// A signing key removed as compromised: every token it signed is refused, and the
/// key leaves the JWKS (an addition to shared/API.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedKey {
    pub kid: String,
    pub at: Timestamp,
}

/// `GET /v1/revocations?after=<cursor>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationsPage {
    /// Pass as `after` to get what came since.
    pub cursor: String,
    pub sessions: Vec<RevokedSession>,
    pub tokens: Vec<RevokedToken>,
    pub accounts: Vec<AccountNotBefore>,
    /// Signing keys removed as compromised (an addition to shared/API.md).
    #[serde(default)]
    pub keys: Vec<RevokedKey>,
    /// More entries follow: call again with `cursor` (an addition to shared/API.md).
    #[serde(default)]
    pub has_more: bool,
}

/// One entry of `GET /v1/revocations/stream`: SSE event `revocation`, `id:` its cursor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RevocationEvent {
    Session(RevokedSession),
    Token(RevokedToken),
    Account(AccountNotBefore),
    Key(RevokedKey),
}

/// SSE event names of the revocation stream.
pub const EVENT_REVOCATION: &str = "revocation";
/// Sent every few seconds when nothing else is, so a guard knows the feed is alive.
pub const EVENT_HEARTBEAT: &str = "heartbeat";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_entries_are_tagged_by_kind() {
        let e = RevocationEvent::Account(AccountNotBefore {
            sub: UserId::new(),
            not_before: chrono::Utc::now(),
            until: None,
        });
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "account");
        assert!(v["sub"].is_string() && v["not_before"].is_string());
        assert_eq!(serde_json::from_value::<RevocationEvent>(v).unwrap(), e);
    }
}
