// What the account page makes of the server's answers: the API's errors as the app's
// AppErrors, and the event stream's events as the app's events. Pure: no fetch, no DOM.

import type {
  Account,
  ActivityEvent,
  ActivityKind,
  AlertKind,
  AppError,
  Device,
  DevicesChanged,
  RecoveryCodes,
  RevocationReason,
  SecurityAlert,
  SessionInfo,
  SignedOutDevice,
  SignedOutNotice,
  TwoStepSetup,
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
 * An error answer of the API (`{"error","error_description"}`, docs/API.md) as the
 * AppError the views know: the codes the desktop app rejects with (the client
 * library's, and the app's own flow codes of two-step sign-in), so the same words show
 * as in the app. A code without an equivalent keeps the server's own, whose
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
    // The password was right; the challenge is in an HttpOnly cookie the page never
    // reads. The sign-in form asks for the code, as in the app.
    case "mfa_required":
      return { code: "two_step_required", message };
    // A wrong or used code may be tried again (401 at sign-in, 422 in the Security tab).
    case "invalid_code":
      return { code: "validation_failed", message };
    // The sign-in waiting for its code expired, was completed or was given up.
    case "invalid_challenge":
      return { code: "two_step_expired", message };
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
  password_changed: true,
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
  return {
    id: str(s.id),
    device: toDevice(s.device),
    created_at: str(s.created_at),
    last_seen_at: str(s.last_seen_at),
    last_ip: strOrNull(s.last_ip),
    current: s.current === true,
  };
}

function toDevice(v: unknown): Device {
  const d = isRecord(v) ? v : {};
  return { name: str(d.name), platform: str(d.platform), os_version: str(d.os_version), app_version: str(d.app_version) };
}

/** `GET /v1/account`, as the app's `account` answers it. */
export function toAccount(body: unknown): Account {
  const b = isRecord(body) ? body : {};
  return { email: str(b.email), created_at: str(b.created_at), two_step: b.two_step === true };
}

/**
 * `POST /v1/account/two-step`, as the app's `two_step_start` answers it: the key and the
 * QR code. The `otpauth://` URI is left out, as the app leaves it out: the page has no
 * use for the secret in a second form.
 */
export function toTwoStepSetup(body: unknown): TwoStepSetup {
  const b = isRecord(body) ? body : {};
  return { secret: str(b.secret), qr_svg: str(b.qr_svg) };
}

/** `POST /v1/account/two-step/confirm`: the recovery codes, shown this once. */
export function toRecoveryCodes(body: unknown): RecoveryCodes {
  const list = isRecord(body) && Array.isArray(body.recovery_codes) ? body.recovery_codes : [];
  return { recovery_codes: list.filter((c): c is string => typeof c === "string") };
}

/**
 * `GET /account/api/signed-out`: the devices signed out in the last 7 days, their wipe
 * status worded by the server in the app's words (`proto::notice`), never here.
 */
export function toSignedOutDevices(body: unknown): SignedOutDevice[] {
  const list = isRecord(body) && Array.isArray(body.devices) ? body.devices : [];
  return list.filter(isRecord).map((d) => ({
    id: str(d.id),
    device: toDevice(d.device),
    created_at: str(d.created_at),
    last_seen_at: str(d.last_seen_at),
    last_ip: strOrNull(d.last_ip),
    revoked_at: str(d.revoked_at),
    revoked_reason: known(REASONS, d.revoked_reason),
    wiped_at: strOrNull(d.wiped_at),
    wiped_ip: strOrNull(d.wiped_ip),
    wipe_status: str(d.wipe_status),
  }));
}

/** `GET /v1/activity`'s events. */
export function toActivity(body: unknown): ActivityEvent[] {
  const list = isRecord(body) && Array.isArray(body.events) ? body.events : [];
  return list.filter(isRecord).map((e) => {
    const event: ActivityEvent = {
      at: str(e.at),
      kind: known(ACTIVITY_KINDS, e.kind),
      session_id: strOrNull(e.session_id),
      device: isRecord(e.device) ? toDevice(e.device) : null,
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
