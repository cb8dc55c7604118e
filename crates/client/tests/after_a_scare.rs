//! After a scare, from the device: change the password, turn two-step sign-in on, see
//! that the lost laptop erased its keys (its wipe receipt), and never miss an event
//! while streams come and go with their tokens. The client against the real server and
//! the real Secret Service.
//! Run with: scripts/with-secret-service cargo test -p session-client --test after_a_scare
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use client::{ClientError, ClientEvent, Session, TwoStepAnswer};
use proto::Password;
use proto::events::Event;
use proto::sessions::{RevocationReason, SessionInfo};
use support::*;
use testkit::{Options as ServerOptions, TestServer, authenticator, unix_now};

const PW: &str = "correct horse battery staple";
const NEW_PW: &str = "a brand new passphrase";

fn pw() -> Password {
    Password::new(PW)
}

/// The next client event that `pick` accepts, within `limit`.
async fn next_event<T>(
    events: &mut tokio::sync::broadcast::Receiver<ClientEvent>,
    limit: Duration,
    mut pick: impl FnMut(ClientEvent) -> Option<T>,
) -> Option<T> {
    tokio::time::timeout(limit, async {
        loop {
            match events.recv().await {
                Ok(ev) => {
                    if let Some(t) = pick(ev) {
                        return t;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    std::future::pending::<()>().await
                }
            }
        }
    })
    .await
    .ok()
}

async fn signed_in(device: &Device, server: &str, email: &str, name: &str) -> Session {
    device
        .manager
        .sign_in(server, email, &pw(), Some(name))
        .await
        .unwrap()
}

// ----- change the password ----------------------------------------------------------

/// At the desk after the laptop went missing: a new password ends every other session.
/// The laptop, online, hears why and wipes itself; the desk carries on; the old
/// password is dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_signs_the_lost_laptop_out_and_keeps_this_device() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    server.create_account("olga@example.com", PW).await;
    let desk = Device::new();
    let d = signed_in(&desk, url, "olga@example.com", "olga-desk").await;
    // Its own address for the laptop: devices of one account on one server share a
    // keychain entry, and these two share the test's keychain.
    let laptop_route = Proxy::start(url).await;
    let laptop = Device::new();
    let l = signed_in(
        &laptop,
        &laptop_route.url,
        "olga@example.com",
        "olga-laptop",
    )
    .await;
    let mut laptop_events = laptop.manager.subscribe();
    l.start_events();
    within(Duration::from_secs(5), || l.is_online())
        .await
        .expect("the laptop's event stream connects");

    let revoked = d
        .change_password(&pw(), &Password::new(NEW_PW), true)
        .await
        .unwrap();
    assert_eq!(revoked, 1);

    let notice = next_event(&mut laptop_events, Duration::from_secs(5), |ev| match ev {
        ClientEvent::SignedOut { notice, .. } => Some(notice),
        _ => None,
    })
    .await
    .expect("the laptop is told");
    assert_eq!(notice.reason, RevocationReason::PasswordChanged);
    let said = notice.message(&chrono::Local::now());
    assert!(said.contains("because the password was changed"), "{said}");
    assert_eq!(
        keychain_entry(&active_user(&laptop_route.url, "olga@example.com")),
        None,
        "the laptop's credential is erased"
    );
    assert!(server.session_is_revoked(l.session_id()).await);

    // The desk carries on, alone.
    assert_eq!(d.list_devices().await.unwrap().len(), 1);
    // The old password no longer signs anyone in; the new one does.
    let err = laptop
        .manager
        .sign_in(&laptop_route.url, "olga@example.com", &pw(), Some("thief"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidCredentials), "{err:?}");
    laptop
        .manager
        .sign_in(
            &laptop_route.url,
            "olga@example.com",
            &Password::new(NEW_PW),
            Some("olga-laptop"),
        )
        .await
        .unwrap();
}

/// The errors a person can meet, each in clear words: a wrong current password (its
/// own code, counted like a failed sign-in, up to the limit), a new password the
/// server's policy refuses (its reason, never the password), and keeping the other
/// devices when asked to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_weak_password_is_refused_in_words_and_the_others_can_stay() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    server.create_account("pia@example.com", PW).await;
    let desk = Device::new();
    let d = signed_in(&desk, url, "pia@example.com", "pia-desk").await;
    let phone = server.sign_in("pia@example.com", PW, "pia-phone").await;

    let weak = d
        .change_password(&pw(), &Password::new("short"), true)
        .await
        .unwrap_err();
    assert_eq!(weak.code(), "validation_failed");
    match &weak {
        ClientError::Validation { code, message } => {
            assert_eq!(code, "weak_password");
            assert!(
                !message.is_empty() && !message.contains("short"),
                "{message}"
            );
        }
        other => panic!("expected the server's reason, got {other:?}"),
    }

    let kept = d
        .change_password(&pw(), &Password::new(NEW_PW), false)
        .await
        .unwrap();
    assert_eq!(kept, 0);
    assert!(!server.session_is_revoked(phone.session_id).await);

    // Wrong guesses at the current password: refused, then limited.
    for i in 0..5 {
        let err = d
            .change_password(
                &Password::new(format!("wrong guess {i}")),
                &Password::new("another fine passphrase"),
                true,
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::WrongPassword), "{err:?}");
        assert_eq!(err.code(), "invalid_credentials");
        assert_eq!(err.to_string(), "the password is wrong");
    }
    let err = d
        .change_password(
            &Password::new("wrong guess 6"),
            &Password::new("another fine passphrase"),
            true,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "rate_limited", "{err:?}");
    assert!(err.retry_after_secs().is_some_and(|s| s > 0));
    // None of it cost this device its session.
    assert_eq!(d.list_devices().await.unwrap().len(), 2);
}

// ----- two-step sign-in -------------------------------------------------------------

/// The app's code at `at` (seconds since the epoch), as a person reads it.
fn code_at(app: &totp_rs::Totp, at: u64) -> String {
    app.generate(at).to_string()
}

/// Two-step sign-in from enrolment to sign-in: not on until the first code; then a
/// sign-in with the right password gets a challenge and stores nothing, the code
/// completes it and the refresh token goes to the keychain; a recovery code works
/// instead of a code; turning it off needs the password and a code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_step_on_a_sign_in_asks_for_a_code_before_anything_is_stored() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    let email = "quinn@example.com";
    server.create_account(email, PW).await;
    let desk = Device::new();
    let d = signed_in(&desk, url, email, "quinn-desk").await;
    assert!(!d.account_info().await.unwrap().two_step);

    let err = d
        .two_step_start(&Password::new("not the password"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::WrongPassword), "{err:?}");
    let enrolment = d.two_step_start(&pw()).await.unwrap();
    assert!(
        enrolment
            .otpauth_uri
            .expose()
            .starts_with("otpauth://totp/")
    );
    assert!(enrolment.qr_svg.contains("<svg"));
    let app = authenticator(enrolment.secret.expose());
    let err = d.two_step_confirm("000000").await.unwrap_err();
    assert!(matches!(err, ClientError::InvalidCode), "{err:?}");
    assert!(!d.account_info().await.unwrap().two_step, "not on yet");
    let recovery = d
        .two_step_confirm(&code_at(&app, unix_now()))
        .await
        .unwrap();
    assert_eq!(recovery.len(), 10);
    let info = d.account_info().await.unwrap();
    assert!(info.two_step);
    assert_eq!(info.email, email);

    // A new laptop (on an address of its own: see the password test): the right
    // password is not enough, and nothing is kept yet.
    let laptop_route = Proxy::start(url).await;
    let laptop_url = laptop_route.url.as_str();
    let laptop = Device::new();
    let err = laptop
        .manager
        .sign_in(laptop_url, email, &pw(), Some("quinn-laptop"))
        .await
        .unwrap_err();
    let ClientError::TwoStepRequired { challenge } = err else {
        panic!("expected a challenge, got {err:?}")
    };
    assert_eq!(
        (challenge.email(), challenge.device_name()),
        (email, "quinn-laptop")
    );
    assert!(challenge.expires_in() > Duration::ZERO && !challenge.is_expired());
    assert_eq!(keychain_entry(&active_user(laptop_url, email)), None);
    assert!(laptop.manager.accounts().unwrap().is_empty());
    // A wrong password still says so, not "give a code".
    let err = laptop
        .manager
        .sign_in(laptop_url, email, &Password::new("not the password"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidCredentials), "{err:?}");

    let err = laptop
        .manager
        .sign_in_second_step(&challenge, &TwoStepAnswer::code("000 000"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidCode), "{err:?}");
    // The current step was spent confirming: the app's next code.
    let l = laptop
        .manager
        .sign_in_second_step(
            &challenge,
            &TwoStepAnswer::code(&code_at(&app, unix_now() + 30)),
        )
        .await
        .unwrap();
    assert_eq!(l.device_name(), "quinn-laptop");
    assert!(
        keychain_entry(&active_user(laptop_url, email))
            .unwrap()
            .starts_with("rt_")
    );
    assert_eq!(l.list_devices().await.unwrap().len(), 2);
    // A challenge answers once.
    let err = laptop
        .manager
        .sign_in_second_step(
            &challenge,
            &TwoStepAnswer::recovery_code(recovery[0].expose()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::TwoStepExpired), "{err:?}");

    // The phone, with the authenticator out of reach: a recovery code.
    let phone_route = Proxy::start(url).await;
    let phone = Device::new();
    let Err(ClientError::TwoStepRequired { challenge }) = phone
        .manager
        .sign_in(&phone_route.url, email, &pw(), Some("quinn-phone"))
        .await
    else {
        panic!("expected a challenge")
    };
    phone
        .manager
        .sign_in_second_step(
            &challenge,
            &TwoStepAnswer::recovery_code(recovery[0].expose()),
        )
        .await
        .unwrap();

    // Off again: the password and a code (here a recovery code).
    let err = d.two_step_disable(&pw(), "999999").await.unwrap_err();
    assert!(matches!(err, ClientError::InvalidCode), "{err:?}");
    d.two_step_disable(&pw(), recovery[1].expose())
        .await
        .unwrap();
    assert!(!d.account_info().await.unwrap().two_step);
    server.sign_in(email, PW, "quinn-tablet").await;
}

// ----- wipe receipts ----------------------------------------------------------------

/// The entry of `id` in a list with signed-out devices.
fn entry(list: &[SessionInfo], id: proto::SessionId) -> &SessionInfo {
    list.iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("{id} is not in the list"))
}

/// Polls the desk's list with signed-out devices until `id` has erased its keys.
async fn erased_within(desk: &Session, id: proto::SessionId, limit: Duration) -> SessionInfo {
    let start = std::time::Instant::now();
    loop {
        let list = desk.list_devices_with_signed_out().await.unwrap();
        let gone = entry(&list, id).clone();
        if gone.signed_out().unwrap().wiped_at.is_some() {
            println!("receipt seen {:?} after asking", start.elapsed());
            return gone;
        }
        assert!(
            start.elapsed() < limit,
            "no wipe receipt from {id} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The lost laptop is online when the desk signs it out: it erases its keychain entry
/// and proves it, and the desk sees "keys erased" within 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_signed_out_while_online_proves_it_erased_its_keys_within_two_seconds() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    let email = "rosa@example.com";
    server.create_account(email, PW).await;
    // Its own address for the laptop: see the password test.
    let laptop_route = Proxy::start(url).await;
    let laptop = Device::new();
    let l = signed_in(&laptop, &laptop_route.url, email, "rosa-laptop").await;
    l.start_events();
    within(Duration::from_secs(5), || l.is_online())
        .await
        .expect("the laptop's event stream connects");
    let desk = Device::new();
    let d = signed_in(&desk, url, email, "rosa-desk").await;

    d.sign_out_device(l.session_id()).await.unwrap();
    let gone = erased_within(&d, l.session_id(), Duration::from_secs(2)).await;
    assert_eq!(keychain_entry(&active_user(&laptop_route.url, email)), None);
    let signed_out = gone.signed_out().unwrap();
    assert_eq!(signed_out.revoked_reason, RevocationReason::Revoked);
    assert_eq!(signed_out.wiped_ip.as_deref(), Some("127.0.0.1"));
    assert!(!gone.current);
    assert!(laptop.manager.pending_receipts().unwrap().is_empty());
    // The live list is unchanged by it.
    assert_eq!(d.list_devices().await.unwrap().len(), 1);
}

/// The laptop was off when it was signed out. The desk sees it waiting; at the
/// laptop's next start its refused refresh wipes it, and the receipt follows at once.
/// A device that signs itself out proves it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_signed_out_while_off_sends_its_receipt_at_its_next_start() {
    require_secret_service();
    let server = TestServer::start().await;
    let url = server.url();
    let email = "tara@example.com";
    server.create_account(email, PW).await;
    let laptop_route = Proxy::start(url).await;
    let laptop_url = laptop_route.url.as_str();
    let laptop = Device::new();
    let l = signed_in(&laptop, laptop_url, email, "tara-laptop").await;
    let laptop_sid = l.session_id();
    drop(l);
    let desk = Device::new();
    let d = signed_in(&desk, url, email, "tara-desk").await;
    d.sign_out_device(laptop_sid).await.unwrap();
    let list = d.list_devices_with_signed_out().await.unwrap();
    assert_eq!(
        entry(&list, laptop_sid).signed_out().unwrap().wiped_at,
        None
    );

    // The laptop's next start.
    let next = laptop.restart();
    let resumed = next.session(None).await.unwrap();
    assert!(matches!(
        resumed.list_devices().await,
        Err(ClientError::SessionRevoked)
    ));
    assert_eq!(keychain_entry(&active_user(laptop_url, email)), None);
    erased_within(&d, laptop_sid, Duration::from_secs(2)).await;
    assert!(next.pending_receipts().unwrap().is_empty());

    // Signing itself out, the laptop proves it erased its keys as well.
    let again = signed_in(&laptop, laptop_url, email, "tara-laptop").await;
    assert!(again.logout().await.unwrap().revoked_on_server);
    erased_within(&d, again.session_id(), Duration::from_secs(2)).await;
}

/// The receipt cannot be sent right after the wipe (the server answers 503): it waits
/// in the keychain, the dead token in an entry of its own, and goes out at the next
/// start; then nothing is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_the_server_cannot_take_now_is_sent_at_the_next_start() {
    require_secret_service();
    let server = TestServer::start().await;
    let email = "uma@example.com";
    server.create_account(email, PW).await;
    let proxy = Proxy::start(server.url()).await;
    let laptop = Device::new();
    let l = signed_in(&laptop, &proxy.url, email, "uma-laptop").await;
    let laptop_sid = l.session_id();
    let desk = Device::new();
    let d = signed_in(&desk, server.url(), email, "uma-desk").await;
    d.sign_out_device(laptop_sid).await.unwrap();

    proxy.refuse_receipts(true);
    assert!(matches!(
        l.list_devices().await,
        Err(ClientError::SessionRevoked)
    ));
    assert_eq!(keychain_entry(&active_user(&proxy.url, email)), None);
    let waiting = laptop.manager.pending_receipts().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].session_id, laptop_sid);
    let receipt_entry = receipt_user(&proxy.url, email, laptop_sid);
    assert!(keychain_entry(&receipt_entry).unwrap().starts_with("rt_"));
    let list = d.list_devices_with_signed_out().await.unwrap();
    assert_eq!(
        entry(&list, laptop_sid).signed_out().unwrap().wiped_at,
        None
    );

    proxy.refuse_receipts(false);
    let next = laptop.restart();
    next.retry_pending_revocations(Duration::from_secs(5)).await;
    erased_within(&d, laptop_sid, Duration::from_secs(2)).await;
    assert!(next.pending_receipts().unwrap().is_empty());
    assert_eq!(keychain_entry(&receipt_entry), None);
}

// ----- event streams end with their token (issue 9, item 7) -------------------------

/// With 2-second access tokens the server closes the laptop's event stream every 2 s.
/// While the laptop is between two streams, before it ever received an event, another
/// device signs in: the laptop still hears of it when its next stream opens (it resumes
/// from the position its first stream named), and exactly once, however many streams
/// follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_sent_between_two_streams_arrives_once() {
    require_secret_service();
    let server =
        TestServer::start_with(ServerOptions::default().arg("--access-ttl").arg("2s")).await;
    let email = "vera@example.com";
    server.create_account(email, PW).await;
    let proxy = Proxy::start(server.url()).await;
    let laptop = Device::new();
    let l = signed_in(&laptop, &proxy.url, email, "vera-laptop").await;
    let mut events = laptop.manager.subscribe();
    l.start_events();
    within(Duration::from_secs(5), || l.is_online())
        .await
        .expect("the laptop's event stream connects");
    let created = |id: proto::SessionId| {
        move |ev: ClientEvent| match ev {
            ClientEvent::Remote {
                event: Event::SessionCreated(e),
                ..
            } if e.session_id == id => Some(()),
            _ => None,
        }
    };
    // No event has arrived yet: the laptop resumes from the position its first stream
    // started at.
    // The first stream ends with its token; the next one waits at the proxy.
    proxy.hold_event_streams(true);
    let before = proxy.event_requests().len();
    within(Duration::from_secs(10), || {
        proxy.event_requests().len() > before
    })
    .await
    .expect("the laptop reconnects when its stream closes");
    let tablet = server.sign_in(email, PW, "vera-tablet").await;
    proxy.hold_event_streams(false);

    next_event(
        &mut events,
        Duration::from_secs(10),
        created(tablet.session_id),
    )
    .await
    .expect("the tablet's sign-in, sent while the laptop was between streams");
    let resumed_from = proxy.event_requests()[before].clone();
    assert!(
        resumed_from.is_some(),
        "the reconnect named where it left off"
    );
    // Two more streams come and go: the tablet's sign-in is not told again.
    let streams = proxy.event_requests().len();
    let again = next_event(
        &mut events,
        Duration::from_secs(5),
        created(tablet.session_id),
    )
    .await;
    assert!(again.is_none(), "the tablet's sign-in arrived twice");
    assert!(
        proxy.event_requests().len() >= streams + 2,
        "the streams kept closing and reopening: {:?}",
        proxy.event_requests()
    );
    assert!(l.is_online());
}
