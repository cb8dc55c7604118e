// AppError → text for people.

import type { AppError } from "./types";

export type ErrorContext = "sign-in" | "devices" | "rename" | "sign-out" | "activity" | "start";

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

/**
 * The message to show for an error. `serverUrl` names the server for
 * `server_unreachable`; `context` picks the wording where it matters.
 */
export function errorMessage(err: AppError, context: ErrorContext, serverUrl?: string | null): string {
  switch (err.code) {
    case "invalid_credentials":
      return "Wrong email or password.";
    case "server_unreachable":
      return serverUrl
        ? `Can't reach the server at ${serverUrl}. Check the address and your connection.`
        : "Can't reach the server. Check your connection.";
    case "rate_limited":
      return rateLimitText(Math.max(1, Math.ceil(err.retry_after_secs ?? 60)));
    case "keychain_unavailable":
      return withDetail(
        "The system keychain is unavailable, so the app cannot keep you signed in.",
        err.message,
      );
    case "keychain_locked":
      return "The system keychain is locked. Unlock it and try again.";
    case "not_signed_in":
      return "You are not signed in.";
    case "session_revoked":
      return "This device has been signed out.";
    case "not_found":
      return context === "rename" || context === "sign-out"
        ? "That device is no longer signed in."
        : "Not found.";
    case "validation_failed":
      return err.message.trim() || "Check what you entered.";
    case "server_error":
      return "The server had a problem. Try again in a moment.";
    default:
      return err.message.trim() || "Something went wrong. Try again.";
  }
}
