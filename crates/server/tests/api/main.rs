//! The session server's integration suite: a real `session-server` process per test on a
//! random loopback port, each scenario run against SQLite and against PostgreSQL.

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod accounts;
mod bad_input;
mod devices;
mod discovery;
mod durability;
mod feed;
mod refresh;
mod revocation;
