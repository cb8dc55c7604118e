//! The guard against a session server speaking a newer dialect, or changing its keys:
//! a stand-in server here plays the parts a real one cannot be made to play (an event
//! kind from a future version, a key leaving the JWKS, a feed that only keeps the
//! connection alive).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use guard::{Guard, GuardConfig};
use proto::tokens::Claims;
use proto::{Jti, SessionId, UserId};
use token::SigningKey;

/// What the stand-in server says: its keys, and the body of its revocation stream.
#[derive(Clone)]
struct Script {
    jwks: Arc<Mutex<proto::discovery::JwkSet>>,
    stream: Arc<Mutex<String>>,
}

async fn stand_in(script: Script) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let issuer = url.clone();
    let meta = move || {
        let base = issuer.clone();
        async move {
            axum::Json(serde_json::json!({
                "issuer": base,
                "token_endpoint": format!("{base}/oauth/token"),
                "revocation_endpoint": format!("{base}/oauth/revoke"),
                "introspection_endpoint": format!("{base}/oauth/introspect"),
                "jwks_uri": format!("{base}/.well-known/jwks.json"),
                "access_token_audience": "session-manager",
                "access_token_lifetime": 300
            }))
        }
    };
    let keys = script.jwks.clone();
    let body = script.stream.clone();
    let app = Router::new()
        .route("/.well-known/oauth-authorization-server", get(meta))
        .route(
            "/.well-known/jwks.json",
            get(move || {
                let keys = keys.lock().unwrap().clone();
                async move { axum::Json(keys) }
            }),
        )
        .route(
            "/v1/revocations/stream",
            get(move || {
                let text = body.lock().unwrap().clone();
                // The script, then a connection kept open with comments only.
                let tail = futures::stream::unfold((), |()| async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Some((
                        Ok::<_, std::convert::Infallible>(": keep-alive\n\n".to_owned()),
                        (),
                    ))
                });
                let head = futures::stream::once(async move { Ok(text) });
                async move {
                    (
                        [("content-type", "text/event-stream")],
                        axum::body::Body::from_stream(futures::StreamExt::chain(head, tail)),
                    )
                        .into_response()
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn claims(issuer: &str) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: issuer.to_owned(),
        aud: "session-manager".into(),
        sub: UserId::new(),
        sid: SessionId::new(),
        jti: Jti::new(),
        iat: now,
        exp: now + 300,
    }
}

fn setup(key: &SigningKey, stream: &str) -> Script {
    Script {
        jwks: Arc::new(Mutex::new(proto::discovery::JwkSet {
            keys: vec![key.public_jwk()],
        })),
        stream: Arc::new(Mutex::new(stream.to_owned())),
    }
}

#[tokio::test]
async fn a_revocation_the_guard_cannot_read_is_skipped_not_a_wall() {
    let key = SigningKey::generate();
    let revoked = claims("placeholder");
    let sid = revoked.sid;
    let stream = format!(
        "event: revocation\nid: 1\ndata: {{\"kind\":\"from_the_future\",\"x\":1}}\n\n\
         event: revocation\nid: 2\ndata: {{\"kind\":\"session\",\"sid\":\"{sid}\",\"at\":\"2026-01-01T00:00:00Z\",\"until\":\"2099-01-01T00:00:00Z\"}}\n\n\
         event: heartbeat\ndata: {{\"at\":\"2026-01-01T00:00:00Z\"}}\n\n"
    );
    let url = stand_in(setup(&key, &stream)).await;
    let guard = Guard::start(GuardConfig::new(&url, "rs", "s"))
        .await
        .unwrap();
    assert!(
        guard.wait_for_cursor(2, Duration::from_secs(5)).await,
        "stuck behind the unreadable event"
    );
    let mut c = revoked;
    c.iss = url.clone();
    assert!(matches!(
        guard.authorize(key.sign(&c).expose()).await,
        Err(guard::Denied::Revoked(guard::Revoked::Session))
    ));
    let fine = claims(&url);
    assert!(guard.authorize(key.sign(&fine).expose()).await.is_ok());
}

#[tokio::test]
async fn keep_alive_comments_do_not_vouch_for_the_feed() {
    let key = SigningKey::generate();
    let url = stand_in(setup(
        &key,
        "event: heartbeat\ndata: {\"at\":\"2026-01-01T00:00:00Z\"}\n\n",
    ))
    .await;
    let mut config = GuardConfig::new(&url, "rs", "s");
    config.max_feed_silence = Duration::from_millis(800);
    let guard = Guard::start(config).await.unwrap();
    let token = key.sign(&claims(&url));
    assert!(guard.authorize(token.expose()).await.is_ok());
    // Only comments follow: the server no longer says it is current.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        guard.authorize(token.expose()).await.unwrap_err(),
        guard::Denied::FeedStale
    );
}

#[tokio::test]
async fn a_key_that_leaves_the_jwks_stops_verifying_without_waiting_for_an_unknown_kid() {
    let old = SigningKey::generate();
    let new = SigningKey::generate();
    let script = setup(
        &old,
        "event: heartbeat\ndata: {\"at\":\"2026-01-01T00:00:00Z\"}\n\n",
    );
    script.jwks.lock().unwrap().keys.push(new.public_jwk());
    let url = stand_in(script.clone()).await;
    let mut config = GuardConfig::new(&url, "rs", "s");
    config.jwks_refresh_interval = Duration::from_millis(200);
    config.max_feed_silence = Duration::from_secs(60);
    let guard = Guard::start(config).await.unwrap();
    let token = old.sign(&claims(&url));
    // Cached once verified...
    assert!(guard.authorize(token.expose()).await.is_ok());
    assert!(guard.authorize(token.expose()).await.is_ok());
    // ...the old key leaves the JWKS: within a refresh, its tokens are refused.
    script
        .jwks
        .lock()
        .unwrap()
        .keys
        .retain(|k| k.kid != old.kid());
    // (Refreshed every 200 ms; waited for with room for a loaded machine.)
    let start = std::time::Instant::now();
    while guard.authorize(token.expose()).await.is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the removed key still verifies"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        guard
            .authorize(new.sign(&claims(&url)).expose())
            .await
            .is_ok()
    );
}
