import { describe, expect, it, vi, afterEach } from "vitest";
import { buildNameIndex, describeActivity } from "../src/activity";
import {
  countText,
  normalizePlatform,
  sortDevices,
  systemText,
  validateDeviceName,
} from "../src/devices";
import { device } from "../src/demo/fake-ipc";
import { endsSession, errorMessage } from "../src/errors";
import { Countdown, formatWhen, relativeTime, secondsLeft } from "../src/time";
import type { ActivityEvent } from "../src/types";

const NOW = new Date(2025, 2, 3, 15, 0, 0); // 3 Mar 2025 15:00 local
const before = (ms: number): Date => new Date(NOW.getTime() - ms);
const MIN = 60_000;
const HOUR = 60 * MIN;

describe("relativeTime", () => {
  it.each<[string, Date, string]>([
    ["a few seconds", before(20_000), "just now"],
    ["slightly in the future (clock skew)", new Date(NOW.getTime() + 30_000), "just now"],
    ["exactly one minute", before(MIN), "1 min ago"],
    ["five minutes", before(5 * MIN + 10_000), "5 min ago"],
    ["59 minutes", before(59 * MIN), "59 min ago"],
    ["three hours, same day", before(3 * HOUR), "3 h ago"],
    ["yesterday evening", new Date(2025, 2, 2, 22, 0), "yesterday"],
    ["yesterday morning", new Date(2025, 2, 2, 0, 5), "yesterday"],
    ["three days", new Date(2025, 2, 0, 12, 0), "3 days ago"],
  ])("%s → %s", (_label, then, expected) => {
    expect(relativeTime(then, NOW, "en-GB")).toBe(expected);
  });

  it("shows the date after a week", () => {
    expect(relativeTime(new Date(2025, 1, 20, 9, 0), NOW, "en-GB")).toBe("20 Feb 2025");
  });

  it("uses minutes across midnight when less than an hour ago", () => {
    const justAfterMidnight = new Date(2025, 2, 3, 0, 10);
    expect(relativeTime(new Date(2025, 2, 2, 23, 50), justAfterMidnight)).toBe("20 min ago");
  });
});

describe("formatWhen", () => {
  it("says the time today, 'yesterday at', or the date", () => {
    expect(formatWhen(new Date(2025, 2, 3, 14, 2), NOW, "en-GB")).toBe("at 14:02");
    expect(formatWhen(new Date(2025, 2, 2, 9, 30), NOW, "en-GB")).toBe("yesterday at 09:30");
    expect(formatWhen(new Date(2025, 0, 9, 8, 0), NOW, "en-GB")).toBe("on 9 Jan 2025 at 08:00");
  });
});

describe("countdown", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("rounds seconds left up and never goes negative", () => {
    expect(secondsLeft(10_000, 0)).toBe(10);
    expect(secondsLeft(10_000, 9_001)).toBe(1);
    expect(secondsLeft(10_000, 10_000)).toBe(0);
    expect(secondsLeft(10_000, 20_000)).toBe(0);
  });

  it("ticks down each second and then calls done", () => {
    vi.useFakeTimers();
    const ticks: number[] = [];
    const done = vi.fn();
    const c = new Countdown((s) => ticks.push(s), done);
    c.start(3);
    expect(ticks).toEqual([3]);
    expect(c.running).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(ticks.at(-1)).toBe(2);
    vi.advanceTimersByTime(1000);
    expect(ticks.at(-1)).toBe(1);
    expect(done).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1000);
    expect(done).toHaveBeenCalledOnce();
    expect(c.running).toBe(false);
    expect([...new Set(ticks)]).toEqual([3, 2, 1]);
  });

  it("stop() cancels it", () => {
    vi.useFakeTimers();
    const done = vi.fn();
    const c = new Countdown(() => {}, done);
    c.start(2);
    c.stop();
    vi.advanceTimersByTime(5000);
    expect(done).not.toHaveBeenCalled();
  });
});

describe("devices", () => {
  it("puts this device first, then the most recently active", () => {
    const list = [
      device("a", "Old", { last_seen_at: "2025-03-01T10:00:00Z" }),
      device("b", "Newest", { last_seen_at: "2025-03-03T10:00:00Z" }),
      device("me", "Me", { current: true, last_seen_at: "2025-02-01T10:00:00Z" }),
      device("c", "Middle", { last_seen_at: "2025-03-02T10:00:00Z" }),
    ];
    expect(sortDevices(list).map((d) => d.id)).toEqual(["me", "b", "c", "a"]);
    // The input is not reordered in place.
    expect(list[0]!.id).toBe("a");
  });

  it("normalizes platforms and falls back to unknown", () => {
    expect(normalizePlatform("Linux")).toBe("linux");
    expect(normalizePlatform("darwin")).toBe("macos");
    expect(normalizePlatform("macOS")).toBe("macos");
    expect(normalizePlatform("win32")).toBe("windows");
    expect(normalizePlatform("iOS")).toBe("ios");
    expect(normalizePlatform("android")).toBe("android");
    expect(normalizePlatform("freebsd")).toBe("unknown");
    expect(normalizePlatform("")).toBe("unknown");
  });

  it("writes the system with its version", () => {
    expect(systemText("macos", "14.5")).toBe("macOS 14.5");
    expect(systemText("macos", "macOS 14.5")).toBe("macOS 14.5");
    expect(systemText("linux", "")).toBe("Linux");
    expect(systemText("FreeBSD", "14")).toBe("FreeBSD 14");
    expect(systemText("", "")).toBe("Unknown system");
  });

  it("validates device names", () => {
    expect(validateDeviceName("Work laptop")).toBeNull();
    expect(validateDeviceName("   ")).toBe("Enter a device name.");
    expect(validateDeviceName("x".repeat(100))).toBeNull();
    expect(validateDeviceName("x".repeat(101))).toMatch(/at most 100/);
    expect(validateDeviceName("bad\u0007name")).not.toBeNull();
  });

  it("counts in words", () => {
    expect(countText(1, "other device", "other devices")).toBe("1 other device");
    expect(countText(3, "other device", "other devices")).toBe("3 other devices");
  });
});

describe("errorMessage", () => {
  it("maps the contract's codes to text", () => {
    expect(errorMessage({ code: "invalid_credentials", message: "x" }, "sign-in")).toBe("Wrong email or password.");
    expect(errorMessage({ code: "server_unreachable", message: "dns" }, "sign-in", "https://s.example")).toBe(
      "Can't reach the server at https://s.example. Check the address and your connection.",
    );
    expect(errorMessage({ code: "rate_limited", message: "", retry_after_secs: 42 }, "sign-in")).toBe(
      "Too many attempts. Try again in 42 s",
    );
    expect(errorMessage({ code: "keychain_locked", message: "" }, "sign-in")).toMatch(/locked/);
    expect(errorMessage({ code: "keychain_unavailable", message: "no provider" }, "sign-in")).toBe(
      "The system keychain is unavailable, so the app cannot keep you signed in. (no provider)",
    );
    expect(errorMessage({ code: "not_found", message: "" }, "rename")).toBe("That device is no longer signed in.");
    expect(errorMessage({ code: "validation_failed", message: "Name is too long." }, "rename")).toBe("Name is too long.");
    expect(errorMessage({ code: "server_error", message: "boom" }, "devices")).toMatch(/server had a problem/);
  });

  it("has words for a settings file the app cannot use", () => {
    expect(errorMessage({ code: "config_error", message: "config file /home/ada/x.toml: denied" }, "start")).toBe(
      "The app could not read or write its settings file. (config file /home/ada/x.toml: denied)",
    );
  });

  it("falls back to the backend's message, then to a generic one", () => {
    expect(errorMessage({ code: "something_new", message: "Disk full" }, "devices")).toBe("Disk full");
    expect(errorMessage({ code: "something_new", message: "" }, "devices")).toBe("Something went wrong. Try again.");
  });

  it("knows which errors end the session", () => {
    expect(endsSession({ code: "session_revoked", message: "" })).toBe(true);
    expect(endsSession({ code: "not_signed_in", message: "" })).toBe(true);
    expect(endsSession({ code: "server_error", message: "" })).toBe(false);
  });
});

describe("activity text", () => {
  const devices = [device("me", "Ada's laptop", { current: true }), device("work", "Work laptop")];
  const ev = (over: Partial<ActivityEvent>): ActivityEvent => ({
    at: "2025-03-03T10:00:00Z",
    kind: "signed_in",
    session_id: "phone",
    device: { name: "Pixel 8", platform: "android", os_version: "15", app_version: "1.0" },
    ip: "203.0.113.9",
    by_session_id: null,
    ...over,
  });
  const index = buildNameIndex(devices, [
    ev({ session_id: "gone", device: { name: "Lost laptop", platform: "windows", os_version: "", app_version: "" } }),
  ]);
  const who = { index, currentSessionId: "me" };

  it("names sign-ins with system and address", () => {
    const t = describeActivity(ev({}), who);
    expect(t).toEqual({ title: "Pixel 8 signed in", detail: "Android 15 · from 203.0.113.9", alert: false });
  });

  it("says who revoked a device, by matching by_session_id to a device name", () => {
    expect(describeActivity(ev({ kind: "revoked", by_session_id: "work", reason: "revoked" }), who).title).toBe(
      "Pixel 8 was signed out by Work laptop",
    );
    expect(describeActivity(ev({ kind: "revoked", by_session_id: "me" }), who).title).toBe(
      "Pixel 8 was signed out by this device",
    );
    // A device that is gone from the list but named earlier in the log.
    expect(describeActivity(ev({ kind: "revoked", by_session_id: "gone" }), who).title).toBe(
      "Pixel 8 was signed out by Lost laptop",
    );
    expect(describeActivity(ev({ kind: "revoked", by_session_id: "unknown-id" }), who).title).toBe(
      "Pixel 8 was signed out by another device",
    );
    expect(describeActivity(ev({ kind: "revoked", reason: "logout", by_session_id: "phone" }), who).title).toBe(
      "Pixel 8 signed out",
    );
  });

  it("describes renames, refreshes and sign out everywhere", () => {
    expect(
      describeActivity(ev({ kind: "renamed", device: { name: "Phone", platform: "", os_version: "", app_version: "" }, by_session_id: "work" }), who).title,
    ).toBe("Device renamed to “Phone” by Work laptop");
    expect(describeActivity(ev({ kind: "refreshed" }), who).title).toBe("Pixel 8 renewed its sign-in");
    expect(
      describeActivity(ev({ kind: "signed_out_everywhere", session_id: "work", device: null, by_session_id: "work" }), who).title,
    ).toBe("Signed out everywhere by Work laptop");
  });

  it("marks this device in its own events", () => {
    expect(describeActivity(ev({ session_id: "me", device: devices[0]!.device }), who).title).toBe(
      "Ada's laptop (this device) signed in",
    );
  });

  it("flags refresh-token reuse as an alert", () => {
    const t = describeActivity(ev({ kind: "refresh_token_reuse" }), who);
    expect(t.alert).toBe(true);
    expect(t.title).toBe("Possible stolen sign-in on Pixel 8");
    expect(describeActivity(ev({ kind: "revoked", reason: "refresh_token_reuse" }), who).alert).toBe(true);
    expect(describeActivity(ev({ kind: "revoked", reason: "revoked" }), who).alert).toBe(false);
  });

  it("prefers current device names over names in the log", () => {
    const idx = buildNameIndex([device("work", "Renamed laptop")], [ev({ session_id: "work", device: { name: "Old name", platform: "", os_version: "", app_version: "" } })]);
    expect(idx.get("work")).toBe("Renamed laptop");
  });
});
