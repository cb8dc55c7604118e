import { endsSession } from "../errors";
import { toAppError, type Ipc } from "../ipc";
import type { AppError, AppState, Screen } from "../types";
import type { Confirm } from "./dialog";

/**
 * Where the views run: the desktop app, or the account page in a browser (served by the
 * session server itself: no server to choose, the browser named by the server, no
 * start at login).
 */
export type Host = "app" | "web";

/** What the views get from the app. */
export interface Ctx {
  readonly ipc: Ipc;
  readonly host: Host;
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

/**
 * What a view shows for the failure `e` of one of its commands, or null when the
 * failure means this device's session is over (not_signed_in, session_revoked): then
 * the app has been told, and shows sign-in instead of the view.
 */
export function failureToShow(ctx: Pick<Ctx, "sessionLost">, e: unknown): AppError | null {
  const err = toAppError(e);
  if (endsSession(err)) {
    ctx.sessionLost();
    return null;
  }
  return err;
}
