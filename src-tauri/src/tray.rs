//! The tray icon: the account's state at a glance (the icon, and the menu's first line),
//! and "Open", "Sign out of this device", "Quit".
//!
//! On Linux the icon is a StatusNotifierItem (libayatana-appindicator, loaded when the
//! icon is made); it appears wherever a tray host runs (KDE, Xfce, Cinnamon, MATE,
//! GNOME with the AppIndicator extension, …).

use std::sync::Arc;

use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::AppContext;
use crate::ipc::AppState;

const TRAY_ID: &str = "main";
const OPEN: &str = "open";
const SIGN_OUT: &str = "sign-out";
const QUIT: &str = "quit";

const SIGNED_IN_ICON: Image<'static> = tauri::include_image!("icons/64x64.png");
const SIGNED_OUT_ICON: Image<'static> = tauri::include_image!("icons/tray-signed-out.png");

/// The menu items that change with the account's state.
struct TrayMenu<R: Runtime> {
    status: MenuItem<R>,
    sign_out: MenuItem<R>,
}

/// Makes the tray icon. `false`: there is none (the platform's tray library is
/// missing, or refused), and the app runs as a plain window.
pub fn install<R: Runtime>(app: &AppHandle<R>) -> bool {
    // libayatana-appindicator is loaded at run time, and its absence is a panic in
    // the tray crate rather than an error: a missing tray must not take the app down.
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build(app)));
    match made {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "no tray icon");
            false
        }
        Err(_) => {
            tracing::warn!(
                "no tray icon: the tray library (libayatana-appindicator3) could not be loaded"
            );
            false
        }
    }
}

fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "Session Manager", false, None::<&str>)?;
    let sign_out = MenuItem::with_id(
        app,
        SIGN_OUT,
        "Sign out of this device",
        false,
        None::<&str>,
    )?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, OPEN, "Open", true, None::<&str>)?,
            &sign_out,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, QUIT, "Quit", true, None::<&str>)?,
        ],
    )?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(SIGNED_OUT_ICON)
        .tooltip("Session Manager")
        .menu(&menu)
        // Windows and macOS: a click opens the window, the menu is on the right button.
        .show_menu_on_left_click(false)
        .on_menu_event(on_menu_event)
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::window::open_or_log(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(TrayMenu { status, sign_out });

    // Every AppState the app reads from now on is shown; read one now, for a start
    // without a window (nothing else would ask).
    let handle = app.clone();
    app.state::<AppContext>()
        .observe_state(Arc::new(move |state| show_state(&handle, state)));
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        let ctx = handle.state::<AppContext>();
        if let Err(e) = crate::commands::state(&ctx).await {
            tracing::warn!(error = %e.message, "could not read the app state for the tray");
        }
    });
    Ok(())
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match event.id().as_ref() {
        OPEN => crate::window::open_or_log(app),
        SIGN_OUT => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let ctx = app.state::<AppContext>();
                match crate::commands::sign_out_here(&ctx).await {
                    // An open window switches to its sign-in screen.
                    Ok(state) => crate::events::emit(&app, state),
                    Err(e) => {
                        tracing::warn!(error = %e.message, "signing out from the tray failed")
                    }
                }
            });
        }
        QUIT => app.exit(0),
        _ => {}
    }
}

/// The menu's first line, and whether "Sign out of this device" applies.
fn status_line(state: &AppState) -> String {
    match (&state.email, &state.signed_out_notice) {
        (Some(email), _) if state.signed_in && state.online => format!("Signed in as {email}"),
        (Some(email), _) if state.signed_in => format!("Signed in as {email} (offline)"),
        (_, Some(notice)) => notice.message.clone(),
        _ => "Not signed in".to_string(),
    }
}

fn show_state<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    let line = status_line(state);
    let shown = (|| -> tauri::Result<()> {
        if let Some(menu) = app.try_state::<TrayMenu<R>>() {
            menu.status.set_text(&line)?;
            menu.sign_out.set_enabled(state.signed_in)?;
        }
        if let Some(tray) = app.tray_by_id(TRAY_ID) {
            tray.set_icon(Some(if state.signed_in {
                SIGNED_IN_ICON
            } else {
                SIGNED_OUT_ICON
            }))?;
            tray.set_tooltip(Some(format!("Session Manager: {line}")))?;
        }
        Ok(())
    })();
    if let Err(e) = shown {
        tracing::warn!(error = %e, "could not update the tray icon");
    }
}

/// Whether closing the window can leave the app in the tray: the icon exists and
/// something shows it.
pub fn can_show<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.tray_by_id(TRAY_ID).is_some() && host_present()
}

/// A StatusNotifierItem watcher on the session bus: the part of every current tray
/// that icons register with. Without one, libayatana-appindicator shows nothing.
#[cfg(all(unix, not(target_os = "macos")))]
fn host_present() -> bool {
    let ask = || -> zbus::Result<bool> {
        let bus = zbus::blocking::Connection::session()?;
        let dbus = zbus::blocking::fdo::DBusProxy::new(&bus)?;
        Ok(dbus.name_has_owner("org.kde.StatusNotifierWatcher".try_into()?)?)
    };
    match ask() {
        Ok(present) => present,
        Err(e) => {
            tracing::warn!(error = %e, "could not ask the session bus for a tray");
            false
        }
    }
}

/// Windows' notification area and macOS's menu bar are always there.
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn host_present() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::Keychain;

    fn state(signed_in: bool, online: bool) -> AppState {
        AppState {
            signed_in,
            server_url: Some("https://sessions.example.com".into()),
            email: Some("ada@example.com".into()),
            session_id: None,
            default_device_name: "desk".into(),
            keychain: Keychain {
                backend: "Secret Service".into(),
                available: true,
                message: None,
            },
            pending_revocations: 0,
            online,
            signed_out_notice: None,
        }
    }

    #[test]
    fn the_tray_says_who_is_signed_in_and_whether_the_app_is_connected() {
        assert_eq!(
            status_line(&state(true, true)),
            "Signed in as ada@example.com"
        );
        assert_eq!(
            status_line(&state(true, false)),
            "Signed in as ada@example.com (offline)"
        );
        assert_eq!(status_line(&state(false, false)), "Not signed in");
    }
}
