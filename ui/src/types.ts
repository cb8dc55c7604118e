// The IPC contract's types. They are generated from the Rust side into ./generated
// (see docs/app-ipc.md): change them there, never here. This file only re-exports them
// and adds what the UI makes of a failure of the bridge itself.

import type { AppErrorCode } from "./generated/AppErrorCode";
import type { Commands } from "./generated/Commands";
import type { ErrorInfo } from "./generated/ErrorInfo";
import type { EventMap } from "./generated/EventMap";

export type { Account } from "./generated/Account";
export type { ActivityEvent } from "./generated/ActivityEvent";
export type { ActivityKind } from "./generated/ActivityKind";
export type { AlertKind } from "./generated/AlertKind";
export type { AppErrorCode } from "./generated/AppErrorCode";
export type { AppState } from "./generated/AppState";
export type { ChangePasswordArgs } from "./generated/ChangePasswordArgs";
export type { CodeArgs } from "./generated/CodeArgs";
export type { Commands } from "./generated/Commands";
export type { Device } from "./generated/Device";
export type { DeviceArgs } from "./generated/DeviceArgs";
export type { DevicesChanged } from "./generated/DevicesChanged";
export type { ErrorCode } from "./generated/ErrorCode";
export type { EventMap } from "./generated/EventMap";
export type { FirstPaintArgs } from "./generated/FirstPaintArgs";
export type { FlowCode } from "./generated/FlowCode";
export type { Keychain } from "./generated/Keychain";
export type { NewSignIn } from "./generated/NewSignIn";
export type { PasswordArgs } from "./generated/PasswordArgs";
export type { RecoveryCodes } from "./generated/RecoveryCodes";
export type { RenameDeviceArgs } from "./generated/RenameDeviceArgs";
export type { RevocationReason } from "./generated/RevocationReason";
export type { Revoked } from "./generated/Revoked";
export type { Screen } from "./generated/Screen";
export type { SecondStepArgs } from "./generated/SecondStepArgs";
export type { SecurityAlert } from "./generated/SecurityAlert";
export type { SessionId } from "./generated/SessionId";
export type { SessionInfo } from "./generated/SessionInfo";
export type { ShowDevice } from "./generated/ShowDevice";
export type { SignedOutDevice } from "./generated/SignedOutDevice";
export type { SignedOutNotice } from "./generated/SignedOutNotice";
export type { SignInArgs } from "./generated/SignInArgs";
export type { StartAtLogin } from "./generated/StartAtLogin";
export type { StartAtLoginArgs } from "./generated/StartAtLoginArgs";
export type { TwoStepDisableArgs } from "./generated/TwoStepDisableArgs";
export type { TwoStepSetup } from "./generated/TwoStepSetup";

/** Codes the UI gives failures of the bridge itself (not from the backend). */
export type BridgeErrorCode = "unknown" | "internal";

/**
 * What every command rejects with: the backend's ErrorInfo (its code one of the client's
 * or, for the next step of a flow, one of the app's own), or a failure of the bridge.
 * Any other code (there should be none) is shown with its `message`.
 */
export type AppError = Omit<ErrorInfo, "code"> & { code: AppErrorCode | BridgeErrorCode | (string & {}) };

export type CommandName = keyof Commands;
/** The argument object of a command (`null`: it takes none). */
export type CommandArgs<C extends CommandName> = Commands[C]["args"];
/** What a command resolves with. */
export type CommandAnswer<C extends CommandName> = Commands[C]["answer"];

export type EventName = keyof EventMap;
