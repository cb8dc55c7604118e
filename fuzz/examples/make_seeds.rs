//! Writes the generated part of the seed corpus (fuzz/corpus/<target>/gen-*): real
//! access tokens signed with the token target's fixed keys, their claims and headers,
//! real refresh tokens, request bodies of every shape the server takes, and SSE
//! streams as the server writes them. Run from fuzz/:
//!   cargo +nightly run --example make_seeds
//! The captured part (cap-*, recorded from a running server) is committed as it is.

use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use proto::tokens::Claims;
use proto::{Jti, SessionId, UserId};
use token::SigningKey;

const NOW: i64 = 1_800_000_000;

fn write(target: &str, name: &str, bytes: impl AsRef<[u8]>) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(format!("gen-{name}")), bytes).expect("seed written");
}

fn claims(iss: &str, iat: i64, exp: i64) -> Claims {
    Claims {
        iss: iss.into(),
        aud: "session-manager".into(),
        sub: UserId::new(),
        sid: SessionId::new(),
        jti: Jti::new(),
        iat,
        exp,
    }
}

fn main() {
    // The token target's keys: trusted [1; 32], retired [2; 32], stranger [3; 32].
    let key = |b: u8| SigningKey::from_secret_bytes(&[b; 32]).expect("32 bytes");
    let (trusted, retired, stranger) = (key(1), key(2), key(3));
    let iss = "https://sessions.example.com";
    let good = claims(iss, NOW - 10, NOW + 290);
    write("token_verify", "valid", trusted.sign(&good).expose());
    write("token_verify", "retired-key", retired.sign(&good).expose());
    write(
        "token_verify",
        "stranger-key",
        stranger.sign(&good).expose(),
    );
    write(
        "token_verify",
        "expired",
        trusted.sign(&claims(iss, NOW - 400, NOW - 100)).expose(),
    );
    write(
        "token_verify",
        "too-long",
        trusted.sign(&claims(iss, NOW - 10, NOW + 3600)).expose(),
    );
    write(
        "token_verify",
        "wrong-issuer",
        trusted
            .sign(&claims("https://evil.example", NOW, NOW + 300))
            .expose(),
    );
    write(
        "token_verify",
        "claims",
        serde_json::to_vec(&good).expect("claims"),
    );
    write(
        "token_verify",
        "claims-edge",
        r#"{"iss":"https://sessions.example.com","aud":"session-manager","sub":"01900000-0000-7000-8000-000000000001","sid":"01900000-0000-7000-8000-000000000002","jti":"01900000-0000-7000-8000-000000000003","iat":-9223372036854775808,"exp":9223372036854775807}"#,
    );
    let header = |v: serde_json::Value| v.to_string();
    write(
        "token_verify",
        "header",
        header(serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": trusted.kid()})),
    );
    write(
        "token_verify",
        "header-none",
        header(serde_json::json!({"alg": "none", "kid": trusted.kid()})),
    );
    write(
        "token_verify",
        "header-crit",
        header(serde_json::json!({"alg": "EdDSA", "kid": trusted.kid(), "crit": ["exp"]})),
    );
    write(
        "token_verify",
        "header-hs256",
        header(serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": trusted.kid()})),
    );
    let forged = format!(
        "{}.{}.",
        B64.encode(header(serde_json::json!({"alg": "none"}))),
        B64.encode(serde_json::to_vec(&good).expect("claims"))
    );
    write("token_verify", "alg-none", forged);

    let rt = server::secrets::new_refresh_token();
    write("refresh_token", "token", rt.expose());
    write(
        "refresh_token",
        "token-bad-char",
        format!("rt_{}!", &rt.expose()[3..45]),
    );
    write(
        "refresh_token",
        "token-multibyte",
        format!("rt\u{e9}{}", &rt.expose()[4..]),
    );
    let next = server::secrets::new_refresh_token();
    write(
        "refresh_token",
        "sealed",
        server::secrets::seal_successor(rt.expose(), next.expose()),
    );
    write("refresh_token", "zeros", [0u8; 60]);

    // Request bodies: MARKER \0 TEMPLATE (see the target), and plain bodies.
    let marker = "h\u{fc}nter\"2!";
    for (name, template) in [
        ("account", r#"{"email":$,"password":$}"#),
        (
            "sign-in",
            r#"{"email":"ann@example.com","password":$,"device":{"name":$,"platform":"linux","os_version":"Debian 12","app_version":"0.1.0"}}"#,
        ),
        (
            "sign-in-types",
            r#"{"email":["a",$],"password":{"x":$},"device":$}"#,
        ),
        ("rename", r#"{"device":{"name":$}}"#),
        (
            "rename-number",
            r#"{"device":{"name":12345678901234567890}}"#,
        ),
        ("scope", r#"{"scope":$}"#),
        ("scope-key", r#"{$:"others"}"#),
        ("token-form", "grant_type=refresh_token&refresh_token=$"),
        ("token-form-grant", "grant_type=$"),
        ("revoke-form", "token=$&token_type_hint=refresh_token"),
        ("revoke-form-hint", "token=x&token_type_hint=$"),
    ] {
        write("request_extraction", name, format!("{marker}\0{template}"));
    }
    write(
        "request_extraction",
        "plain-sign-in",
        r#"{"email":"Ann@Example.com","password":"correct horse battery","device":{"name":"Work laptop"}}"#,
    );
    write("request_extraction", "plain-scope", r#"{"scope":"all"}  "#);
    write(
        "request_extraction",
        "plain-form",
        "grant_type=refresh_token&refresh_token=rt_%41%42",
    );

    // SSE as the server writes it: a connected comment, events with ids, keep-alives,
    // and the revocation feed's heartbeats; and the line endings other servers use.
    write(
        "sse_parser",
        "events",
        ": connected session=0193a1b2-0000-7000-8000-000000000001\n\nevent: session.revoked\nid: 42\ndata: {\"session_id\":\"0193a1b2-0000-7000-8000-000000000001\",\"reason\":\"revoked\"}\n\n: keep-alive\n\n",
    );
    write(
        "sse_parser",
        "feed",
        "event: revocation\nid: 7\ndata: {\"kind\":\"session\",\"sid\":\"0193a1b2-0000-7000-8000-000000000001\",\"at\":\"2026-11-25T12:00:00Z\"}\n\nevent: heartbeat\ndata: {\"at\":\"2026-11-25T12:00:05Z\"}\n\n",
    );
    write(
        "sse_parser",
        "crlf-multiline",
        "event: x\r\nid: 1\r\ndata: a\r\ndata:b\r\n\r\ndata\r\r:comment\rid\0: 2\rid: 3\0\r\r",
    );
}
