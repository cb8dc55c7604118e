// Activity-log logic: who did what, in words.

import { systemText } from "./devices";
import type { ActivityEvent, SessionInfo } from "./types";

/** Session id → device name, from the live device list and the log itself. */
export type NameIndex = ReadonlyMap<string, string>;

/**
 * Builds the index. Current device names win; for sessions that are gone, the
 * newest name the log mentions (the log is newest first).
 */
export function buildNameIndex(
  devices: ReadonlyArray<Pick<SessionInfo, "id" | "device">>,
  events: readonly ActivityEvent[],
): NameIndex {
  const names = new Map<string, string>();
  for (const d of devices) names.set(d.id, d.device.name);
  for (const e of events) {
    if (e.session_id && e.device && !names.has(e.session_id)) names.set(e.session_id, e.device.name);
  }
  return names;
}

/** Part of a sentence: text, or a device name (shown isolated, in a `<bdi>`). */
export type Part = string | { name: string };

/** The plain text of a sentence made of parts. */
export function partsText(parts: readonly Part[]): string {
  return parts.map((p) => (typeof p === "string" ? p : p.name)).join("");
}

export interface ActivityText {
  /** One line: what happened. */
  title: string;
  /** Secondary details (system, address, why); empty when none. */
  detail: string;
  /** Security-relevant: shown as an alert. */
  alert: boolean;
}

/** The same, with the line's device names marked (to isolate them on screen). */
export interface ActivityParts extends ActivityText {
  titleParts: Part[];
}

interface Who {
  index: NameIndex;
  currentSessionId: string | null;
}

/** The name of a session for a sentence: "this device", its name, or null. */
export function sessionName(id: string | null, who: Who): string | null {
  const part = sessionPart(id, who);
  return part === null ? null : partsText([part]);
}

function sessionPart(id: string | null, who: Who): Part | null {
  if (!id) return null;
  if (id === who.currentSessionId) return "this device";
  const name = who.index.get(id);
  return name === undefined ? null : { name };
}

function subject(e: ActivityEvent, who: Who): Part[] {
  const name = e.device?.name ?? (e.session_id ? who.index.get(e.session_id) : undefined);
  const parts: Part[] = [name === undefined ? "A device" : { name }];
  if (e.session_id && e.session_id === who.currentSessionId) parts.push(" (this device)");
  return parts;
}

/** " by Work laptop" when another session did it, nothing when unknown or the device itself. */
function byClause(e: ActivityEvent, who: Who): Part[] {
  if (!e.by_session_id || e.by_session_id === e.session_id) return [];
  return [" by ", sessionPart(e.by_session_id, who) ?? "another device"];
}

function joinDetail(parts: Array<string | null | undefined | false>): string {
  return parts.filter((p): p is string => typeof p === "string" && p.length > 0).join(" · ");
}

function fromIp(e: ActivityEvent): string | null {
  return e.ip ? `from ${e.ip}` : null;
}

function said(titleParts: Part[], detail: string, alert = false): ActivityParts {
  return { title: partsText(titleParts), titleParts, detail, alert };
}

export function describeActivity(e: ActivityEvent, who: Who): ActivityText {
  const { title, detail, alert } = describeActivityParts(e, who);
  return { title, detail, alert };
}

export function describeActivityParts(e: ActivityEvent, who: Who): ActivityParts {
  const name = subject(e, who);
  const system = e.device ? systemText(e.device.platform, e.device.os_version) : null;
  switch (e.kind) {
    case "signed_in":
      return said([...name, " signed in"], joinDetail([system, fromIp(e)]));
    case "refreshed":
      return said([...name, " renewed its sign-in"], joinDetail([fromIp(e)]));
    case "refresh_retried":
      return said(
        [...name, " renewed its sign-in again"],
        joinDetail(["an answer that did not reach it was sent again", fromIp(e)]),
      );
    case "renamed":
      return said(
        ["Device renamed to “", e.device ? { name: e.device.name } : "?", "”", ...byClause(e, who)],
        joinDetail([system]),
      );
    case "revoked":
      return describeRevoked(e, name, who);
    case "signed_out_everywhere": {
      const by = sessionPart(e.by_session_id ?? e.session_id, who);
      return said(
        by ? ["Signed out everywhere by ", by] : ["Signed out everywhere"],
        joinDetail(["every device had to sign in again", fromIp(e)]),
      );
    }
    case "refresh_token_reuse":
      return said(
        ["Possible stolen sign-in on ", ...name],
        joinDetail(["an old sign-in token of this device was used again, so it was signed out", fromIp(e)]),
        true,
      );
    case "password_changed":
      return said(["Password changed on ", ...name], joinDetail(["the account's password was changed", fromIp(e)]));
    case "two_step_enabled":
      return said(
        ["Two-step sign-in turned on from ", ...name],
        joinDetail(["signing in now also takes a code from an authenticator app", fromIp(e)]),
      );
    case "two_step_disabled":
      return said(
        ["Two-step sign-in turned off from ", ...name],
        joinDetail(["signing in takes the password alone again", fromIp(e)]),
      );
    case "wiped":
      return said(
        [...name, " erased its keys"],
        joinDetail(["it confirmed it no longer holds its sign-in", fromIp(e)]),
      );
    default: {
      const kind: string = e.kind;
      return said([...name, `: ${kind.replace(/_/g, " ")}`], joinDetail([fromIp(e)]));
    }
  }
}

function describeRevoked(e: ActivityEvent, name: Part[], who: Who): ActivityParts {
  switch (e.reason) {
    case "logout":
      return said([...name, " signed out"], joinDetail([fromIp(e)]));
    case "refresh_token_reuse":
      return said([...name, " was signed out after a possible stolen sign-in"], joinDetail([fromIp(e)]), true);
    case "admin":
      return said([...name, " was signed out by an administrator"], "");
    case "revoked_others":
      return said(
        [...name, " was signed out", ...byClause(e, who)],
        joinDetail(["all other devices were signed out", fromIp(e)]),
      );
    case "signed_out_everywhere":
      return said([...name, " was signed out", ...byClause(e, who)], joinDetail(["signed out everywhere", fromIp(e)]));
    case "password_changed":
      return said(
        [...name, " was signed out", ...byClause(e, who)],
        joinDetail(["the password was changed", fromIp(e)]),
      );
    default: {
      // No reason, or "revoked": one device signed another out.
      const self = e.by_session_id !== null && e.by_session_id === e.session_id;
      return said(self ? [...name, " signed out"] : [...name, " was signed out", ...byClause(e, who)], joinDetail([fromIp(e)]));
    }
  }
}
