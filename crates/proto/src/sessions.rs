//! The devices API: list, rename, sign out.

use serde::{Deserialize, Serialize};

use crate::{Device, SessionId, Timestamp};

/// One live session as `GET /v1/sessions` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: SessionId,
    pub device: Device,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub last_ip: Option<String>,
    /// True for the session of the token that asked.
    pub current: bool,
}

/// `GET /v1/sessions`: the caller's own session first, then by `last_seen_at` descending.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionInfo>,
}

/// The renamable part of a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRename {
    pub name: String,
}

/// `PATCH /v1/sessions/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenameRequest {
    pub device: DeviceRename,
}

/// Which sessions `POST /v1/sessions/revoke` ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevokeScope {
    /// Every session of the account but the caller's.
    Others,
    /// Every session, the caller's included; stamps the account's not-before instant.
    All,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeRequest {
    pub scope: RevokeScope,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeResponse {
    pub revoked: u64,
}

/// Why a session ended. Sent in `session.revoked` events and kept in the activity log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// The device signed itself out (`DELETE` of its own session, or `/oauth/revoke`).
    Logout,
    /// Another device of the account signed it out.
    Revoked,
    /// Another device signed out every other device.
    RevokedOthers,
    /// Sign out everywhere.
    SignedOutEverywhere,
    /// A spent refresh token was presented again: presumed theft.
    RefreshTokenReuse,
    /// An administrator ended it (`session-server admin revoke-user`).
    Admin,
}

impl RevocationReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Revoked => "revoked",
            Self::RevokedOthers => "revoked_others",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "logout" => Self::Logout,
            "revoked" => Self::Revoked,
            "revoked_others" => Self::RevokedOthers,
            "signed_out_everywhere" => Self::SignedOutEverywhere,
            "refresh_token_reuse" => Self::RefreshTokenReuse,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for r in [
            RevocationReason::Logout,
            RevocationReason::Revoked,
            RevocationReason::RevokedOthers,
            RevocationReason::SignedOutEverywhere,
            RevocationReason::RefreshTokenReuse,
            RevocationReason::Admin,
        ] {
            assert_eq!(RevocationReason::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
    }

    #[test]
    fn scope_is_snake_case() {
        let r: RevokeRequest = serde_json::from_str(r#"{"scope":"others"}"#).unwrap();
        assert_eq!(r.scope, RevokeScope::Others);
        assert!(serde_json::from_str::<RevokeRequest>(r#"{"scope":"some"}"#).is_err());
    }
}
