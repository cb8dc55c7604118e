use std::time::Duration;

use proto::activity::ActivityKind;
use proto::events::{Event, SessionCreated};
use proto::{Device, SessionId, UserId};

use super::*;
use crate::time::Millis;

const HOUR: Duration = Duration::from_secs(3600);

fn spend<'a>(presented: &'a [u8], successor: &'a [u8]) -> Spend<'a> {
    let now = Millis::now();
    Spend {
        presented_hash: presented,
        successor_hash: successor,
        successor_sealed: b"sealed",
        now,
        idle_until: now.plus(HOUR),
        ip: Some("192.0.2.2"),
        sample_before: now.minus(HOUR),
    }
}

/// A new account, and the laptop it is about to sign in.
async fn account_with_a_laptop(store: &Store, now: Millis) -> (UserId, Device) {
    let user = UserId::new();
    store
        .create_account(user, &format!("{user}@example.com"), "x", now)
        .await
        .unwrap();
    let device = Device {
        name: "Laptop".into(),
        platform: "linux".into(),
        os_version: "12".into(),
        app_version: "1".into(),
    };
    (user, device)
}

/// Signs `device` in for `user` at `now` (a day to live), its first refresh token
/// being `refresh_hash`; returns the new session.
async fn sign_in(
    store: &Store,
    user: UserId,
    device: &Device,
    refresh_hash: &[u8],
    now: Millis,
) -> SessionId {
    let sid = SessionId::new();
    store
        .create_session(NewSession {
            id: sid,
            user_id: user,
            device,
            ip: Some("192.0.2.1"),
            now,
            idle_expires_at: now.plus(Duration::from_secs(86_400)),
            expires_at: now.plus(Duration::from_secs(86_400)),
            refresh_hash,
            event: &Event::SessionCreated(SessionCreated {
                session_id: sid,
                device: device.clone(),
                ip: None,
            }),
            event_expires_at: now.plus(HOUR),
        })
        .await
        .unwrap();
    sid
}

async fn refresh_after_an_hour_is_sampled_into_the_activity(store: Store) {
    let now = Millis::now();
    let (user, device) = account_with_a_laptop(&store, now).await;
    let sid = sign_in(&store, user, &device, b"first", now).await;
    // A refresh right after sign-in is not worth an entry...
    assert!(
        store
            .spend_refresh_token(spend(b"first", b"second"))
            .await
            .unwrap()
            .is_some()
    );
    // ...one after more than an hour of silence is.
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 7200000 WHERE id = $1")
        .bind(sid.to_string())
        .execute(&store.write)
        .await
        .unwrap();
    let spent = store
        .spend_refresh_token(spend(b"second", b"third"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((spent.session_id, spent.user_id), (sid, user));
    let kinds: Vec<ActivityKind> = store
        .activity(user, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.kind)
        .collect();
    assert_eq!(kinds, [ActivityKind::Refreshed, ActivityKind::SignedIn]);
    let entry = store.activity(user, 1).await.unwrap().remove(0);
    assert_eq!(entry.device.as_ref(), Some(&device));
    assert_eq!(entry.ip.as_deref(), Some("192.0.2.2"));
    // The session was touched too (batched after the spend, flushed before this read).
    let s = store
        .live_session(user, sid, Millis::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.last_ip.as_deref(), Some("192.0.2.2"));
    // A spent token is spent: the facts say when, from where, and that its successor
    // has been spent since.
    let facts = store.refresh_token_facts(b"first").await.unwrap().unwrap();
    assert!(facts.spent_at.is_some() && facts.successor_spent_at.is_some());
    assert_eq!(facts.spent_ip.as_deref(), Some("192.0.2.2"));
    assert!(
        store
            .spend_refresh_token(spend(b"first", b"fourth"))
            .await
            .unwrap()
            .is_none()
    );
    store.close().await;
}

#[tokio::test]
async fn sqlite_a_refresh_after_an_hour_is_sampled_and_touches_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    refresh_after_an_hour_is_sampled_into_the_activity(Store::connect(&url).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_a_refresh_after_an_hour_is_sampled_and_touches_the_session() {
    let url = testkit::PgCluster::shared().await.new_database().await;
    refresh_after_an_hour_is_sampled_into_the_activity(Store::connect(&url).await.unwrap()).await;
}

#[tokio::test]
async fn an_unreadable_feed_row_is_skipped_not_a_wall() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let store = Store::connect(&url).await.unwrap();
    let user = UserId::new().to_string();
    for kind in ["from_a_newer_version", "token_revoked"] {
        sqlx::query(
            "INSERT INTO feed (at, user_id, kind, jti, expires_at) VALUES (1, $1, $2, $3, 2)",
        )
        .bind(&user)
        .bind(kind)
        .bind(proto::Jti::new().to_string())
        .execute(&store.write)
        .await
        .unwrap();
    }
    let page = store.feed_after(0, 10).await.unwrap();
    assert_eq!(page.entries.len(), 1, "the readable entry is there");
    assert!(matches!(page.entries[0].kind, FeedKind::TokenRevoked(_)));
    assert_eq!(
        page.last_id,
        Some(2),
        "the cursor moves past the unreadable one"
    );
    store.close().await;
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_normal_sync_on_every_connection() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let store = Store::connect(&url).await.unwrap();
    for pool in [&store.write, &store.read] {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        // 1 = NORMAL: with WAL, durable across a process crash without an fsync per commit.
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(sync, 1);
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(fk, 1);
    }
    store.close().await;
}

/// A revocation holds its session's row while it locks the next one; the toucher,
/// flushing a batch with that session, passes over it instead of waiting (waiting, the
/// two could deadlock, and PostgreSQL took a second to break the cycle). The touch
/// lands once the row is free.
#[tokio::test]
async fn postgres_a_session_row_held_elsewhere_does_not_hold_up_the_touches() {
    let url = testkit::PgCluster::shared().await.new_database().await;
    let store = Store::connect(&url).await.unwrap();
    let now = Millis::now();
    let (user, device) = account_with_a_laptop(&store, now).await;
    let mut sessions = Vec::new();
    for (n, token) in [b"held", b"free"].into_iter().enumerate() {
        let sid = sign_in(&store, user, &device, token, now).await;
        let next: &[u8] = if n == 0 { b"held-2" } else { b"free-2" };
        assert!(
            store
                .spend_refresh_token(spend(token, next))
                .await
                .unwrap()
                .is_some()
        );
        sessions.push(sid);
    }
    // Another transaction holds the first session's row, as a revocation would.
    let mut other = store.write.begin().await.unwrap();
    sqlx::query("SELECT id FROM sessions WHERE id = $1 FOR NO KEY UPDATE")
        .bind(sessions[0].to_string())
        .fetch_one(&mut *other)
        .await
        .unwrap();
    let t = std::time::Instant::now();
    store.flush_touches().await;
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "the flush waited for the held row: {:?}",
        t.elapsed()
    );
    let last_ip = |sid: SessionId| {
        let store = &store;
        async move {
            sqlx::query_scalar::<_, Option<String>>("SELECT last_ip FROM sessions WHERE id = $1")
                .bind(sid.to_string())
                .fetch_one(&store.write)
                .await
                .unwrap()
        }
    };
    assert_eq!(last_ip(sessions[1]).await.as_deref(), Some("192.0.2.2"));
    assert_eq!(
        last_ip(sessions[0]).await.as_deref(),
        Some("192.0.2.1"),
        "not yet: its row is held"
    );
    other.commit().await.unwrap();
    store.flush_touches().await;
    assert_eq!(
        last_ip(sessions[0]).await.as_deref(),
        Some("192.0.2.2"),
        "the touch landed once the row was free"
    );
    store.close().await;
}

/// A batch holds live tokens of many sessions, a token presented twice (racing
/// requests), tokens of a revoked and of an idle-expired session, and one never issued.
/// Each live token rotates once, with its own values (time, address, sealed successor),
/// and nothing else does.
async fn a_batch_of_spends_rotates_each_live_token_once_with_its_own_values(store: Store) {
    let now = Millis::now();
    let (user, device) = account_with_a_laptop(&store, now).await;
    let token = |i: usize| format!("token-{i}").into_bytes();
    let mut sessions = Vec::new();
    for i in 0..12 {
        sessions.push(sign_in(&store, user, &device, &token(i), now).await);
    }
    for (sql, sid) in [
        (
            "UPDATE sessions SET revoked_at = $2 WHERE id = $1",
            sessions[10],
        ),
        (
            "UPDATE sessions SET idle_expires_at = $2 WHERE id = $1",
            sessions[11],
        ),
    ] {
        sqlx::query(sql)
            .bind(sid.to_string())
            .bind(now.0)
            .execute(&store.write)
            .await
            .unwrap();
    }
    let presented: Vec<Vec<u8>> = (0..12)
        .map(token)
        .chain([token(3), b"never-issued".to_vec()])
        .collect();
    let successors: Vec<Vec<u8>> = (0..presented.len())
        .map(|i| format!("successor-{i}").into_bytes())
        .collect();
    let sealed: Vec<Vec<u8>> = (0..presented.len())
        .map(|i| format!("sealed-{i}").into_bytes())
        .collect();
    let ips: Vec<String> = (0..presented.len())
        .map(|i| format!("192.0.2.{}", i + 10))
        .collect();
    let at = |i: usize| now.plus(Duration::from_millis(i as u64 + 1));
    let spends: Vec<Spend> = (0..presented.len())
        .map(|i| Spend {
            presented_hash: &presented[i],
            successor_hash: &successors[i],
            successor_sealed: &sealed[i],
            now: at(i),
            idle_until: at(i).plus(HOUR),
            ip: Some(&ips[i]),
            sample_before: now.minus(HOUR),
        })
        .collect();

    let spent = store.spend_as_one_batch(&spends).await.unwrap();

    for i in 0..10 {
        let s = spent[i].unwrap_or_else(|| panic!("token {i} was live"));
        assert_eq!((s.session_id, s.user_id), (sessions[i], user));
        let facts = store.refresh_token_facts(&token(i)).await.unwrap().unwrap();
        assert_eq!(facts.spent_at, Some(at(i)), "token {i}");
        assert_eq!(facts.spent_ip.as_deref(), Some(ips[i].as_str()));
        assert_eq!(
            facts.successor_sealed.as_deref(),
            Some(sealed[i].as_slice())
        );
        let successor = store
            .refresh_token_facts(&successors[i])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(successor.session.id, sessions[i]);
        assert_eq!(successor.spent_at, None, "the successor is live");
    }
    assert!(spent[10].is_none(), "the revoked session's token");
    assert!(spent[11].is_none(), "the idle-expired session's token");
    assert!(spent[12].is_none(), "the second presentation of token 3");
    assert!(spent[13].is_none(), "the token never issued");
    for (i, successor) in successors.iter().enumerate().skip(10) {
        assert!(
            store
                .refresh_token_facts(successor)
                .await
                .unwrap()
                .is_none(),
            "no successor stored for spend {i}"
        );
    }
    for i in [10, 11] {
        let facts = store.refresh_token_facts(&token(i)).await.unwrap().unwrap();
        assert_eq!(facts.spent_at, None, "token {i} stays unspent");
    }
    store.close().await;
}

#[tokio::test]
async fn sqlite_a_batch_of_spends_rotates_each_live_token_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    a_batch_of_spends_rotates_each_live_token_once_with_its_own_values(
        Store::connect(&url).await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn postgres_a_batch_of_spends_rotates_each_live_token_once() {
    let url = testkit::PgCluster::shared().await.new_database().await;
    a_batch_of_spends_rotates_each_live_token_once_with_its_own_values(
        Store::connect(&url).await.unwrap(),
    )
    .await;
}
