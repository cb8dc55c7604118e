//! The revocation feed for resource servers, and several instances on one database.

use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{Options, TestServer};

use crate::helpers::*;

async fn feed_page(ctx: &Ctx, after: Option<&str>) -> Value {
    let mut req = ctx
        .http
        .get(ctx.url("/v1/revocations"))
        .basic_auth("rs", Some("rs-secret"));
    if let Some(a) = after {
        req = req.query(&[("after", a)]);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn the_feed_lists_every_revocation_that_still_matters(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let a = ctx.sign_in(&email, "Desktop").await;
    let b = ctx.sign_in(&email, "Phone").await;

    // Resource servers only.
    let r = ctx
        .http
        .get(ctx.url("/v1/revocations"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, 401).await, "invalid_client");
    let r = ctx
        .http
        .get(ctx.url("/v1/revocations"))
        .bearer_auth(a.access())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, 401).await, "invalid_client");

    let empty = feed_page(&ctx, None).await;
    assert_eq!(empty["sessions"].as_array().unwrap().len(), 0);
    let start = empty["cursor"].as_str().unwrap().to_owned();

    assert_eq!(ctx.delete_session(&a, b.sid()).await.status(), 204);
    let r = ctx
        .http
        .post(ctx.url("/oauth/revoke"))
        .form(&[("token", a.access())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let fresh = ctx.refresh(a.refresh()).await;
    let r = ctx
        .http
        .post(ctx.url("/v1/sessions/revoke"))
        .bearer_auth(fresh.access_token.expose())
        .json(&serde_json::json!({"scope": "all"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let page = feed_page(&ctx, Some(&start)).await;
    let sids: Vec<&str> = page["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sid"].as_str().unwrap())
        .collect();
    assert!(
        sids.contains(&b.sid().to_string().as_str())
            && sids.contains(&a.sid().to_string().as_str()),
        "{page}"
    );
    let jtis: Vec<&str> = page["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["jti"].as_str().unwrap())
        .collect();
    assert_eq!(jtis.len(), 1);
    assert!(page["tokens"][0]["exp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(page["accounts"].as_array().unwrap().len(), 1);
    assert!(page["accounts"][0]["not_before"].is_string());
    // Past the cursor, nothing new; a cursor we never gave out is an error.
    let again = feed_page(&ctx, page["cursor"].as_str()).await;
    assert_eq!(again["sessions"].as_array().unwrap().len(), 0);
    let r = ctx
        .http
        .get(ctx.url("/v1/revocations"))
        .basic_auth("rs", Some("rs-secret"))
        .query(&[("after", "-5")])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, 400).await, "invalid_request");
}

/// Reads `revocation` events from the stream until one names `sid`.
async fn wait_for_sid(stream: &mut EventStream, sid: &str, wait: Duration) -> Sse {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let e = stream
            .next(left)
            .await
            .unwrap_or_else(|| panic!("no revocation of {sid} within {wait:?}"));
        if e.name == "revocation" && e.data["sid"] == sid {
            return e;
        }
    }
}

async fn open_feed(url: &str, last_event_id: Option<&str>) -> EventStream {
    EventStream::open_feed(url, last_event_id).await
}

async fn the_revocation_stream_replays_then_follows_and_resumes(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let a = ctx.sign_in(&email, "Desktop").await;
    let b = ctx.sign_in(&email, "Phone").await;
    let c = ctx.sign_in(&email, "Tablet").await;
    assert_eq!(ctx.delete_session(&a, b.sid()).await.status(), 204);

    let mut stream = open_feed(&ctx.url("/v1/revocations/stream"), None).await;
    // The backlog first, then a heartbeat saying "caught up".
    let first = wait_for_sid(&mut stream, &b.sid().to_string(), Duration::from_secs(5)).await;
    assert_eq!(first.data["kind"], "session");
    let cursor = first.id.clone().unwrap();
    let hb = stream.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(hb.name, "heartbeat");
    // Then live.
    assert_eq!(ctx.delete_session(&a, c.sid()).await.status(), 204);
    wait_for_sid(&mut stream, &c.sid().to_string(), Duration::from_secs(5)).await;
    drop(stream);

    // Resuming after the first entry replays only what came after it.
    let mut resumed = open_feed(&ctx.url("/v1/revocations/stream"), Some(&cursor)).await;
    let e = resumed.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(e.data["sid"], c.sid().to_string(), "{e:?}");
}

async fn a_revocation_through_one_instance_is_enforced_by_another(backend: Backend) {
    // Instances of one deployment share one issuer name.
    let shared = |o: Options| o.arg("--issuer").arg("https://sessions.example.test");
    let ctx = Ctx::start_with(shared(Options::backend(backend))).await;
    let other = TestServer::start_with(Options {
        database_url: Some(ctx.server.database_url().to_owned()),
        ..shared(Options::backend(backend))
    })
    .await;
    let email = ctx.new_account().await;
    let a = ctx.sign_in(&email, "Desktop").await;
    let b = ctx.sign_in(&email, "Phone").await;
    let url_b = |p: &str| format!("{}{p}", other.url());
    let on_b = |token: String| {
        let http = ctx.http.clone();
        let url = url_b("/v1/sessions");
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(on_b(b.access().to_owned()).await, 200);
    let mut b_events = EventStream::open(&ctx.http, &url_b("/v1/events"), b.access()).await;
    let mut feed_b = open_feed(&url_b("/v1/revocations/stream"), None).await;
    let _ = feed_b.next(Duration::from_secs(5)).await; // caught up

    // Revoked through the first instance...
    assert_eq!(ctx.delete_session(&a, b.sid()).await.status(), 204);
    let acked = Instant::now();
    // ...refused by the second, its device stream told, its feed updated.
    loop {
        if on_b(b.access().to_owned()).await == 401 {
            break;
        }
        assert!(
            acked.elapsed() < Duration::from_secs(2),
            "instance B still accepts the revoked token"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let e = b_events
        .expect("session.revoked", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["session_id"], b.sid().to_string());
    wait_for_sid(&mut feed_b, &b.sid().to_string(), Duration::from_secs(5)).await;

    // Sign out everywhere through B: A refuses too.
    let r = ctx
        .http
        .post(url_b("/v1/sessions/revoke"))
        .bearer_auth(a.access())
        .json(&serde_json::json!({"scope": "all"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let acked = Instant::now();
    while ctx.get("/v1/sessions", a.access()).await.status() != 401 {
        assert!(
            acked.elapsed() < Duration::from_secs(2),
            "instance A still accepts"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

testkit::on_both_backends!(
    the_feed_lists_every_revocation_that_still_matters,
    the_revocation_stream_replays_then_follows_and_resumes,
    a_revocation_through_one_instance_is_enforced_by_another,
);
