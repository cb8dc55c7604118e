// Device-list logic that needs no DOM.

import type { RevocationReason, SessionInfo } from "./types";

export type Platform = "linux" | "macos" | "windows" | "ios" | "android" | "web" | "unknown";

const PLATFORM_ALIASES: Record<string, Platform> = {
  linux: "linux",
  macos: "macos",
  mac: "macos",
  osx: "macos",
  darwin: "macos",
  windows: "windows",
  win32: "windows",
  win: "windows",
  ios: "ios",
  ipados: "ios",
  android: "android",
  // A browser signed in on the account page (the server names it "Firefox on Windows").
  web: "web",
};

export function normalizePlatform(platform: string | null | undefined): Platform {
  const key = (platform ?? "").trim().toLowerCase().replace(/[\s_-]/g, "");
  return PLATFORM_ALIASES[key] ?? "unknown";
}

const PLATFORM_LABELS: Record<Platform, string> = {
  linux: "Linux",
  macos: "macOS",
  windows: "Windows",
  ios: "iOS",
  android: "Android",
  web: "Web browser",
  unknown: "Unknown system",
};

export function platformLabel(platform: Platform): string {
  return PLATFORM_LABELS[platform];
}

/** "macOS 14.5", or the platform alone when the version is not known. */
export function systemText(platform: string, osVersion: string): string {
  const p = normalizePlatform(platform);
  const v = osVersion.trim();
  // A browser's "version" is its system's name ("Windows"); the browser is in its name.
  if (p === "web") return v || platformLabel(p);
  const label = p === "unknown" && platform.trim() ? platform.trim() : platformLabel(p);
  if (!v) return label;
  // Some systems report a version that already names the system ("macOS 14.5").
  return v.toLowerCase().startsWith(label.toLowerCase()) ? v : `${label} ${v}`;
}

function time(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
}

/**
 * This device first, then by last activity, newest first (ties: newest sign-in,
 * then id, so the order is stable). The backend already sends this order; sorting
 * again keeps the UI right if it ever does not.
 */
export function sortDevices(list: readonly SessionInfo[]): SessionInfo[] {
  return [...list].sort((a, b) => {
    if (a.current !== b.current) return a.current ? -1 : 1;
    return (
      time(b.last_seen_at) - time(a.last_seen_at) ||
      time(b.created_at) - time(a.created_at) ||
      a.id.localeCompare(b.id)
    );
  });
}

/** The longest device name the UI accepts (see docs/app-ipc.md). */
export const MAX_DEVICE_NAME = 100;

/** null when the name is fine, else the message to show. */
export function validateDeviceName(name: string): string | null {
  const trimmed = name.trim();
  if (!trimmed) return "Enter a device name.";
  if ([...trimmed].length > MAX_DEVICE_NAME) {
    return `Use at most ${MAX_DEVICE_NAME} characters.`;
  }
  // Control characters would render invisibly and confuse the list.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) return "The name contains characters that cannot be shown.";
  return null;
}

/** "1 other device", "3 other devices". */
export function countText(n: number, singular: string, plural: string): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** Why a device was signed out, for the "Signed out" list ("" when not known). */
export function signedOutReason(reason: RevocationReason): string {
  switch (reason) {
    case "logout":
      return "signed out on the device itself";
    case "revoked":
      return "signed out from another device";
    case "revoked_others":
      return "all other devices were signed out";
    case "signed_out_everywhere":
      return "signed out everywhere";
    case "refresh_token_reuse":
      return "its sign-in was used from somewhere else";
    case "password_changed":
      return "the password was changed";
    case "admin":
      return "by an administrator";
    case "unknown":
      return "";
  }
}
