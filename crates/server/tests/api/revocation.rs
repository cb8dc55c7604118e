//! Signing devices out, and making it bite at once.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

async fn a_lost_laptop_is_signed_out_and_cannot_get_back_in(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let phone = ctx.sign_in(&email, "Phone").await;
    let laptop = ctx.sign_in(&email, "Lost laptop").await;
    let mut phone_events = ctx.events(&phone).await;
    let mut laptop_events = ctx.events(&laptop).await;
    assert_eq!(ctx.introspect(laptop.access()).await["active"], true);

    // The phone signs the laptop out.
    let r = ctx.delete_session(&phone, laptop.sid()).await;
    assert_eq!(r.status(), 204);

    // At once: the laptop's access token is refused...
    let r = ctx.get("/v1/sessions", laptop.access()).await;
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    assert_eq!(error_code(r, 401).await, "invalid_token");
    // ...introspection says inactive...
    assert_eq!(
        ctx.introspect(laptop.access()).await,
        json!({"active": false})
    );
    assert_eq!(
        ctx.introspect(laptop.refresh()).await,
        json!({"active": false})
    );
    // ...and its refresh token is dead.
    assert_eq!(
        error_code(ctx.refresh_raw(laptop.refresh()).await, 400).await,
        "invalid_grant"
    );

    // The laptop itself hears it, and its stream closes.
    let e = laptop_events
        .expect("session.revoked", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["session_id"], laptop.sid().to_string());
    assert_eq!(e.data["reason"], "revoked");
    assert_eq!(e.data["by_session_id"], phone.sid().to_string());
    assert_eq!(e.data["by_device"]["name"], "Phone");
    assert!(
        laptop_events.closes_within(Duration::from_secs(5)).await,
        "revoked stream stays open"
    );
    // The phone hears that the laptop is gone, and keeps working.
    let e = phone_events
        .expect("session.revoked", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["session_id"], laptop.sid().to_string());
    assert_eq!(e.data["device"]["name"], "Lost laptop");
    assert!(!phone_events.closes_within(Duration::from_millis(300)).await);
    let list = ctx.sessions(&phone).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], phone.sid().to_string());
    // A stream cannot be reopened with the revoked token.
    let again = EventStream::open(&ctx.http, &ctx.url("/v1/events"), laptop.access()).await;
    assert_eq!(again.status, 401);
    assert!(ctx.server.session_is_revoked(laptop.sid()).await);
    ctx.assert_logs_clean();
}

async fn a_device_can_sign_itself_out(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let other = ctx.sign_in(&email, "Desktop").await;
    let me = ctx.sign_in(&email, "Laptop").await;
    let mut other_events = ctx.events(&other).await;
    assert_eq!(ctx.delete_session(&me, me.sid()).await.status(), 204);
    error_code(ctx.get("/v1/sessions", me.access()).await, 401).await;
    let e = other_events
        .expect("session.revoked", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["reason"], "logout");
    assert_eq!(ctx.sessions(&other).await.len(), 1);
}

async fn signing_out_all_others_keeps_only_this_device(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Desktop").await;
    let a = ctx.sign_in(&email, "Phone").await;
    let b = ctx.sign_in(&email, "Old tablet").await;
    let stranger = ctx.sign_in(&ctx.new_account().await, "Someone else").await;

    let r = ctx.revoke_scope(&me, "others").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"revoked": 2})
    );
    for d in [&a, &b] {
        error_code(ctx.get("/v1/sessions", d.access()).await, 401).await;
        error_code(ctx.refresh_raw(d.refresh()).await, 400).await;
    }
    let list = ctx.sessions(&me).await;
    assert_eq!(list.len(), 1);
    let _ = ctx.refresh(me.refresh()).await;
    // Another account is untouched.
    assert_eq!(
        ctx.get("/v1/sessions", stranger.access()).await.status(),
        200
    );
    // Nothing left to sign out.
    let r = ctx.revoke_scope(&me, "others").await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"revoked": 0})
    );
}

async fn signing_out_everywhere_refuses_every_earlier_token(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Desktop").await;
    let phone = ctx.sign_in(&email, "Phone").await;
    // A second access token of the same session, issued before the stamp.
    let me_again = ctx.refresh(me.refresh()).await;
    let mut phone_events = ctx.events(&phone).await;

    let r = ctx.revoke_scope(&me, "all").await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"revoked": 2})
    );

    for token in [me.access(), me_again.access_token.expose(), phone.access()] {
        error_code(ctx.get("/v1/sessions", token).await, 401).await;
        assert_eq!(ctx.introspect(token).await["active"], false);
    }
    error_code(ctx.refresh_raw(me_again.refresh_token.expose()).await, 400).await;
    let e = phone_events
        .expect("session.revoked", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["reason"], "signed_out_everywhere");

    // A device that signs in right after, within the same second, is not affected.
    let fresh = ctx.sign_in(&email, "Desktop again").await;
    assert_eq!(ctx.get("/v1/sessions", fresh.access()).await.status(), 200);
    assert_eq!(ctx.introspect(fresh.access()).await["active"], true);
    let renewed = ctx.refresh(fresh.refresh()).await;
    assert_eq!(
        ctx.get("/v1/sessions", renewed.access_token.expose())
            .await
            .status(),
        200
    );

    let v: serde_json::Value = ctx
        .get("/v1/activity", fresh.access())
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"signed_out_everywhere"), "{kinds:?}");
    ctx.assert_logs_clean();
}

async fn revoking_a_refresh_token_ends_its_session_and_an_access_token_only_itself(
    backend: Backend,
) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let d = ctx.sign_in(&email, "Laptop").await;
    let second = ctx.refresh(d.refresh()).await;

    // RFC 7009 with an access token: that token only.
    let r = ctx
        .http
        .post(ctx.url("/oauth/revoke"))
        .form(&[("token", d.access())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    error_code(ctx.get("/v1/sessions", d.access()).await, 401).await;
    assert_eq!(
        ctx.get("/v1/sessions", second.access_token.expose())
            .await
            .status(),
        200
    );

    // With the refresh token: the session ends.
    let r = ctx
        .http
        .post(ctx.url("/oauth/revoke"))
        .form(&[
            ("token", second.refresh_token.expose()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    error_code(
        ctx.get("/v1/sessions", second.access_token.expose()).await,
        401,
    )
    .await;
    assert!(ctx.server.session_is_revoked(d.sid()).await);

    // Unknown, garbage and already revoked tokens: 200 all the same.
    for t in [
        "rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "garbage",
        second.refresh_token.expose(),
    ] {
        let r = ctx
            .http
            .post(ctx.url("/oauth/revoke"))
            .form(&[("token", t)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{t}");
    }
}

async fn an_administrator_signs_a_compromised_account_out(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let a = ctx.sign_in(&email, "Laptop").await;
    let b = ctx.sign_in(&email, "Phone").await;
    let mut events = ctx.events(&a).await;
    let out = ctx
        .server
        .admin(&["revoke-user", &email.to_uppercase()])
        .await;
    assert!(out.contains("2 session(s) ended"), "{out}");
    // The running server follows the feed the admin command wrote to.
    let e = events
        .expect("session.revoked", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["reason"], "admin");
    for d in [&a, &b] {
        error_code(ctx.get("/v1/sessions", d.access()).await, 401).await;
        error_code(ctx.refresh_raw(d.refresh()).await, 400).await;
    }
}

testkit::on_both_backends!(
    a_lost_laptop_is_signed_out_and_cannot_get_back_in,
    a_device_can_sign_itself_out,
    signing_out_all_others_keeps_only_this_device,
    signing_out_everywhere_refuses_every_earlier_token,
    revoking_a_refresh_token_ends_its_session_and_an_access_token_only_itself,
    an_administrator_signs_a_compromised_account_out,
);
