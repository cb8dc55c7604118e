//! `GET /v1/activity`: the account's security history, newest first.

use serde::{Deserialize, Serialize};

use crate::sessions::RevocationReason;
use crate::{Device, SessionId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    SignedIn,
    /// Sampled: at most one per session per hour.
    Refreshed,
    Renamed,
    Revoked,
    SignedOutEverywhere,
    RefreshTokenReuse,
}

impl ActivityKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignedIn => "signed_in",
            Self::Refreshed => "refreshed",
            Self::Renamed => "renamed",
            Self::Revoked => "revoked",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::RefreshTokenReuse => "refresh_token_reuse",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "signed_in" => Self::SignedIn,
            "refreshed" => Self::Refreshed,
            "renamed" => Self::Renamed,
            "revoked" => Self::Revoked,
            "signed_out_everywhere" => Self::SignedOutEverywhere,
            "refresh_token_reuse" => Self::RefreshTokenReuse,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    pub reason: Option<RevocationReason>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityList {
    pub events: Vec<ActivityEvent>,
}
