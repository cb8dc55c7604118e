//! The JSON that crosses IPC (docs/app-ipc.md), built from the client's types.
//! Field for field; no token, no expiry, no keychain secret.

use client::{ClientError, ErrorInfo, KeychainStatus, SignedOutNotice, Status};
use proto::SessionId;
use serde::{Deserialize, Serialize};

/// `AppState`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppState {
    pub signed_in: bool,
    pub server_url: Option<String>,
    pub email: Option<String>,
    pub session_id: Option<SessionId>,
    pub default_device_name: String,
    pub keychain: Keychain,
    pub pending_revocations: usize,
    pub online: bool,
    pub signed_out_notice: Option<SignedOutNotice>,
}

/// `AppState.keychain`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Keychain {
    pub backend: String,
    pub available: bool,
    pub message: Option<String>,
}

impl From<KeychainStatus> for Keychain {
    fn from(k: KeychainStatus) -> Self {
        Self {
            backend: k.backend,
            available: k.available,
            message: k.message,
        }
    }
}

impl From<Status> for AppState {
    fn from(s: Status) -> Self {
        Self {
            signed_in: s.signed_in,
            server_url: s.server_url,
            email: s.email,
            session_id: s.session_id,
            default_device_name: s.default_device_name,
            keychain: s.keychain.into(),
            pending_revocations: s.pending_revocations,
            online: s.online,
            signed_out_notice: s.signed_out_notice,
        }
    }
}

/// `AppError`: what every failed command rejects with (the object, not a string).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AppError(pub ErrorInfo);

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> Self {
        Self(e.to_info())
    }
}

pub type CommandResult<T> = Result<T, AppError>;

/// `sign_out_others` answers `{ revoked }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Revoked {
    pub revoked: u64,
}

/// Payload of `devices-changed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DevicesChanged {
    pub reason: &'static str,
}

/// Event names (backend → UI).
pub mod event {
    pub const DEVICES_CHANGED: &str = "devices-changed";
    pub const SECURITY_ALERT: &str = "security-alert";
    pub const SIGNED_OUT: &str = "signed-out";
    pub const STATE_CHANGED: &str = "state-changed";
}

/// The screens whose first paint `first_paint` reports (a closed set: the web view
/// cannot put free text into the log).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Screen {
    SignIn,
    Devices,
}

impl Screen {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::Devices => "devices",
        }
    }
}
