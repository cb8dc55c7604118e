//! The window comes and goes; the app stays.
//!
//! Closing the window destroys it, web view and all, and, if the desktop has a tray to
//! show the app in, the app keeps running there: on Linux it then starts over as itself,
//! hidden, in the same process (see [`start_over_hidden`]: WebKit's processes and what
//! the web view loaded go), and the client opens the account's event stream again, so a
//! sign-out from elsewhere still wipes the keychain entry and notifies at once. "Open"
//! in the tray, or starting the app again, makes a new window from `tauri.conf.json`.
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
                // Once GTK has finished with the window: its destruction reaches the
                // display server on the loop's next turns, and an `exec` now would
                // leave the window on screen.
                #[cfg(target_os = "linux")]
                {
                    let app = app.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        let on_main = app.clone();
                        if let Err(e) = app.run_on_main_thread(move || start_over_hidden(&on_main))
                        {
                            tracing::warn!(error = %e, "cannot start over hidden; staying as is");
                        }
                    });
                }
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

/// Linux: with the window gone, the app starts over as itself, hidden, in the same
/// process (`exec`: the pid, the session's bookkeeping and the log stay).
///
/// Destroying the web view is not enough to make the app light: WebKitGTK keeps its
/// network process for the life of the web context (which Tauri keeps for the app's
/// life on Linux, tauri-apps/tauri#14626), and a process that has shown a web view
/// keeps the GL stack and WebKit's state it loaded for it (under Mesa's software GL
/// here, some 90 MB). Started hidden, the app never loads them. What the process held
/// in memory is not needed: the client keeps everything that matters in the keychain
/// and its config file (a refresh cut short is a retry within the server's grace
/// window). WebKit's helpers are ended first: they would outlive the old image. A
/// second start in the moment this takes starts a second instance; nothing worse.
#[cfg(target_os = "linux")]
fn start_over_hidden<R: Runtime>(app: &AppHandle<R>) {
    use std::os::unix::process::CommandExt as _;

    if app.get_webview_window(MAIN_WINDOW).is_some()
        || !app
            .state::<Lifecycle>()
            .keep_running
            .load(Ordering::Relaxed)
    {
        return; // reopened meanwhile
    }
    // A binary replaced by an upgrade since it started reads as "… (deleted)": then the
    // app stays as it is, heavier but watching.
    let exe = match std::env::current_exe() {
        Ok(exe) if exe.is_file() => exe,
        Ok(exe) => {
            tracing::warn!(exe = %exe.display(), "cannot start over hidden; staying as is");
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot start over hidden; staying as is");
            return;
        }
    };
    let mut command = std::process::Command::new(exe);
    command.arg(crate::login_item::HIDDEN_ARG);
    if let Some(server) = app.state::<AppContext>().server() {
        command.arg("--server").arg(server);
    }
    tracing::info!("starting over hidden, without the window's weight");
    // The tray icon and the plugins' resources go the orderly way first.
    app.cleanup_before_exit();
    end_webkit_helpers();
    // Sends what GTK still has queued to the display server.
    if let Some(display) = gdk::Display::default() {
        display.flush();
    }
    // `exec` returns only when it failed; the tray icon is gone by then, and an app
    // nobody can see should not linger: it ends, saying why.
    let e = command.exec();
    tracing::error!(error = %e, "could not start over hidden; quitting");
    app.exit(1);
}

/// Ends WebKit's web and network processes below this one, and reaps them (the image
/// that follows would not know them as its children).
#[cfg(target_os = "linux")]
fn end_webkit_helpers() {
    use rustix::process::{Pid, Signal, WaitOptions, kill_process, waitpid};

    let me = std::process::id();
    let helpers: Vec<Pid> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
            let webkit = exe.file_name()?.to_str()?.starts_with("WebKit");
            (webkit && parent_of(pid) == Some(me)).then(|| Pid::from_raw(pid))?
        })
        .collect();
    for &pid in &helpers {
        let _ = kill_process(pid, Signal::TERM);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    for pid in helpers {
        loop {
            match waitpid(Some(pid), WaitOptions::NOHANG) {
                // Reaped, or reaped already by GLib's child watch.
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Ok(None) => {
                    let _ = kill_process(pid, Signal::KILL);
                    let _ = waitpid(Some(pid), WaitOptions::empty());
                    break;
                }
            }
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
