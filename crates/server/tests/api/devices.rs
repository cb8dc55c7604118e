//! Seeing and naming devices.

use std::time::Duration;

use crate::helpers::*;

async fn two_devices_see_each_other_own_first_and_rename(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let laptop = ctx.sign_in(&email, "Work laptop").await;
    let phone = ctx.sign_in(&email, "Phone").await;

    for (me, other) in [(&laptop, &phone), (&phone, &laptop)] {
        let list = ctx.sessions(me).await;
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["id"], me.sid().to_string(), "own session first");
        assert_eq!(list[0]["current"], true);
        assert_eq!(list[1]["id"], other.sid().to_string());
        assert_eq!(list[1]["current"], false);
        assert_eq!(list[1]["device"]["name"], other.name.as_str());
        assert_eq!(list[1]["device"]["platform"], "linux");
        assert_eq!(list[1]["last_ip"], "127.0.0.1");
        assert!(list[1]["created_at"].as_str().unwrap().ends_with('Z'));
    }

    // The laptop renames the phone; the phone's stream hears of it.
    let mut phone_events = ctx.events(&phone).await;
    let r = ctx
        .rename(&laptop, &phone.sid().to_string(), "  Ann's phone ")
        .await;
    assert_eq!(r.status(), 200);
    let renamed: serde_json::Value = r.json().await.unwrap();
    assert_eq!(renamed["device"]["name"], "Ann's phone");
    let e = phone_events
        .expect("session.renamed", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["device"]["name"], "Ann's phone");
    let list = ctx.sessions(&phone).await;
    assert_eq!(list[0]["device"]["name"], "Ann's phone");

    // An empty or overlong name is refused and changes nothing.
    let code = error_code(
        ctx.rename(&laptop, &phone.sid().to_string(), "   ").await,
        422,
    )
    .await;
    assert_eq!(code, "validation_failed");
    error_code(
        ctx.rename(&laptop, &phone.sid().to_string(), &"x".repeat(101))
            .await,
        422,
    )
    .await;
    assert_eq!(
        ctx.sessions(&phone).await[0]["device"]["name"],
        "Ann's phone"
    );
    ctx.assert_logs_clean();
}

async fn others_are_listed_most_recently_active_first(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let me = ctx.sign_in(&email, "Desktop").await;
    let old = ctx.sign_in(&email, "Old tablet").await;
    let busy = ctx.sign_in(&email, "Phone").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The tablet refreshes last, so it was seen last.
    let _ = ctx.refresh(busy.refresh()).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let _ = ctx.refresh(old.refresh()).await;
    let names: Vec<String> = ctx
        .sessions(&me)
        .await
        .iter()
        .map(|s| s["device"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Desktop", "Old tablet", "Phone"]);
}

async fn another_accounts_session_is_not_found_and_untouched(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let ann = ctx.sign_in(&ctx.new_account().await, "Ann's laptop").await;
    let bob = ctx.sign_in(&ctx.new_account().await, "Bob's laptop").await;

    let code = error_code(ctx.rename(&ann, &bob.sid().to_string(), "pwned").await, 404).await;
    assert_eq!(code, "not_found");
    let code = error_code(ctx.delete_session(&ann, bob.sid()).await, 404).await;
    assert_eq!(code, "not_found");
    // Same answer as an id that does not exist at all, or is not an id.
    error_code(ctx.delete_session(&ann, proto::SessionId::new()).await, 404).await;
    error_code(ctx.rename(&ann, "not-a-uuid", "x").await, 404).await;

    let bobs = ctx.sessions(&bob).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["device"]["name"], "Bob's laptop");
    assert_eq!(ctx.get("/v1/sessions", bob.access()).await.status(), 200);
    assert_eq!(
        ctx.sessions(&ann).await.len(),
        1,
        "Ann sees only her own device"
    );
}

async fn a_new_sign_in_is_announced_to_the_other_devices(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let laptop = ctx.sign_in(&email, "Work laptop").await;
    let mut events = ctx.events(&laptop).await;
    let phone = ctx.sign_in(&email, "Phone").await;
    let e = events
        .expect("session.created", Duration::from_secs(5))
        .await;
    assert_eq!(e.data["session_id"], phone.sid().to_string());
    assert_eq!(e.data["device"]["name"], "Phone");
    assert!(e.id.is_some(), "events carry an id to resume from");
}

async fn activity_tells_the_accounts_story_newest_first(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let email = ctx.new_account().await;
    let laptop = ctx.sign_in(&email, "Work laptop").await;
    let tablet = ctx.sign_in(&email, "Old tablet").await;
    assert_eq!(
        ctx.rename(&laptop, &tablet.sid().to_string(), "Kids' tablet")
            .await
            .status(),
        200
    );
    assert_eq!(
        ctx.delete_session(&laptop, tablet.sid()).await.status(),
        204
    );

    let r = ctx.get("/v1/activity", laptop.access()).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let events = v["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["revoked", "renamed", "signed_in", "signed_in"]);
    assert_eq!(events[0]["session_id"], tablet.sid().to_string());
    assert_eq!(events[0]["by_session_id"], laptop.sid().to_string());
    assert_eq!(events[0]["device"]["name"], "Kids' tablet");
    assert_eq!(events[0]["reason"], "revoked");
    assert_eq!(events[0]["ip"], "127.0.0.1");
    assert_eq!(events[3]["device"]["name"], "Work laptop");
}

testkit::on_both_backends!(
    two_devices_see_each_other_own_first_and_rename,
    others_are_listed_most_recently_active_first,
    another_accounts_session_is_not_found_and_untouched,
    a_new_sign_in_is_announced_to_the_other_devices,
    activity_tells_the_accounts_story_newest_first,
);
