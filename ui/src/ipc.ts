// The one place that talks to the Rust side. Everything else takes an `Ipc`, so
// tests and the demo can hand in a fake.

import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type {
  ActivityEvent,
  AppError,
  AppState,
  EventMap,
  EventName,
  Screen,
  SessionInfo,
  SignInArgs,
} from "./types";

export type Unlisten = () => void;

export interface Ipc {
  appState(): Promise<AppState>;
  signIn(args: SignInArgs): Promise<AppState>;
  listDevices(): Promise<SessionInfo[]>;
  renameDevice(id: string, name: string): Promise<SessionInfo>;
  signOutDevice(id: string): Promise<null>;
  signOutOthers(): Promise<{ revoked: number }>;
  signOutEverywhere(): Promise<AppState>;
  signOut(): Promise<AppState>;
  activity(): Promise<ActivityEvent[]>;
  dismissNotice(): Promise<AppState>;
  /** The first screen is on screen (the backend logs the start time once). */
  firstPaint(screen: Screen, rows: number): Promise<null>;
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
      code: e.code,
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

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toAppError(e);
  }
}

/** The real bridge: Tauri commands and events of docs/app-ipc.md. */
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
    on: (event, handler) => listen(event, (e) => handler(e.payload as EventMap[typeof event])),
  };
}
