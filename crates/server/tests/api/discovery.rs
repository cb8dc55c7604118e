//! Discovery, keys and the API document.

use serde_json::Value;

use crate::helpers::*;

async fn discovery_names_every_endpoint_and_the_keys(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let m: Value = ctx
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    let base = ctx.server.url();
    assert_eq!(m["issuer"], base);
    assert_eq!(m["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(m["revocation_endpoint"], format!("{base}/oauth/revoke"));
    assert_eq!(
        m["introspection_endpoint"],
        format!("{base}/oauth/introspect")
    );
    assert_eq!(m["jwks_uri"], format!("{base}/.well-known/jwks.json"));

    let jwks: Value = ctx
        .http
        .get(m["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert!(key["kid"].is_string());
    assert!(
        key.get("d").is_none(),
        "the private key must never be published"
    );

    // Tokens carry that kid and every claim of the contract.
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let header = jwt_part(d.access(), 0);
    let claims = jwt_part(d.access(), 1);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], key["kid"]);
    for c in ["iss", "aud", "sub", "sid", "jti", "iat", "exp"] {
        assert!(!claims[c].is_null(), "claim {c}");
    }
    assert_eq!(claims["sid"], d.sid().to_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );

    let doc: Value = ctx.get_json("/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/oauth/token"]["post"].is_object());
}

testkit::on_both_backends!(discovery_names_every_endpoint_and_the_keys);
