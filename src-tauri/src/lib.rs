//! The Session Manager desktop app: Tauri commands and events, each a thin translation
//! over `crates/client`.
//!
//! Nothing here decides anything: the client library owns the keychain, tokens,
//! refreshing, logout with pending revocation and the event stream. This crate only
//! - turns IPC calls into client calls and client results into the IPC's JSON,
//! - passes client events on to the web view (and to the OS as a notification when
//!   this device was signed out from elsewhere).
//!
//! The contract with the web view is written once, here: the commands in
//! `command_list.rs`, the types and events in [`ipc`]. The UI's TypeScript types are
//! generated from them (`ui/src/generated`), and tests check the capability file,
//! `ui/src/ipc.ts` and `docs/app-ipc.md` against them. The web view never receives a
//! token: none of the types in [`ipc`] has a token field.

#[macro_use]
mod command_list;
pub mod commands;
#[cfg(test)]
mod contract;
pub mod events;
pub mod ipc;
pub mod login_item;
pub mod tray;
pub mod window;

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use client::{SessionManager, TwoStepChallenge};
use proto::SessionId;
use tauri::{Builder, Manager, Runtime, State};

use crate::ipc::{AppState, Args, CommandResult};
use crate::login_item::{LoginItem, LoginItemError};

/// The commands, as `build.rs` declares them to Tauri's ACL and the main window's
/// capability grants them.
pub const COMMANDS: &[&str] = app_commands!(command_names);

/// The invoke handler of every command in the list.
macro_rules! invoke_handler {
    ($($(#[doc = $doc:literal])* $name:ident($($args:ty)?) -> $answer:ty;)*) => {
        tauri::generate_handler![$(commands::$name),*]
    };
}

/// Each command has the signature its entry in the list declares, or the crate does
/// not compile: the generated TypeScript cannot promise what a command does not do.
macro_rules! check_signatures {
    ($($(#[doc = $doc:literal])* $name:ident($($args:ty)?) -> $answer:ty;)*) => {
        const _: fn() = || {
            use proto::activity::ActivityEvent;
            use proto::sessions::SessionInfo;
            use crate::ipc::*;
            $(check_signatures!(@one commands::$name, ($($args)?), $answer);)*
        };
    };
    (@one $command:path, (), $answer:ty) => {
        answers::<$answer, _>($command)
    };
    (@one $command:path, ($args:ty), $answer:ty) => {
        takes_and_answers::<$args, $answer, _>($command)
    };
}

fn answers<A, F: Future<Output = CommandResult<A>>>(_: fn(State<'static, AppContext>) -> F) {}

fn takes_and_answers<T, A, F: Future<Output = CommandResult<A>>>(
    _: fn(State<'static, AppContext>, Args<T>) -> F,
) {
}

app_commands!(check_signatures);

/// The label of the one window that may talk to the Rust side.
pub const MAIN_WINDOW: &str = "main";

/// What every command gets: the client, and which server this window shows.
pub struct AppContext {
    pub(crate) manager: SessionManager,
    /// The server the app was started with (`--server`), replaced by the one of each
    /// sign-in. `None`: whatever the client remembers as current.
    pub(crate) server: Mutex<Option<String>>,
    /// "Start at login", or why this machine cannot have it.
    pub(crate) login_item: Result<LoginItem, LoginItemError>,
    /// The window being opened, until its page reports its first screen.
    opening: Mutex<Option<Opening>>,
    /// Told every `AppState` read (the tray shows it).
    state_observer: OnceLock<StateObserver>,
    /// A sign-in waiting for its two-step code: the server's challenge, kept on this
    /// side (the web view never holds it) until answered, replaced or expired.
    two_step: Mutex<Option<TwoStepChallenge>>,
    /// The device a click on a notification asked to show, for the window it opened.
    device_to_show: Mutex<Option<SessionId>>,
}

pub type StateObserver = Arc<dyn Fn(&AppState) + Send + Sync>;

/// A window on its way to the screen, for the log line that times it.
#[derive(Clone, Copy)]
struct Opening {
    since: Instant,
    /// The app's start (`false`: reopened from the tray, or by starting it again).
    start: bool,
}

impl AppContext {
    /// The start-time log line counts from here: made at the top of `main`.
    pub fn new(manager: SessionManager, server: Option<String>) -> Self {
        Self {
            manager,
            server: Mutex::new(server),
            login_item: LoginItem::for_this_app(),
            opening: Mutex::new(Some(Opening {
                since: Instant::now(),
                start: true,
            })),
            state_observer: OnceLock::new(),
            two_step: Mutex::new(None),
            device_to_show: Mutex::new(None),
        }
    }

    /// Uses `item` for "Start at login" (tests: an autostart directory of their own).
    pub fn with_login_item(mut self, item: LoginItem) -> Self {
        self.login_item = Ok(item);
        self
    }

    /// A new window is being made (the first paint of its page is then logged as a
    /// reopening).
    pub(crate) fn window_opening(&self) {
        let mut opening = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        // A window opened before the first one painted is still the start.
        if opening.is_none() {
            *opening = Some(Opening {
                since: Instant::now(),
                start: false,
            });
        }
    }

    /// No window at start: the first one opened is timed as a reopening.
    pub(crate) fn started_without_window(&self) {
        *self.opening.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// How long the window took to show its first screen, logged once per window: at
    /// start what a user waits for, and what `app-bench` reads to time a start (and a
    /// reopening from the tray) without a WebDriver.
    pub(crate) fn first_paint(&self, screen: ipc::Screen, rows: u32) {
        let Some(opening) = self
            .opening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        let ms = opening.since.elapsed().as_millis() as u64;
        if opening.start {
            tracing::info!(
                target: "session_manager::startup",
                screen = screen.as_str(),
                rows,
                ms,
                "first screen painted"
            );
        } else {
            tracing::info!(
                target: "session_manager::reopen",
                screen = screen.as_str(),
                rows,
                ms,
                "window reopened"
            );
        }
    }

    /// Calls `observer` with every `AppState` read from now on (once: the tray).
    pub fn observe_state(&self, observer: StateObserver) {
        if self.state_observer.set(observer).is_err() {
            tracing::warn!("a second AppState observer was ignored");
        }
    }

    pub(crate) fn state_read(&self, state: &AppState) {
        if let Some(observer) = self.state_observer.get() {
            observer(state);
        }
    }

    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }

    pub(crate) fn server(&self) -> Option<String> {
        self.server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn two_step(&self) -> Option<TwoStepChallenge> {
        lock(&self.two_step).clone()
    }

    pub(crate) fn set_two_step(&self, challenge: Option<TwoStepChallenge>) {
        *lock(&self.two_step) = challenge;
    }

    pub(crate) fn set_device_to_show(&self, id: Option<SessionId>) {
        *lock(&self.device_to_show) = id;
    }

    pub(crate) fn take_device_to_show(&self) -> Option<SessionId> {
        lock(&self.device_to_show).take()
    }

    pub(crate) fn set_server(&self, server: &str) {
        *self.server.lock().unwrap_or_else(|p| p.into_inner()) = Some(server.to_string());
    }
}

/// Every lock here guards a plain value that a panic elsewhere cannot leave half made.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Puts the app together on any runtime: the real one (Wry) in `main`, Tauri's mock
/// runtime in tests.
pub fn builder<R: Runtime>(builder: Builder<R>, context: AppContext) -> Builder<R> {
    builder
        .plugin(tauri_plugin_notification::init())
        .manage(context)
        .manage(window::Lifecycle::default())
        .on_window_event(window::on_window_event)
        .invoke_handler(app_commands!(invoke_handler))
        .setup(|app| {
            let handle = app.handle().clone();
            let manager = app.state::<AppContext>().manager.clone();
            events::on_notification_click(&handle);
            events::start(handle, manager);
            Ok(())
        })
}
