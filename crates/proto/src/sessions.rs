//! The devices API: list, rename, sign out.

use serde::{Deserialize, Serialize};

use crate::{Device, SessionId, Timestamp};

/// One session as `GET /v1/sessions` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionInfo {
    pub id: SessionId,
    pub device: Device,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub last_ip: Option<String>,
    /// True for the session of the token that asked.
    pub current: bool,
    /// For a session signed out in the last 7 days (`?include=signed_out`): how it ended
    /// and whether the device confirmed it erased its keys. Absent for live sessions.
    /// (Left out of the TypeScript type, which ts-rs cannot flatten an `Option` into:
    /// the desktop app lists signed-out devices in a type of its own.)
    #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub signed_out: Option<SignedOut>,
}

/// How a listed session ended, and the device's wipe receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SignedOut {
    pub revoked_at: Timestamp,
    pub revoked_reason: RevocationReason,
    /// When the device said it erased its keys (its receipt), `null` until then.
    pub wiped_at: Option<Timestamp>,
    /// The address the receipt came from.
    pub wiped_ip: Option<String>,
}

/// `POST /v1/sessions/{id}/wipe-receipt`: a signed-out device proves it held the revoked
/// session's refresh token, and that it erased it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WipeReceipt {
    pub refresh_token: crate::RefreshToken,
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// The account's password was changed (from another device).
    PasswordChanged,
    /// Never sent by this server: what a client records when it learned of the sign-out
    /// without a reason (a refused refresh), or from a newer server with a reason this
    /// version does not know.
    #[serde(other)]
    Unknown,
}

impl RevocationReason {
    /// Every reason a server sends.
    pub const ALL: &'static [RevocationReason] = &[
        Self::Logout,
        Self::Revoked,
        Self::RevokedOthers,
        Self::SignedOutEverywhere,
        Self::RefreshTokenReuse,
        Self::Admin,
        Self::PasswordChanged,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Revoked => "revoked",
            Self::RevokedOthers => "revoked_others",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::Admin => "admin",
            Self::PasswordChanged => "password_changed",
            Self::Unknown => "unknown",
        }
    }

    /// A reason as stored; `None` for text that is not one a server writes.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for &r in RevocationReason::ALL {
            assert_eq!(RevocationReason::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
    }

    #[test]
    fn a_reason_from_a_newer_server_reads_as_unknown() {
        let r: RevocationReason = serde_json::from_str("\"teleported\"").unwrap();
        assert_eq!(r, RevocationReason::Unknown);
        assert_eq!(RevocationReason::parse("unknown"), None);
    }

    #[test]
    fn scope_is_snake_case() {
        let r: RevokeRequest = serde_json::from_str(r#"{"scope":"others"}"#).unwrap();
        assert_eq!(r.scope, RevokeScope::Others);
        assert!(serde_json::from_str::<RevokeRequest>(r#"{"scope":"some"}"#).is_err());
    }
}
