//! Accounts and signed-in sessions written straight into PostgreSQL by SQL, each with a
//! known refresh token: 100,000 sign-ins through argon2 would take over an hour of both
//! cores. The tokens are derived from their index, the same way here and in the SQL
//! (`rt_` + base64url of SHA-256 of `scale-seed-<i>`), and stored hashed as the server
//! hashes them (SHA-256 of the token's text), so the benchmark can refresh any of them.
//!
//! Account `a` owns sessions `a`, `a + accounts`, `a + 2 × accounts`, …: 100,000
//! sessions over 30,000 accounts gives every account 3 or 4 devices.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};
use sqlx::any::AnyPoolOptions;

/// The refresh token seeded for session `i`.
pub fn refresh_token(i: u64) -> String {
    format!(
        "rt_{}",
        B64.encode(Sha256::digest(format!("scale-seed-{i}").as_bytes()))
    )
}

pub fn account_id(a: u64) -> String {
    format!("{a:08x}-0000-7000-8000-000000000000")
}

pub fn session_id(i: u64) -> String {
    format!("{i:08x}-0001-7000-8000-000000000000")
}

pub fn email(a: u64) -> String {
    format!("scale-{a}@example.com")
}

/// Seeds `accounts` accounts and `sessions` sessions (see the module's layout) into an
/// empty, migrated PostgreSQL database.
pub async fn postgres(database_url: &str, accounts: u64, sessions: u64, password_hash: &str) {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(database_url)
        .await
        .expect("connect to seed");
    let now = session_server::time::Millis::now().0;
    // Well within the sessions' idle and absolute ends for the whole run.
    let far = now + 30 * 86_400_000;
    let statements = [
        "INSERT INTO accounts (id, email, password_hash, created_at) \
         SELECT lpad(to_hex(a), 8, '0') || '-0000-7000-8000-000000000000', \
                'scale-' || a || '@example.com', $1, $2 \
         FROM generate_series(0, $3::bigint - 1) AS a",
        "INSERT INTO sessions (id, user_id, device_name, platform, os_version, app_version, \
                               created_at, last_seen_at, last_ip, idle_expires_at, expires_at) \
         SELECT lpad(to_hex(i), 8, '0') || '-0001-7000-8000-000000000000', \
                lpad(to_hex(i % $3::bigint), 8, '0') || '-0000-7000-8000-000000000000', \
                'Seeded device ' || i, 'linux', 'Debian 12', '1.0.0', $2, $2, '192.0.2.1', $1, $1 \
         FROM generate_series(0, $4::bigint - 1) AS i",
        "INSERT INTO refresh_tokens (hash, session_id, issued_at) \
         SELECT sha256(convert_to(t.token, 'UTF8')), t.sid, $1 \
         FROM (SELECT 'rt_' || translate(rtrim(encode(sha256(convert_to('scale-seed-' || i, 'UTF8')), \
                                                      'base64'), '='), '+/', '-_') AS token, \
                      lpad(to_hex(i), 8, '0') || '-0001-7000-8000-000000000000' AS sid \
               FROM generate_series(0, $2::bigint - 1) AS i) AS t",
    ];
    let (accounts, sessions) = (accounts as i64, sessions as i64);
    sqlx::query(statements[0])
        .bind(password_hash.to_owned())
        .bind(now)
        .bind(accounts)
        .execute(&pool)
        .await
        .expect("seed accounts");
    sqlx::query(statements[1])
        .bind(far)
        .bind(now)
        .bind(accounts)
        .bind(sessions)
        .execute(&pool)
        .await
        .expect("seed sessions");
    sqlx::query(statements[2])
        .bind(now)
        .bind(sessions)
        .execute(&pool)
        .await
        .expect("seed refresh tokens");
    // The seed's own write burst (vacuum's hint bits, the checkpoint of its WAL) is
    // settled here, before anything is measured, instead of stalling the first phase.
    for statement in ["VACUUM ANALYZE", "CHECKPOINT"] {
        sqlx::query(statement)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    pool.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_tokens_look_like_the_servers_own() {
        let t = refresh_token(42);
        assert_eq!(t.len(), 46, "{t}");
        assert!(t.starts_with("rt_"));
        assert_ne!(t, refresh_token(43));
    }
}
