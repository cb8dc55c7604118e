import { afterEach, describe, expect, it, vi } from "vitest";
import { device, FakeIpc } from "../src/demo/fake-ipc";
import type { SessionInfo } from "../src/types";
import { all, byTestId, flush, get, mount, NOW, press, row, text, type, unmountAll } from "./helpers";

afterEach(() => {
  unmountAll();
  vi.useRealTimers();
});

const minutesAgo = (m: number): string => new Date(NOW.getTime() - m * 60_000).toISOString();

function sample(): SessionInfo[] {
  return [
    device("work", "Work laptop", { platform: "macos", os_version: "14.5", app_version: "1.2.0", last_seen_at: minutesAgo(5) }),
    device("tablet", "Old tablet", { platform: "ios", os_version: "16.7", last_seen_at: minutesAgo(60 * 24 * 10), last_ip: null }),
    device("me", "Ada's laptop", {
      current: true,
      platform: "linux",
      os_version: "6.1",
      app_version: "1.0.0",
      last_ip: "198.51.100.4",
      created_at: new Date(2025, 1, 14, 9, 30).toISOString(),
      // Less recent than "work": only the current-first rule puts it on top.
      last_seen_at: minutesAgo(30),
    }),
    device("phone", "Pixel 8", { platform: "android", os_version: "15", last_seen_at: new Date(2025, 2, 2, 20, 0).toISOString() }),
  ];
}

function signedIn(devices: SessionInfo[] = sample()): FakeIpc {
  return new FakeIpc({ state: { signed_in: true, session_id: "me" }, devices });
}

describe("device list", () => {
  it("shows this device first with a badge, then by last activity", async () => {
    await mount(signedIn());
    const list = get("device-list");
    const rows = all("device-row", list);
    expect(rows.map((r) => r.dataset.sessionId)).toEqual(["me", "work", "phone", "tablet"]);
    expect(rows.map((r) => r.dataset.current)).toEqual(["true", "false", "false", "false"]);
    expect(get("this-device-badge", rows[0]!).hidden).toBe(false);
    expect(get("this-device-badge", rows[1]!).hidden).toBe(true);
    expect(text(get("device-count"))).toBe("4 devices");
  });

  it("shows each device's details", async () => {
    await mount(signedIn());
    const me = row("me");
    expect(text(get("device-name", me))).toBe("Ada's laptop");
    expect(text(me)).toContain("Linux 6.1");
    expect(text(me)).toContain("1.0.0");
    expect(text(me)).toContain("198.51.100.4");
    expect(text(me)).toContain("14 Feb 2025");
    expect(text(get("last-active", me))).toBe("30 min ago");
    expect(text(get("last-active", row("work")))).toBe("5 min ago");
    expect(text(get("last-active", row("phone")))).toBe("yesterday");
    expect(text(row("tablet"))).toContain("Unknown"); // no IP known
    expect(row("work").querySelector(".device-icon")?.getAttribute("data-platform")).toBe("macos");
    expect(row("work").querySelector("svg.icon-macos")).not.toBeNull();
    expect(row("phone").querySelector("svg.icon-android")).not.toBeNull();
  });

  it("renders a hostile device name as text, never as HTML", async () => {
    const evil = "<img src=x onerror=alert(1)>";
    const devices = [device("me", "Mine", { current: true }), device("evil", evil)];
    await mount(signedIn(devices));
    const name = get("device-name", row("evil"));
    expect(name.textContent).toBe(evil);
    expect(name.children).toHaveLength(0);
    expect(document.querySelector("img")).toBeNull();
    // Also in the dialog that names it.
    get<HTMLButtonElement>("sign-out-device", row("evil")).click();
    expect(text(get("confirm-dialog").querySelector("h2"))).toBe(`Sign out ${evil}?`);
    expect(document.querySelector("img")).toBeNull();
  });

  it("keeps 'last active' current with a timer", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    let now = NOW;
    await mount(signedIn([...sample(), device("new", "New", { last_seen_at: NOW.toISOString() })]), {
      now: () => now,
      tickMs: 30_000,
    });
    expect(text(get("last-active", row("new")))).toBe("just now");
    now = new Date(NOW.getTime() + 2 * 60_000);
    vi.advanceTimersByTime(30_000);
    expect(text(get("last-active", row("new")))).toBe("2 min ago");
    expect(text(get("last-active", row("work")))).toBe("7 min ago");
  });

  it("shows loading, then an error with a Retry that works", async () => {
    const ipc = signedIn().hold("listDevices").failNext("listDevices", { code: "server_unreachable", message: "" });
    await mount(ipc);
    expect(text(get("devices-loading"))).toBe("Loading devices…");
    ipc.release("listDevices");
    await flush();
    expect(byTestId("devices-loading")).toBeNull();
    expect(text(get("devices-load-error"))).toContain("Couldn't load your devices.");
    expect(text(get("devices-load-error"))).toContain("Can't reach the server at https://sessions.example.com");
    get<HTMLButtonElement>("devices-retry").click();
    await flush();
    expect(byTestId("devices-load-error")).toBeNull();
    expect(all("device-row")).toHaveLength(4);
  });

  it("shows an empty state", async () => {
    await mount(signedIn([]));
    expect(text(get("devices-empty"))).toBe("No devices are signed in to this account.");
    expect(get<HTMLButtonElement>("sign-out-others").disabled).toBe(true);
  });

  it("refetches on devices-changed and on Refresh, updating rows in place", async () => {
    const ipc = signedIn();
    await mount(ipc);
    const workRow = row("work");
    expect(ipc.count("listDevices")).toBe(1);

    ipc.devices.push(device("new", "New phone", { last_seen_at: minutesAgo(1) }));
    ipc.devices = ipc.devices.filter((d) => d.id !== "tablet");
    ipc.emit("devices-changed", { reason: "session.created" });
    await flush();
    expect(ipc.count("listDevices")).toBe(2);
    expect(all("device-row").map((r) => r.dataset.sessionId)).toEqual(["me", "new", "work", "phone"]);
    expect(row("work")).toBe(workRow); // same element, not rebuilt

    ipc.devices.find((d) => d.id === "work")!.device.name = "Renamed elsewhere";
    get<HTMLButtonElement>("refresh-devices").click();
    await flush();
    expect(ipc.count("listDevices")).toBe(3);
    expect(text(get("device-name", row("work")))).toBe("Renamed elsewhere");
  });

  it("coalesces a burst of events into at most one more fetch", async () => {
    const ipc = signedIn();
    await mount(ipc);
    ipc.hold("listDevices");
    for (let i = 0; i < 5; i++) ipc.emit("devices-changed", { reason: "session.created" });
    ipc.release("listDevices");
    await flush();
    ipc.release("listDevices");
    await flush();
    expect(ipc.count("listDevices")).toBe(3); // initial + one in flight + one queued
  });
});

describe("signing a device out", () => {
  it("asks first, naming the device, and calls sign_out_device only after OK", async () => {
    const ipc = signedIn();
    await mount(ipc);
    const button = get<HTMLButtonElement>("sign-out-device", row("tablet"));
    expect(button.getAttribute("aria-label")).toBe("Sign out Old tablet");
    button.focus();
    button.click();
    await flush();
    const dialog = get("confirm-dialog");
    expect(text(dialog.querySelector("h2"))).toBe("Sign out Old tablet?");
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    expect(ipc.count("signOutDevice")).toBe(0);

    ipc.hold("signOutDevice");
    get<HTMLButtonElement>("confirm-ok").click();
    await flush();
    expect(byTestId("confirm-dialog")).toBeNull();
    // Busy, but still focused (focus went back to the button that opened the dialog).
    expect(button.getAttribute("aria-busy")).toBe("true");
    expect(button.getAttribute("aria-disabled")).toBe("true");
    expect(document.activeElement).toBe(button);
    button.click();
    await flush();
    expect(byTestId("confirm-dialog")).toBeNull();
    ipc.release("signOutDevice");
    await flush();
    expect(ipc.calls.filter((c) => c.command === "signOutDevice").map((c) => c.args)).toEqual([{ id: "tablet" }]);
    expect(document.querySelector('[data-session-id="tablet"]')).toBeNull();
    expect(text(get("devices-status"))).toBe("Old tablet was signed out.");
    // Focus moves to a neighbour instead of getting lost.
    expect(document.activeElement).toBe(get("sign-out-device", row("phone")));
  });

  it("does nothing when cancelled, and returns focus to the button", async () => {
    const ipc = signedIn();
    await mount(ipc);
    const button = get<HTMLButtonElement>("sign-out-device", row("work"));
    button.focus();
    button.click();
    await flush();
    get<HTMLButtonElement>("confirm-cancel").click();
    await flush();
    expect(byTestId("confirm-dialog")).toBeNull();
    expect(ipc.count("signOutDevice")).toBe(0);
    expect(document.activeElement).toBe(button);
    expect(row("work")).toBeTruthy();
  });

  it("shows a failure next to the list and keeps the device", async () => {
    const ipc = signedIn().failNext("signOutDevice", { code: "server_error", message: "500" });
    await mount(ipc);
    get<HTMLButtonElement>("sign-out-device", row("work")).click();
    await flush();
    get<HTMLButtonElement>("confirm-ok").click();
    await flush();
    expect(text(get("devices-error"))).toBe("Couldn't sign out Work laptop: The server had a problem. Try again in a moment.");
    expect(get<HTMLButtonElement>("sign-out-device", row("work")).getAttribute("aria-disabled")).toBeNull();
  });

  it("signs out this device with sign_out and returns to sign-in", async () => {
    const ipc = signedIn();
    await mount(ipc);
    get<HTMLButtonElement>("sign-out-device", row("me")).click();
    await flush();
    expect(text(get("confirm-dialog").querySelector("h2"))).toBe("Sign out of this device?");
    get<HTMLButtonElement>("confirm-ok").click();
    await flush();
    expect(ipc.count("signOut")).toBe(1);
    expect(ipc.count("signOutDevice")).toBe(0);
    expect(byTestId("sign-in-submit")).not.toBeNull();
    expect(text(get("sign-in-info"))).toBe("You signed out of this device.");
  });

  it("signs out all other devices after a confirmation that says how many", async () => {
    const ipc = signedIn();
    await mount(ipc);
    get<HTMLButtonElement>("sign-out-others").click();
    await flush();
    expect(text(get("confirm-dialog").querySelector("h2"))).toBe("Sign out 3 other devices?");
    expect(text(get("confirm-dialog"))).toContain("This device stays signed in.");
    get<HTMLButtonElement>("confirm-ok").click();
    await flush();
    expect(ipc.count("signOutOthers")).toBe(1);
    expect(text(get("devices-status"))).toBe("Signed out 3 other devices.");
    expect(all("device-row").map((r) => r.dataset.sessionId)).toEqual(["me"]);
    expect(get<HTMLButtonElement>("sign-out-others").disabled).toBe(true);
  });

  it("signs out everywhere after confirmation and goes back to sign-in", async () => {
    const ipc = signedIn();
    await mount(ipc);
    get<HTMLButtonElement>("sign-out-everywhere").click();
    await flush();
    expect(text(get("confirm-dialog").querySelector("h2"))).toBe("Sign out everywhere?");
    expect(text(get("confirm-dialog"))).toContain("All 4 devices, this one included");
    get<HTMLButtonElement>("confirm-cancel").click();
    await flush();
    expect(ipc.count("signOutEverywhere")).toBe(0);

    get<HTMLButtonElement>("sign-out-everywhere").click();
    await flush();
    get<HTMLButtonElement>("confirm-ok").click();
    await flush();
    expect(ipc.count("signOutEverywhere")).toBe(1);
    expect(byTestId("device-list")).toBeNull();
    expect(byTestId("sign-in-submit")).not.toBeNull();
    expect(text(get("sign-in-info"))).toMatch(/^You signed out everywhere/);
  });

  it("goes back to sign-in when a command says this session is gone", async () => {
    const ipc = signedIn();
    await mount(ipc);
    ipc.state = { ...ipc.state, signed_in: false, session_id: null };
    ipc.failNext("listDevices", { code: "session_revoked", message: "" });
    get<HTMLButtonElement>("refresh-devices").click();
    await flush();
    expect(byTestId("sign-in-submit")).not.toBeNull();
  });
});

describe("renaming", () => {
  async function startRename(ipc: FakeIpc, id = "work"): Promise<HTMLInputElement> {
    await mount(ipc);
    get<HTMLButtonElement>("rename-button", row(id)).click();
    const input = get<HTMLInputElement>("rename-input", row(id));
    expect(document.activeElement).toBe(input);
    return input;
  }

  it("saves on Enter and shows the new name", async () => {
    const ipc = signedIn();
    const input = await startRename(ipc);
    expect(input.value).toBe("Work laptop");
    type(input, "  Office Mac  ");
    press(input, "Enter");
    await flush();
    expect(ipc.calls.filter((c) => c.command === "renameDevice").map((c) => c.args)).toEqual([
      { id: "work", name: "Office Mac" },
    ]);
    expect(byTestId("rename-input")).toBeNull();
    expect(text(get("device-name", row("work")))).toBe("Office Mac");
    expect(document.activeElement).toBe(get("rename-button", row("work")));
  });

  it("cancels on Escape without calling the backend", async () => {
    const ipc = signedIn();
    const input = await startRename(ipc);
    type(input, "Something else");
    press(input, "Escape");
    await flush();
    expect(byTestId("rename-input")).toBeNull();
    expect(text(get("device-name", row("work")))).toBe("Work laptop");
    expect(ipc.count("renameDevice")).toBe(0);
    expect(document.activeElement).toBe(get("rename-button", row("work")));
  });

  it("shows validation errors inline and keeps editing", async () => {
    const ipc = signedIn();
    const input = await startRename(ipc);
    type(input, "   ");
    press(input, "Enter");
    await flush();
    expect(text(get("rename-error", row("work")))).toBe("Enter a device name.");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    type(input, "x".repeat(101));
    press(input, "Enter");
    await flush();
    expect(text(get("rename-error", row("work")))).toBe("Use at most 100 characters.");
    expect(ipc.count("renameDevice")).toBe(0);
  });

  it("shows the backend's validation error inline", async () => {
    const ipc = signedIn().failNext("renameDevice", { code: "validation_failed", message: "That name is already used." });
    const input = await startRename(ipc);
    type(input, "Pixel 8");
    get<HTMLButtonElement>("rename-save", row("work")).click();
    await flush();
    expect(text(get("rename-error", row("work")))).toBe("That name is already used.");
    expect(input.disabled).toBe(false);
    expect(byTestId("rename-input")).toBe(input);
  });

  it("keeps the input when the list refreshes during editing", async () => {
    const ipc = signedIn();
    const input = await startRename(ipc);
    type(input, "Half typed");
    ipc.emit("devices-changed", { reason: "session.created" });
    await flush();
    expect(get<HTMLInputElement>("rename-input", row("work"))).toBe(input);
    expect(input.value).toBe("Half typed");
  });
});
