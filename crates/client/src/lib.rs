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
//! - [`Session::start_events`] follows the account's event stream, resuming after
//!   every reconnect from the last event it received; when this device is signed out
//!   from elsewhere its keychain entry is wiped at once and a
//!   [`ClientEvent::SignedOut`] is sent.
//! - Whenever it erases the credential of a revoked session, it sends the server a
//!   wipe receipt (kept and retried like a pending revocation when offline), so the
//!   account's other devices can see that the lost laptop obeyed.
//! - After a scare: [`Session::change_password`], two-step sign-in
//!   ([`Session::two_step_start`], [`ClientError::TwoStepRequired`] and
//!   [`SessionManager::sign_in_second_step`]), and the signed-out devices with their
//!   receipts ([`Session::list_devices_with_signed_out`]).
//!
//! Start with [`SessionManager`].

mod account;
mod config;
mod error;
mod events;
mod http;
mod manager;
mod native;
mod receipts;
mod session;
mod store;
mod two_step;

pub use config::{AccountRecord, ConfigFile, PendingReceipt, PendingRevocation};
pub use error::{ClientError, ErrorCode, ErrorInfo, KeychainError, Result};
pub use events::{ClientEvent, SignedOutNotice};
pub use http::normalize_server_url;
pub use manager::{KeychainStatus, Options, PendingReport, SessionManager, Status};
pub use native::NativeStore;
pub use session::{LogoutOutcome, Session};
pub use store::{
    AccountKey, DEFAULT_KEYCHAIN_TIMEOUT, EntryKind, EntryName, Keychain, SERVICE, TokenStore,
};
pub use two_step::{TwoStepAnswer, TwoStepChallenge};
