//! Events of `GET /v1/events` (Server-Sent Events). The SSE `event:` field carries
//! the name (`session.revoked`, ...), `data:` the JSON payload, `id:` a resumable cursor.

use serde::{Deserialize, Serialize};

use crate::sessions::RevocationReason;
use crate::{Device, SessionId, Timestamp};

/// `session.revoked`: sent to the revoked device itself and to the account's other
/// devices. The revoked device's stream closes after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRevoked {
    pub session_id: SessionId,
    pub reason: RevocationReason,
    /// The session that asked for it; absent for server-side causes (reuse, admin).
    pub by_session_id: Option<SessionId>,
    /// When it happened (an addition to shared/API.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// The revoked device, so a client can name it without another request (addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// The device that asked for it, if any (addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_device: Option<Device>,
}

/// `session.created`: a new sign-in on the account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCreated {
    pub session_id: SessionId,
    pub device: Device,
    /// The address it signed in from (an addition to shared/API.md), so other devices
    /// can say where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// `session.wiped`: a signed-out device confirmed that it erased its keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionWiped {
    pub session_id: SessionId,
    pub at: Timestamp,
}

/// `session.renamed`: a device got a new name (an addition to shared/API.md, so
/// that open device lists follow renames live).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRenamed {
    pub session_id: SessionId,
    pub device: Device,
    pub by_session_id: Option<SessionId>,
}

/// What a `security.alert` is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum AlertKind {
    /// A spent refresh token was presented again: a device's sign-in was probably copied.
    RefreshTokenReuse,
    /// The account's password was changed.
    PasswordChanged,
    /// Two-step sign-in was turned off.
    TwoStepDisabled,
    /// A kind this version does not know (a newer server): show the message.
    #[serde(other)]
    Unknown,
}

impl AlertKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::PasswordChanged => "password_changed",
            Self::TwoStepDisabled => "two_step_disabled",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `security.alert`: something the account holder should know about at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SecurityAlert {
    /// What happened.
    pub kind: AlertKind,
    /// The session concerned.
    pub session_id: Option<SessionId>,
    pub at: Timestamp,
    /// Text for people.
    pub message: String,
}

/// One event of the device stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    SessionRevoked(SessionRevoked),
    SessionCreated(SessionCreated),
    SessionRenamed(SessionRenamed),
    SessionWiped(SessionWiped),
    SecurityAlert(SecurityAlert),
}

impl Event {
    pub const SESSION_REVOKED: &'static str = "session.revoked";
    pub const SESSION_CREATED: &'static str = "session.created";
    pub const SESSION_RENAMED: &'static str = "session.renamed";
    pub const SESSION_WIPED: &'static str = "session.wiped";
    pub const SECURITY_ALERT: &'static str = "security.alert";

    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::SessionRevoked(_) => Self::SESSION_REVOKED,
            Self::SessionCreated(_) => Self::SESSION_CREATED,
            Self::SessionRenamed(_) => Self::SESSION_RENAMED,
            Self::SessionWiped(_) => Self::SESSION_WIPED,
            Self::SecurityAlert(_) => Self::SECURITY_ALERT,
        }
    }

    /// The SSE `data:` payload.
    pub fn data(&self) -> serde_json::Value {
        let v = match self {
            Self::SessionRevoked(e) => serde_json::to_value(e),
            Self::SessionCreated(e) => serde_json::to_value(e),
            Self::SessionRenamed(e) => serde_json::to_value(e),
            Self::SessionWiped(e) => serde_json::to_value(e),
            Self::SecurityAlert(e) => serde_json::to_value(e),
        };
        // These structs hold only strings, ids and times: serializing cannot fail.
        v.unwrap_or(serde_json::Value::Null)
    }

    /// Reads an event from its SSE name and data. `Ok(None)` for names this version
    /// does not know, so old clients survive new servers.
    pub fn parse(name: &str, data: &str) -> Result<Option<Self>, serde_json::Error> {
        Ok(Some(match name {
            Self::SESSION_REVOKED => Self::SessionRevoked(serde_json::from_str(data)?),
            Self::SESSION_CREATED => Self::SessionCreated(serde_json::from_str(data)?),
            Self::SESSION_RENAMED => Self::SessionRenamed(serde_json::from_str(data)?),
            Self::SESSION_WIPED => Self::SessionWiped(serde_json::from_str(data)?),
            Self::SECURITY_ALERT => Self::SecurityAlert(serde_json::from_str(data)?),
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_round_trips_through_its_sse_form() {
        let e = Event::SessionRevoked(SessionRevoked {
            session_id: SessionId::new(),
            reason: RevocationReason::Revoked,
            by_session_id: Some(SessionId::new()),
            at: None,
            device: None,
            by_device: None,
        });
        let data = e.data().to_string();
        assert_eq!(Event::parse(e.name(), &data).unwrap(), Some(e));
    }

    #[test]
    fn unknown_events_are_skipped_not_errors() {
        assert_eq!(Event::parse("future.thing", "{}").unwrap(), None);
    }
}
