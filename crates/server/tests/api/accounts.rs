//! Accounts and signing in.

use serde_json::json;
use testkit::Options;

use crate::helpers::*;

async fn an_email_can_register_once_whatever_its_case(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let r = ctx
        .post_json(
            "/v1/accounts",
            &json!({"email": "Ann@Example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    let id: uuid::Uuid = v["user_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(id.get_version_num(), 7);
    let r = ctx
        .post_json(
            "/v1/accounts",
            &json!({"email": " ann@example.COM ", "password": PASSWORD}),
        )
        .await;
    assert_eq!(error_code(r, 409).await, "email_taken");
    // Signing in works with any case.
    let d = ctx.sign_in("ANN@example.com", "Laptop").await;
    assert_eq!(ctx.sessions(&d).await.len(), 1);
}

async fn wrong_email_and_wrong_password_get_the_same_answer(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let device = json!({"name": "Laptop"});
    let wrong_pw = ctx
        .post_json(
            "/v1/sessions",
            &json!({"email": email, "password": "not the password", "device": device}),
        )
        .await;
    let no_user = ctx
        .post_json(
            "/v1/sessions",
            &json!({"email": "nobody@example.com", "password": PASSWORD, "device": device}),
        )
        .await;
    assert_eq!(wrong_pw.status(), 401);
    assert_eq!(no_user.status(), 401);
    let a = wrong_pw.text().await.unwrap();
    let b = no_user.text().await.unwrap();
    assert_eq!(a, b, "the answers must not tell which was wrong");
    assert!(a.contains("invalid_credentials"));
    ctx.remember("not the password");
    ctx.assert_logs_clean();
}

async fn repeated_failures_for_an_account_are_slowed_down(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let other = ctx.new_account().await;
    let ctx = &ctx;
    let attempt = |email: String, pw: &'static str| {
        let body = json!({"email": email, "password": pw, "device": {"name": "Thief"}});
        async move { ctx.post_json("/v1/sessions", &body).await }
    };
    for _ in 0..5 {
        assert_eq!(
            attempt(email.clone(), "guess guess guess").await.status(),
            401
        );
    }
    let r = attempt(email.clone(), "guess guess guess").await;
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    assert_eq!(error_code(r, 429).await, "too_many_attempts");
    // Even the right password waits: the lock is on the account, not the guess.
    assert_eq!(attempt(email.clone(), PASSWORD).await.status(), 429);
    // Another account from the same address is not locked.
    assert_eq!(attempt(other, PASSWORD).await.status(), 201);
}

async fn repeated_failures_from_an_address_are_slowed_down(backend: Backend) {
    let ctx = Ctx::start_with(
        Options::backend(backend)
            .arg("--signin-address-limit")
            .arg("3"),
    )
    .await;
    for i in 0..3 {
        let r = ctx
            .post_json("/v1/sessions", &json!({"email": format!("guess{i}@example.com"), "password": "whatever1", "device": {"name": "x"}}))
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = ctx
        .post_json("/v1/sessions", &json!({"email": "guess9@example.com", "password": "whatever1", "device": {"name": "x"}}))
        .await;
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(error_code(r, 429).await, "too_many_attempts");
}

async fn without_open_signup_accounts_come_from_the_administrator(backend: Backend) {
    let ctx = Ctx::start_with(Options {
        open_signup: false,
        ..Options::backend(backend)
    })
    .await;
    let r = ctx
        .post_json(
            "/v1/accounts",
            &json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(error_code(r, 403).await, "signup_disabled");

    let mut child = tokio::process::Command::new(testkit::binary("session-server"))
        .args([
            "--database-url",
            ctx.server.database_url(),
            "admin",
            "create-user",
            "ann@example.com",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .await
            .unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Created account ann@example.com"));
    let d = ctx.sign_in("ann@example.com", "Laptop").await;
    assert_eq!(ctx.sessions(&d).await.len(), 1);
    ctx.assert_logs_clean();
}

testkit::on_both_backends!(
    an_email_can_register_once_whatever_its_case,
    wrong_email_and_wrong_password_get_the_same_answer,
    repeated_failures_for_an_account_are_slowed_down,
    repeated_failures_from_an_address_are_slowed_down,
    without_open_signup_accounts_come_from_the_administrator,
);
