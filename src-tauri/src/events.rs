//! Client events → app events (`ipc::AppEvent`), and the OS notifications: this device
//! signed out from elsewhere, another device signed in, a security alert. A click on a
//! notification about a device opens the window at that device ("Not you?").

use client::{ClientEvent, SessionManager};
use proto::SessionId;
use proto::events::Event;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;

use crate::ipc::{AppEvent, DevicesChanged, NewSignIn, ShowDevice, SignedOutNotice};
use crate::{AppContext, MAIN_WINDOW};

/// The key, in a notification's extra data, of the device it is about.
const DEVICE: &str = "session_id";

/// Starts passing client events on, and picks up where the last run stopped: the
/// remembered sign-in starts following its event stream, and logouts still waiting
/// for the server are retried (now, and in the background until confirmed).
pub fn start<R: Runtime>(app: AppHandle<R>, manager: SessionManager) {
    let events = manager.subscribe();
    tauri::async_runtime::spawn(forward(app.clone(), events));
    tauri::async_runtime::spawn(async move {
        manager.start_background();
        let server = app.state::<AppContext>().server();
        match manager.session(server.as_deref()).await {
            Ok(session) => session.start_events(),
            Err(e) => tracing::debug!(error = %e, "no sign-in to pick up"),
        }
    });
}

async fn forward<R: Runtime>(
    app: AppHandle<R>,
    mut events: tokio::sync::broadcast::Receiver<ClientEvent>,
) {
    loop {
        match events.recv().await {
            Ok(e) => pass_on(&app, e).await,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "client events were dropped; asking the UI to refetch"
                );
                emit(
                    &app,
                    DevicesChanged {
                        reason: Event::SESSION_REVOKED,
                    },
                );
                emit_state(&app).await;
            }
            Err(RecvError::Closed) => break,
        }
    }
}

async fn pass_on<R: Runtime>(app: &AppHandle<R>, e: ClientEvent) {
    match e {
        ClientEvent::SignedOut { notice, .. } => {
            // The client has already wiped the keychain entry, so `app_state` answers
            // `signed_in: false` by now, as the UI expects when this arrives.
            let notice = SignedOutNotice::new(notice, &chrono::Local::now());
            notify_os(app, "Signed out of Session Manager", &notice.message, None);
            emit(app, notice);
            emit_state(app).await;
        }
        ClientEvent::Remote {
            account,
            event: remote,
        } => {
            // This device's own doings come back on its stream too (its password change
            // alerts every device): the person needs no notification of them.
            let ctx = app.state::<AppContext>();
            let own = ctx
                .manager
                .session_for(&account)
                .await
                .ok()
                .map(|s| s.session_id());
            match &remote {
                Event::SessionCreated(created) if Some(created.session_id) != own => {
                    let new = NewSignIn::from(created);
                    notify_os(
                        app,
                        "New sign-in to your account",
                        &format!(
                            "{}. Not you? Click to see this device and sign it out.",
                            new.message
                        ),
                        Some(new.session_id),
                    );
                    emit(app, new);
                }
                Event::SecurityAlert(alert) => {
                    if alert.session_id.is_none() || alert.session_id != own {
                        notify_os(
                            app,
                            "Session Manager",
                            &proto::notice::security_alert_message(alert),
                            alert.session_id,
                        );
                    }
                    emit(app, alert.clone());
                }
                _ => {}
            }
            emit(
                app,
                DevicesChanged {
                    reason: remote.name(),
                },
            );
        }
        ClientEvent::Online { online, .. } => {
            if online {
                tracing::info!("following the account's events");
            } else {
                tracing::info!("not connected to the account's events; reconnecting");
            }
            emit_state(app).await;
        }
        // PendingRevocations, and whatever a later client adds: AppState moved.
        _ => emit_state(app).await,
    }
}

pub(crate) fn emit<R: Runtime, E: AppEvent>(app: &AppHandle<R>, payload: E) {
    if let Err(e) = app.emit(E::NAME, payload) {
        tracing::warn!(event = E::NAME, error = %e, "could not emit an event to the web view");
    }
}

async fn emit_state<R: Runtime>(app: &AppHandle<R>) {
    let ctx = app.state::<AppContext>();
    match crate::commands::state(&ctx).await {
        Ok(state) => emit(app, state),
        Err(e) => tracing::warn!(error = %e.message, "could not read the app state"),
    }
}

/// An OS notification, in `proto::notice`'s words (every name in them already made
/// safe to show by `proto::text::for_display`). `device`: the device it is about, shown
/// when the person clicks it.
fn notify_os<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str, device: Option<SessionId>) {
    let mut builder = app.notification().builder().title(title).body(body);
    if let Some(id) = device {
        builder = builder.extra(DEVICE, id.to_string());
    }
    if let Err(e) = builder.show() {
        tracing::warn!(error = %e, "could not show the OS notification");
    }
}

/// A click on one of the app's notifications opens its window; on one about a device,
/// at that device. Registered before the first notification: those shown earlier
/// would report nothing.
pub fn on_notification_click<R: Runtime>(app: &AppHandle<R>) {
    let handle = app.clone();
    let registered = app.notification().on_action(move |performed| {
        if performed.action_id() != "tap" {
            return;
        }
        let device = performed
            .notification()
            .and_then(|n| n.extra().get(DEVICE))
            .and_then(|v| v.as_str())
            .and_then(|id| id.parse().ok());
        show_device(&handle, device);
    });
    if let Err(e) = registered {
        tracing::warn!(error = %e, "clicks on notifications will not open the app");
    }
}

/// "Not you?": opens the window, showing `device` in the list. An open page is told at
/// once (`show-device`); a window opened for it asks, once its page is up
/// (`device_to_show`).
pub fn show_device<R: Runtime>(app: &AppHandle<R>, device: Option<SessionId>) {
    tracing::info!(device = ?device, "notification clicked: opening the window");
    if let Some(session_id) = device {
        if app.get_webview_window(MAIN_WINDOW).is_some() {
            emit(app, ShowDevice { session_id });
        } else {
            app.state::<AppContext>()
                .set_device_to_show(Some(session_id));
        }
    }
    let on_main = app.clone();
    if let Err(e) = app.run_on_main_thread(move || crate::window::open_or_log(&on_main)) {
        tracing::warn!(error = %e, "could not open the window");
    }
}
