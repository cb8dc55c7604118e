//! The server holds against a hostile internet, not only against honest clients: every
//! test here is something an attacker tried from outside (docs/API.md, "Limits" and
//! "Hardening").

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::Options;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::helpers::*;

const OWNER: &str = "198.51.100.7";
const ATTACKER: &str = "203.0.113.66";

/// A sign-in as it arrives through the reverse proxy from `address`.
async fn sign_in_from(ctx: &Ctx, email: &str, password: &str, address: &str) -> reqwest::Response {
    ctx.http
        .post(ctx.url("/v1/sessions"))
        .header("x-forwarded-for", address)
        .json(&json!({"email": email, "password": password, "device": {"name": "Laptop"}}))
        .send()
        .await
        .unwrap()
}

async fn a_hundred_and_twenty_parallel_guesses_get_no_more_checks_than_five_in_a_row(
    backend: Backend,
) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let guesses: Vec<_> = (0..120)
        .map(|i| {
            let (http, url, email) = (ctx.http.clone(), ctx.url("/v1/sessions"), email.clone());
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({"email": email, "password": format!("guess number {i}"), "device": {"name": "x"}}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut checked = 0;
    for g in guesses {
        match g.await.unwrap() {
            // A 401 means the password was checked.
            401 => checked += 1,
            429 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        checked <= 5,
        "{checked} of 120 parallel guesses were checked"
    );
    assert!(checked >= 1);
}

async fn an_attacker_cannot_lock_the_owner_out(backend: Backend) {
    let ctx = Ctx::start_with(Options::backend(backend).arg("--trust-forwarded-for")).await;
    let email = ctx.new_account().await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        let r = sign_in_from(&ctx, &email, &format!("wrong guess {i}"), ATTACKER).await;
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..5], [401; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // The owner, from home, signs in with the right password.
    let r = sign_in_from(&ctx, &email, PASSWORD, OWNER).await;
    assert_eq!(r.status(), 201, "the owner was locked out");
    let t: proto::tokens::TokenResponse = r.json().await.unwrap();
    ctx.remember_tokens(&t);
    // The attacker, even with the right password, still waits at that address.
    let r = sign_in_from(&ctx, &email, PASSWORD, ATTACKER).await;
    assert_eq!(error_code(r, 429).await, "too_many_attempts");
}

async fn sign_ups_failed_refreshes_and_bad_client_credentials_are_limited_per_address(
    backend: Backend,
) {
    let ctx = Ctx::start_with(
        Options::backend(backend)
            .arg("--trust-forwarded-for")
            .arg("--signup-address-limit")
            .arg("3")
            .arg("--failure-address-limit")
            .arg("3"),
    )
    .await;
    let sign_up = |n: usize, address: &'static str| {
        ctx.http
            .post(ctx.url("/v1/accounts"))
            .header("x-forwarded-for", address)
            .json(&json!({"email": format!("new{n}-{address}@example.com"), "password": PASSWORD}))
            .send()
    };
    for n in 0..3 {
        assert_eq!(sign_up(n, ATTACKER).await.unwrap().status(), 201);
    }
    let r = sign_up(3, ATTACKER).await.unwrap();
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(error_code(r, 429).await, "too_many_attempts");
    assert_eq!(
        sign_up(4, OWNER).await.unwrap().status(),
        201,
        "other addresses sign up"
    );

    // Dead refresh tokens from one address.
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let refresh_from = |token: String, address: &'static str| {
        ctx.http
            .post(ctx.url("/oauth/token"))
            .header("x-forwarded-for", address)
            .form(&[
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", token),
            ])
            .send()
    };
    for i in 0..3 {
        let r = refresh_from(format!("rt_{}", "A".repeat(42 + i % 2)), ATTACKER)
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
    let r = refresh_from(d.refresh().to_owned(), ATTACKER)
        .await
        .unwrap();
    assert_eq!(error_code(r, 429).await, "too_many_attempts");
    let r = refresh_from(d.refresh().to_owned(), OWNER).await.unwrap();
    assert_eq!(r.status(), 200, "the owner refreshes from elsewhere");
    ctx.remember_tokens(&r.json().await.unwrap());

    // Wrong resource-server credentials from one address: then even the right ones wait.
    let introspect = |secret: &'static str| {
        ctx.http
            .post(ctx.url("/oauth/introspect"))
            .header("x-forwarded-for", "192.0.2.99")
            .basic_auth("rs", Some(secret))
            .form(&[("token", "x")])
            .send()
    };
    for _ in 0..3 {
        assert_eq!(introspect("guess").await.unwrap().status(), 401);
    }
    assert_eq!(
        error_code(introspect("rs-secret").await.unwrap(), 429).await,
        "too_many_attempts"
    );
}

async fn a_flood_of_password_checks_is_refused_with_503_not_queued_without_end(backend: Backend) {
    let ctx = Ctx::start_with(
        Options::backend(backend)
            .arg("--trust-forwarded-for")
            .arg("--hash-concurrency")
            .arg("1"),
    )
    .await;
    let me = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let flood: Vec<_> = (0..200)
        .map(|i| {
            let (http, url) = (ctx.http.clone(), ctx.url("/v1/sessions"));
            tokio::spawn(async move {
                let r = http
                    .post(url)
                    .header("x-forwarded-for", format!("10.{}.{}.1", i / 250, i % 250))
                    .json(&json!({"email": format!("nobody{i}@example.com"), "password": "whatever1", "device": {"name": "x"}}))
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.headers().get("retry-after").is_some())
            })
        })
        .collect();
    // A signed-in device is served meanwhile (its latency is measured in the benchmark).
    assert_eq!(ctx.get("/v1/sessions", me.access()).await.status(), 200);
    let (mut checked, mut busy) = (0, 0);
    for f in flood {
        match f.await.unwrap() {
            (401, _) => checked += 1,
            (503, true) => busy += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(busy > 0, "nothing was refused: the queue is unbounded");
    assert!(checked > 0, "nothing was checked");
}

async fn an_event_stream_ends_when_its_token_expires(backend: Backend) {
    let ctx = Ctx::start_with(Options::backend(backend).arg("--access-ttl").arg("3s")).await;
    let email = ctx.new_account().await;
    let d = ctx.sign_in(&email, "Laptop").await;
    let mut events = ctx.events(&d).await;
    let opened = Instant::now();
    assert!(
        events.closes_within(Duration::from_secs(6)).await,
        "the stream outlived its token"
    );
    assert!(
        opened.elapsed() >= Duration::from_secs(2),
        "closed too early"
    );
    // Nothing reaches it after the token expired.
    ctx.sign_in(&email, "Phone").await;
    assert!(events.next(Duration::from_secs(1)).await.is_none());
}

async fn an_event_stream_ends_when_its_token_is_revoked(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let d = ctx.sign_in(&email, "Laptop").await;
    let mut events = ctx.events(&d).await;
    let r = ctx
        .post_form("/oauth/revoke", &[("token", d.access())])
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        events.closes_within(Duration::from_secs(4)).await,
        "a revoked token kept its stream"
    );
}

async fn an_event_stream_ends_when_the_account_is_signed_out_everywhere_by_an_admin(
    backend: Backend,
) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let d = ctx.sign_in(&email, "Laptop").await;
    let mut events = ctx.events(&d).await;
    ctx.server.admin(&["revoke-user", &email]).await;
    assert!(events.closes_within(Duration::from_secs(4)).await);
}

/// Names that would make a device list say something it does not.
const DECEPTIVE: [&str; 6] = [
    "\u{202E}potpal kroW",
    "Work\u{200B}laptop",
    "\u{2066}Phone\u{2069}",
    "Tablet\u{2028}Phone",
    "\u{FEFF}Laptop",
    "Lap\u{00AD}top",
];

async fn device_names_that_could_mislead_are_refused(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let d = ctx.sign_in(&email, "Laptop").await;
    for name in DECEPTIVE {
        let r = ctx
            .post_json(
                "/v1/sessions",
                &json!({"email": email, "password": PASSWORD, "device": {"name": name}}),
            )
            .await;
        assert_eq!(error_code(r, 400).await, "validation_failed", "{name:?}");
        let r = ctx.rename(&d, &d.sid().to_string(), name).await;
        assert_eq!(error_code(r, 400).await, "validation_failed", "{name:?}");
        let r = ctx
            .post_json(
                "/v1/sessions",
                &json!({"email": email, "password": PASSWORD, "device": {"name": "ok", "os_version": name}}),
            )
            .await;
        assert_eq!(error_code(r, 400).await, "validation_failed", "{name:?}");
    }
    let list = ctx.sessions(&d).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["device"]["name"], "Laptop");
    // Look-alike spaces become one plain space: two names that look alike are alike.
    let r = ctx
        .rename(&d, &d.sid().to_string(), "Work\u{00A0}\u{3000}laptop")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(ctx.sessions(&d).await[0]["device"]["name"], "Work laptop");
}

/// Every field of every JSON and form endpoint, with a marker in it (as a string, and
/// where a string is expected, as the wrong type): no answer may quote it back.
async fn errors_never_quote_what_was_sent(backend: Backend) {
    const M: &str = "QuotedMarker7";
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let d = ctx.sign_in(&email, "Laptop").await;
    let mut answers: Vec<(String, String)> = Vec::new();
    // Only refusals: a rename to the marker rightly answers with the new name.
    let mut record = |what: String, r: (u16, String)| {
        if r.0 >= 400 {
            answers.push((what, r.1));
        }
    };

    let device = json!({"name": "x", "platform": "p", "os_version": "o", "app_version": "a"});
    let bodies: Vec<(&str, &str, Value)> = vec![
        (
            "POST",
            "/v1/accounts",
            json!({"email": "e@example.com", "password": PASSWORD}),
        ),
        (
            "POST",
            "/v1/sessions",
            json!({"email": email, "password": PASSWORD, "device": device}),
        ),
        (
            "PATCH",
            "/v1/sessions/{id}",
            json!({"device": {"name": "x"}}),
        ),
        ("POST", "/v1/sessions/revoke", json!({"scope": "others"})),
    ];
    let id = d.sid().to_string();
    for (method, path, body) in &bodies {
        let path = path.replace("{id}", &id);
        for pointer in leaves(body) {
            for replacement in [
                json!(M),
                json!({"x": M}),
                json!([M]),
                json!(format!("{M}\u{202E}")),
            ] {
                let mut b = body.clone();
                *b.pointer_mut(&pointer).unwrap() = replacement.clone();
                let r = ctx
                    .http
                    .request(method.parse().unwrap(), ctx.url(&path))
                    .bearer_auth(d.access())
                    .json(&b)
                    .send()
                    .await
                    .unwrap();
                record(
                    format!("{method} {path} {pointer}={replacement}"),
                    answer(r).await,
                );
            }
        }
        // A marker as a field name, and as the whole body.
        for raw in [
            format!("{{\"{M}\": 1}}"),
            format!("\"{M}\""),
            format!("{{\"email\": \"{M}"),
        ] {
            let r = ctx
                .http
                .request(method.parse().unwrap(), ctx.url(&path))
                .bearer_auth(d.access())
                .header("content-type", "application/json")
                .body(raw.clone())
                .send()
                .await
                .unwrap();
            record(format!("{method} {path} raw {raw}"), answer(r).await);
        }
    }
    let forms: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/oauth/token",
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", d.refresh()),
            ],
        ),
        (
            "/oauth/revoke",
            vec![("token", "x"), ("token_type_hint", "refresh_token")],
        ),
        (
            "/oauth/introspect",
            vec![("token", "x"), ("token_type_hint", "access_token")],
        ),
    ];
    for (path, form) in &forms {
        for i in 0..form.len() {
            let mut f: Vec<(&str, &str)> = form.clone();
            f[i].1 = M;
            let r = ctx
                .http
                .post(ctx.url(path))
                .basic_auth("rs", Some("rs-secret"))
                .form(&f)
                .send()
                .await
                .unwrap();
            record(format!("POST {path} {}={M}", f[i].0), answer(r).await);
        }
        let r = ctx
            .http
            .post(ctx.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("{M}={M}&%ZZ{M}"))
            .send()
            .await
            .unwrap();
        record(format!("POST {path} raw"), answer(r).await);
    }
    // Paths, queries and headers.
    for (path, auth) in [
        (format!("/v1/sessions/{M}"), Some(d.access().to_owned())),
        (format!("/v1/revocations?after={M}"), None),
        (format!("/{M}"), None),
        ("/v1/sessions".to_owned(), Some(M.to_owned())),
        ("/v1/events".to_owned(), Some(format!("{M}.{M}.{M}"))),
    ] {
        let mut req = ctx.http.get(ctx.url(&path));
        req = match auth {
            Some(t) => req.bearer_auth(t),
            None => req.basic_auth("rs", Some("rs-secret")),
        };
        let r = req.header("last-event-id", M).send().await.unwrap();
        record(format!("GET {path}"), answer(r).await);
    }
    for (what, text) in &answers {
        assert!(!text.contains(M), "{what} quoted the value back: {text}");
    }
    assert!(answers.len() > 50, "{} refusals", answers.len());
}

async fn answer(r: reqwest::Response) -> (u16, String) {
    (r.status().as_u16(), r.text().await.unwrap())
}

/// JSON pointers of every leaf of `v`.
fn leaves(v: &Value) -> Vec<String> {
    match v {
        Value::Object(m) => m
            .iter()
            .flat_map(|(k, v)| {
                let inner = leaves(v);
                if inner.is_empty() {
                    vec![format!("/{k}")]
                } else {
                    inner.into_iter().map(|p| format!("/{k}{p}")).collect()
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

async fn half_sent_requests_are_closed_and_delay_nobody(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let addr = ctx.server.url().trim_start_matches("http://").to_owned();
    let mut stuck = Vec::new();
    for _ in 0..400 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Le")
            .await
            .unwrap();
        stuck.push(s);
    }
    // Meanwhile everyone else is served at once.
    let started = Instant::now();
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    assert_eq!(ctx.sessions(&d).await.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "served in {:?}",
        started.elapsed()
    );
    // Within 15 s the server has closed every half-sent request.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    for mut s in stuck {
        let mut buf = [0u8; 512];
        loop {
            match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => continue,
                Err(_) => panic!("a half-sent request was still open after 15 s"),
            }
        }
    }
    // A body that never finishes gets a timeout too.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\"")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), s.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "a half-sent body was never answered");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}

testkit::on_both_backends!(
    a_hundred_and_twenty_parallel_guesses_get_no_more_checks_than_five_in_a_row,
    an_attacker_cannot_lock_the_owner_out,
    sign_ups_failed_refreshes_and_bad_client_credentials_are_limited_per_address,
    a_flood_of_password_checks_is_refused_with_503_not_queued_without_end,
    an_event_stream_ends_when_its_token_expires,
    an_event_stream_ends_when_its_token_is_revoked,
    an_event_stream_ends_when_the_account_is_signed_out_everywhere_by_an_admin,
    device_names_that_could_mislead_are_refused,
    errors_never_quote_what_was_sent,
    half_sent_requests_are_closed_and_delay_nobody,
);
