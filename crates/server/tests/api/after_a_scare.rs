//! After a scare: change the password (the other devices are signed out), turn on
//! two-step sign-in (the next sign-in asks for a code), and see that the lost laptop
//! obeyed (its wipe receipt).

use std::time::Duration;

use serde_json::{Value, json};
use testkit::{Options, authenticator, unix_now};

use crate::helpers::*;

const NEW_PASSWORD: &str = "a brand new passphrase";

impl Ctx {
    async fn post_bearer(&self, d: &Device, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(d.access())
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn activity_kinds(&self, d: &Device) -> Vec<String> {
        let v: Value = self
            .get("/v1/activity", d.access())
            .await
            .json()
            .await
            .unwrap();
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    }
}

async fn sign_in_with(ctx: &Ctx, email: &str, password: &str) -> reqwest::Response {
    ctx.post_json(
        "/v1/sessions",
        &json!({"email": email, "password": password, "device": {"name": "New laptop", "platform": "linux"}}),
    )
    .await
}

async fn changing_the_password_signs_every_other_device_out(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Phone").await;
    let laptop = ctx.sign_in(&email, "Lost laptop").await;
    let tablet = ctx.sign_in(&email, "Tablet").await;
    let mut laptop_events = ctx.events(&laptop).await;
    let mut my_events = ctx.events(&me).await;
    ctx.remember(NEW_PASSWORD);

    let r = ctx
        .post_bearer(
            &me,
            "/v1/account/password",
            &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["revoked"], 2);

    // The lost laptop hears it, with the reason, and is out.
    let e = laptop_events
        .expect("session.revoked", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["reason"], "password_changed");
    assert_eq!(e.data["session_id"], laptop.sid().to_string());
    error_code(ctx.refresh_raw(laptop.refresh()).await, 400).await;
    error_code(ctx.get("/v1/sessions", tablet.access()).await, 401).await;
    // Every device is told (here, this one).
    let alert = my_events
        .expect("security.alert", Duration::from_secs(5))
        .await;
    assert_eq!(alert.data["kind"], "password_changed");
    // This device carries on; the old password is dead, the new one works.
    assert_eq!(ctx.sessions(&me).await.len(), 1);
    assert_eq!(
        error_code(sign_in_with(&ctx, &email, PASSWORD).await, 401).await,
        "invalid_credentials"
    );
    let r = sign_in_with(&ctx, &email, NEW_PASSWORD).await;
    assert_eq!(r.status(), 201);
    ctx.remember_tokens(&r.json().await.unwrap());
    assert!(
        ctx.activity_kinds(&me)
            .await
            .contains(&"password_changed".to_owned())
    );
}

async fn a_password_change_can_keep_the_other_devices(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Phone").await;
    let laptop = ctx.sign_in(&email, "Laptop").await;
    ctx.remember(NEW_PASSWORD);
    let r = ctx
        .post_bearer(
            &me,
            "/v1/account/password",
            &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "sign_out_other_devices": false}),
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["revoked"], 0);
    assert_eq!(ctx.sessions(&laptop).await.len(), 2);
}

async fn a_wrong_current_password_is_refused_and_counted_like_a_sign_in(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Phone").await;
    let change = |current: String, new: &'static str| {
        let body = json!({"current_password": current, "new_password": new});
        let (ctx, me) = (&ctx, &me);
        async move { ctx.post_bearer(me, "/v1/account/password", &body).await }
    };
    // A weak new password is refused (and the current one was right: not counted).
    assert_eq!(
        error_code(change(PASSWORD.to_owned(), "short").await, 422).await,
        "weak_password"
    );
    // So is keeping the password the intruder may know.
    assert_eq!(
        error_code(change(PASSWORD.to_owned(), PASSWORD).await, 422).await,
        "weak_password"
    );
    for i in 0..5 {
        let r = change(format!("wrong guess {i}"), NEW_PASSWORD).await;
        assert_eq!(error_code(r, 403).await, "invalid_credentials");
    }
    let r = change("wrong guess 6".to_owned(), NEW_PASSWORD).await;
    assert_eq!(error_code(r, 429).await, "too_many_attempts");
    // The guesses count against sign-in from this address too.
    let r = sign_in_with(&ctx, &email, PASSWORD).await;
    assert_eq!(error_code(r, 429).await, "too_many_attempts");
}

/// Turns two-step sign-in on for `d`'s account; returns the authenticator and the
/// recovery codes. The confirming code spends the current step.
async fn enable_two_step(ctx: &Ctx, d: &Device) -> (totp_rs::Totp, Vec<String>) {
    // Confirming before starting is a state conflict, not a malformed request.
    let r = ctx
        .post_bearer(
            d,
            "/v1/account/two-step/confirm",
            &json!({"code": "123456"}),
        )
        .await;
    assert_eq!(error_code(r, 409).await, "conflict");
    let r = ctx
        .post_bearer(d, "/v1/account/two-step", &json!({"password": PASSWORD}))
        .await;
    assert_eq!(r.status(), 200);
    let enrolment: Value = r.json().await.unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    ctx.remember(&secret);
    assert!(
        enrolment["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    let app = authenticator(&secret);
    // Not on before the first code.
    assert_eq!(ctx.get_account(d).await["two_step"], false);
    let r = ctx
        .post_bearer(
            d,
            "/v1/account/two-step/confirm",
            &json!({"code": "000000"}),
        )
        .await;
    assert_eq!(error_code(r, 422).await, "invalid_code");
    let code = app.generate(unix_now()).to_string();
    let r = ctx
        .post_bearer(d, "/v1/account/two-step/confirm", &json!({"code": code}))
        .await;
    assert_eq!(r.status(), 200);
    let codes: Vec<String> = r.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    for c in &codes {
        ctx.remember(c);
    }
    assert_eq!(ctx.get_account(d).await["two_step"], true);
    (app, codes)
}

impl Ctx {
    async fn get_account(&self, d: &Device) -> Value {
        let r = self.get("/v1/account", d.access()).await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// The first step of a sign-in on a two-step account: its challenge.
    async fn challenge(&self, email: &str) -> String {
        let r = sign_in_with(self, email, PASSWORD).await;
        assert_eq!(r.status(), 401);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "mfa_required");
        assert!(v["expires_in"].as_u64().unwrap() > 0);
        let c = v["challenge"].as_str().unwrap().to_owned();
        self.remember(&c);
        c
    }

    async fn second_step(&self, body: &Value) -> reqwest::Response {
        self.post_json("/v1/sessions/two-step", body).await
    }
}

async fn with_two_step_on_a_sign_in_needs_a_code_once(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Phone").await;
    let (app, recovery) = enable_two_step(&ctx, &me).await;
    assert!(
        ctx.activity_kinds(&me)
            .await
            .contains(&"two_step_enabled".to_owned())
    );

    // A wrong password still gets invalid_credentials, not a challenge.
    assert_eq!(
        error_code(sign_in_with(&ctx, &email, "not the password").await, 401).await,
        "invalid_credentials"
    );
    // The right one gets a challenge; the next step's code completes it (the current
    // step was spent confirming).
    let challenge = ctx.challenge(&email).await;
    let code = app.generate(unix_now() + 30).to_string();
    let r = ctx
        .second_step(&json!({"challenge": challenge, "code": code}))
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // The challenge is spent; the code too.
    let r = ctx
        .second_step(&json!({"challenge": challenge, "code": code}))
        .await;
    assert_eq!(error_code(r, 401).await, "invalid_challenge");
    let again = ctx.challenge(&email).await;
    let r = ctx
        .second_step(&json!({"challenge": again, "code": code}))
        .await;
    assert_eq!(error_code(r, 401).await, "invalid_code", "a replayed code");
    // A recovery code works once ever.
    let r = ctx
        .second_step(&json!({"challenge": again, "recovery_code": recovery[0].to_lowercase()}))
        .await;
    assert_eq!(r.status(), 201);
    let third = ctx.challenge(&email).await;
    let r = ctx
        .second_step(&json!({"challenge": third, "recovery_code": recovery[0]}))
        .await;
    assert_eq!(
        error_code(r, 401).await,
        "invalid_code",
        "a recovery code used twice"
    );
    let r = ctx
        .second_step(&json!({"challenge": "ch_made-up", "code": "123456"}))
        .await;
    assert_eq!(error_code(r, 401).await, "invalid_challenge");
}

async fn wrong_codes_are_limited(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Phone").await;
    let (_app, _) = enable_two_step(&ctx, &me).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let challenge = ctx.challenge(&email).await;
        for _ in 0..3 {
            let r = ctx
                .second_step(&json!({"challenge": challenge, "code": "000000"}))
                .await;
            statuses.push(r.status().as_u16());
        }
    }
    // Five wrong codes from one address per window: the enrolment's wrong code was one.
    assert_eq!(&statuses[..4], [401; 4], "{statuses:?}");
    assert!(statuses[4..].iter().all(|s| *s == 429), "{statuses:?}");
}

async fn turning_two_step_off_needs_the_password_and_a_code_and_alerts(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Phone").await;
    let other = ctx.sign_in(&email, "Laptop").await;
    let (_app, recovery) = enable_two_step(&ctx, &me).await;
    let mut other_events = ctx.events(&other).await;
    let off = |password: &str, code: &str| {
        ctx.http
            .delete(ctx.url("/v1/account/two-step"))
            .bearer_auth(me.access())
            .json(&json!({"password": password, "code": code}))
            .send()
    };
    assert_eq!(
        error_code(off("wrong password!", &recovery[1]).await.unwrap(), 403).await,
        "invalid_credentials"
    );
    assert_eq!(
        error_code(off(PASSWORD, "999999").await.unwrap(), 422).await,
        "invalid_code"
    );
    // Enrolling another authenticator while it is on would bypass the code asked here.
    let again = ctx
        .post_bearer(&me, "/v1/account/two-step", &json!({"password": PASSWORD}))
        .await;
    assert_eq!(error_code(again, 409).await, "conflict");
    assert_eq!(off(PASSWORD, &recovery[1]).await.unwrap().status(), 204);
    let alert = other_events
        .expect("security.alert", Duration::from_secs(5))
        .await;
    assert_eq!(alert.data["kind"], "two_step_disabled");
    assert_eq!(ctx.get_account(&me).await["two_step"], false);
    // A plain sign-in again.
    let r = sign_in_with(&ctx, &email, PASSWORD).await;
    assert_eq!(r.status(), 201);
    ctx.remember_tokens(&r.json().await.unwrap());
    assert!(
        ctx.activity_kinds(&me)
            .await
            .contains(&"two_step_disabled".to_owned())
    );
}

async fn two_step_secrets_are_sealed_at_rest(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let kek = dir.path().join("kek");
    std::fs::write(&kek, session_server::seal::Kek::generate_base64()).unwrap();
    let ctx = Ctx::start_with(
        Options::backend(backend)
            .arg("--key-encryption-key-file")
            .arg(kek.display().to_string()),
    )
    .await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Phone").await;
    let (app, _) = enable_two_step(&ctx, &me).await;
    let store = session_server::store::Store::connect(ctx.server.database_url())
        .await
        .unwrap();
    let account = store.account_by_email(&email).await.unwrap().unwrap();
    store.close().await;
    let sealed = account.two_step_secret.unwrap();
    assert!(sealed.starts_with(b"sm-sealed-v1:"));
    let raw = app.secret().as_bytes();
    assert!(!sealed.windows(raw.len()).any(|w| w == raw));
}

// ----- wipe receipts -----------------------------------------------------------------

async fn receipt(ctx: &Ctx, sid: &str, refresh_token: &str) -> reqwest::Response {
    ctx.post_json(
        &format!("/v1/sessions/{sid}/wipe-receipt"),
        &json!({"refresh_token": refresh_token}),
    )
    .await
}

async fn a_signed_out_laptop_proves_it_erased_its_keys(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let phone = ctx.sign_in(&email, "Phone").await;
    let laptop = ctx.sign_in(&email, "Lost laptop").await;
    let mut phone_events = ctx.events(&phone).await;
    // Before it is signed out, a receipt is nothing (the same 404 as a wrong token).
    assert_eq!(
        error_code(
            receipt(&ctx, &laptop.sid().to_string(), laptop.refresh()).await,
            404
        )
        .await,
        "not_found"
    );
    assert_eq!(ctx.delete_session(&phone, laptop.sid()).await.status(), 204);

    // The list with signed-out devices shows it waiting for the device.
    let list = ctx.sessions_with_signed_out(&phone).await;
    assert_eq!(list.len(), 2);
    let gone = &list[1];
    assert_eq!(gone["id"], laptop.sid().to_string());
    assert_eq!(gone["current"], false);
    assert_eq!(gone["revoked_reason"], "revoked");
    assert!(gone["revoked_at"].is_string());
    assert!(gone["wiped_at"].is_null() && gone.get("wiped_at").is_some());
    // Without the parameter: live only.
    assert_eq!(ctx.sessions(&phone).await.len(), 1);

    // A wrong token, another session's id, a made-up id: nothing.
    let other = ctx.sign_in(&ctx.new_account().await, "Someone else").await;
    for (sid, token) in [
        (laptop.sid().to_string(), phone.refresh().to_owned()),
        (
            laptop.sid().to_string(),
            "rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        ),
        (other.sid().to_string(), laptop.refresh().to_owned()),
        ("not-an-id".to_owned(), laptop.refresh().to_owned()),
    ] {
        assert_eq!(
            error_code(receipt(&ctx, &sid, &token).await, 404).await,
            "not_found"
        );
    }
    // The laptop's receipt, sent many times at once (it retries): recorded once.
    let sid = laptop.sid().to_string();
    let sends: Vec<_> = (0..50)
        .map(|_| {
            let (http, url, token) = (
                ctx.http.clone(),
                ctx.url(&format!("/v1/sessions/{sid}/wipe-receipt")),
                laptop.refresh().to_owned(),
            );
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({"refresh_token": token}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for s in sends {
        assert_eq!(s.await.unwrap(), 204);
    }
    let e = phone_events
        .expect("session.wiped", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["session_id"], sid);
    let list = ctx.sessions_with_signed_out(&phone).await;
    let gone = &list[1];
    assert!(gone["wiped_at"].is_string());
    assert_eq!(gone["wiped_ip"], "127.0.0.1");
    let kinds = ctx.activity_kinds(&phone).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "wiped").count(),
        1,
        "{kinds:?}"
    );
    // A later receipt changes nothing.
    let first = gone["wiped_at"].clone();
    assert_eq!(receipt(&ctx, &sid, laptop.refresh()).await.status(), 204);
    assert_eq!(
        ctx.sessions_with_signed_out(&phone).await[1]["wiped_at"],
        first
    );
    // The receipt is no way back in.
    error_code(ctx.refresh_raw(laptop.refresh()).await, 400).await;
}

impl Ctx {
    async fn sessions_with_signed_out(&self, d: &Device) -> Vec<Value> {
        let r = self
            .get("/v1/sessions?include=signed_out", d.access())
            .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        v["sessions"].as_array().unwrap().clone()
    }
}

testkit::on_both_backends!(
    changing_the_password_signs_every_other_device_out,
    a_password_change_can_keep_the_other_devices,
    a_wrong_current_password_is_refused_and_counted_like_a_sign_in,
    with_two_step_on_a_sign_in_needs_a_code_once,
    wrong_codes_are_limited,
    turning_two_step_off_needs_the_password_and_a_code_and_alerts,
    two_step_secrets_are_sealed_at_rest,
    a_signed_out_laptop_proves_it_erased_its_keys,
);
