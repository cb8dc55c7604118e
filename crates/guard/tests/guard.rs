//! The guard in a real service, fed by real session servers on one database: revocations
//! through any instance are enforced at once, across disconnects and restarts, and a
//! silent feed fails closed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use guard::{Denied, Guard, GuardConfig, GuardedClaims, Revoked};
use proto::tokens::TokenResponse;
use serde_json::json;
use testkit::{Backend, Options, TestServer};

const PASSWORD: &str = "correct horse battery staple";
const ISSUER: &str = "https://sessions.example.test";

/// Two instances of one deployment (one database, one issuer name); `b` adjusts the
/// second's options (a process of its own, for a test that crashes it).
async fn two_instances(backend: Backend, b: fn(Options) -> Options) -> (TestServer, TestServer) {
    let opts = |db: Option<String>| Options {
        database_url: db,
        ..Options::backend(backend).arg("--issuer").arg(ISSUER)
    };
    let a = TestServer::start_with(opts(None)).await;
    let b = TestServer::start_with(b(opts(Some(a.database_url().to_owned())))).await;
    (a, b)
}

fn config(server: &TestServer) -> GuardConfig {
    GuardConfig::new(server.url(), "rs", "rs-secret")
}

/// A service with one guarded route, on a random loopback port.
async fn guarded_service(guard: &Guard) -> String {
    let app = Router::new()
        .route(
            "/whoami",
            get(|GuardedClaims(c): GuardedClaims| async move { c.sid.to_string() }),
        )
        .layer(guard.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn call(service: &str, token: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .get(format!("{service}/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn account(server: &TestServer) -> String {
    let email = format!("guard-{}@example.com", uuid::Uuid::now_v7().simple());
    server.create_account(&email, PASSWORD).await;
    email
}

async fn delete(server: &TestServer, by: &TokenResponse, victim: &TokenResponse) {
    let r = reqwest::Client::new()
        .delete(format!(
            "{}/v1/sessions/{}",
            server.url(),
            victim.session_id
        ))
        .bearer_auth(by.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

/// Polls until the guard refuses the token; returns how long that took.
async fn refused_within(guard: &Guard, token: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if guard.authorize(token).await.is_err() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "the guard still accepts a revoked token after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_revoked_through_one_instance_is_refused_by_a_guard_fed_by_the_other() {
    let (a, b) = two_instances(Backend::Postgres, |b| b).await;
    let guard = Guard::start(config(&b)).await.unwrap();
    let service = guarded_service(&guard).await;
    let email = account(&a).await;
    let phone = a.sign_in(&email, PASSWORD, "Phone").await;
    let laptop = a.sign_in(&email, PASSWORD, "Lost laptop").await;
    assert_eq!(call(&service, laptop.access_token.expose()).await, 200);

    delete(&a, &phone, &laptop).await;
    refused_within(&guard, laptop.access_token.expose(), Duration::from_secs(2)).await;
    assert_eq!(call(&service, laptop.access_token.expose()).await, 401);
    assert_eq!(
        guard
            .authorize_now(laptop.access_token.expose())
            .unwrap_err(),
        Denied::Revoked(Revoked::Session)
    );
    // Instance B's own API refuses it too.
    let r = reqwest::Client::new()
        .get(format!("{}/v1/sessions", b.url()))
        .bearer_auth(laptop.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The phone is untouched.
    assert_eq!(call(&service, phone.access_token.expose()).await, 200);

    // One access token revoked by itself (RFC 7009): that token only.
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/revoke", a.url()))
        .form(&[("token", phone.access_token.expose())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    refused_within(&guard, phone.access_token.expose(), Duration::from_secs(2)).await;
    assert_eq!(
        guard
            .authorize_now(phone.access_token.expose())
            .unwrap_err(),
        Denied::Revoked(Revoked::Token)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_everywhere_is_enforced_through_the_accounts_not_before() {
    let (a, b) = two_instances(Backend::Postgres, |b| b).await;
    let guard = Guard::start(config(&b)).await.unwrap();
    let service = guarded_service(&guard).await;
    let email = account(&a).await;
    let one = a.sign_in(&email, PASSWORD, "Desktop").await;
    let two = a.sign_in(&email, PASSWORD, "Phone").await;

    let r = reqwest::Client::new()
        .post(format!("{}/v1/sessions/revoke", a.url()))
        .bearer_auth(one.access_token.expose())
        .json(&json!({"scope": "all"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for t in [&one, &two] {
        refused_within(&guard, t.access_token.expose(), Duration::from_secs(2)).await;
        assert_eq!(call(&service, t.access_token.expose()).await, 401);
    }
    assert_eq!(
        guard.denylist_stats().accounts,
        1,
        "the account's not-before reached the guard"
    );
    // A device signing in afterwards, within the same second, gets through.
    let fresh = b.sign_in(&email, PASSWORD, "Desktop again").await;
    assert_eq!(call(&service, fresh.access_token.expose()).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_that_lost_its_feed_resumes_from_its_cursor_and_misses_nothing() {
    let (a, mut b) = two_instances(Backend::Postgres, Options::process).await;
    let guard = Guard::start(config(&b)).await.unwrap();
    let email = account(&a).await;
    let keeper = a.sign_in(&email, PASSWORD, "Desktop").await;
    let mut victims = Vec::new();
    for i in 0..5 {
        victims.push(a.sign_in(&email, PASSWORD, &format!("Device {i}")).await);
    }
    delete(&a, &keeper, &victims[0]).await;
    refused_within(
        &guard,
        victims[0].access_token.expose(),
        Duration::from_secs(2),
    )
    .await;
    let cursor_before = guard.status().cursor;

    // The instance feeding the guard crashes mid-stream; revocations go on through A.
    b.kill().await;
    for v in &victims[1..] {
        delete(&a, &keeper, v).await;
    }
    // Not heard yet: the guard has no way to know until its feed is back.
    assert!(
        guard
            .authorize_now(victims[1].access_token.expose())
            .is_ok()
    );
    b.start_again().await;
    for v in &victims[1..] {
        refused_within(&guard, v.access_token.expose(), Duration::from_secs(10)).await;
    }
    assert!(guard.status().cursor > cursor_before);
    assert!(guard.status().connected);
    assert!(guard.authorize_now(keeper.access_token.expose()).is_ok());

    // A guard process that starts afresh learns every revocation that still matters.
    guard.stop();
    let fresh = Guard::start(config(&b)).await.unwrap();
    for v in &victims {
        assert_eq!(
            fresh.authorize_now(v.access_token.expose()).unwrap_err(),
            Denied::Revoked(Revoked::Session)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_silent_beyond_the_bound_fails_closed() {
    // A process of its own, to crash.
    let mut server = TestServer::start_with(
        Options::default()
            .process()
            .arg("--feed-heartbeat")
            .arg("200ms"),
    )
    .await;
    let mut cfg = config(&server);
    cfg.max_feed_silence = Duration::from_millis(1_500);
    let guard = Guard::start(cfg).await.unwrap();
    let service = guarded_service(&guard).await;
    let email = account(&server).await;
    let d = server.sign_in(&email, PASSWORD, "Laptop").await;
    // Heartbeats keep a quiet feed alive past the bound.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(call(&service, d.access_token.expose()).await, 200);

    server.kill().await;
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert!(!guard.status().connected);
    let r = reqwest::Client::new()
        .get(format!("{service}/whoami"))
        .bearer_auth(d.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    // Back: the guard reconnects and serves again.
    server.start_again().await;
    let start = Instant::now();
    while call(&service, d.access_token.expose()).await != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the guard never recovered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connected_but_silent_feed_also_fails_closed() {
    // The server's heartbeat is slower than the guard tolerates.
    let server =
        TestServer::start_with(Options::default().arg("--feed-heartbeat").arg("30s")).await;
    let mut cfg = config(&server);
    cfg.max_feed_silence = Duration::from_millis(800);
    let guard = Guard::start(cfg).await.unwrap();
    let email = account(&server).await;
    let d = server.sign_in(&email, PASSWORD, "Laptop").await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert!(guard.status().connected);
    assert_eq!(
        guard.authorize(d.access_token.expose()).await.unwrap_err(),
        Denied::FeedStale
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_missing_tokens_never_reach_the_service() {
    use base64::Engine as _;
    let server = TestServer::start().await;
    let guard = Guard::start(config(&server)).await.unwrap();
    let service = guarded_service(&guard).await;
    let email = account(&server).await;
    let d = server.sign_in(&email, PASSWORD, "Laptop").await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = d.access_token.expose().split('.').collect();
    let none = format!("{}.{}.", b64.encode(r#"{"alg":"none"}"#), parts[1]);
    let tampered = {
        let mut claims: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!(uuid::Uuid::now_v7().to_string());
        format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(claims.to_string()),
            parts[2]
        )
    };
    for bad in [
        none.as_str(),
        tampered.as_str(),
        "garbage",
        d.refresh_token.expose(),
    ] {
        let r = reqwest::Client::new()
            .get(format!("{service}/whoami"))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{bad}");
        assert_eq!(
            r.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token");
    }
    let r = reqwest::Client::new()
        .get(format!("{service}/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A valid token, seen twice: the second time comes from the cache, same answer.
    assert_eq!(call(&service, d.access_token.expose()).await, 200);
    assert_eq!(call(&service, d.access_token.expose()).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_signing_key_is_fetched_when_a_token_names_it() {
    let mut server = TestServer::start().await;
    let guard = Guard::start(config(&server)).await.unwrap();
    let email = account(&server).await;
    let before = server.sign_in(&email, PASSWORD, "Laptop").await;
    server.cli(&["keys", "rotate"]).await;
    server.stop().await;
    server.start_again().await;
    let after = server.sign_in(&email, PASSWORD, "Phone").await;
    // The guard has never seen the new kid: it refetches the JWKS and accepts.
    assert!(guard.authorize(after.access_token.expose()).await.is_ok());
    assert!(guard.authorize(before.access_token.expose()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compromised_key_is_refused_by_every_instance_and_guard_within_seconds() {
    let (a, b) = two_instances(Backend::Postgres, |b| b).await;
    let guard = Guard::start(config(&b)).await.unwrap();
    let email = account(&a).await;
    let laptop = a.sign_in(&email, PASSWORD, "Laptop").await;
    let token = laptop.access_token.expose();
    assert!(guard.authorize(token).await.is_ok(), "verified and cached");
    let header = token.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    let kid = header["kid"].as_str().unwrap();

    a.cli(&["keys", "retire", kid]).await;
    // The guard (fed by B) drops it from the feed at once, cached or not...
    refused_within(&guard, token, Duration::from_secs(3)).await;
    // ...and both instances refuse it too.
    for server in [&a, &b] {
        let r = reqwest::Client::new()
            .get(format!("{}/v1/sessions", server.url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{} still accepts it", server.url());
    }
    // A fresh token (a new key signs now) is accepted everywhere.
    let fresh = b.sign_in(&email, PASSWORD, "Phone").await;
    assert!(guard.authorize(fresh.access_token.expose()).await.is_ok());
}
