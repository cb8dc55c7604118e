// Activity-log logic: who did what, in words.

import { systemText } from "./devices";
import type { ActivityEvent, SessionInfo } from "./types";

/** Session id → device name, from the live device list and the log itself. */
export type NameIndex = ReadonlyMap<string, string>;

/**
 * Builds the index. Current device names win; for sessions that are gone, the
 * newest name the log mentions (the log is newest first).
 */
export function buildNameIndex(devices: readonly SessionInfo[], events: readonly ActivityEvent[]): NameIndex {
  const names = new Map<string, string>();
  for (const d of devices) names.set(d.id, d.device.name);
  for (const e of events) {
    if (e.session_id && e.device && !names.has(e.session_id)) names.set(e.session_id, e.device.name);
  }
  return names;
}

export interface ActivityText {
  /** One line: what happened. */
  title: string;
  /** Secondary details (system, address, why); empty when none. */
  detail: string;
  /** Security-relevant: shown as an alert. */
  alert: boolean;
}

interface Who {
  index: NameIndex;
  currentSessionId: string | null;
}

/** The name of a session for a sentence: "this device", its name, or null. */
export function sessionName(id: string | null, who: Who): string | null {
  if (!id) return null;
  if (id === who.currentSessionId) return "this device";
  return who.index.get(id) ?? null;
}

function subject(e: ActivityEvent, who: Who): string {
  const name = e.device?.name ?? (e.session_id ? who.index.get(e.session_id) : undefined) ?? "A device";
  return e.session_id && e.session_id === who.currentSessionId ? `${name} (this device)` : name;
}

/** " by Work laptop" when another session did it, "" when unknown or the device itself. */
function byClause(e: ActivityEvent, who: Who): string {
  if (!e.by_session_id || e.by_session_id === e.session_id) return "";
  return ` by ${sessionName(e.by_session_id, who) ?? "another device"}`;
}

function joinDetail(parts: Array<string | null | undefined | false>): string {
  return parts.filter((p): p is string => typeof p === "string" && p.length > 0).join(" · ");
}

function fromIp(e: ActivityEvent): string | null {
  return e.ip ? `from ${e.ip}` : null;
}

export function describeActivity(e: ActivityEvent, who: Who): ActivityText {
  const name = subject(e, who);
  const system = e.device ? systemText(e.device.platform, e.device.os_version) : null;
  switch (e.kind) {
    case "signed_in":
      return { title: `${name} signed in`, detail: joinDetail([system, fromIp(e)]), alert: false };
    case "refreshed":
      return { title: `${name} renewed its sign-in`, detail: joinDetail([fromIp(e)]), alert: false };
    case "renamed":
      return {
        title: `Device renamed to “${e.device?.name ?? "?"}”${byClause(e, who)}`,
        detail: joinDetail([system]),
        alert: false,
      };
    case "revoked":
      return describeRevoked(e, name, who);
    case "signed_out_everywhere": {
      const by = sessionName(e.by_session_id ?? e.session_id, who);
      return {
        title: by ? `Signed out everywhere by ${by}` : "Signed out everywhere",
        detail: joinDetail(["every device had to sign in again", fromIp(e)]),
        alert: false,
      };
    }
    case "refresh_token_reuse":
      return {
        title: `Possible stolen sign-in on ${name}`,
        detail: joinDetail([
          "an old sign-in token of this device was used again, so it was signed out",
          fromIp(e),
        ]),
        alert: true,
      };
    default: {
      const kind: string = e.kind;
      return { title: `${name}: ${kind.replace(/_/g, " ")}`, detail: joinDetail([fromIp(e)]), alert: false };
    }
  }
}

function describeRevoked(e: ActivityEvent, name: string, who: Who): ActivityText {
  switch (e.reason) {
    case "logout":
      return { title: `${name} signed out`, detail: joinDetail([fromIp(e)]), alert: false };
    case "refresh_token_reuse":
      return {
        title: `${name} was signed out after a possible stolen sign-in`,
        detail: joinDetail([fromIp(e)]),
        alert: true,
      };
    case "admin":
      return { title: `${name} was signed out by an administrator`, detail: "", alert: false };
    case "revoked_others":
      return {
        title: `${name} was signed out${byClause(e, who)}`,
        detail: joinDetail(["all other devices were signed out", fromIp(e)]),
        alert: false,
      };
    case "signed_out_everywhere":
      return {
        title: `${name} was signed out${byClause(e, who)}`,
        detail: joinDetail(["signed out everywhere", fromIp(e)]),
        alert: false,
      };
    default: {
      // No reason, or "revoked": one device signed another out.
      const by = byClause(e, who);
      const self = e.by_session_id !== null && e.by_session_id === e.session_id;
      return {
        title: self ? `${name} signed out` : `${name} was signed out${by}`,
        detail: joinDetail([fromIp(e)]),
        alert: false,
      };
    }
  }
}
