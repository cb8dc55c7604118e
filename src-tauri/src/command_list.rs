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
            /// Completes a sign-in that `sign_in` answered with `two_step_required`, with
            /// a code from the authenticator app or a recovery code.
            sign_in_second_step(SecondStepArgs) -> AppState;
            /// The account: its email, and whether two-step sign-in is on.
            account() -> Account;
            /// Changes the password (the current one is needed); answers how many
            /// other devices were signed out.
            change_password(ChangePasswordArgs) -> Revoked;
            /// Starts turning two-step sign-in on: the secret for an authenticator app.
            two_step_start(PasswordArgs) -> TwoStepSetup;
            /// Turns two-step sign-in on with the app's first code; answers the recovery
            /// codes, shown this once.
            two_step_confirm(CodeArgs) -> RecoveryCodes;
            /// Turns two-step sign-in off (the password and a code or recovery code).
            two_step_disable(TwoStepDisableArgs) -> ();
            /// The devices signed out in the last 7 days, and whether each has erased
            /// its keys.
            signed_out_devices() -> Vec<SignedOutDevice>;
            /// The device a click on an OS notification asked to show, once (`null`:
            /// none); for a window that the click opened.
            device_to_show() -> Option<SessionId>;
        }
    };
}

/// The names of the commands, in the list's order.
macro_rules! command_names {
    ($($(#[doc = $doc:literal])* $name:ident($($args:ty)?) -> $answer:ty;)*) => {
        &[$(stringify!($name)),*]
    };
}
