//! Rotating refresh tokens: reuse is theft, a retry is not.

use std::collections::HashSet;
use std::time::Duration;

use testkit::Options;

use crate::helpers::*;

async fn every_refresh_rotates_the_refresh_token(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let next = ctx.refresh(d.refresh()).await;
    assert_ne!(next.refresh_token, d.tokens.refresh_token);
    assert_ne!(next.access_token, d.tokens.access_token);
    assert_eq!(next.session_id, d.sid());
    assert_eq!(next.token_type, "Bearer");
    assert_eq!(next.expires_in, 300);
    assert!(
        next.refresh_token.expose().starts_with("rt_") && next.refresh_token.expose().len() < 1000
    );
    let after = ctx.refresh(next.refresh_token.expose()).await;
    assert_eq!(
        ctx.get("/v1/sessions", after.access_token.expose())
            .await
            .status(),
        200
    );
}

async fn a_spent_token_presented_after_the_grace_window_revokes_the_session(backend: Backend) {
    let ctx = Ctx::start_with(
        Options::backend(backend)
            .arg("--refresh-grace")
            .arg("300ms"),
    )
    .await;
    let email = ctx.new_account().await;
    let witness = ctx.sign_in(&email, "Desktop").await;
    let victim = ctx.sign_in(&email, "Laptop").await;
    let mut witness_events = ctx.events(&witness).await;
    let next = ctx.refresh(victim.refresh()).await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    // The thief replays the copied (now spent) token.
    assert_eq!(
        error_code(ctx.refresh_raw(victim.refresh()).await, 400).await,
        "invalid_grant"
    );
    // The whole session is gone: the successor too, and its access token.
    error_code(ctx.refresh_raw(next.refresh_token.expose()).await, 400).await;
    error_code(
        ctx.get("/v1/sessions", next.access_token.expose()).await,
        401,
    )
    .await;
    assert!(ctx.server.session_is_revoked(victim.sid()).await);

    let e = witness_events
        .expect("session.revoked", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["session_id"], victim.sid().to_string());
    assert_eq!(e.data["reason"], "refresh_token_reuse");
    let alert = witness_events
        .expect("security.alert", Duration::from_secs(5))
        .await;
    assert_eq!(alert.data["kind"], "refresh_token_reuse");
    assert_eq!(alert.data["session_id"], victim.sid().to_string());

    let v: serde_json::Value = ctx
        .get("/v1/activity", witness.access())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["events"][0]["kind"], "refresh_token_reuse");
    assert_eq!(v["events"][0]["session_id"], victim.sid().to_string());
    // The other device is untouched.
    assert_eq!(
        ctx.get("/v1/sessions", witness.access()).await.status(),
        200
    );
    ctx.assert_logs_clean();
}

async fn a_retry_within_the_grace_window_gets_the_same_successor(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    // The response to the first refresh is lost; the client tries again.
    let first = ctx.refresh(d.refresh()).await;
    let retry = ctx.refresh(d.refresh()).await;
    assert_eq!(retry.refresh_token, first.refresh_token);
    assert_eq!(retry.session_id, d.sid());
    assert_eq!(
        ctx.get("/v1/sessions", retry.access_token.expose())
            .await
            .status(),
        200
    );
    assert!(!ctx.server.session_is_revoked(d.sid()).await);
}

async fn using_the_successor_ends_the_grace_early(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let second = ctx.refresh(d.refresh()).await;
    let _third = ctx.refresh(second.refresh_token.expose()).await;
    // The first token is now old news even inside the grace window: reuse.
    assert_eq!(
        error_code(ctx.refresh_raw(d.refresh()).await, 400).await,
        "invalid_grant"
    );
    assert!(ctx.server.session_is_revoked(d.sid()).await);
}

async fn a_hundred_concurrent_refreshes_yield_one_successor(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let refresh = d.refresh().to_owned();
    let url = ctx.url("/oauth/token");
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (http, url, refresh) = (ctx.http.clone(), url.clone(), refresh.clone());
            tokio::spawn(async move {
                http.post(url)
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut successors = HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(
            r.status(),
            200,
            "a concurrent refresh failed: {}",
            r.text().await.unwrap()
        );
        let body: proto::tokens::TokenResponse = r.json().await.unwrap();
        ctx.remember_tokens(&body);
        successors.insert(body.refresh_token.expose().to_owned());
    }
    assert_eq!(successors.len(), 1, "two live successors");
    assert!(
        !ctx.server.session_is_revoked(d.sid()).await,
        "a race revoked the session"
    );
    // And that one successor works.
    let only = successors.into_iter().next().unwrap();
    let _ = ctx.refresh(&only).await;
    ctx.assert_logs_clean();
}

async fn refresh_after_the_session_expired_is_refused(backend: Backend) {
    let ctx = Ctx::start_with(
        Options::backend(backend)
            .arg("--refresh-idle-ttl")
            .arg("1s"),
    )
    .await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        error_code(ctx.refresh_raw(d.refresh()).await, 400).await,
        "invalid_grant"
    );
}

testkit::on_both_backends!(
    every_refresh_rotates_the_refresh_token,
    a_spent_token_presented_after_the_grace_window_revokes_the_session,
    a_retry_within_the_grace_window_gets_the_same_successor,
    using_the_successor_ends_the_grace_early,
    a_hundred_concurrent_refreshes_yield_one_successor,
    refresh_after_the_session_expired_is_refused,
);
