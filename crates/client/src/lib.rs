//! Client of the Session API, shared by `sessionctl` and the desktop app.
//!
//! - The refresh token lives only in the OS keychain ([`Keychain`]); the access token
//!   only in memory. Refreshes happen ahead of expiry and once after a 401, one at a
//!   time however many calls wait, and the rotated refresh token is in the keychain
//!   before it is relied on.
//! - Every keychain call runs off the async runtime with a deadline, so a locked or
//!   absent keychain is a clear [`KeychainError`] within 5 s, never a hang, and never a
//!   fallback to a file.
//! - [`Session::logout`] takes the credential out of the keychain at once and keeps
//!   the refresh token in a pending-revocation entry until the server confirms it.
//! - [`Session::start_events`] follows the account's event stream; when this device is
//!   signed out from elsewhere its keychain entry is wiped at once and a
//!   [`ClientEvent::SignedOut`] is sent.
//!
//! Start with [`SessionManager`].

mod config;
mod error;
mod events;
mod http;
mod manager;
mod native;
mod session;
mod store;

pub use config::{AccountRecord, ConfigFile, PendingRevocation};
pub use error::{ClientError, ErrorCode, ErrorInfo, KeychainError, Result};
pub use events::{ClientEvent, SignedOutNotice};
pub use http::normalize_server_url;
pub use manager::{KeychainStatus, Options, PendingReport, SessionManager, Status};
pub use native::NativeStore;
pub use session::{LogoutOutcome, Session};
pub use store::{
    AccountKey, DEFAULT_KEYCHAIN_TIMEOUT, EntryKind, EntryName, Keychain, SERVICE, TokenStore,
};
