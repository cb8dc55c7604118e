import type { Ipc } from "../ipc";
import type { AppState } from "../types";
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
}
