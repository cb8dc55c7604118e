import type { Ipc } from "../ipc";
import type { AppState, Screen } from "../types";
import type { Confirm } from "./dialog";

/** What the views get from the app. */
export interface Ctx {
  readonly ipc: Ipc;
  readonly locale: string | undefined;
  now(): Date;
  confirm: Confirm;
  /** The latest AppState. */
  state(): AppState;
  /** This device is now signed out (by the person, here): show sign-in. */
  signedOut(state: AppState, info?: string): void;
  /** A command answered not_signed_in / session_revoked: re-read the state. */
  sessionLost(): void;
  /** A screen has its content (the first call per start is reported as the start time). */
  painted(screen: Screen, rows: number): void;
}
