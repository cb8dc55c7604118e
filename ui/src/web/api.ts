// What the account page makes of the server's answers: the API's errors as the app's
// AppErrors, and the event stream's events as the app's events. Pure: no fetch, no DOM.

import type {
  ActivityEvent,
  ActivityKind,
  AlertKind,
  AppError,
  DevicesChanged,
  RevocationReason,
  SecurityAlert,
  SessionInfo,
  SignedOutNotice,
} from "../types";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function strOrNull(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

/**
 * Said when the account has two-step sign-in: the page cannot ask for the code until the
 * sign-in form has its second step (the desktop app's, issue 10), which it shares.
 */
export const TWO_STEP_NOT_YET =
  "This account has two-step sign-in, which this page cannot ask for yet. Sign in with the Session Manager app or sessionctl.";

/**
 * An error answer of the API (`{"error","error_description"}`, docs/API.md) as the
 * AppError the views know (the client library's codes, so the same words show as in
 * the desktop app). A code without an equivalent keeps the server's own, whose
 * description the views then show as it is.
 */
export function fromApiError(status: number, body: unknown, retryAfter: string | null): AppError {
  const b = isRecord(body) ? body : {};
  const code = str(b.error);
  const message = str(b.error_description);
  if (status === 429) {
    const err: AppError = { code: "rate_limited", message };
    const secs = Number(retryAfter);
    if (retryAfter !== null && Number.isFinite(secs) && secs >= 0) err.retry_after_secs = secs;
    return err;
  }
  switch (code) {
    case "invalid_credentials":
      return { code: "invalid_credentials", message };
    case "invalid_token":
      return { code: "session_revoked", message };
    case "not_found":
      return { code: "not_found", message };
    case "validation_failed":
    case "weak_password":
      return { code: "validation_failed", message };
    case "mfa_required":
      return { code: "mfa_required", message: TWO_STEP_NOT_YET };
    default:
      break;
  }
  if (status === 401) return { code: "session_revoked", message };
  if (status >= 500) return { code: "server_error", message };
  return { code: code || "unknown", message: message || `The server answered ${status}.` };
}

// Every value of the closed sets the generated contract has: a value added on the Rust
// side fails the type check here until it is listed. Anything else reads as "unknown",
// as the client library reads it.
const ACTIVITY_KINDS: Record<ActivityKind, true> = {
  signed_in: true,
  refreshed: true,
  refresh_retried: true,
  renamed: true,
  revoked: true,
  signed_out_everywhere: true,
  refresh_token_reuse: true,
  password_changed: true,
  two_step_enabled: true,
  two_step_disabled: true,
  wiped: true,
  unknown: true,
};

const REASONS: Record<RevocationReason, true> = {
  logout: true,
  revoked: true,
  revoked_others: true,
  signed_out_everywhere: true,
  refresh_token_reuse: true,
  admin: true,
  unknown: true,
};

const ALERT_KINDS: Record<AlertKind, true> = {
  refresh_token_reuse: true,
  password_changed: true,
  two_step_disabled: true,
  unknown: true,
};

function known<T extends string>(set: Record<T, true>, v: unknown): T {
  return typeof v === "string" && Object.hasOwn(set, v) ? (v as T) : ("unknown" as T);
}

/** `GET /v1/sessions`'s sessions. */
export function toSessions(body: unknown): SessionInfo[] {
  const list = isRecord(body) && Array.isArray(body.sessions) ? body.sessions : [];
  return list.filter(isRecord).map(toSession);
}

/** One session as the API answers it (the list, a rename). */
export function toSession(s: Record<string, unknown>): SessionInfo {
  const d = isRecord(s.device) ? s.device : {};
  return {
    id: str(s.id),
    device: {
      name: str(d.name),
      platform: str(d.platform),
      os_version: str(d.os_version),
      app_version: str(d.app_version),
    },
    created_at: str(s.created_at),
    last_seen_at: str(s.last_seen_at),
    last_ip: strOrNull(s.last_ip),
    current: s.current === true,
  };
}

/** `GET /v1/activity`'s events. */
export function toActivity(body: unknown): ActivityEvent[] {
  const list = isRecord(body) && Array.isArray(body.events) ? body.events : [];
  return list.filter(isRecord).map((e) => {
    const d = isRecord(e.device) ? e.device : null;
    const event: ActivityEvent = {
      at: str(e.at),
      kind: known(ACTIVITY_KINDS, e.kind),
      session_id: strOrNull(e.session_id),
      device: d
        ? { name: str(d.name), platform: str(d.platform), os_version: str(d.os_version), app_version: str(d.app_version) }
        : null,
      ip: strOrNull(e.ip),
      by_session_id: strOrNull(e.by_session_id),
    };
    if (typeof e.reason === "string") event.reason = known(REASONS, e.reason);
    return event;
  });
}

/** `GET /account/api/notice`: why this browser's session ended, worded by the server. */
export function toNotice(body: unknown): SignedOutNotice | null {
  if (!isRecord(body) || typeof body.message !== "string") return null;
  return {
    message: body.message,
    by_session_id: strOrNull(body.by_session_id),
    by_device_name: strOrNull(body.by_device_name),
    reason: known(REASONS, body.reason),
    at: str(body.at),
  };
}

/** The events of `/v1/events` the page listens for (docs/API.md, "Event stream"). */
export const SERVER_EVENTS = [
  "session.revoked",
  "session.created",
  "session.renamed",
  "session.wiped",
  "security.alert",
] as const;

/** What an event of the stream means for the page. */
export type Translated =
  | { event: "devices-changed"; payload: DevicesChanged }
  | { event: "security-alert"; payload: SecurityAlert }
  /** This browser's own session ended. */
  | { event: "ended" };

/**
 * An event of the account's stream as the desktop app passes it on (src-tauri's
 * events.rs): a security alert, then "the devices changed" for every event; the end of
 * this browser's own session instead when it is the one revoked.
 */
export function translateServerEvent(name: string, data: string, ownSessionId: string | null): Translated[] {
  let body: unknown = null;
  try {
    body = JSON.parse(data);
  } catch {
    // An event without a readable body still says something changed.
  }
  const b = isRecord(body) ? body : {};
  if (name === "session.revoked" && ownSessionId !== null && b.session_id === ownSessionId) {
    return [{ event: "ended" }];
  }
  const out: Translated[] = [];
  if (name === "security.alert") {
    out.push({
      event: "security-alert",
      payload: {
        kind: known(ALERT_KINDS, b.kind),
        session_id: strOrNull(b.session_id),
        at: str(b.at),
        message: str(b.message),
      },
    });
  }
  out.push({ event: "devices-changed", payload: { reason: name } });
  return out;
}
