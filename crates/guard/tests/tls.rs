//! A guard in front of a session server whose certificate comes from a private CA: it
//! starts when given the CA file, and says why it cannot when not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guard::{Guard, GuardConfig, GuardError};
use testkit::tls::TestCa;
use testkit::{Options, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_trusts_the_private_ca_it_is_given() {
    let ca = TestCa::new("Company CA");
    let server = TestServer::start_with(Options::default().tls(&ca)).await;

    let err = Guard::start(GuardConfig::new(server.url(), "rs", "rs-secret"))
        .await
        .unwrap_err();
    assert!(matches!(err, GuardError::Unreachable { .. }), "{err}");

    let mut config = GuardConfig::new(server.url(), "rs", "rs-secret");
    config.ca_file = Some(ca.ca_file());
    let guard = Guard::start(config).await.unwrap();
    server
        .create_account("tls@example.com", "correct horse battery staple")
        .await;
    let phone = server
        .sign_in("tls@example.com", "correct horse battery staple", "Phone")
        .await;
    assert!(guard.authorize(phone.access_token.expose()).await.is_ok());

    let mut config = GuardConfig::new(server.url(), "rs", "rs-secret");
    config.ca_file = Some(ca.dir().join("missing.pem"));
    let err = Guard::start(config).await.unwrap_err();
    assert!(matches!(err, GuardError::CaFile { .. }), "{err}");
}
