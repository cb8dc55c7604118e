//! Wire types of the Session API v1 (`shared/API.md`, documented in `docs/API.md`
//! and served as OpenAPI by the server).
//!
//! This crate is deliberately tiny: serde types, typed ids and secret newtypes. It
//! does no I/O so that the server, the client, the guard and the app can all share it.

mod ids;
mod secret;

pub mod account;
pub mod activity;
pub mod discovery;
pub mod error;
pub mod events;
pub mod introspection;
pub mod notice;
pub mod revocations;
pub mod sessions;
pub mod sse;
pub mod text;
pub mod tokens;

pub use ids::{IdParseError, Jti, SessionId, UserId};
pub use secret::{AccessToken, Password, RefreshToken, SecretText};

/// How long the server keeps an idle kept-alive connection: a request head must
/// arrive within this of the previous answer (docs/API.md, *Connections*).
pub const SERVER_IDLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a client keeps an idle pooled connection: well inside
/// [`SERVER_IDLE_LIMIT`], so a request is never written into a connection the server
/// is closing that moment (seen as "connection reset" on a loaded machine).
pub const CLIENT_POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// Times on the wire are RFC 3339 in UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// A device as the user and the sign-in request describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Device {
    pub name: String,
    #[serde(default)]
    pub platform: String,
    #[serde(default)]
    pub os_version: String,
    #[serde(default)]
    pub app_version: String,
}

/// `POST /v1/accounts`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct CreateAccountRequest {
    pub email: String,
    pub password: Password,
}

/// Answer of `POST /v1/accounts`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreateAccountResponse {
    pub user_id: UserId,
}
