//! The session server: signs devices in, rotates refresh tokens, revokes at once.
//!
//! Code map (see ARCHITECTURE.md for the invariants):
//! - [`config`]: flags and environment;
//! - [`app`]: what the server does, free of HTTP;
//! - [`http`]: routes, extractors, the error shape, SSE, OpenAPI;
//! - [`store`]: the only module that speaks SQL (SQLite or PostgreSQL);
//! - [`feed`]: follows the feed of revocations and events into the denylist and streams;
//! - [`keys`], [`seal`], [`secrets`], [`password`]: signing keys, sealing secrets at
//!   rest, refresh tokens, argon2id;
//! - [`ratelimit`]: sign-in failure limits;
//! - [`metrics`]: the Prometheus series (`/metrics`), every name written once.

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

pub mod app;
pub mod background;
pub mod config;
pub mod feed;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod password;
pub mod ratelimit;
pub mod seal;
pub mod secrets;
pub mod serve;
pub mod store;
pub mod time;
