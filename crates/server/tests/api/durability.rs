//! What survives a crash, a restart and a key rotation: the real binary in a process
//! of its own, killed, stopped with SIGTERM and started again.

use std::time::Duration;

use testkit::Options;

use crate::helpers::*;

async fn start_process(backend: Backend) -> Ctx {
    Ctx::start_with(Options::backend(backend).process()).await
}

async fn an_acknowledged_revocation_survives_kill_9(backend: Backend) {
    let mut ctx = start_process(backend).await;
    let email = ctx.new_account().await;
    let phone = ctx.sign_in(&email, "Phone").await;
    let laptop = ctx.sign_in(&email, "Lost laptop").await;
    let spare = ctx.refresh(laptop.refresh()).await;

    assert_eq!(ctx.delete_session(&phone, laptop.sid()).await.status(), 204);
    // The answer came back: now crash, with no chance to flush anything.
    ctx.server.kill().await;
    ctx.server.start_again().await;

    error_code(ctx.get("/v1/sessions", laptop.access()).await, 401).await;
    error_code(
        ctx.get("/v1/sessions", spare.access_token.expose()).await,
        401,
    )
    .await;
    assert_eq!(
        ctx.introspect(spare.access_token.expose()).await["active"],
        false
    );
    assert_eq!(
        error_code(ctx.refresh_raw(spare.refresh_token.expose()).await, 400).await,
        "invalid_grant"
    );
    assert!(ctx.server.session_is_revoked(laptop.sid()).await);
    // The phone lives on.
    assert_eq!(ctx.sessions(&phone).await.len(), 1);
}

async fn sign_out_everywhere_survives_kill_9(backend: Backend) {
    let mut ctx = start_process(backend).await;
    let email = ctx.new_account().await;
    let a = ctx.sign_in(&email, "Desktop").await;
    let b = ctx.sign_in(&email, "Phone").await;
    assert_eq!(ctx.revoke_scope(&a, "all").await.status(), 200);
    ctx.server.kill().await;
    ctx.server.start_again().await;
    for d in [&a, &b] {
        error_code(ctx.get("/v1/sessions", d.access()).await, 401).await;
    }
    let fresh = ctx.sign_in(&email, "Desktop").await;
    assert_eq!(ctx.get("/v1/sessions", fresh.access()).await.status(), 200);
}

async fn sigterm_shuts_down_gracefully_even_with_open_streams(backend: Backend) {
    let mut ctx = start_process(backend).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let mut stream = ctx.events(&d).await;
    ctx.server.stop().await;
    assert!(stream.closes_within(Duration::from_secs(5)).await);
    assert!(
        ctx.server.logs().contains("stopped"),
        "{}",
        ctx.server.logs()
    );
    // Everything is still there after the restart.
    ctx.server.start_again().await;
    assert_eq!(ctx.sessions(&d).await.len(), 1);
}

async fn tokens_signed_before_a_key_rotation_stay_valid(backend: Backend) {
    let mut ctx = start_process(backend).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let out = ctx.server.cli(&["keys", "rotate"]).await;
    assert!(out.contains("is now current"), "{out}");
    ctx.server.stop().await;
    ctx.server.start_again().await;

    let jwks: serde_json::Value = ctx.get_json("/.well-known/jwks.json").await;
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "old key still published"
    );
    assert_eq!(
        ctx.get("/v1/sessions", d.access()).await.status(),
        200,
        "old token still valid"
    );
    let t = ctx.refresh(d.refresh()).await;
    let kid = |tok: &str| jwt_part(tok, 0)["kid"].as_str().unwrap().to_owned();
    assert_ne!(
        kid(t.access_token.expose()),
        kid(d.access()),
        "new tokens use the new key"
    );
    assert_eq!(
        ctx.get("/v1/sessions", t.access_token.expose())
            .await
            .status(),
        200
    );
}

testkit::on_both_backends!(
    an_acknowledged_revocation_survives_kill_9,
    sign_out_everywhere_survives_kill_9,
    sigterm_shuts_down_gracefully_even_with_open_streams,
    tokens_signed_before_a_key_rotation_stay_valid,
);
