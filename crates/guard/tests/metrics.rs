//! A service embedding the guard installs its own Prometheus recorder and finds the
//! guard's series in it: the feed's state, cache hits and misses, refusals by reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use guard::{Guard, GuardConfig};
use metrics_exporter_prometheus::PrometheusBuilder;
use testkit::TestServer;

const PASSWORD: &str = "correct horse battery staple";

fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedding_service_scrapes_the_guards_metrics() {
    // The service's own recorder, installed before the guard starts (this test process
    // holds nothing else that records).
    let prometheus = PrometheusBuilder::new().install_recorder().unwrap();
    let server = TestServer::start().await;
    let guard = Guard::start(GuardConfig::new(server.url(), "rs", "rs-secret"))
        .await
        .unwrap();
    server.create_account("metrics@example.com", PASSWORD).await;
    let phone = server
        .sign_in("metrics@example.com", PASSWORD, "Phone")
        .await;
    let laptop = server
        .sign_in("metrics@example.com", PASSWORD, "Laptop")
        .await;

    for _ in 0..3 {
        guard.authorize(phone.access_token.expose()).await.unwrap();
    }
    guard.authorize("").await.unwrap_err();
    guard.authorize("not.a.token").await.unwrap_err();
    let r = reqwest::Client::new()
        .delete(format!(
            "{}/v1/sessions/{}",
            server.url(),
            laptop.session_id
        ))
        .bearer_auth(phone.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let start = std::time::Instant::now();
    while guard.authorize(laptop.access_token.expose()).await.is_ok() {
        assert!(start.elapsed() < Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The feed gauges are published every second: wait for one that has seen the
    // feed connected (it is, the revocation came through it).
    let start = std::time::Instant::now();
    while value(&prometheus.render(), "session_guard_feed_connected") != Some(1.0) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the feed gauges never said connected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let text = prometheus.render();
    let v = |series: &str| value(&text, series);
    assert_eq!(
        v(r#"session_guard_token_cache_total{result="miss"}"#),
        Some(3.0),
        "{text}"
    );
    assert!(v(r#"session_guard_token_cache_total{result="hit"}"#).unwrap() >= 2.0);
    assert_eq!(
        v(r#"session_guard_refusals_total{reason="missing"}"#),
        Some(1.0)
    );
    assert_eq!(
        v(r#"session_guard_refusals_total{reason="invalid"}"#),
        Some(1.0)
    );
    assert_eq!(
        v(r#"session_guard_refusals_total{reason="revoked"}"#),
        Some(1.0)
    );
    assert_eq!(
        v(r#"session_guard_refusals_total{reason="feed_stale"}"#),
        Some(0.0)
    );
    assert_eq!(v("session_guard_feed_connected"), Some(1.0));
    assert!(v("session_guard_feed_silence_seconds").unwrap() < 10.0);
}
