//! Client events → app events (`ipc::AppEvent`), and the OS notification when this
//! device was signed out from elsewhere.

use client::{ClientEvent, SessionManager};
use proto::events::Event;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;

use crate::AppContext;
use crate::ipc::{AppEvent, DevicesChanged, SignedOutNotice};

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
            notify_os(app, &notice);
            emit(app, notice);
            emit_state(app).await;
        }
        ClientEvent::Remote { event: remote, .. } => {
            if let Event::SecurityAlert(alert) = &remote {
                emit(app, alert.clone());
            }
            emit(
                app,
                DevicesChanged {
                    reason: remote.name(),
                },
            );
        }
        // Online, PendingRevocations, and whatever a later client adds: AppState moved.
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
        Err(e) => tracing::warn!(error = %e.0.message, "could not read the app state"),
    }
}

/// The OS notification: the same sentence as the notice on the sign-in screen.
fn notify_os<R: Runtime>(app: &AppHandle<R>, notice: &SignedOutNotice) {
    let shown = app
        .notification()
        .builder()
        .title("Signed out of Session Manager")
        .body(&notice.message)
        .show();
    if let Err(e) = shown {
        tracing::warn!(error = %e, "could not show the OS notification");
    }
}
