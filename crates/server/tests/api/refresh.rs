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

/// The owner's address and a thief's, as a reverse proxy reports them.
const OWNER: &str = "198.51.100.7";
const THIEF: &str = "203.0.113.66";

async fn refresh_from(ctx: &Ctx, refresh_token: &str, address: &str) -> reqwest::Response {
    ctx.http
        .post(ctx.url("/oauth/token"))
        .header("x-forwarded-for", address)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap()
}

async fn activity(ctx: &Ctx, d: &Device) -> Vec<serde_json::Value> {
    let v: serde_json::Value = ctx
        .get("/v1/activity", d.access())
        .await
        .json()
        .await
        .unwrap();
    v["events"].as_array().unwrap().clone()
}

async fn a_copied_token_replayed_from_elsewhere_at_once_revokes_the_session(backend: Backend) {
    let ctx = Ctx::start_with(Options::backend(backend).arg("--trust-forwarded-for")).await;
    let email = ctx.new_account().await;
    let witness = ctx.sign_in(&email, "Desktop").await;
    let victim = ctx.sign_in(&email, "Laptop").await;
    let mut witness_events = ctx.events(&witness).await;
    let r = refresh_from(&ctx, victim.refresh(), OWNER).await;
    assert_eq!(r.status(), 200);
    let next: proto::tokens::TokenResponse = r.json().await.unwrap();
    ctx.remember_tokens(&next);

    // The thief replays the copied (now spent) token within the second, from its own
    // address: no window lets it ride along as a "retry".
    assert_eq!(
        error_code(refresh_from(&ctx, victim.refresh(), THIEF).await, 400).await,
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

    let events = activity(&ctx, &witness).await;
    assert_eq!(events[0]["kind"], "refresh_token_reuse");
    assert_eq!(events[0]["session_id"], victim.sid().to_string());
    assert_eq!(events[0]["ip"], THIEF);
    // The other device is untouched.
    assert_eq!(
        ctx.get("/v1/sessions", witness.access()).await.status(),
        200
    );
    ctx.assert_logs_clean();
}

async fn a_retry_from_the_same_address_gets_the_same_successor_and_is_recorded(backend: Backend) {
    let ctx = Ctx::start_with(Options::backend(backend).arg("--trust-forwarded-for")).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    // The response to the first refresh is lost; the client tries again.
    let first: proto::tokens::TokenResponse = refresh_from(&ctx, d.refresh(), OWNER)
        .await
        .json()
        .await
        .unwrap();
    let r = refresh_from(&ctx, d.refresh(), OWNER).await;
    assert_eq!(r.status(), 200);
    let retry: proto::tokens::TokenResponse = r.json().await.unwrap();
    ctx.remember_tokens(&first);
    ctx.remember_tokens(&retry);
    assert_eq!(retry.refresh_token, first.refresh_token);
    assert_eq!(retry.session_id, d.sid());
    assert_eq!(
        ctx.get("/v1/sessions", retry.access_token.expose())
            .await
            .status(),
        200
    );
    assert!(!ctx.server.session_is_revoked(d.sid()).await);
    // Every accepted retry is in the activity log, with its time and address.
    let events = activity(&ctx, &d).await;
    let retried: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "refresh_retried")
        .collect();
    assert_eq!(retried.len(), 1, "{events:?}");
    assert_eq!(retried[0]["ip"], OWNER);
    assert_eq!(retried[0]["session_id"], d.sid().to_string());
    assert!(retried[0]["at"].is_string());
    ctx.assert_logs_clean();
}

async fn once_the_successor_is_used_the_old_token_is_reuse_even_from_the_same_address(
    backend: Backend,
) {
    let ctx = Ctx::start(backend).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let second = ctx.refresh(d.refresh()).await;
    let _third = ctx.refresh(second.refresh_token.expose()).await;
    // The first token is old news: whoever presents it holds a copy.
    assert_eq!(
        error_code(ctx.refresh_raw(d.refresh()).await, 400).await,
        "invalid_grant"
    );
    assert!(ctx.server.session_is_revoked(d.sid()).await);
}

/// A proxy between one client and the server that forwards every request and drops
/// every response: the server spends the token, the client never hears the answer
/// (Ctrl-C, a laptop lid closed, Wi-Fi gone).
async fn proxy_that_loses_responses(server: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let upstream = server.trim_start_matches("http://").to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let mut buf = vec![0u8; 64 * 1024];
                let n = client.read(&mut buf).await.unwrap_or(0);
                server.write_all(&buf[..n]).await.unwrap();
                // Wait for the answer to start, so the server has done the work...
                let _ = server.read(&mut buf).await;
                // ...and lose it: the client's connection just closes.
                drop(client);
            });
        }
    });
    format!("http://{addr}")
}

async fn a_client_that_lost_the_answer_retries_at_its_next_start_and_keeps_its_session(
    backend: Backend,
) {
    let ctx = Ctx::start(backend).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let lossy = proxy_that_loses_responses(ctx.server.url()).await;
    let lost = reqwest::Client::new()
        .post(format!("{lossy}/oauth/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", d.refresh()),
        ])
        .send()
        .await;
    assert!(lost.is_err(), "the proxy was meant to lose the answer");
    // Later (no time window applies: only the address and an unused successor count),
    // the client starts again and retries with the token it still has.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = ctx.refresh(d.refresh()).await;
    assert_eq!(again.session_id, d.sid());
    assert!(!ctx.server.session_is_revoked(d.sid()).await);
    // And carries on normally.
    let next = ctx.refresh(again.refresh_token.expose()).await;
    assert_eq!(
        ctx.get("/v1/sessions", next.access_token.expose())
            .await
            .status(),
        200
    );
}

async fn revoking_a_spent_token_is_the_reuse_signal_not_a_quiet_logout(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let witness = ctx.sign_in(&email, "Desktop").await;
    let d = ctx.sign_in(&email, "Laptop").await;
    let mut witness_events = ctx.events(&witness).await;
    let second = ctx.refresh(d.refresh()).await;
    let _third = ctx.refresh(second.refresh_token.expose()).await;
    // Someone revokes with the long-spent first token: it was copied.
    let r = ctx
        .post_form("/oauth/revoke", &[("token", d.refresh())])
        .await;
    assert_eq!(r.status(), 200);
    assert!(ctx.server.session_is_revoked(d.sid()).await);
    let e = witness_events
        .expect("session.revoked", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["reason"], "refresh_token_reuse");
    let alert = witness_events
        .expect("security.alert", Duration::from_secs(5))
        .await;
    assert_eq!(alert.data["kind"], "refresh_token_reuse");
    // Whereas revoking the token a device holds is a quiet logout.
    let other = ctx.sign_in(&email, "Phone").await;
    let r = ctx
        .post_form("/oauth/revoke", &[("token", other.refresh())])
        .await;
    assert_eq!(r.status(), 200);
    let e = witness_events
        .expect("session.revoked", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["session_id"], other.sid().to_string());
    assert_eq!(e.data["reason"], "logout");
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
    a_copied_token_replayed_from_elsewhere_at_once_revokes_the_session,
    a_retry_from_the_same_address_gets_the_same_successor_and_is_recorded,
    once_the_successor_is_used_the_old_token_is_reuse_even_from_the_same_address,
    a_client_that_lost_the_answer_retries_at_its_next_start_and_keeps_its_session,
    revoking_a_spent_token_is_the_reuse_signal_not_a_quiet_logout,
    a_hundred_concurrent_refreshes_yield_one_successor,
    refresh_after_the_session_expired_is_refused,
);
