// The one place that talks to the Rust side. Everything else takes an `Ipc`, so
// tests and the demo can hand in a fake. Commands, their arguments and answers, and
// the events are typed by the contract generated from Rust (./generated).

import { invoke, type InvokeArgs } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type {
  AppError,
  ChangePasswordArgs,
  CommandAnswer,
  CommandArgs,
  CommandName,
  DeviceArgs,
  EventMap,
  EventName,
  FirstPaintArgs,
  RenameDeviceArgs,
  SecondStepArgs,
  SignInArgs,
  StartAtLoginArgs,
  TwoStepDisableArgs,
} from "./types";

export type Unlisten = () => void;

/**
 * What only the account page asks at sign-in; the desktop app's bridge has no use for
 * it (a computer of one's own keeps its sign-in in the OS keychain).
 */
export interface SignInOptions {
  /** "This is a shared computer": the browser forgets the sign-in when it closes. */
  sharedComputer?: boolean;
}

export interface Ipc {
  appState(): Promise<CommandAnswer<"app_state">>;
  signIn(args: SignInArgs, options?: SignInOptions): Promise<CommandAnswer<"sign_in">>;
  listDevices(): Promise<CommandAnswer<"list_devices">>;
  renameDevice(id: RenameDeviceArgs["id"], name: RenameDeviceArgs["name"]): Promise<CommandAnswer<"rename_device">>;
  signOutDevice(id: DeviceArgs["id"]): Promise<CommandAnswer<"sign_out_device">>;
  signOutOthers(): Promise<CommandAnswer<"sign_out_others">>;
  signOutEverywhere(): Promise<CommandAnswer<"sign_out_everywhere">>;
  signOut(): Promise<CommandAnswer<"sign_out">>;
  activity(): Promise<CommandAnswer<"activity">>;
  dismissNotice(): Promise<CommandAnswer<"dismiss_notice">>;
  /** The first screen is on screen (the backend logs the start time once). */
  firstPaint(screen: FirstPaintArgs["screen"], rows: FirstPaintArgs["rows"]): Promise<CommandAnswer<"first_paint">>;
  /** Whether the app starts (hidden, in the tray) at login. */
  startAtLogin(): Promise<CommandAnswer<"start_at_login">>;
  setStartAtLogin(enabled: StartAtLoginArgs["enabled"]): Promise<CommandAnswer<"set_start_at_login">>;
  /** After `signIn` rejected with `two_step_required`: the code (or a recovery code). */
  signInSecondStep(args: SecondStepArgs): Promise<CommandAnswer<"sign_in_second_step">>;
  account(): Promise<CommandAnswer<"account">>;
  changePassword(args: ChangePasswordArgs): Promise<CommandAnswer<"change_password">>;
  twoStepStart(password: string): Promise<CommandAnswer<"two_step_start">>;
  twoStepConfirm(code: string): Promise<CommandAnswer<"two_step_confirm">>;
  twoStepDisable(args: TwoStepDisableArgs): Promise<CommandAnswer<"two_step_disable">>;
  /** Devices signed out in the last 7 days, with their wipe receipts. */
  signedOutDevices(): Promise<CommandAnswer<"signed_out_devices">>;
  /** The device a click on a notification asked to show (once; null: none). */
  deviceToShow(): Promise<CommandAnswer<"device_to_show">>;
  on<E extends EventName>(event: E, handler: (payload: EventMap[E]) => void): Promise<Unlisten>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/**
 * Turns whatever a command rejected with into an AppError. The Rust side rejects
 * with `{code, message, retry_after_secs?}`; anything else (a string, an Error from
 * the bridge itself) is wrapped so callers can rely on the shape.
 */
export function toAppError(e: unknown): AppError {
  if (isRecord(e) && typeof e.code === "string") {
    const err: AppError = {
      // Whatever the backend sent: a code this UI does not know still shows its message.
      code: e.code as AppError["code"],
      message: typeof e.message === "string" ? e.message : "",
    };
    if (typeof e.retry_after_secs === "number" && Number.isFinite(e.retry_after_secs)) {
      err.retry_after_secs = e.retry_after_secs;
    }
    return err;
  }
  if (typeof e === "string") {
    try {
      const parsed: unknown = JSON.parse(e);
      if (isRecord(parsed) && typeof parsed.code === "string") return toAppError(parsed);
    } catch {
      // not JSON: a plain message
    }
    return { code: "unknown", message: e };
  }
  if (e instanceof Error) return { code: "internal", message: e.message };
  return { code: "unknown", message: "" };
}

/** Invokes `command` with its argument object (none for commands that take none). */
async function call<C extends CommandName>(
  command: C,
  ...args: CommandArgs<C> extends null ? [] : [CommandArgs<C>]
): Promise<CommandAnswer<C>> {
  try {
    return await invoke<CommandAnswer<C>>(command, args[0] as InvokeArgs | undefined);
  } catch (e) {
    throw toAppError(e);
  }
}

/** The real bridge: the Tauri commands and events of the contract. */
export function createTauriIpc(): Ipc {
  return {
    appState: () => call("app_state"),
    signIn: ({ serverUrl, email, password, deviceName }) =>
      call("sign_in", { serverUrl, email, password, deviceName }),
    listDevices: () => call("list_devices"),
    renameDevice: (id, name) => call("rename_device", { id, name }),
    signOutDevice: (id) => call("sign_out_device", { id }),
    signOutOthers: () => call("sign_out_others"),
    signOutEverywhere: () => call("sign_out_everywhere"),
    signOut: () => call("sign_out"),
    activity: () => call("activity"),
    dismissNotice: () => call("dismiss_notice"),
    firstPaint: (screen, rows) => call("first_paint", { screen, rows }),
    startAtLogin: () => call("start_at_login"),
    setStartAtLogin: (enabled) => call("set_start_at_login", { enabled }),
    signInSecondStep: ({ code, recovery }) => call("sign_in_second_step", { code, recovery }),
    account: () => call("account"),
    changePassword: ({ currentPassword, newPassword, signOutOtherDevices }) =>
      call("change_password", { currentPassword, newPassword, signOutOtherDevices }),
    twoStepStart: (password) => call("two_step_start", { password }),
    twoStepConfirm: (code) => call("two_step_confirm", { code }),
    twoStepDisable: ({ password, code }) => call("two_step_disable", { password, code }),
    signedOutDevices: () => call("signed_out_devices"),
    deviceToShow: () => call("device_to_show"),
    on: (event, handler) => listen<EventMap[typeof event]>(event, (e) => handler(e.payload)),
  };
}
