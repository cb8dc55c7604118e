// Sample data for the demo page.

import type { ActivityEvent } from "../types";
import { device, FakeIpc, signedOutDevice, WAITING } from "./fake-ipc";

const ago = (now: Date, minutes: number): string => new Date(now.getTime() - minutes * 60_000).toISOString();

export function demoBackend(scenario: string, now: Date): FakeIpc {
  const signedIn = !["sign-in", "signed-out", "rate-limited", "two-step-sign-in"].includes(scenario);
  const devices = [
    device("s-this", "Ada's laptop", { current: true, platform: "linux", os_version: "Debian 12", app_version: "1.0.0", last_ip: "198.51.100.4", created_at: ago(now, 60 * 24 * 40), last_seen_at: ago(now, 0) }),
    device("s-work", "Work laptop", { platform: "macos", os_version: "14.5", app_version: "1.0.0", last_ip: "203.0.113.20", created_at: ago(now, 60 * 24 * 12), last_seen_at: ago(now, 5) }),
    device("s-phone", "Pixel 8", { platform: "android", os_version: "15", app_version: "0.9.2", last_ip: "2001:db8::8", created_at: ago(now, 60 * 24 * 3), last_seen_at: ago(now, 60 * 20) }),
    device("s-tablet", "Old tablet — kitchen, with a rather long name to see wrapping", { platform: "ios", os_version: "16.7", app_version: "0.8.0", last_ip: null, created_at: ago(now, 60 * 24 * 200), last_seen_at: ago(now, 60 * 24 * 9) }),
    device("s-win", "<img src=x onerror=alert(1)>", { platform: "windows", os_version: "11 23H2", app_version: "1.0.0", last_ip: "192.0.2.44", created_at: ago(now, 60 * 24 * 1), last_seen_at: ago(now, 60 * 26) }),
  ];
  const activity: ActivityEvent[] = [
    { at: ago(now, 1), kind: "refresh_token_reuse", session_id: "s-old", device: { name: "Old phone", platform: "ios", os_version: "15", app_version: "0.7" }, ip: "192.0.2.99", by_session_id: null },
    { at: ago(now, 3), kind: "revoked", session_id: "s-old", device: { name: "Old phone", platform: "ios", os_version: "15", app_version: "0.7" }, ip: null, by_session_id: null, reason: "refresh_token_reuse" },
    { at: ago(now, 30), kind: "renamed", session_id: "s-work", device: devices[1]!.device, ip: "198.51.100.4", by_session_id: "s-this" },
    { at: ago(now, 60 * 3), kind: "revoked", session_id: "s-lost", device: { name: "Lost laptop", platform: "windows", os_version: "10", app_version: "0.9" }, ip: "198.51.100.4", by_session_id: "s-work", reason: "revoked" },
    { at: ago(now, 60 * 20), kind: "refreshed", session_id: "s-phone", device: devices[2]!.device, ip: "2001:db8::8", by_session_id: null },
    { at: ago(now, 60 * 24 * 3), kind: "signed_in", session_id: "s-phone", device: devices[2]!.device, ip: "2001:db8::8", by_session_id: null },
    { at: ago(now, 60 * 24 * 20), kind: "signed_out_everywhere", session_id: "s-this", device: null, ip: "198.51.100.4", by_session_id: "s-this" },
  ];
  // Sample data: in the app the Rust side words the status (proto::notice).
  const lost = device("s-lost", "Lost laptop", { platform: "windows", os_version: "10", last_ip: "192.0.2.9", created_at: ago(now, 60 * 24 * 90), last_seen_at: ago(now, 60 * 4) });
  const oldPhone = device("s-old", "Old phone", { platform: "ios", os_version: "15", last_ip: "192.0.2.99", created_at: ago(now, 60 * 24 * 300), last_seen_at: ago(now, 60) });
  const wipedAt = new Date(now.getTime() - 2 * 60 * 60_000);
  const signedOut = [
    signedOutDevice(lost, { revoked_at: ago(now, 60 * 3), revoked_reason: "revoked", wiped_at: wipedAt.toISOString(), wiped_ip: "192.0.2.9", wipe_status: `Keys erased from this device at ${String(wipedAt.getHours()).padStart(2, "0")}:${String(wipedAt.getMinutes()).padStart(2, "0")}, from 192.0.2.9` }),
    signedOutDevice(oldPhone, { revoked_at: ago(now, 3), revoked_reason: "refresh_token_reuse", wipe_status: WAITING }),
  ];
  activity.unshift(
    { at: ago(now, 60 * 2), kind: "wiped", session_id: "s-lost", device: lost.device, ip: "192.0.2.9", by_session_id: null },
    { at: ago(now, 60 * 2 + 30), kind: "two_step_enabled", session_id: "s-this", device: devices[0]!.device, ip: "198.51.100.4", by_session_id: null },
    { at: ago(now, 60 * 2 + 40), kind: "password_changed", session_id: "s-this", device: devices[0]!.device, ip: "198.51.100.4", by_session_id: null },
  );
  activity.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  return new FakeIpc({
    state: signedIn ? { signed_in: true, session_id: "s-this" } : { signed_in: false },
    devices,
    activity,
    signedOut,
    twoStep: scenario === "two-step-sign-in",
    latencyMs: 250,
    now: () => new Date(),
  });
}
