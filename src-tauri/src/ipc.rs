//! Everything that crosses IPC, written once: the types (their TypeScript in
//! `ui/src/generated/` is generated from these), the argument objects of the commands,
//! and the events by name. Built from the client's types, field for field; no token,
//! no expiry, no keychain secret.

use chrono::{DateTime, Local};
use client::{ClientError, ErrorInfo, KeychainStatus, Status};
use proto::events::SecurityAlert;
use proto::{Password, SessionId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tauri::Runtime;
use tauri::ipc::{CommandArg, CommandItem, InvokeBody, InvokeError};

/// What the UI shows and switches on: who is signed in where, the keychain, and
/// whether this device was signed out from elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppState {
    pub signed_in: bool,
    /// Remembered across runs.
    pub server_url: Option<String>,
    pub email: Option<String>,
    pub session_id: Option<SessionId>,
    /// From the host name.
    pub default_device_name: String,
    pub keychain: Keychain,
    /// Logouts whose revocation the server has not confirmed yet.
    pub pending_revocations: usize,
    /// The event stream is connected.
    pub online: bool,
    /// Set when this device was signed out from elsewhere, until dismissed.
    pub signed_out_notice: Option<SignedOutNotice>,
}

impl AppState {
    /// The client's status as the UI sees it; notices are worded relative to `now`.
    pub fn new(s: Status, now: &DateTime<Local>) -> Self {
        Self {
            signed_in: s.signed_in,
            server_url: s.server_url,
            email: s.email,
            session_id: s.session_id,
            default_device_name: s.default_device_name,
            keychain: s.keychain.into(),
            pending_revocations: s.pending_revocations,
            online: s.online,
            signed_out_notice: s.signed_out_notice.map(|n| SignedOutNotice::new(n, now)),
        }
    }
}

/// `AppState.keychain`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Keychain {
    /// Which keychain, in words ("Secret Service", "macOS Keychain", …).
    pub backend: String,
    pub available: bool,
    /// What is wrong and what to do, when it is not available.
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

/// This device was signed out from elsewhere: the client's notice, with the sentence
/// to show (the same words as the OS notification and `sessionctl`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SignedOutNotice {
    #[serde(flatten)]
    pub notice: client::SignedOutNotice,
    /// "This device was signed out from Work laptop at 14:02." (worded when it is sent).
    pub message: String,
}

impl SignedOutNotice {
    pub fn new(notice: client::SignedOutNotice, now: &DateTime<Local>) -> Self {
        let message = notice.message(now);
        Self { notice, message }
    }
}

/// What every failed command rejects with (the object, not a string).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AppError(pub ErrorInfo);

impl AppError {
    /// A setting of the app's own (not the client's config file) could not be read or
    /// written: `config_error`, with what went wrong.
    pub fn config(message: String) -> Self {
        Self(ErrorInfo {
            code: client::ErrorCode::ConfigError,
            message,
            retry_after_secs: None,
        })
    }
}

impl From<ClientError> for AppError {
    fn from(e: ClientError) -> Self {
        Self(e.to_info())
    }
}

pub type CommandResult<T> = Result<T, AppError>;

/// The answer of `sign_out_others`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Revoked {
    /// How many devices were signed out.
    pub revoked: u64,
}

/// The screens whose first paint `first_paint` reports (a closed set: the web view
/// cannot put free text into the log).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
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

/// The arguments of a command: the whole object the web view passes
/// (`invoke("sign_in", { serverUrl, … })`), read as one struct so that its TypeScript
/// type is generated from the same definition. Keys are camelCase, as Tauri's own
/// per-argument reading has them.
pub struct Args<T>(pub T);

impl<'de, T: DeserializeOwned, R: Runtime> CommandArg<'de, R> for Args<T> {
    fn from_command(command: CommandItem<'de, R>) -> Result<Self, InvokeError> {
        let InvokeBody::Json(body) = command.message.payload() else {
            return Err(InvokeError::from(format!(
                "command {} takes a JSON object",
                command.name
            )));
        };
        T::deserialize(body).map(Args).map_err(|e| {
            InvokeError::from(format!("invalid args for command {}: {e}", command.name))
        })
    }
}

/// The arguments of `sign_in`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SignInArgs {
    pub server_url: String,
    pub email: String,
    #[cfg_attr(test, ts(type = "string"))]
    pub password: Password,
    /// The name this device gets in the list (the host name when absent).
    pub device_name: Option<String>,
}

/// The arguments of `rename_device`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct RenameDeviceArgs {
    /// A device's `id` from the list.
    pub id: String,
    pub name: String,
}

/// The arguments of `sign_out_device`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DeviceArgs {
    /// A device's `id` from the list.
    pub id: String,
}

/// The arguments of `first_paint`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FirstPaintArgs {
    pub screen: Screen,
    /// How many device rows the screen shows.
    pub rows: u32,
}

/// The answer of `start_at_login` and `set_start_at_login`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StartAtLogin {
    /// The app starts, hidden in the tray, when the person logs in.
    pub enabled: bool,
}

/// The arguments of `set_start_at_login`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StartAtLoginArgs {
    pub enabled: bool,
}

/// Payload of `devices-changed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DevicesChanged {
    /// The server event that changed it (`session.created`, `session.revoked`, …).
    pub reason: &'static str,
}

/// An event the app sends the web view; its name is fixed by its payload's type, so
/// no payload can go out under another event's name.
pub trait AppEvent: Serialize + Clone {
    const NAME: &'static str;
}

/// The events, written once: name → payload. Expands into the [`AppEvent`] impls, the
/// list of names, and (for the tests that generate the UI's TypeScript) `EventMap`.
macro_rules! app_events {
    ($($(#[doc = $doc:literal])* $name:literal => $payload:ident,)*) => {
        $(impl AppEvent for $payload {
            const NAME: &'static str = $name;
        })*

        /// Every event name, as the web view listens for it.
        pub const EVENTS: &[&str] = &[$($name),*];

        /// Every event the app sends, by name, with its payload.
        #[cfg(test)]
        #[derive(ts_rs::TS)]
        #[allow(non_snake_case, dead_code)]
        pub struct EventMap {
            $($(#[doc = $doc])* #[ts(rename = $name)] pub $payload: $payload,)*
        }

        /// Each event's name and what it means, for docs/app-ipc.md.
        #[cfg(test)]
        pub(crate) fn event_docs() -> Vec<(&'static str, String, String)> {
            let cfg = crate::contract::ts_config();
            vec![$((
                $name,
                <$payload as ts_rs::TS>::name(&cfg),
                [$($doc),*].map(str::trim).join(" "),
            )),*]
        }
    };
}

app_events! {
    /// Something about the account's devices changed: refetch the list.
    "devices-changed" => DevicesChanged,
    /// Something the account holder should know about at once.
    "security-alert" => SecurityAlert,
    /// This device was signed out from elsewhere; its keychain entry is already gone.
    /// Sent after `app_state` already answers `signed_in: false`.
    "signed-out" => SignedOutNotice,
    /// A field of `AppState` changed.
    "state-changed" => AppState,
}
