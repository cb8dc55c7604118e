//! The session server's integration suite: a real server per test on a random loopback
//! port, each scenario run against SQLite and against PostgreSQL. Servers run inside
//! the test process, except where a test needs the binary in a process of its own
//! (`kill -9`, SIGTERM, restarts, what the process itself prints).

// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod account_page;
mod account_page_files;
mod accounts;
mod after_a_scare;
mod attacks;
mod bad_input;
mod devices;
mod discovery;
mod durability;
mod feed;
mod keys_and_feed;
mod metrics;
mod refresh;
mod revocation;
mod tls;
