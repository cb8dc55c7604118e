//! An operator scrapes `/metrics` (Prometheus text) after some traffic and finds what
//! happened: requests by route template and status, refresh outcomes, revocations by
//! reason, throttling, open streams and connections, the feed follower's state. The
//! server runs as its own process, so its series are its own.

use std::time::Duration;

use serde_json::json;
use testkit::Options;

use crate::helpers::*;

/// The value of one series: `name` with (at least) these labels.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, v) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
            (n == name).then_some((rest.trim_end_matches('}'), v))
        })
        .find(|(have, _)| {
            labels
                .iter()
                .all(|(k, v)| have.split(',').any(|p| p == format!("{k}=\"{v}\"")))
        })
        .and_then(|(_, v)| v.parse().ok())
}

async fn scrape(ctx: &Ctx, url: &str) -> String {
    let r = ctx.http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
    );
    r.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_scrapes_what_happened() {
    let ctx = Ctx::start_with(Options::default().process()).await;
    let email = ctx.new_account().await;
    let phone = ctx.sign_in(&email, "Phone").await;
    let laptop = ctx.sign_in(&email, "Laptop").await;
    let tablet = ctx.sign_in(&email, "Old tablet").await;

    // Refreshes: one rotation, its retry, then reuse of a token whose successor was used.
    let next = ctx.refresh(phone.refresh()).await;
    let retried = ctx.refresh(phone.refresh()).await;
    assert_eq!(retried.refresh_token.expose(), next.refresh_token.expose());
    ctx.remember_tokens(&next);
    let after = ctx.refresh(next.refresh_token.expose()).await;
    ctx.remember_tokens(&after);
    assert_eq!(ctx.refresh_raw(phone.refresh()).await.status(), 400);
    assert_eq!(ctx.refresh_raw("rt_not-a-token").await.status(), 400);
    // A revocation by another device.
    assert_eq!(
        ctx.delete_session(&laptop, tablet.sid()).await.status(),
        204
    );
    // Guessing one account's password from one address until it is throttled.
    let wrong = json!({"email": email, "password": "wrong password 123",
        "device": {"name": "x", "platform": "linux", "os_version": "", "app_version": ""}});
    for _ in 0..5 {
        assert_eq!(ctx.post_json("/v1/sessions", &wrong).await.status(), 401);
    }
    assert_eq!(ctx.post_json("/v1/sessions", &wrong).await.status(), 429);
    // Two open streams: the laptop's events, a resource server's revocations.
    let _events = ctx.events(&laptop).await;
    let _feed = EventStream::open_feed(&ctx.url("/v1/revocations/stream"), None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let text = scrape(&ctx, &ctx.url("/metrics")).await;
    let v = |name: &str, labels: &[(&str, &str)]| value(&text, name, labels);
    let requests = "session_server_http_requests_total";
    assert_eq!(
        v(
            requests,
            &[
                ("route", "/v1/sessions/{id}"),
                ("method", "DELETE"),
                ("status", "204")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        v(
            requests,
            &[
                ("route", "/v1/sessions"),
                ("method", "POST"),
                ("status", "201")
            ]
        ),
        Some(3.0)
    );
    assert_eq!(
        v(
            requests,
            &[
                ("route", "/v1/sessions"),
                ("method", "POST"),
                ("status", "429")
            ]
        ),
        Some(1.0)
    );
    assert!(
        !text.contains(&tablet.sid().to_string()),
        "a raw path (with its id) became a series"
    );
    assert_eq!(
        v(
            "session_server_http_request_duration_seconds_count",
            &[("route", "/oauth/token"), ("status", "200")]
        ),
        Some(3.0)
    );
    assert!(
        v(
            "session_server_http_request_duration_seconds_bucket",
            &[("route", "/oauth/token"), ("le", "+Inf")]
        )
        .is_some()
    );
    let refreshes = "session_server_refreshes_total";
    assert_eq!(v(refreshes, &[("outcome", "rotated")]), Some(2.0));
    assert_eq!(v(refreshes, &[("outcome", "retried")]), Some(1.0));
    assert_eq!(v(refreshes, &[("outcome", "reuse_detected")]), Some(1.0));
    assert_eq!(v(refreshes, &[("outcome", "dead")]), Some(1.0));
    let revocations = "session_server_revocations_total";
    assert_eq!(
        v(revocations, &[("reason", "refresh_token_reuse")]),
        Some(1.0)
    );
    assert_eq!(v(revocations, &[("reason", "revoked")]), Some(1.0));
    assert_eq!(
        v(
            "session_server_throttled_total",
            &[("limit", "signin_account_address")]
        ),
        Some(1.0)
    );
    let streams = "session_server_event_streams_open";
    assert_eq!(v(streams, &[("stream", "device")]), Some(1.0));
    assert_eq!(v(streams, &[("stream", "revocation")]), Some(1.0));
    assert!(v("session_server_connections_open", &[]).unwrap() >= 3.0);
    assert_eq!(v("session_server_feed_current", &[]), Some(1.0));
    assert!(v("session_server_feed_seconds_since_caught_up", &[]).unwrap() < 5.0);
    assert!(v("session_server_feed_lag_entries", &[]).is_some());
    assert!(v("session_server_password_hash_waiting", &[]).is_some());
    assert!(text.contains("# HELP session_server_refreshes_total"));
    ctx.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_live_on_a_listener_of_their_own() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ctx = Ctx::start_with(
        Options::default()
            .arg("--metrics-listen")
            .arg(format!("127.0.0.1:{port}")),
    )
    .await;
    let email = ctx.new_account().await;
    let phone = ctx.sign_in(&email, "Phone").await;
    assert_eq!(ctx.sessions(&phone).await.len(), 1);

    let r = ctx.http.get(ctx.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404, "not on the public listener");
    let text = scrape(&ctx, &format!("http://127.0.0.1:{port}/metrics")).await;
    assert!(
        value(
            &text,
            "session_server_http_requests_total",
            &[
                ("route", "/v1/sessions"),
                ("method", "GET"),
                ("status", "200")
            ]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
}
