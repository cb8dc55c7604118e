//! Client events → app events (docs/app-ipc.md), and the OS notification when this
//! device was signed out from elsewhere.

use client::{ClientEvent, SessionManager, SignedOutNotice};
use proto::events::Event;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;

use crate::AppContext;
use crate::ipc::{DevicesChanged, event};

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
                    event::DEVICES_CHANGED,
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
            notify_os(app, &notice);
            emit(app, event::SIGNED_OUT, &notice);
            emit_state(app).await;
        }
        ClientEvent::Remote { event: remote, .. } => {
            if let Event::SecurityAlert(alert) = &remote {
                emit(app, event::SECURITY_ALERT, alert);
            }
            emit(
                app,
                event::DEVICES_CHANGED,
                DevicesChanged {
                    reason: remote.name(),
                },
            );
        }
        // Online, PendingRevocations, and whatever a later client adds: AppState moved.
        _ => emit_state(app).await,
    }
}

fn emit<R: Runtime, S: serde::Serialize + Clone>(app: &AppHandle<R>, name: &str, payload: S) {
    if let Err(e) = app.emit(name, payload) {
        tracing::warn!(event = name, error = %e, "could not emit an event to the web view");
    }
}

async fn emit_state<R: Runtime>(app: &AppHandle<R>) {
    let ctx = app.state::<AppContext>();
    match crate::commands::state(&ctx).await {
        Ok(state) => emit(app, event::STATE_CHANGED, state),
        Err(e) => tracing::warn!(error = %e.0.message, "could not read the app state"),
    }
}

fn notify_os<R: Runtime>(app: &AppHandle<R>, notice: &SignedOutNotice) {
    let shown = app
        .notification()
        .builder()
        .title("Signed out of Session Manager")
        .body(notification_text(notice))
        .show();
    if let Err(e) = shown {
        tracing::warn!(error = %e, "could not show the OS notification");
    }
}

/// "This device was signed out from Work laptop at 14:03." (the wording of the UI's notice).
pub fn notification_text(notice: &SignedOutNotice) -> String {
    let at = notice.at.with_timezone(&chrono::Local).format("%H:%M");
    let by = notice
        .by_device_name
        .as_deref()
        .map(|name| format!(" from {name}"))
        .unwrap_or_default();
    let why = match notice.reason.as_str() {
        "refresh_token_reuse" => {
            " Its sign-in was used from somewhere else, so it was ended to be safe."
        }
        "signed_out_everywhere" => " Every device of the account was signed out.",
        "admin" => " An administrator ended the session.",
        _ => "",
    };
    format!("This device was signed out{by} at {at}.{why} Its saved sign-in has been removed.")
}
