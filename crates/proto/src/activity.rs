//! `GET /v1/activity`: the account's security history, newest first.

use serde::{Deserialize, Serialize};

use crate::sessions::RevocationReason;
use crate::{Device, SessionId, Timestamp};

/// What an activity entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ActivityKind {
    SignedIn,
    /// Sampled: at most one per session per hour.
    Refreshed,
    /// A retry of a refresh from the same address got the same successor again.
    RefreshRetried,
    Renamed,
    Revoked,
    SignedOutEverywhere,
    RefreshTokenReuse,
    PasswordChanged,
    TwoStepEnabled,
    TwoStepDisabled,
    /// A signed-out device confirmed that it erased its keys (a wipe receipt).
    Wiped,
    /// A kind this version does not know (written by a newer server).
    #[serde(other)]
    Unknown,
}

impl ActivityKind {
    /// Every kind a server records.
    pub const ALL: &'static [ActivityKind] = &[
        Self::SignedIn,
        Self::Refreshed,
        Self::RefreshRetried,
        Self::Renamed,
        Self::Revoked,
        Self::SignedOutEverywhere,
        Self::RefreshTokenReuse,
        Self::PasswordChanged,
        Self::TwoStepEnabled,
        Self::TwoStepDisabled,
        Self::Wiped,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignedIn => "signed_in",
            Self::Refreshed => "refreshed",
            Self::RefreshRetried => "refresh_retried",
            Self::Renamed => "renamed",
            Self::Revoked => "revoked",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::PasswordChanged => "password_changed",
            Self::TwoStepEnabled => "two_step_enabled",
            Self::TwoStepDisabled => "two_step_disabled",
            Self::Wiped => "wiped",
            Self::Unknown => "unknown",
        }
    }

    /// A kind as stored; `None` for text that is not one a server writes.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActivityEvent {
    pub at: Timestamp,
    pub kind: ActivityKind,
    /// The session concerned.
    pub session_id: Option<SessionId>,
    /// That session's device as it was then.
    pub device: Option<Device>,
    /// The address the request came from.
    pub ip: Option<String>,
    /// The session that did it, when another device did.
    pub by_session_id: Option<SessionId>,
    /// For `revoked`: why (an addition to shared/API.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub reason: Option<RevocationReason>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityList {
    pub events: Vec<ActivityEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_unknown_ones_are_kept_as_unknown() {
        for &k in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        let k: ActivityKind = serde_json::from_str("\"teleported\"").unwrap();
        assert_eq!(k, ActivityKind::Unknown);
    }
}
