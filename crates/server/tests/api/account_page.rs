//! The account page's API from a browser's side: a cookie no script can read, checked
//! origins, strict headers, and a browser that is a device like any other. (The page
//! itself, in a real browser, is tested in `tests/`.)

use std::time::Duration;

use serde_json::{Value, json};
use testkit::Options;

use crate::helpers::*;

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// A browser: its own cookie store, the page's origin on every request.
struct Browser {
    http: reqwest::Client,
    origin: String,
}

impl Browser {
    fn new(ctx: &Ctx) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .user_agent(FIREFOX)
                .build()
                .unwrap(),
            origin: ctx.server.url().to_owned(),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.origin))
            .header("origin", &self.origin)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.origin))
            .send()
            .await
            .unwrap()
    }

    async fn sign_in(&self, email: &str, shared: bool) -> reqwest::Response {
        self.post(
            "/account/api/sign-in",
            &json!({"email": email, "password": PASSWORD, "shared_computer": shared}),
        )
        .await
    }
}

fn set_cookie(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("sm_web="))
        .expect("no session cookie")
}

async fn a_browser_signs_in_with_a_cookie_no_script_can_read(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let phone = ctx.sign_in(&email, "Phone").await;
    let browser = Browser::new(&ctx);
    let r = browser.sign_in(&email, false).await;
    assert_eq!(r.status(), 200);
    let cookie = set_cookie(&r);
    ctx.remember(
        cookie
            .trim_start_matches("sm_web=")
            .split(';')
            .next()
            .unwrap(),
    );
    for flag in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/account/api",
        "Max-Age=43200",
    ] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );
    let body: Value = r.json().await.unwrap();
    assert!(body.get("refresh_token").is_none() && body.get("access_token").is_none());

    // The page's API answers with the cookie alone.
    let r = browser.get("/account/api/v1/sessions").await;
    assert_eq!(r.status(), 200);
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(r.headers()[name], value);
    }
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe"), "{csp}");
    // The browser is a device like any other, named from itself, listed everywhere.
    let list = ctx.sessions(&phone).await;
    let web = list
        .iter()
        .find(|s| s["device"]["platform"] == "web")
        .expect("the browser is listed");
    assert_eq!(web["device"]["name"], "Firefox on Windows");
    // Its lifetimes are the web's: 1 hour idle, 12 hours at most.
    let status: Value = serde_json::from_str(
        &ctx.server
            .admin(&["show-session", web["id"].as_str().unwrap(), "--json"])
            .await,
    )
    .unwrap();
    let created = status["created_at"].as_i64().unwrap();
    assert_eq!(
        status["idle_expires_at"].as_i64().unwrap() - created,
        3_600_000
    );
    assert_eq!(status["expires_at"].as_i64().unwrap() - created, 43_200_000);

    // The cookie is no bearer token for the rest of the API.
    let r = ctx
        .http
        .get(ctx.url("/v1/sessions"))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn a_shared_computer_forgets_the_sign_in_when_the_browser_closes(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let r = Browser::new(&ctx).sign_in(&email, true).await;
    let cookie = set_cookie(&r);
    ctx.remember(
        cookie
            .trim_start_matches("sm_web=")
            .split(';')
            .next()
            .unwrap(),
    );
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "{cookie}"
    );
}

async fn a_cross_origin_request_with_the_cookie_is_refused(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let browser = Browser::new(&ctx);
    let r = browser.sign_in(&email, false).await;
    ctx.remember(
        set_cookie(&r)
            .trim_start_matches("sm_web=")
            .split(';')
            .next()
            .unwrap(),
    );
    for origin in [Some("https://evil.example"), Some("null"), None] {
        let mut req = browser
            .http
            .post(format!("{}/account/api/v1/sessions/revoke", browser.origin))
            .json(&json!({"scope": "all"}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        assert_eq!(error_code(r, 403).await, "invalid_request", "{origin:?}");
    }
    // Still signed in: nothing happened.
    assert_eq!(browser.get("/account/api/v1/sessions").await.status(), 200);
}

async fn a_browser_signed_out_elsewhere_hears_why_and_its_cookie_is_dead(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let phone = ctx.sign_in(&email, "Phone").await;
    let browser = Browser::new(&ctx);
    let r = browser.sign_in(&email, false).await;
    let sid: String = r.json::<Value>().await.unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        ctx.delete_session(&phone, sid.parse().unwrap())
            .await
            .status(),
        204
    );
    assert_eq!(
        error_code(browser.get("/account/api/v1/sessions").await, 401).await,
        "invalid_token"
    );
    let r = browser.get("/account/api/notice?offset_minutes=0").await;
    assert_eq!(r.status(), 200);
    let n: Value = r.json().await.unwrap();
    assert_eq!(n["reason"], "revoked");
    assert_eq!(n["by_device_name"], "Phone");
    let message = n["message"].as_str().unwrap();
    assert!(
        message.starts_with("This device was signed out from Phone at "),
        "{message}"
    );
    // The notice is given once; the cookie is gone.
    assert_eq!(browser.get("/account/api/notice").await.status(), 204);
}

async fn signing_out_on_the_web_revokes_the_session_and_clears_the_cookie(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let phone = ctx.sign_in(&email, "Phone").await;
    let browser = Browser::new(&ctx);
    let r = browser.sign_in(&email, false).await;
    let cookie = set_cookie(&r);
    ctx.remember(
        cookie
            .trim_start_matches("sm_web=")
            .split(';')
            .next()
            .unwrap(),
    );
    let r = browser.post("/account/api/sign-out", &json!({})).await;
    assert_eq!(r.status(), 204);
    assert!(set_cookie(&r).contains("Max-Age=0"));
    // Replaying the old cookie gets nowhere.
    let r = ctx
        .http
        .get(ctx.url("/account/api/v1/sessions"))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(ctx.sessions(&phone).await.len(), 1);
}

async fn a_browser_signs_in_with_two_step_without_seeing_the_challenge(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Phone").await;
    let enrol: Value = ctx
        .http
        .post(ctx.url("/v1/account/two-step"))
        .bearer_auth(me.access())
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = enrol["secret"].as_str().unwrap();
    ctx.remember(secret);
    let app = testkit::authenticator(secret);
    let r = ctx
        .http
        .post(ctx.url("/v1/account/two-step/confirm"))
        .bearer_auth(me.access())
        .json(&json!({"code": app.generate(testkit::unix_now()).to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for c in r.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
    {
        ctx.remember(c.as_str().unwrap());
    }

    let browser = Browser::new(&ctx);
    let r = browser.sign_in(&email, false).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers().get_all("set-cookie").iter().any(|c| c
            .to_str()
            .unwrap()
            .starts_with("sm_challenge=")
            && c.to_str().unwrap().contains("HttpOnly"))
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "mfa_required");
    assert!(
        body.get("challenge").is_none(),
        "the page's scripts must not see it"
    );
    let r = browser
        .post(
            "/account/api/sign-in/two-step",
            &json!({"code": app.generate(testkit::unix_now() + 30).to_string()}),
        )
        .await;
    assert_eq!(r.status(), 200);
    ctx.remember(
        set_cookie(&r)
            .trim_start_matches("sm_web=")
            .split(';')
            .next()
            .unwrap(),
    );
    assert_eq!(browser.get("/account/api/v1/account").await.status(), 200);
}

async fn without_the_account_page_there_is_none(backend: Backend) {
    let ctx = Ctx::start_with(Options::backend(backend).arg("--no-web")).await;
    let email = ctx.new_account().await;
    let r = Browser::new(&ctx).sign_in(&email, false).await;
    assert_eq!(error_code(r, 404).await, "not_found");
}

async fn the_page_event_stream_ends_when_the_browser_is_signed_out(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let phone = ctx.sign_in(&email, "Phone").await;
    let browser = Browser::new(&ctx);
    let r = browser.sign_in(&email, false).await;
    let sid: String = r.json::<Value>().await.unwrap()["session_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = browser.get("/account/api/v1/events").await;
    assert_eq!(r.status(), 200);
    let mut body = r.bytes_stream();
    use futures::StreamExt as _;
    ctx.delete_session(&phone, sid.parse().unwrap()).await;
    let mut seen = String::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(chunk)) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream stayed open: {seen}");
    assert!(seen.contains("session.revoked"), "{seen}");
}

/// A signed-out device's proof that it erased its keys (what its client sends).
async fn wipe_receipt(ctx: &Ctx, device: &Device) -> reqwest::Response {
    ctx.post_json(
        &format!("/v1/sessions/{}/wipe-receipt", device.sid()),
        &json!({ "refresh_token": device.refresh() }),
    )
    .await
}

/// The cookie `r` set, as a secret the logs must never show.
fn remember_cookie(ctx: &Ctx, r: &reqwest::Response) {
    ctx.remember(
        set_cookie(r)
            .trim_start_matches("sm_web=")
            .split(';')
            .next()
            .unwrap(),
    );
}

async fn the_page_lists_signed_out_devices_worded_as_the_app_words_them(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let phone = ctx.sign_in(&email, "Phone").await;
    let laptop = ctx.sign_in(&email, "Lost laptop").await;
    let tablet = ctx.sign_in(&email, "Old tablet").await;
    // Someone else's account has a signed-out device that erased its keys too.
    let stranger = ctx.new_account().await;
    let their_phone = ctx.sign_in(&stranger, "Their phone").await;
    let their_laptop = ctx.sign_in(&stranger, "Their laptop").await;
    assert_eq!(
        ctx.delete_session(&their_phone, their_laptop.sid())
            .await
            .status(),
        204
    );
    assert_eq!(wipe_receipt(&ctx, &their_laptop).await.status(), 204);

    // Without the page's cookie there is nothing to read.
    let r = ctx
        .http
        .get(ctx.url("/account/api/signed-out?offset_minutes=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, 401).await, "invalid_token");

    let browser = Browser::new(&ctx);
    let r = browser.sign_in(&email, false).await;
    remember_cookie(&ctx, &r);
    // The laptop is lost: signed out from the phone, it erases its keys and says so;
    // the tablet is signed out too, but is off somewhere.
    assert_eq!(ctx.delete_session(&phone, laptop.sid()).await.status(), 204);
    assert_eq!(ctx.delete_session(&phone, tablet.sid()).await.status(), 204);
    assert_eq!(wipe_receipt(&ctx, &laptop).await.status(), 204);

    // In UTC, and on clocks east and west of it: each time said as that clock says it.
    for offset_minutes in [0, 330, -480, 14 * 60] {
        let r = browser
            .get(&format!(
                "/account/api/signed-out?offset_minutes={offset_minutes}"
            ))
            .await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let body: Value = r.json().await.unwrap();
        let devices = body["devices"].as_array().unwrap();
        let mut ids: Vec<&str> = devices.iter().map(|d| d["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        let mut want = [laptop.sid().to_string(), tablet.sid().to_string()];
        want.sort_unstable();
        assert_eq!(ids, want, "only this account's signed-out devices");
        let entry =
            |sid: proto::SessionId| devices.iter().find(|d| d["id"] == sid.to_string()).unwrap();

        let lost = entry(laptop.sid());
        assert_eq!(lost["device"]["name"], "Lost laptop");
        assert_eq!(lost["revoked_reason"], "revoked");
        assert_eq!(lost["wiped_ip"], "127.0.0.1");
        let wiped_at: chrono::DateTime<chrono::Utc> =
            lost["wiped_at"].as_str().unwrap().parse().unwrap();
        let clock = chrono::FixedOffset::east_opt(offset_minutes * 60).unwrap();
        assert_eq!(
            lost["wipe_status"],
            format!(
                "Keys erased from this device at {}, from 127.0.0.1",
                wiped_at.with_timezone(&clock).format("%H:%M")
            ),
            "at UTC{offset_minutes:+} minutes"
        );

        let away = entry(tablet.sid());
        assert!(away["wiped_at"].is_null());
        assert_eq!(
            away["wipe_status"],
            "Waiting for this device to come online"
        );
    }

    // A clock no place on Earth uses is taken as the nearest that exists; a time zone
    // that is not a number is refused, quoting nothing of it.
    let r = browser
        .get("/account/api/signed-out?offset_minutes=2147483647")
        .await;
    assert_eq!(r.status(), 200);
    let r = browser
        .get("/account/api/signed-out?offset_minutes=%E2%80%AEsoon")
        .await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 400, "{text}");
    assert!(!text.contains("soon"), "{text}");

    // The Origin rule is as it was: a read needs none (above), a change from another
    // origin is still refused, and changed nothing.
    let r = browser
        .http
        .post(format!("{}/account/api/v1/sessions/revoke", browser.origin))
        .header("origin", "https://evil.example")
        .json(&json!({"scope": "others"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, 403).await, "invalid_request");
    assert_eq!(
        ctx.sessions(&phone).await.len(),
        2,
        "the phone and the browser"
    );
}

testkit::on_both_backends!(
    a_browser_signs_in_with_a_cookie_no_script_can_read,
    a_shared_computer_forgets_the_sign_in_when_the_browser_closes,
    a_cross_origin_request_with_the_cookie_is_refused,
    a_browser_signed_out_elsewhere_hears_why_and_its_cookie_is_dead,
    signing_out_on_the_web_revokes_the_session_and_clears_the_cookie,
    a_browser_signs_in_with_two_step_without_seeing_the_challenge,
    without_the_account_page_there_is_none,
    the_page_event_stream_ends_when_the_browser_is_signed_out,
    the_page_lists_signed_out_devices_worded_as_the_app_words_them,
);
