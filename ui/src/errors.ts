// AppError → text for people.

import type { AppError, AppErrorCode } from "./types";

export type ErrorContext =
  | "sign-in"
  | "devices"
  | "rename"
  | "sign-out"
  | "activity"
  | "start"
  | "settings"
  /** Confirming with the current password (change it, two-step on or off). */
  | "security";

/** Errors after which this device is no longer signed in: go back to sign-in. */
export function endsSession(err: AppError): boolean {
  return err.code === "not_signed_in" || err.code === "session_revoked";
}

export function rateLimitText(seconds: number): string {
  return `Too many attempts. Try again in ${seconds} s`;
}

function withDetail(text: string, detail: string): string {
  const d = detail.trim();
  return d ? `${text} (${d})` : text;
}

type Wording = (err: AppError, context: ErrorContext, serverUrl?: string | null) => string;

/**
 * Words for every code the backend has (`AppErrorCode`, generated from Rust): a code
 * added there fails the type check here until it has words.
 */
const WORDS: Record<AppErrorCode, Wording> = {
  invalid_credentials: (_err, context) =>
    context === "security" ? "That is not your current password." : "Wrong email or password.",
  server_unreachable: (_err, _context, serverUrl) =>
    serverUrl
      ? `Can't reach the server at ${serverUrl}. Check the address and your connection.`
      : "Can't reach the server. Check your connection.",
  rate_limited: (err) => rateLimitText(Math.max(1, Math.ceil(err.retry_after_secs ?? 60))),
  keychain_unavailable: (err) =>
    withDetail("The system keychain is unavailable, so the app cannot keep you signed in.", err.message),
  keychain_locked: () => "The system keychain is locked. Unlock it and try again.",
  not_signed_in: () => "You are not signed in.",
  session_revoked: () => "This device has been signed out.",
  not_found: (_err, context) =>
    context === "rename" || context === "sign-out" ? "That device is no longer signed in." : "Not found.",
  validation_failed: (err) => err.message.trim() || "Check what you entered.",
  server_error: () => "The server had a problem. Try again in a moment.",
  config_error: (err) => withDetail("The app could not read or write its settings file.", err.message),
  two_step_required: () => "Enter the code your authenticator app shows.",
  two_step_expired: () => "This sign-in expired. Sign in again.",
};

function isErrorCode(code: string): code is AppErrorCode {
  return Object.hasOwn(WORDS, code);
}

/**
 * The message to show for an error. `serverUrl` names the server for
 * `server_unreachable`; `context` picks the wording where it matters.
 */
export function errorMessage(err: AppError, context: ErrorContext, serverUrl?: string | null): string {
  if (isErrorCode(err.code)) return WORDS[err.code](err, context, serverUrl);
  return err.message.trim() || "Something went wrong. Try again.";
}
