// The app's commands, written once. `build.rs` includes this file to declare them to
// Tauri's ACL (one `allow-<command>` permission each); the crate expands the same list
// into the invoke handler, `app::COMMANDS`, a compile-time check of each command's
// signature, and (in its tests) the TypeScript `Commands` map of ui/src/generated and
// the command table of docs/app-ipc.md. The tests also check the capability file and
// ui/src/ipc.ts against it.
//
// One entry per command: its description, then `name(Arguments) -> Answer;`, or
// `name() -> Answer;` when it takes no arguments. `Arguments` is the struct the whole
// argument object is read into (`ipc::Args`); `Answer` what it resolves with (a
// failure rejects with `AppError`). The type names are those of `crate::ipc` and of
// proto (`SessionInfo`, `ActivityEvent`), in scope wherever the list is expanded.

macro_rules! app_commands {
    ($then:ident) => {
        $then! {
            /// The app's state (keychain and config file, no network).
            app_state() -> AppState;
            /// Signs this device in and starts following the account's events.
            sign_in(SignInArgs) -> AppState;
            /// The account's signed-in devices, this one first.
            list_devices() -> Vec<SessionInfo>;
            /// Renames a device; answers it as renamed.
            rename_device(RenameDeviceArgs) -> SessionInfo;
            /// Signs another device out (this device's own "Sign out" is `sign_out`).
            sign_out_device(DeviceArgs) -> ();
            /// Signs out every device but this one.
            sign_out_others() -> Revoked;
            /// Signs out every device, this one included.
            sign_out_everywhere() -> AppState;
            /// Signs this device out: the keychain entry goes at once, the revocation may
            /// be pending until the server confirms it.
            sign_out() -> AppState;
            /// The account's security history, newest first.
            activity() -> Vec<ActivityEvent>;
            /// Forgets the "signed out from elsewhere" notice.
            dismiss_notice() -> AppState;
            /// The first screen is on screen: logged once as the start time
            /// (`session_manager::startup`).
            first_paint(FirstPaintArgs) -> ();
            /// Whether the app starts at login (hidden, in the tray, watching).
            start_at_login() -> StartAtLogin;
            /// Switches starting at login on or off; answers the setting as it now is.
            set_start_at_login(StartAtLoginArgs) -> StartAtLogin;
        }
    };
}

/// The names of the commands, in the list's order.
macro_rules! command_names {
    ($($(#[doc = $doc:literal])* $name:ident($($args:ty)?) -> $answer:ty;)*) => {
        &[$(stringify!($name)),*]
    };
}
