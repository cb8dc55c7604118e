//! How the client reaches a server: over HTTPS with a private CA it was told to trust,
//! never over plain HTTP to another machine, never along a redirect.
//! Run with: scripts/with-secret-service cargo test -p session-client --test transport
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use client::{ClientError, Keychain, Options, SessionManager};
use proto::Password;
use support::*;
use testkit::tls::TestCa;
use testkit::{Options as ServerOptions, TestServer};

const PW: &str = "correct horse battery staple";

fn manager(dir: &tempfile::TempDir, ca_file: Option<std::path::PathBuf>) -> SessionManager {
    SessionManager::new(Options {
        config_dir: Some(dir.path().join("session-manager")),
        keychain: Some(Keychain::native()),
        app_version: Some("test".into()),
        ca_file,
        ..Options::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_private_ca_is_reached_only_by_clients_told_to_trust_it() {
    require_secret_service();
    let ca = TestCa::new("Company CA");
    let server = TestServer::start_with(ServerOptions::default().tls(&ca)).await;
    let email = format!("tls-{}@example.com", std::process::id());
    server.create_account(&email, PW).await;

    // Not told about the CA: a clear error that names the fix, and nothing stored.
    let dir = tempfile::tempdir().unwrap();
    let err = manager(&dir, None)
        .sign_in(server.url(), &email, &Password::new(PW), Some("Laptop"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("certificate is not trusted") && text.contains("--ca-file"),
        "{text}"
    );
    assert_eq!(keychain_entry(&active_user(server.url(), &email)), None);

    // Told about it: signs in, and the session works.
    let dir = tempfile::tempdir().unwrap();
    let session = manager(&dir, Some(ca.ca_file()))
        .sign_in(server.url(), &email, &Password::new(PW), Some("Laptop"))
        .await
        .unwrap();
    assert_eq!(session.list_devices().await.unwrap().len(), 1);
    session.logout().await.unwrap();

    // A CA file that is not one is refused when the client is set up.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello").unwrap();
    let err = SessionManager::new(Options {
        ca_file: Some(junk),
        ..Options::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("junk.pem"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_machine_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let err = manager(&dir, None)
        .sign_in(
            "http://sessions.example.com",
            "ann@example.com",
            &Password::new(PW),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "validation_failed");
    let text = err.to_string();
    assert!(
        text.contains("https://sessions.example.com") && text.contains("--insecure-http"),
        "{text}"
    );
}

/// A server that answers every request with a redirect to `to`.
async fn redirecting_to(to: String) -> String {
    let app = Router::new().fallback(move || {
        let to = to.clone();
        async move { (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response() }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A server that counts what reaches it.
async fn counting() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let app = Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            StatusCode::CREATED
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_never_followed_with_a_password() {
    let (elsewhere, reached) = counting().await;
    let redirector = redirecting_to(format!("{elsewhere}/v1/sessions")).await;
    let dir = tempfile::tempdir().unwrap();
    let err = manager(&dir, None)
        .sign_in(&redirector, "ann@example.com", &Password::new(PW), None)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("redirects to"), "{text}");
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the sign-in (with its password) followed the redirect"
    );
}
