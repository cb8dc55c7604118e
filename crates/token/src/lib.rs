//! Access tokens of the Session API.
//!
//! - [`SigningKey`] signs claims into a compact JWT (`alg: EdDSA`, Ed25519, with `kid`).
//! - [`KeySet`] + [`Expectations`] verify one: only `EdDSA` is accepted (so `alg:none` and
//!   HS256-with-the-public-key forgeries fail before any key is touched), the signature is
//!   checked strictly, then `iss`, `aud`, `exp` and `iat`.
//! - [`Denylist`] answers whether a verified token has been revoked: by session (`sid`),
//!   by token (`jti`), or by the account's not-before instant.
//!
//! The server and the guard both validate through this crate, so they cannot disagree.

mod denylist;
mod jwt;
mod keys;

pub use denylist::{Denylist, DenylistStats, Revoked};
pub use jwt::{Expectations, TokenError, issued_at_ms, verify};
pub use keys::{KeyError, KeySet, SigningKey};
