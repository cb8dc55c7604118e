//! No revoked token is ever accepted again, whatever prunes, restarts, TTL changes or
//! admin commands happen; a heartbeat means "I am current"; a compromised key goes at
//! once; keys are sealed at rest.

use std::time::Duration;

use serde_json::Value;
use session_server::config::ServeArgs;
use session_server::serve::Server;
use session_server::store::Store;
use testkit::{Backend, Options};

use crate::helpers::*;

/// The server's current signing key, read from its database (an attacker's view of a
/// leaked key, or a test's way to mint tokens the server did not issue).
async fn stored_key(database_url: &str) -> (String, Vec<u8>) {
    let store = Store::connect(database_url).await.unwrap();
    let keys = store.signing_keys().await.unwrap();
    store.close().await;
    let k = keys
        .into_iter()
        .rev()
        .find(|k| k.retired_at.is_none())
        .unwrap();
    (k.kid, k.secret)
}

async fn a_token_claiming_a_longer_life_than_the_server_gives_is_refused(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let (_, seed) = stored_key(ctx.server.database_url()).await;
    let key = token::SigningKey::from_secret_bytes(&seed).unwrap();
    let mut claims: proto::tokens::Claims =
        serde_json::from_value(jwt_part(d.access(), 1)).unwrap();
    // Minted with the server's own key, but living an hour: revocation entries are kept
    // only as long as the server's 5-minute tokens live, so it could outlive them.
    claims.jti = proto::Jti::new();
    claims.exp = claims.iat + 3600;
    let forged = key.sign(&claims);
    ctx.remember(forged.expose());
    assert_eq!(
        error_code(ctx.get("/v1/sessions", forged.expose()).await, 401).await,
        "invalid_token"
    );
    // The same claims with the server's lifetime are fine: only the lifetime is wrong.
    claims.exp = claims.iat + 300;
    let fair = key.sign(&claims);
    ctx.remember(fair.expose());
    assert_eq!(ctx.get("/v1/sessions", fair.expose()).await.status(), 200);
}

async fn a_revoked_token_stays_refused_through_the_leeway_across_a_restart(backend: Backend) {
    let mut ctx = Ctx::start_with(
        Options::backend(backend)
            .process()
            .arg("--access-ttl")
            .arg("2s"),
    )
    .await;
    let d = ctx.sign_in(&ctx.new_account().await, "Laptop").await;
    let r = ctx
        .post_form("/oauth/revoke", &[("token", d.access())])
        .await;
    assert_eq!(r.status(), 200);
    // Past the token's exp but within the 5 s of clock leeway it is still accepted as
    // unexpired; the restart must not forget that it is revoked.
    tokio::time::sleep(Duration::from_millis(2600)).await;
    ctx.server.stop().await;
    ctx.server.start_again().await;
    assert_eq!(
        error_code(ctx.get("/v1/sessions", d.access()).await, 401).await,
        "invalid_token"
    );
}

async fn admin_revoke_user_remembers_as_long_as_the_servers_tokens_live(backend: Backend) {
    let ctx = Ctx::start_with(Options::backend(backend).arg("--access-ttl").arg("600s")).await;
    let email = ctx.new_account().await;
    ctx.sign_in(&email, "Laptop").await;
    // No --access-ttl: the command asks the database what the servers use.
    ctx.server.admin(&["revoke-user", &email]).await;
    let page: Value = ctx
        .http
        .get(ctx.url("/v1/revocations"))
        .basic_auth("rs", Some("rs-secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account = &page["accounts"][0];
    let at = chrono::DateTime::parse_from_rfc3339(account["not_before"].as_str().unwrap()).unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(account["until"].as_str().unwrap()).unwrap();
    assert!(
        until - at >= chrono::Duration::seconds(600),
        "kept only {:?}",
        until - at
    );
}

/// An instance cut off from PostgreSQL stops sending heartbeats (its guards fail closed),
/// and sends them again once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_cut_off_from_its_database_stops_vouching_for_the_feed() {
    let ctx = Ctx::start_with(
        Options::backend(Backend::Postgres)
            .arg("--feed-heartbeat")
            .arg("200ms"),
    )
    .await;
    let mut feed = EventStream::open_feed(&ctx.url("/v1/revocations/stream"), None).await;
    feed.expect("heartbeat", Duration::from_secs(5)).await;

    let db_url = ctx.server.database_url().to_owned();
    let (base, db) = db_url.rsplit_once('/').unwrap();
    let db = db.split('?').next().unwrap().to_owned();
    let admin = sqlx::PgPool::connect(&format!("{base}/postgres"))
        .await
        .unwrap();
    sqlx::query(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false"))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&db)
        .execute(&admin)
        .await
        .unwrap();
    // Within a few seconds the heartbeats stop...
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut last_heartbeat = tokio::time::Instant::now();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match feed.next(left.min(Duration::from_secs(3))).await {
            Some(e) if e.name == "heartbeat" => last_heartbeat = tokio::time::Instant::now(),
            Some(_) => {}
            None => break,
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "heartbeats went on with the database gone"
        );
    }
    assert!(last_heartbeat.elapsed() >= Duration::from_secs(3));
    // ...and come back with the database.
    sqlx::query(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true"))
        .execute(&admin)
        .await
        .unwrap();
    feed.expect("heartbeat", Duration::from_secs(15)).await;
    admin.close().await;
}

async fn a_compromised_key_is_refused_at_once_and_a_new_one_signs(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let d = ctx.sign_in(&email, "Laptop").await;
    let kid = jwt_part(d.access(), 0)["kid"].as_str().unwrap().to_owned();
    let mut stream = ctx.events(&d).await;
    let out = ctx.server.cli(&["keys", "retire", &kid]).await;
    assert!(out.contains("removed"), "{out}");
    // Within seconds this instance refuses what the key signed, and stops publishing it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if ctx.get("/v1/sessions", d.access()).await.status() == 401 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the removed key still verifies"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Open event streams end (their tokens no longer verify): devices reconnect.
    assert!(stream.closes_within(Duration::from_secs(5)).await);
    let jwks = ctx.get_json("/.well-known/jwks.json").await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != kid.as_str()),
        "{jwks}"
    );
    // The device's refresh token still works (the session was not compromised): it
    // gets a token signed by the new key.
    let fresh = ctx.refresh(d.refresh()).await;
    assert_ne!(
        jwt_part(fresh.access_token.expose(), 0)["kid"],
        kid.as_str()
    );
    assert_eq!(
        ctx.get("/v1/sessions", fresh.access_token.expose())
            .await
            .status(),
        200
    );
    let list = ctx.server.cli(&["keys", "list"]).await;
    assert!(
        list.contains(&format!("{kid}  created")) && list.contains("REMOVED"),
        "{list}"
    );
}

const ISSUER: &str = "http://sessions.test";

async fn signing_keys_are_sealed_at_rest_and_need_their_kek(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let kek_file = dir.path().join("kek");
    std::fs::write(&kek_file, session_server::seal::Kek::generate_base64()).unwrap();
    // A server that ran without a KEK stored its key as it is. (One issuer for both
    // servers, so the device's token means the same to each.)
    let mut plain = Ctx::start_with(Options::backend(backend).arg("--issuer").arg(ISSUER)).await;
    let url = plain.server.database_url().to_owned();
    let d = plain.sign_in(&plain.new_account().await, "Laptop").await;
    let (kid, stored) = stored_key(&url).await;
    assert_eq!(stored.len(), 32, "unsealed: the bare Ed25519 seed");
    assert!(plain.server.logs().contains("no key-encryption key"));
    // Stopped, not dropped: the database (a SQLite file in its directory) stays.
    plain.server.stop().await;

    // Given a KEK, a server seals it, and keeps verifying the same key.
    let sealed = Ctx::start_with(Options {
        database_url: Some(url.clone()),
        ..Options::backend(backend)
            .arg("--issuer")
            .arg(ISSUER)
            .arg("--key-encryption-key-file")
            .arg(kek_file.display().to_string())
    })
    .await;
    let (same_kid, now_stored) = stored_key(&url).await;
    assert_eq!(same_kid, kid);
    assert!(now_stored.starts_with(b"sm-sealed-v1:"));
    assert!(!now_stored.windows(32).any(|w| w == stored.as_slice()));
    assert_eq!(sealed.get("/v1/sessions", d.access()).await.status(), 200);
    drop(sealed);

    // Without it, or with another, the server refuses to start and says why.
    let other = dir.path().join("other");
    std::fs::write(&other, session_server::seal::Kek::generate_base64()).unwrap();
    for flags in [
        vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()],
        vec![
            "--listen".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--key-encryption-key-file".to_owned(),
            other.display().to_string(),
        ],
    ] {
        let args = ServeArgs::from_flags(flags).unwrap();
        let err = Server::start(args, &url).await.expect_err("started anyway");
        let text = format!("{err:#}");
        assert!(text.contains("key-encryption key"), "{text}");
    }
    drop(plain);
}

testkit::on_both_backends!(
    a_token_claiming_a_longer_life_than_the_server_gives_is_refused,
    a_revoked_token_stays_refused_through_the_leeway_across_a_restart,
    admin_revoke_user_remembers_as_long_as_the_servers_tokens_live,
    a_compromised_key_is_refused_at_once_and_a_new_one_signs,
    signing_keys_are_sealed_at_rest_and_need_their_kek,
);
