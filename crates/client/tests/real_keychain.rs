//! The client against the real session server and the real Secret Service.
//! Run with: scripts/with-secret-service cargo test -p session-client --test real_keychain
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use client::{ClientError, ClientEvent};
use proto::Password;
use support::*;
use testkit::{Options as ServerOptions, TestServer};

const PW: &str = "correct horse battery staple";

fn pw() -> Password {
    Password::new(PW)
}

/// Waits (20 s at most) for the client to report that no revocation is pending any more.
async fn nothing_left_pending(events: &mut tokio::sync::broadcast::Receiver<ClientEvent>) -> bool {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(ClientEvent::PendingRevocations { count: 0 }) = events.recv().await {
                return;
            }
        }
    })
    .await
    .is_ok()
}

/// The lost-laptop story. Alice's laptop (B) is signed in and following its event
/// stream; Bob, on his own client (C), is signed in on the same machine, in the same
/// keychain. Alice signs the laptop out from her desk (A). The laptop's keychain entry
/// is gone within a second, Bob's is untouched, and the laptop was told who did it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_laptop_signed_out_from_the_desk_loses_its_keychain_entry_within_a_second() {
    require_secret_service();
    let server = TestServer::start().await;
    server.create_account("alice@example.com", PW).await;
    server.create_account("bob@example.com", PW).await;

    let laptop = Device::new();
    let b = laptop
        .manager
        .sign_in(
            server.url(),
            "alice@example.com",
            &pw(),
            Some("alice-laptop"),
        )
        .await
        .unwrap();
    let bob_client = Device::new();
    let c = bob_client
        .manager
        .sign_in(server.url(), "bob@example.com", &pw(), Some("bob-laptop"))
        .await
        .unwrap();
    let alice_entry = active_user(server.url(), "alice@example.com");
    let bob_entry = active_user(server.url(), "bob@example.com");
    assert!(keychain_entry(&alice_entry).unwrap().starts_with("rt_"));
    assert!(keychain_entry(&bob_entry).unwrap().starts_with("rt_"));

    let mut events = laptop.manager.subscribe();
    b.start_events();
    within(Duration::from_secs(5), || b.is_online())
        .await
        .expect("laptop's event stream connects");

    // At the desk: Alice signs in there and signs the laptop out.
    let desk = server.sign_in("alice@example.com", PW, "alice-desk").await;
    let revoked_at = Instant::now();
    let r = reqwest::Client::new()
        .delete(format!("{}/v1/sessions/{}", server.url(), b.session_id()))
        .bearer_auth(desk.access_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    let took = within(Duration::from_secs(1), || {
        keychain_entry(&alice_entry).is_none()
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the laptop's keychain entry was still there {:?} after the revocation",
            revoked_at.elapsed()
        )
    });
    println!("keychain entry gone {took:?} after the revocation");
    assert!(
        keychain_entry(&bob_entry).is_some(),
        "Bob's entry must be untouched"
    );
    assert!(server.session_is_revoked(b.session_id()).await);

    // The laptop was told, with the name of the device that did it.
    let notice = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if let Ok(ClientEvent::SignedOut { notice, .. }) = events.recv().await {
                return notice;
            }
        }
    })
    .await
    .expect("a SignedOut event");
    assert_eq!(notice.by_device_name.as_deref(), Some("alice-desk"));
    assert_eq!(notice.by_session_id, Some(desk.session_id));
    assert!(b.is_ended());
    assert!(matches!(
        b.list_devices().await,
        Err(ClientError::NotSignedIn)
    ));
    let status = laptop.manager.status(None).await.unwrap();
    assert!(!status.signed_in);
    assert_eq!(
        status.signed_out_notice.unwrap().by_device_name.as_deref(),
        Some("alice-desk")
    );

    // Bob carries on, unaffected.
    assert_eq!(c.list_devices().await.unwrap().len(), 1);
    c.logout().await.unwrap();
}

/// Logging out with the server down works at once; the next start of the program
/// revokes the session on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_logout_is_revoked_on_the_server_at_the_next_start() {
    require_secret_service();
    let mut server = TestServer::start().await;
    server.create_account("carol@example.com", PW).await;
    let device = Device::new();
    let s = device
        .manager
        .sign_in(server.url(), "carol@example.com", &pw(), Some("carol-pc"))
        .await
        .unwrap();
    let sid = s.session_id();

    server.stop().await;
    let started = Instant::now();
    let outcome = s.logout().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "logout took {:?}",
        started.elapsed()
    );
    assert!(!outcome.revoked_on_server);
    assert_eq!(outcome.pending_revocations, 1);
    // The usable credential is gone; the token waits in its pending slot.
    assert_eq!(
        keychain_entry(&active_user(server.url(), "carol@example.com")),
        None
    );
    let pending = pending_user(server.url(), "carol@example.com", sid);
    assert!(keychain_entry(&pending).is_some());
    let status = device.manager.status(None).await.unwrap();
    assert!(!status.signed_in);
    assert_eq!(status.pending_revocations, 1);
    assert_eq!(status.pending[0].session_id, sid);

    server.start_again().await;
    assert!(
        !server.session_is_revoked(sid).await,
        "nothing reached the server yet"
    );
    // The next start of the program.
    let next = device.restart();
    let report = next.retry_pending_revocations(Duration::from_secs(5)).await;
    assert_eq!((report.confirmed, report.remaining), (1, 0));
    assert!(
        server.session_is_revoked(sid).await,
        "the server must know the session is over"
    );
    assert_eq!(keychain_entry(&pending), None);
    assert_eq!(next.status(None).await.unwrap().pending_revocations, 0);
}

/// A long-running client retries by itself, and the event stream coming back counts
/// as the network returning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_client_retries_pending_revocations_in_the_background() {
    require_secret_service();
    let mut server = TestServer::start().await;
    server.create_account("dave@example.com", PW).await;
    let device = Device::new();
    let s = device
        .manager
        .sign_in(server.url(), "dave@example.com", &pw(), Some("dave-pc"))
        .await
        .unwrap();
    // Subscribed first: the worker may confirm before the restarted server is awaited.
    let mut events = device.manager.subscribe();
    server.stop().await;
    assert!(!s.logout().await.unwrap().revoked_on_server);
    device.manager.start_background();
    server.start_again().await;
    assert!(
        nothing_left_pending(&mut events).await,
        "the background worker never confirmed the revocation"
    );
    assert!(server.session_is_revoked(s.session_id()).await);
}

/// The desktop app starts its background worker before anyone signs in; a logout made
/// offline later must still be handed to that worker, not wait for the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_logout_in_a_running_app_is_retried_without_a_restart() {
    require_secret_service();
    let mut server = TestServer::start().await;
    server.create_account("frank@example.com", PW).await;
    let device = Device::new();
    device.manager.start_background();
    let s = device
        .manager
        .sign_in(server.url(), "frank@example.com", &pw(), Some("frank-pc"))
        .await
        .unwrap();
    let mut events = device.manager.subscribe();
    server.stop().await;
    assert_eq!(s.logout().await.unwrap().pending_revocations, 1);
    server.start_again().await;
    assert!(
        nothing_left_pending(&mut events).await,
        "the running worker never retried the offline logout"
    );
    assert!(server.session_is_revoked(s.session_id()).await);
}

/// Fifty calls at once, each needing a fresh access token: the proxy counts one refresh.
async fn fifty_concurrent_calls_make_one_refresh(s: &client::Session, proxy: &Proxy) {
    let calls = (0..50).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.list_devices().await })
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap().len(), 1);
    }
    assert_eq!(proxy.token_calls(), 1, "exactly one /oauth/token call");
}

/// Fifty calls that all find the access token expired cause exactly one refresh,
/// counted where the server is, not in the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_calls_with_an_expired_access_token_make_one_refresh() {
    require_secret_service();
    let server =
        TestServer::start_with(ServerOptions::default().arg("--access-ttl").arg("2s")).await;
    server.create_account("erin@example.com", PW).await;
    let proxy = Proxy::start(server.url()).await;
    let device = Device::new();
    let s = device
        .manager
        .sign_in(&proxy.url, "erin@example.com", &pw(), Some("erin-pc"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(proxy.token_calls(), 0);

    fifty_concurrent_calls_make_one_refresh(&s, &proxy).await;
    s.logout().await.unwrap();
}

/// The same when the server refuses the access token (401) before it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_calls_refused_with_401_make_one_refresh() {
    require_secret_service();
    let server = TestServer::start().await;
    server.create_account("frank@example.com", PW).await;
    let proxy = Proxy::start(server.url()).await;
    let device = Device::new();
    let s = device
        .manager
        .sign_in(&proxy.url, "frank@example.com", &pw(), Some("frank-pc"))
        .await
        .unwrap();
    proxy.refuse_first_access_token();

    fifty_concurrent_calls_make_one_refresh(&s, &proxy).await;
    s.logout().await.unwrap();
}

/// The rotated refresh token is what the keychain holds after a refresh, and the
/// previous one is spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refresh_puts_the_rotated_token_in_the_keychain() {
    require_secret_service();
    let server =
        TestServer::start_with(ServerOptions::default().arg("--access-ttl").arg("1s")).await;
    server.create_account("gina@example.com", PW).await;
    let device = Device::new();
    let s = device
        .manager
        .sign_in(server.url(), "gina@example.com", &pw(), Some("gina-pc"))
        .await
        .unwrap();
    let entry = active_user(server.url(), "gina@example.com");
    let first = keychain_entry(&entry).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    s.list_devices().await.unwrap();
    let second = keychain_entry(&entry).unwrap();
    assert_ne!(first, second);
    // A new start of the program picks the session up from the keychain alone.
    let again = device.restart();
    let resumed = again.session(None).await.unwrap();
    assert_eq!(resumed.session_id(), s.session_id());
    assert_eq!(resumed.list_devices().await.unwrap().len(), 1);
}

/// Signing out every other device, then everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_others_then_everywhere() {
    require_secret_service();
    let server = TestServer::start().await;
    server.create_account("hank@example.com", PW).await;
    let device = Device::new();
    let s = device
        .manager
        .sign_in(server.url(), "hank@example.com", &pw(), Some("hank-pc"))
        .await
        .unwrap();
    let phone = server.sign_in("hank@example.com", PW, "hank-phone").await;
    let tablet = server.sign_in("hank@example.com", PW, "hank-tablet").await;
    let found = s.find_device("HANK-PHONE").await.unwrap();
    assert_eq!(found.id, phone.session_id);
    let renamed = s.rename_device(found.id, "old phone").await.unwrap();
    assert_eq!(renamed.device.name, "old phone");
    assert_eq!(s.sign_out_others().await.unwrap(), 2);
    let history = s.activity().await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.kind == proto::activity::ActivityKind::Renamed)
    );
    assert!(
        history
            .iter()
            .any(|e| e.kind == proto::activity::ActivityKind::Revoked)
    );
    assert!(server.session_is_revoked(phone.session_id).await);
    assert!(server.session_is_revoked(tablet.session_id).await);
    assert_eq!(s.list_devices().await.unwrap().len(), 1);

    assert_eq!(s.sign_out_everywhere().await.unwrap(), 1);
    assert!(server.session_is_revoked(s.session_id()).await);
    assert_eq!(
        keychain_entry(&active_user(server.url(), "hank@example.com")),
        None
    );
    assert!(matches!(
        device.manager.session(None).await,
        Err(ClientError::NotSignedIn)
    ));
}

/// A device that was offline when it was signed out learns it on its next request,
/// and its keychain entry goes then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_signed_out_while_offline_learns_it_on_its_next_request() {
    require_secret_service();
    let server = TestServer::start().await;
    server.create_account("iris@example.com", PW).await;
    let device = Device::new();
    let s = device
        .manager
        .sign_in(server.url(), "iris@example.com", &pw(), Some("iris-pc"))
        .await
        .unwrap();
    let desk = server.sign_in("iris@example.com", PW, "iris-desk").await;
    reqwest::Client::new()
        .delete(format!("{}/v1/sessions/{}", server.url(), s.session_id()))
        .bearer_auth(desk.access_token.expose())
        .send()
        .await
        .unwrap();
    // The next start: no access token in memory, so the refresh tells.
    let next = device.restart();
    let resumed = next.session(None).await.unwrap();
    assert!(matches!(
        resumed.list_devices().await,
        Err(ClientError::SessionRevoked)
    ));
    assert_eq!(
        keychain_entry(&active_user(server.url(), "iris@example.com")),
        None
    );
}

/// No token ever lands in a file: not in the config dir, not in the temp dirs, not
/// next to the keyring (whose own file is encrypted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_file_anywhere_holds_a_token() {
    require_secret_service();
    let test_start = std::time::SystemTime::now() - Duration::from_secs(1);
    let mut server =
        TestServer::start_with(ServerOptions::default().arg("--access-ttl").arg("1s")).await;
    server.create_account("judy@example.com", PW).await;
    let proxy = Proxy::start(server.url()).await;
    let device = Device::new();
    let s = device
        .manager
        .sign_in(&proxy.url, "judy@example.com", &pw(), Some("judy-pc"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    s.list_devices().await.unwrap();
    server.stop().await;
    s.logout().await.unwrap(); // leaves a pending revocation
    server.start_again().await;
    let secrets = proxy.seen_secrets();
    assert!(secrets.len() >= 4, "saw {} tokens", secrets.len());
    // Every place a program might drop a file: the temp dir, the XDG dirs (the keyring's
    // own file included: it is encrypted), the usual dot-dirs of HOME.
    let mut roots = vec![device.dir.path().to_path_buf(), std::env::temp_dir()];
    for var in [
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_RUNTIME_DIR",
        "XDG_CACHE_HOME",
        "XDG_STATE_HOME",
    ] {
        if let Ok(v) = std::env::var(var) {
            roots.push(v.into());
        }
    }
    if let Ok(home) = std::env::var("HOME") {
        for d in [".config", ".local", ".cache"] {
            roots.push(std::path::Path::new(&home).join(d));
        }
    }
    roots.retain(|r| r.exists());
    let hits = files_containing(&roots, &secrets, test_start);
    assert!(hits.is_empty(), "token found in {hits:?}");
    let config = std::fs::read_to_string(device.manager.config_path()).unwrap();
    assert!(config.contains("judy@example.com") && !config.contains("rt_"));
    device
        .restart()
        .retry_pending_revocations(Duration::from_secs(5))
        .await;
}

/// A keychain that refuses writes on demand, around the real one.
struct FlakyKeychain {
    real: client::NativeStore,
    refuse_writes: std::sync::atomic::AtomicBool,
}

impl client::TokenStore for FlakyKeychain {
    fn backend(&self) -> &str {
        self.real.backend()
    }
    fn read(
        &self,
        e: &client::EntryName,
    ) -> Result<Option<proto::RefreshToken>, client::KeychainError> {
        self.real.read(e)
    }
    fn write(
        &self,
        e: &client::EntryName,
        t: &proto::RefreshToken,
    ) -> Result<(), client::KeychainError> {
        if self.refuse_writes.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(client::KeychainError::Locked {
                backend: "Secret Service keyring".into(),
                detail: "refused by the test".into(),
            });
        }
        self.real.write(e, t)
    }
    fn delete(&self, e: &client::EntryName) -> Result<(), client::KeychainError> {
        self.real.delete(e)
    }
}

/// When the keychain will not take the rotated refresh token, the call fails loudly
/// instead of carrying on with a token nobody kept; once the keychain works again the
/// session goes on (the server hands out the same successor within its grace window).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_the_keychain_refuses_is_an_error_not_a_silent_loss() {
    require_secret_service();
    let server =
        TestServer::start_with(ServerOptions::default().arg("--access-ttl").arg("1s")).await;
    server.create_account("kate@example.com", PW).await;
    let flaky = std::sync::Arc::new(FlakyKeychain {
        real: client::NativeStore::new(),
        refuse_writes: false.into(),
    });
    let dir = tempfile::tempdir().unwrap();
    let manager = client::SessionManager::new(client::Options {
        config_dir: Some(dir.path().to_path_buf()),
        keychain: Some(client::Keychain::with_store(flaky.clone())),
        ..client::Options::default()
    })
    .unwrap();
    let s = manager
        .sign_in(server.url(), "kate@example.com", &pw(), Some("kate-pc"))
        .await
        .unwrap();
    let entry = active_user(server.url(), "kate@example.com");
    let before = keychain_entry(&entry).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;

    flaky
        .refuse_writes
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let err = s.list_devices().await.unwrap_err();
    assert_eq!(err.code(), "keychain_locked", "{err}");
    assert_eq!(
        keychain_entry(&entry).unwrap(),
        before,
        "the old token stays until the new one is kept"
    );

    flaky
        .refuse_writes
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(s.list_devices().await.unwrap().len(), 1);
    assert_ne!(keychain_entry(&entry).unwrap(), before);
    assert!(!server.session_is_revoked(s.session_id()).await);
    s.logout().await.unwrap();
}
