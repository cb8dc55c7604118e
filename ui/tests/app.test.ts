import { afterEach, describe, expect, it } from "vitest";
import { baseState, device, FakeIpc } from "../src/demo/fake-ipc";
import type { ActivityEvent } from "../src/types";
import { all, byTestId, flush, get, mount, press, text, unmountAll } from "./helpers";

afterEach(() => unmountAll());

const AT_1402 = new Date(2025, 2, 3, 14, 2).toISOString();
// The sentences the Rust side words for these notices (proto::notice).
const FROM_WORK_LAPTOP = "This device was signed out from Work laptop at 14:02.";
const FROM_OLD_TABLET = "This device was signed out from Old tablet at 14:02.";

function signedIn(extra: ConstructorParameters<typeof FakeIpc>[0] = {}): FakeIpc {
  return new FakeIpc({
    state: { signed_in: true, session_id: "me" },
    devices: [device("me", "Ada's laptop", { current: true }), device("work", "Work laptop")],
    ...extra,
  });
}

describe("signed out from elsewhere", () => {
  it("goes back to sign-in on the signed-out event, naming the device and the time", async () => {
    const ipc = signedIn();
    await mount(ipc);
    expect(byTestId("device-list")).not.toBeNull();

    ipc.state = { ...ipc.state, signed_in: false, session_id: null };
    ipc.emit("signed-out", { by_session_id: "work", by_device_name: "Work laptop", reason: "revoked", at: AT_1402, message: FROM_WORK_LAPTOP });
    await flush();

    expect(byTestId("device-list")).toBeNull();
    const notice = get("signed-out-notice");
    expect(text(notice)).toBe("This device was signed out from Work laptop at 14:02.");
    expect(notice.getAttribute("role")).toBe("alert");
    expect(document.activeElement).toBe(notice);
    expect(get<HTMLInputElement>("email").value).toBe("ada@example.com");
  });

  it("keeps the notice when the re-read state has none, until dismissed", async () => {
    const ipc = signedIn();
    await mount(ipc);
    ipc.state = { ...ipc.state, signed_in: false, session_id: null, signed_out_notice: null };
    ipc.emit("signed-out", { by_session_id: "work", by_device_name: "Work laptop", reason: "revoked", at: AT_1402, message: FROM_WORK_LAPTOP });
    await flush();
    ipc.emit("state-changed", ipc.state);
    await flush();
    expect(byTestId("signed-out-notice")).not.toBeNull();

    get<HTMLButtonElement>("dismiss-notice").click();
    await flush();
    expect(ipc.count("dismissNotice")).toBe(1);
    expect(byTestId("signed-out-notice")).toBeNull();
  });

  it("shows AppState.signed_out_notice on start", async () => {
    const ipc = new FakeIpc({
      state: {
        signed_in: false,
        signed_out_notice: { by_session_id: "x", by_device_name: "Old tablet", reason: "revoked", at: AT_1402, message: FROM_OLD_TABLET },
      },
    });
    await mount(ipc);
    expect(text(get("signed-out-notice"))).toBe("This device was signed out from Old tablet at 14:02.");
  });

  it("clears a leftover notice after signing in again", async () => {
    const ipc = new FakeIpc({
      state: {
        signed_in: false,
        signed_out_notice: { by_session_id: "x", by_device_name: "Old tablet", reason: "revoked", at: AT_1402, message: FROM_OLD_TABLET },
      },
    });
    // The backend keeps the notice across sign-in until dismissed.
    const realSignIn = ipc.signIn.bind(ipc);
    ipc.signIn = async (args) => {
      const kept = ipc.state.signed_out_notice;
      ipc.state = { ...(await realSignIn(args)), signed_out_notice: kept };
      return ipc.state;
    };
    await mount(ipc);
    expect(byTestId("signed-out-notice")).not.toBeNull();
    (get<HTMLInputElement>("password")).value = "correct horse";
    get<HTMLButtonElement>("sign-in-submit").click();
    await flush();
    expect(byTestId("device-list")).not.toBeNull();
    expect(ipc.count("dismissNotice")).toBe(1);
    expect(ipc.state.signed_out_notice).toBeNull();
  });

  it("does not repeat the person's own sign out everywhere as a notice", async () => {
    const ipc = signedIn();
    await mount(ipc);
    get<HTMLButtonElement>("sign-out-everywhere").click();
    await flush();
    get<HTMLButtonElement>("confirm-ok").click();
    await flush();
    ipc.emit("signed-out", { by_session_id: "me", by_device_name: "Ada's laptop", reason: "signed_out_everywhere", at: AT_1402, message: "You signed out everywhere at 14:02." });
    await flush();
    expect(byTestId("signed-out-notice")).toBeNull();
    expect(text(get("sign-in-info"))).toMatch(/^You signed out everywhere/);
    expect(ipc.count("dismissNotice")).toBe(1);
  });

  it("closes an open dialog when signed out", async () => {
    const ipc = signedIn();
    await mount(ipc);
    get<HTMLButtonElement>("sign-out-everywhere").click();
    await flush();
    expect(byTestId("confirm-dialog")).not.toBeNull();
    ipc.emit("signed-out", { by_session_id: "work", by_device_name: "Work laptop", reason: "revoked", at: AT_1402, message: FROM_WORK_LAPTOP });
    await flush();
    expect(byTestId("confirm-dialog")).toBeNull();
    expect(ipc.count("signOutEverywhere")).toBe(0);
  });
});

describe("banners", () => {
  it("shows pending sign-outs, keychain trouble and offline from AppState, following state-changed", async () => {
    const ipc = signedIn();
    await mount(ipc);
    expect(byTestId("pending-banner")).toBeNull();
    expect(byTestId("keychain-banner")).toBeNull();
    expect(byTestId("offline-indicator")).toBeNull();

    ipc.emit("state-changed", {
      ...ipc.state,
      pending_revocations: 1,
      online: false,
      keychain: { backend: "secret-service", available: false, message: "No Secret Service provider." },
    });
    await flush();
    expect(text(get("pending-banner"))).toBe(
      "Sign-out is waiting to reach the server; it will be retried automatically.",
    );
    expect(text(get("keychain-banner"))).toBe(
      "The system keychain is unavailable, so the app cannot keep you signed in. No Secret Service provider.",
    );
    const indicator = get("offline-indicator");
    expect(text(indicator)).toBe("Offline");
    // Another update that keeps it offline does not re-create (and re-announce) it.
    ipc.emit("state-changed", { ...ipc.state, pending_revocations: 1, online: false });
    await flush();
    expect(get("offline-indicator")).toBe(indicator);

    ipc.emit("state-changed", { ...ipc.state, pending_revocations: 0, online: true });
    await flush();
    expect(byTestId("pending-banner")).toBeNull();
    expect(byTestId("keychain-banner")).toBeNull();
    expect(byTestId("offline-indicator")).toBeNull();
    // Still on the devices screen: state updates do not re-route.
    expect(byTestId("device-list")).not.toBeNull();
  });

  it("shows the pending banner on the sign-in screen too, but no offline indicator", async () => {
    const ipc = new FakeIpc({ state: baseState({ signed_in: false, pending_revocations: 2, online: false }) });
    await mount(ipc);
    expect(text(get("pending-banner"))).toMatch(/^2 sign-outs are waiting to reach the server/);
    expect(byTestId("offline-indicator")).toBeNull();
  });

  it("shows a security alert prominently, with a way to review and dismiss", async () => {
    const ipc = signedIn();
    await mount(ipc);
    ipc.emit("security-alert", {
      kind: "refresh_token_reuse",
      message: "A token of Old tablet was used twice.",
      at: AT_1402,
      session_id: "tablet",
    });
    await flush();
    const banner = get("alert-banner");
    expect(banner.getAttribute("role")).toBe("alert");
    expect(text(banner)).toContain("Possible stolen sign-in");
    expect(text(banner)).toContain("A token of Old tablet was used twice.");
    expect(text(banner)).toContain("at 14:02");

    get<HTMLButtonElement>("alert-review").click();
    await flush();
    expect(get("activity-tab").getAttribute("aria-selected")).toBe("true");

    get<HTMLButtonElement>("alert-dismiss").click();
    expect(byTestId("alert-banner")).toBeNull();
  });
});

describe("activity", () => {
  const events: ActivityEvent[] = [
    { at: new Date(2025, 2, 3, 14, 55).toISOString(), kind: "refresh_token_reuse", session_id: "old", device: { name: "Old phone", platform: "ios", os_version: "", app_version: "" }, ip: "192.0.2.9", by_session_id: null },
    { at: new Date(2025, 2, 3, 12, 0).toISOString(), kind: "revoked", session_id: "lost", device: { name: "Lost laptop", platform: "windows", os_version: "", app_version: "" }, ip: null, by_session_id: "work", reason: "revoked" },
    { at: new Date(2025, 2, 3, 13, 0).toISOString(), kind: "renamed", session_id: "work", device: { name: "Work laptop", platform: "macos", os_version: "", app_version: "" }, ip: null, by_session_id: "me" },
    { at: new Date(2025, 2, 1, 9, 0).toISOString(), kind: "signed_in", session_id: "me", device: { name: "Ada's laptop", platform: "linux", os_version: "", app_version: "" }, ip: "198.51.100.4", by_session_id: null },
  ];

  it("lists the history newest first with who did it, and highlights reuse", async () => {
    const ipc = signedIn({ activity: events });
    await mount(ipc);
    expect(ipc.count("activity")).toBe(0); // loaded when the tab is opened

    const tab = get<HTMLButtonElement>("activity-tab");
    tab.click();
    await flush();
    expect(tab.getAttribute("aria-selected")).toBe("true");
    expect(get("devices-tab").getAttribute("aria-selected")).toBe("false");
    expect(get("device-list").closest<HTMLElement>("[role=tabpanel]")!.hidden).toBe(true);

    const rows = all("activity-row", get("activity-list"));
    expect(rows.map((r) => r.dataset.kind)).toEqual(["refresh_token_reuse", "renamed", "revoked", "signed_in"]);
    expect(text(rows[0]!)).toContain("Security alert");
    expect(text(rows[0]!)).toContain("Possible stolen sign-in on Old phone");
    expect(rows[0]!.classList.contains("activity-alert")).toBe(true);
    expect(rows[1]!.classList.contains("activity-alert")).toBe(false);
    expect(text(rows[1]!)).toContain("Device renamed to “Work laptop” by this device");
    expect(text(rows[2]!)).toContain("Lost laptop was signed out by Work laptop");
    expect(text(rows[3]!)).toContain("Ada's laptop (this device) signed in");
    expect(text(rows[3]!)).toContain("2 days ago");
  });

  it("refreshes the open activity list on devices-changed", async () => {
    const ipc = signedIn({ activity: [] });
    await mount(ipc);
    get<HTMLButtonElement>("activity-tab").click();
    await flush();
    expect(text(get("activity-empty"))).toBe("No activity yet.");
    ipc.events.unshift(events[0]!);
    ipc.emit("devices-changed", { reason: "security.alert" });
    await flush();
    expect(all("activity-row")).toHaveLength(1);
  });

  it("shows an error with Retry", async () => {
    const ipc = signedIn({ activity: events }).failNext("activity", { code: "server_error", message: "" });
    await mount(ipc);
    get<HTMLButtonElement>("activity-tab").click();
    await flush();
    expect(text(get("activity-error"))).toContain("Couldn't load the activity.");
    get<HTMLButtonElement>("activity-retry").click();
    await flush();
    expect(byTestId("activity-error")).toBeNull();
    expect(all("activity-row")).toHaveLength(4);
  });

  it("switches tabs with the arrow keys", async () => {
    await mount(signedIn({ activity: events }));
    const devicesTab = get<HTMLButtonElement>("devices-tab");
    devicesTab.focus();
    press(devicesTab, "ArrowRight");
    await flush();
    expect(document.activeElement).toBe(get("activity-tab"));
    expect(get("activity-tab").getAttribute("aria-selected")).toBe("true");
    press(get("activity-tab"), "Home");
    expect(document.activeElement).toBe(devicesTab);
  });
});

describe("start-up", () => {
  it("shows an error with Retry when the state cannot be read", async () => {
    const ipc = signedIn().failNext("appState", { code: "internal", message: "bridge down" });
    await mount(ipc);
    expect(text(get("start-error"))).toContain("bridge down");
    get<HTMLButtonElement>("start-retry").click();
    await flush();
    expect(byTestId("device-list")).not.toBeNull();
  });

  it("says so when the event bridge is missing (not inside the desktop app)", async () => {
    const ipc = signedIn();
    ipc.on = () => Promise.reject(new TypeError("window.__TAURI_INTERNALS__ is undefined"));
    await mount(ipc);
    expect(text(get("start-error"))).toContain("The app could not start.");
    expect(ipc.count("appState")).toBe(0);
  });

  it("unsubscribes from every event on destroy", async () => {
    const ipc = signedIn();
    const { app } = await mount(ipc);
    expect(ipc.listenerCount("devices-changed")).toBe(1);
    app.destroy();
    for (const e of ["devices-changed", "security-alert", "signed-out", "state-changed"] as const) {
      expect(ipc.listenerCount(e)).toBe(0);
    }
  });
});

describe("start time", () => {
  const frames = () => new Promise((r) => setTimeout(r, 100));

  it("reports the device list's first paint once, with its rows, not every refresh", async () => {
    const ipc = signedIn();
    await mount(ipc);
    await frames();
    ipc.emit("devices-changed", { reason: "session.renamed" });
    await flush();
    await frames();
    expect(ipc.count("listDevices")).toBe(2);
    expect(ipc.calls.filter((c) => c.command === "firstPaint").map((c) => c.args)).toEqual([
      { screen: "devices", rows: 2 },
    ]);
  });

  it("reports the sign-in form when the app starts signed out", async () => {
    const ipc = new FakeIpc();
    await mount(ipc);
    await frames();
    expect(ipc.calls.filter((c) => c.command === "firstPaint").map((c) => c.args)).toEqual([
      { screen: "sign-in", rows: 0 },
    ]);
  });
});
