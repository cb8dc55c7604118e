//! Bad input gets a clear error in the one JSON shape, and changes nothing.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use testkit::Options;

use crate::helpers::*;

async fn malformed_bodies_get_clear_errors_and_change_nothing(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let d = ctx.sign_in(&email, "Laptop").await;
    let post = |path: &str, ct: &str, body: Vec<u8>| {
        ctx.http
            .post(ctx.url(path))
            .header("content-type", ct)
            .body(body)
            .send()
    };

    for path in ["/v1/accounts", "/v1/sessions"] {
        let code = error_code(
            post(path, "application/json", b"{\"email\": ".to_vec())
                .await
                .unwrap(),
            400,
        )
        .await;
        assert_eq!(code, "invalid_json");
        let code = error_code(post(path, "text/plain", b"{}".to_vec()).await.unwrap(), 415).await;
        assert_eq!(code, "unsupported_media_type");
        let code = error_code(
            post(path, "application/json", b"{}".to_vec())
                .await
                .unwrap(),
            400,
        )
        .await;
        assert_eq!(code, "invalid_request");
        let big = format!("{{\"email\": \"{}\"}}", "a".repeat(70 * 1024)).into_bytes();
        let code = error_code(post(path, "application/json", big).await.unwrap(), 413).await;
        assert_eq!(code, "payload_too_large");
    }
    // A body with no content type at all.
    let r = ctx
        .http
        .post(ctx.url("/v1/sessions"))
        .body("{}")
        .send()
        .await
        .unwrap();
    error_code(r, 415).await;

    // A password of the wrong type is refused without echoing it.
    let r = ctx
        .post_json(
            "/v1/sessions",
            &json!({"email": email, "password": 987654321, "device": {"name": "x"}}),
        )
        .await;
    let text = r.text().await.unwrap();
    assert!(!text.contains("987654321"), "the value was echoed: {text}");

    // Invalid but well-formed: 422.
    let code = error_code(
        ctx.post_json(
            "/v1/accounts",
            &json!({"email": "not-an-email", "password": PASSWORD}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(code, "validation_failed");
    let code = error_code(
        ctx.post_json(
            "/v1/accounts",
            &json!({"email": "new@example.com", "password": "short"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(code, "weak_password");
    let code = error_code(
        ctx.post_json(
            "/v1/sessions",
            &json!({"email": email, "password": PASSWORD, "device": {"name": ""}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(code, "validation_failed");
    let code = error_code(
        ctx.http
            .post(ctx.url("/v1/sessions/revoke"))
            .bearer_auth(d.access())
            .json(&json!({"scope": "everything"}))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert_eq!(code, "invalid_request");

    // Form endpoints.
    let r = ctx
        .http
        .post(ctx.url("/oauth/token"))
        .json(&json!({"grant_type": "refresh_token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, 415).await, "invalid_request");
    let r = ctx
        .post_form("/oauth/token", &[("grant_type", "password")])
        .await;
    assert_eq!(error_code(r, 400).await, "unsupported_grant_type");
    let r = ctx
        .post_form("/oauth/token", &[("grant_type", "refresh_token")])
        .await;
    assert_eq!(error_code(r, 400).await, "invalid_request");
    let r = ctx.post_form("/oauth/token", &[("nothing", "here")]).await;
    assert_eq!(error_code(r, 400).await, "invalid_request");
    let r = ctx
        .post_form("/oauth/revoke", &[("token_type_hint", "refresh_token")])
        .await;
    assert_eq!(error_code(r, 400).await, "invalid_request");

    // Introspection needs the resource server's credentials.
    let r = ctx
        .post_form("/oauth/introspect", &[("token", d.access())])
        .await;
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(error_code(r, 401).await, "invalid_client");
    let r = ctx
        .http
        .post(ctx.url("/oauth/introspect"))
        .basic_auth("rs", Some("wrong"))
        .form(&[("token", d.access())])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r, 401).await, "invalid_client");

    // Unknown routes and methods answer in the same shape.
    assert_eq!(
        error_code(ctx.get("/v2/nothing", d.access()).await, 404).await,
        "not_found"
    );
    let r = ctx.http.put(ctx.url("/v1/sessions")).send().await.unwrap();
    assert_eq!(error_code(r, 405).await, "method_not_allowed");

    // Nothing changed: one account, one device, and it still works.
    let list = ctx.sessions(&d).await;
    assert_eq!(list.len(), 1);
    let _ = ctx.refresh(d.refresh()).await;
    ctx.assert_logs_clean();
}

fn forge(header: Value, claims: &Value, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string()),
        B64.encode(sig)
    )
}

/// HMAC-SHA256, enough to build the classic key-confusion forgery.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

async fn forged_and_foreign_tokens_are_refused(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let claims = jwt_part(d.access(), 1);
    let jwks: Value = ctx.get_json("/.well-known/jwks.json").await;
    let key = &jwks["keys"][0];
    let kid = key["kid"].as_str().unwrap();

    let mut bad: Vec<(&str, String)> = vec![
        (
            "alg none",
            forge(json!({"alg": "none", "kid": kid}), &claims, b""),
        ),
        ("alg none, no signature", {
            let t = forge(json!({"alg": "none"}), &claims, b"");
            t.trim_end_matches('.').to_owned() + "."
        }),
        ("HS256 with the public key", {
            let header = json!({"alg": "HS256", "kid": kid, "typ": "JWT"});
            let input = format!(
                "{}.{}",
                B64.encode(header.to_string()),
                B64.encode(claims.to_string())
            );
            let public = B64.decode(key["x"].as_str().unwrap()).unwrap();
            let mac = hmac_sha256(&public, input.as_bytes());
            format!("{input}.{}", B64.encode(mac))
        }),
        ("HS256 with the JWK text as key", {
            let header = json!({"alg": "HS256", "kid": kid});
            let input = format!(
                "{}.{}",
                B64.encode(header.to_string()),
                B64.encode(claims.to_string())
            );
            let mac = hmac_sha256(key.to_string().as_bytes(), input.as_bytes());
            format!("{input}.{}", B64.encode(mac))
        }),
        ("unknown kid", {
            let mut parts: Vec<String> = d.access().split('.').map(str::to_owned).collect();
            parts[0] = B64.encode(json!({"alg": "EdDSA", "kid": "no-such-key"}).to_string());
            parts.join(".")
        }),
        ("tampered claims", {
            let mut c = claims.clone();
            c["sub"] = json!(proto::UserId::new().to_string());
            let parts: Vec<&str> = d.access().split('.').collect();
            format!("{}.{}.{}", parts[0], B64.encode(c.to_string()), parts[2])
        }),
        ("random bytes", "garbage\u{e9}\u{1F600}\u{80}".to_owned()),
        ("empty", String::new()),
        ("refresh token as bearer", d.refresh().to_owned()),
    ];
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    for len in [1, 17, 64, 400] {
        let s: String = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(b'!' + (seed % 90) as u8)
            })
            .collect();
        bad.push(("random printable", s));
    }
    for (what, token) in &bad {
        // Raw bytes, so non-ASCII reaches the server as it is (obs-text in HTTP terms).
        let header =
            reqwest::header::HeaderValue::from_bytes(format!("Bearer {token}").as_bytes()).unwrap();
        let r = ctx
            .http
            .get(ctx.url("/v1/sessions"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{what}");
        assert_eq!(error_code(r, 401).await, "invalid_token", "{what}");
        // (A live refresh token is active to introspection: that is its job.)
        if !token.is_empty() && !token.starts_with("rt_") {
            assert_eq!(
                ctx.introspect(token).await,
                json!({"active": false}),
                "{what}"
            );
        }
    }
    // Missing and malformed Authorization headers.
    error_code(
        ctx.http.get(ctx.url("/v1/sessions")).send().await.unwrap(),
        401,
    )
    .await;
    for h in ["Basic abc", "Bearer", "bearer", "Token x", "Bearer\u{7f}"] {
        let r = ctx
            .http
            .get(ctx.url("/v1/sessions"))
            .header("authorization", h)
            .send()
            .await;
        if let Ok(r) = r {
            error_code(r, 401).await;
        }
    }
    // The genuine token still works: nothing above did harm.
    assert_eq!(ctx.get("/v1/sessions", d.access()).await.status(), 200);
}

async fn tokens_for_another_issuer_or_audience_are_refused(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    // Two more servers on the same database share the signing key but not the names.
    let foreign_iss = testkit::TestServer::start_with(Options {
        database_url: Some(ctx.server.database_url().to_owned()),
        ..Options::backend(backend)
            .arg("--issuer")
            .arg("https://elsewhere.example")
    })
    .await;
    let foreign_aud = testkit::TestServer::start_with(Options {
        database_url: Some(ctx.server.database_url().to_owned()),
        ..Options::backend(backend)
            .arg("--audience")
            .arg("another-api")
    })
    .await;
    for other in [&foreign_iss, &foreign_aud] {
        let t = other.sign_in(&email, PASSWORD, "Elsewhere").await;
        ctx.remember_tokens(&t);
        let token = t.access_token.expose();
        error_code(ctx.get("/v1/sessions", token).await, 401).await;
        assert_eq!(ctx.introspect(token).await["active"], false);
    }
    // A token from an unrelated server (its own key): unknown kid.
    let stranger = testkit::TestServer::start_with(Options::backend(backend)).await;
    stranger.create_account("x@example.com", PASSWORD).await;
    let t = stranger.sign_in("x@example.com", PASSWORD, "X").await;
    error_code(ctx.get("/v1/sessions", t.access_token.expose()).await, 401).await;
}

async fn an_expired_access_token_is_refused(backend: Backend) {
    let ctx = Ctx::start_with(Options::backend(backend).arg("--access-ttl").arg("1s")).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    assert_eq!(d.tokens.expires_in, 1);
    assert_eq!(ctx.get("/v1/sessions", d.access()).await.status(), 200);
    // Past expiry plus the verification leeway (5 s).
    tokio::time::sleep(Duration::from_millis(6_500)).await;
    let r = ctx.get("/v1/sessions", d.access()).await;
    let text = r.text().await.unwrap();
    assert!(text.contains("expired"), "{text}");
    assert_eq!(ctx.introspect(d.access()).await["active"], false);
    // Refreshing still works: that is what refresh tokens are for.
    let t = ctx.refresh(d.refresh()).await;
    assert_eq!(
        ctx.get("/v1/sessions", t.access_token.expose())
            .await
            .status(),
        200
    );
}

async fn random_bodies_never_crash_the_server(backend: Backend) {
    // A process of its own: a panic anywhere in it shows in its output.
    let ctx = Ctx::start_with(Options::backend(backend).process()).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let routes = [
        ("POST", "/v1/accounts", "application/json"),
        ("POST", "/v1/sessions", "application/json"),
        (
            "PATCH",
            "/v1/sessions/00000000-0000-7000-8000-000000000000",
            "application/json",
        ),
        ("POST", "/v1/sessions/revoke", "application/json"),
        ("POST", "/oauth/token", "application/x-www-form-urlencoded"),
        ("POST", "/oauth/revoke", "application/x-www-form-urlencoded"),
        (
            "POST",
            "/oauth/introspect",
            "application/x-www-form-urlencoded",
        ),
    ];
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..40 {
        for (method, path, ct) in routes {
            let len = (next() % 300) as usize;
            let body: Vec<u8> = match round % 3 {
                0 => (0..len).map(|_| (next() & 0xff) as u8).collect(),
                1 => format!(
                    "{{\"email\":{},\"device\":{{\"name\":[{}]}}}}",
                    next(),
                    next()
                )
                .into_bytes(),
                _ => format!(
                    "grant_type=refresh_token&refresh_token=rt_{}&token=%ff%00{}",
                    next(),
                    next()
                )
                .into_bytes(),
            };
            let r = ctx
                .http
                .request(method.parse().unwrap(), ctx.url(path))
                .bearer_auth(d.access())
                .basic_auth("rs", Some("rs-secret"))
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            assert!(
                status.is_client_error() || status.is_success(),
                "{method} {path}: {status}"
            );
            let v: Value = r.json().await.unwrap_or(Value::Null);
            assert!(
                status.is_success() || v["error"].is_string(),
                "{method} {path}: {v}"
            );
        }
    }
    assert!(
        ctx.server.logs().find("panicked").is_none(),
        "the server panicked"
    );
    assert_eq!(ctx.sessions(&d).await.len(), 1);
}

testkit::on_both_backends!(
    malformed_bodies_get_clear_errors_and_change_nothing,
    forged_and_foreign_tokens_are_refused,
    tokens_for_another_issuer_or_audience_are_refused,
    an_expired_access_token_is_refused,
    random_bodies_never_crash_the_server,
);
