//! A database outage under a running deployment: two session servers on one PostgreSQL
//! cluster of their own, and a guard fed by one of them. The operator stops PostgreSQL;
//! nothing hangs, nothing is acknowledged that was not committed, and when PostgreSQL
//! comes back everything recovers by itself.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use guard::{Denied, Guard, GuardConfig, Revoked};
use proto::tokens::TokenResponse;
use serde_json::json;
use testkit::{Backend, Options, PgCluster, TestServer};

const PASSWORD: &str = "correct horse battery staple";
const ISSUER: &str = "https://sessions.example.test";
/// Every request that needs the database is answered within this while it is down.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);
/// The guard's bound on feed silence (the servers send heartbeats every second).
const MAX_FEED_SILENCE: Duration = Duration::from_secs(3);

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A request and how long its answer took.
async fn timed(rb: reqwest::RequestBuilder) -> (reqwest::Response, Duration) {
    let start = Instant::now();
    let r = rb.send().await.expect("the server answers");
    (r, start.elapsed())
}

async fn assert_unavailable(what: &str, rb: reqwest::RequestBuilder) {
    let (r, took) = timed(rb).await;
    assert!(took < ANSWER_WITHIN, "{what} took {took:?}");
    assert_eq!(r.status(), 503, "{what}");
    assert!(
        r.headers().contains_key("retry-after"),
        "{what}: 503 without Retry-After"
    );
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{what}: {body}");
}

fn revoke(
    server: &TestServer,
    by: &TokenResponse,
    victim: &TokenResponse,
) -> reqwest::RequestBuilder {
    http()
        .delete(format!(
            "{}/v1/sessions/{}",
            server.url(),
            victim.session_id
        ))
        .bearer_auth(by.access_token.expose())
}

fn sign_in(server: &TestServer, email: &str) -> reqwest::RequestBuilder {
    http().post(format!("{}/v1/sessions", server.url())).json(&json!({
        "email": email,
        "password": PASSWORD,
        "device": {"name": "Tablet", "platform": "linux", "os_version": "Debian 12", "app_version": "test"}
    }))
}

async fn ready(server: &TestServer) -> bool {
    let r = http()
        .get(format!("{}/readyz", server.url()))
        .send()
        .await
        .unwrap();
    r.status() == 200
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_at_once_and_recovered_from_by_itself() {
    let cluster = PgCluster::dedicated().await;
    let database = cluster.new_database().await;
    let opts = || Options {
        database_url: Some(database.clone()),
        ..Options::backend(Backend::Postgres)
            .arg("--issuer")
            .arg(ISSUER)
            .arg("--feed-heartbeat")
            .arg("1s")
    };
    let a = TestServer::start_with(opts()).await;
    let b = TestServer::start_with(opts()).await;
    let mut config = GuardConfig::new(b.url(), "rs", "rs-secret");
    config.max_feed_silence = MAX_FEED_SILENCE;
    let guard = Guard::start(config).await.unwrap();

    let email = format!("outage-{}@example.com", uuid::Uuid::now_v7().simple());
    a.create_account(&email, PASSWORD).await;
    let phone = a.sign_in(&email, PASSWORD, "Phone").await;
    let laptop = a.sign_in(&email, PASSWORD, "Lost laptop").await;
    assert!(guard.authorize(laptop.access_token.expose()).await.is_ok());
    assert!(ready(&a).await && ready(&b).await);

    cluster.stop().await;

    // Liveness answers at once; readiness says no at once.
    for server in [&a, &b] {
        let (r, took) = timed(http().get(format!("{}/healthz", server.url()))).await;
        assert_eq!(r.status(), 200);
        assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
        let (r, took) = timed(http().get(format!("{}/readyz", server.url()))).await;
        assert_eq!(r.status(), 503);
        assert!(took < Duration::from_secs(2), "/readyz took {took:?}");
    }
    // What needs the database is refused within the bound, and says so.
    assert_unavailable("a revocation", revoke(&a, &phone, &laptop)).await;
    assert_unavailable("a sign-in", sign_in(&b, &email)).await;
    let (r, _) = timed(
        http()
            .get(format!("{}/v1/sessions", b.url()))
            .bearer_auth(phone.access_token.expose()),
    )
    .await;
    assert_eq!(r.status(), 503, "the device list");
    // The guard cannot vouch for its denylist any more: it fails closed within its bound.
    let start = Instant::now();
    loop {
        match guard.authorize(phone.access_token.expose()).await {
            Err(Denied::FeedStale) => break,
            Ok(_) => assert!(
                start.elapsed() < MAX_FEED_SILENCE + Duration::from_secs(2),
                "the guard still trusts its feed {:?} into the outage",
                start.elapsed()
            ),
            Err(other) => panic!("unexpected refusal: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    cluster.start().await;

    // Both instances recover by themselves: the pool reconnects, the followers catch up.
    let start = Instant::now();
    while !(ready(&a).await && ready(&b).await) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not ready 30 s after the database returned"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The revocation refused during the outage was not committed: the laptop still works.
    assert!(
        !a.session_is_revoked(laptop.session_id).await,
        "a revocation answered 503 must not have happened"
    );
    // Heartbeats resume: the guard trusts its feed again.
    let start = Instant::now();
    while guard.authorize(phone.access_token.expose()).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the guard did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A revocation through one instance is enforced by the guard fed by the other.
    let (r, _) = timed(revoke(&a, &phone, &laptop)).await;
    assert_eq!(r.status(), 204);
    let start = Instant::now();
    loop {
        match guard.authorize(laptop.access_token.expose()).await {
            Err(Denied::Revoked(Revoked::Session)) => break,
            _ => assert!(
                start.elapsed() < Duration::from_secs(2),
                "the guard fed by the other instance still accepts the revoked laptop"
            ),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(guard.authorize(phone.access_token.expose()).await.is_ok());
    let (r, _) = timed(sign_in(&b, &email)).await;
    assert_eq!(r.status(), 201, "sign-in works again");
}
