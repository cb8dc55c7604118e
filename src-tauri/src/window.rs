//! The window comes and goes; the app stays.
//!
//! Closing the window destroys it, web view and all (WebKit's web and network
//! processes end with it), and, if the desktop has a tray to show the app in, the app
//! keeps running there: the client keeps the account's event stream open, so a sign-out
//! from elsewhere still wipes the keychain entry and notifies at once. "Open" in the
//! tray, or starting the app again, makes a new window from `tauri.conf.json`.
//!
//! Without a tray host (no StatusNotifierItem watcher on the session bus, as under a
//! bare X server or GNOME without the AppIndicator extension), closing the window
//! quits: an app running with neither a window nor a tray icon could only be found
//! again by starting it a second time, which few would guess. An app started hidden
//! (`--hidden`, at login) stays even so: the tray usually comes up after it, and
//! starting the app again opens the window.

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::{AppHandle, Manager, RunEvent, Runtime, WebviewWindowBuilder, Window, WindowEvent};

use crate::{AppContext, MAIN_WINDOW};

/// Whether the app outlives its window (see the module's documentation).
#[derive(Default)]
pub struct Lifecycle {
    keep_running: AtomicBool,
}

/// Started hidden (`--hidden`): the app runs without a window from the start, and
/// the first window it opens is a reopening, not the start.
pub fn start_hidden<R: Runtime>(app: &AppHandle<R>) {
    app.state::<Lifecycle>()
        .keep_running
        .store(true, Ordering::Relaxed);
    app.state::<AppContext>().started_without_window();
}

/// Shows the window: the one there is, brought to the front, or a new one.
pub fn open<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        window.unminimize()?;
        window.show()?;
        return window.set_focus();
    }
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN_WINDOW)
        // tauri.conf.json has it (the command tests open it this way).
        .ok_or(tauri::Error::WindowNotFound)?
        .clone();
    app.state::<AppContext>().window_opening();
    let window = WebviewWindowBuilder::from_config(app, &config)?.build()?;
    window.set_focus()
}

/// Logs what failed when the window could not be opened (there is no one else to tell).
pub fn open_or_log<R: Runtime>(app: &AppHandle<R>) {
    if let Err(e) = open(app) {
        tracing::error!(error = %e, "could not open the window");
    }
}

/// The app was started again while running: the second start hands its arguments
/// here and exits, and this one shows its window (unless that start was a login item's).
pub fn started_again<R: Runtime>(app: &AppHandle<R>, argv: &[String]) {
    if argv.iter().any(|a| a == crate::login_item::HIDDEN_ARG) {
        tracing::info!("started again hidden: already running");
        return;
    }
    tracing::info!("started again: opening the window");
    open_or_log(app);
}

/// Decides, as the window closes, whether the app stays in the tray.
pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if window.label() != MAIN_WINDOW {
        return;
    }
    let app = window.app_handle();
    match event {
        WindowEvent::CloseRequested { .. } => {
            let stay = crate::tray::can_show(app);
            app.state::<Lifecycle>()
                .keep_running
                .store(stay, Ordering::Relaxed);
            if stay {
                tracing::info!("window closed: still watching, in the tray");
            } else {
                tracing::info!("window closed and no tray to stay in: quitting");
            }
        }
        WindowEvent::Destroyed => {
            tracing::debug!("window and web view destroyed");
            if app
                .state::<Lifecycle>()
                .keep_running
                .load(Ordering::Relaxed)
            {
                #[cfg(target_os = "linux")]
                end_network_process();
            }
        }
        _ => {}
    }
}

/// The run loop's events: the last window closing ends the app only when the app
/// cannot stay in the tray; "Quit" (an explicit exit code) always does.
pub fn on_run_event<R: Runtime>(app: &AppHandle<R>, event: RunEvent) {
    if let RunEvent::ExitRequested {
        code: None, api, ..
    } = event
        && app
            .state::<Lifecycle>()
            .keep_running
            .load(Ordering::Relaxed)
    {
        api.prevent_exit();
    }
}

/// WebKitGTK keeps its network process for as long as its web context lives, and Tauri
/// keeps the web context for the app's whole life on Linux (so that a later web view
/// shares the process: tauri-apps/tauri#14626). With the window gone that is some
/// 60 MB held for nothing while the app watches from the tray, so the app ends its own
/// network process once no web view is left; WebKit starts a new one with the next.
#[cfg(target_os = "linux")]
fn end_network_process() {
    let me = std::process::id();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let is_ours = parent_of(pid) == Some(me)
            && std::fs::read_link(entry.path().join("exe"))
                .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == "WebKitNetworkProcess"));
        if !is_ours {
            continue;
        }
        let Some(pid) = rustix::process::Pid::from_raw(pid) else {
            continue;
        };
        match rustix::process::kill_process(pid, rustix::process::Signal::TERM) {
            Ok(()) => tracing::debug!(
                pid = pid.as_raw_nonzero().get(),
                "ended WebKit's network process"
            ),
            Err(e) => tracing::warn!(error = %e, "could not end WebKit's network process"),
        }
    }
}

/// A process's parent, from `/proc/PID/stat` ("pid (comm) state ppid …"; the command
/// name may hold spaces and parentheses, so the fields are counted after the last `)`).
#[cfg(target_os = "linux")]
fn parent_of(pid: i32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.get(stat.rfind(')')? + 2..)?;
    after.split_whitespace().nth(1)?.parse().ok()
}
