// The message shown on the sign-in screen after this device was signed out from elsewhere.

import { formatWhen, parseTime } from "./time";
import type { SignedOutNotice } from "./types";

/**
 * "This device was signed out from Work laptop at 14:02."
 * `ownSessionId` is the session this device had: a notice caused by that very
 * session (sign out everywhere from here) reads as the person's own action.
 */
export function noticeText(
  notice: SignedOutNotice,
  ownSessionId: string | null,
  now: Date,
  locale?: string,
): string {
  const at = parseTime(notice.at);
  const when = at ? ` ${formatWhen(at, now, locale)}` : "";
  const by = notice.by_device_name?.trim() || null;
  const self = notice.by_session_id !== null && notice.by_session_id === ownSessionId;

  switch (notice.reason) {
    case "refresh_token_reuse":
      return (
        `This device was signed out${when} because its sign-in was used from somewhere else ` +
        "(a possible stolen token). Sign in again and check your devices."
      );
    case "admin":
      return `This device was signed out by an administrator${when}.`;
    case "signed_out_everywhere":
      if (self) return `You signed out everywhere${when}.`;
      return by
        ? `This device was signed out when ${by} signed out everywhere${when}.`
        : `This device was signed out when your account was signed out everywhere${when}.`;
    default:
      if (self) return `You signed this device out${when}.`;
      return by
        ? `This device was signed out from ${by}${when}.`
        : `This device was signed out from another device${when}.`;
  }
}
