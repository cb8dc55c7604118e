// After a scare, outside the Security tab: signing in with two-step sign-in, being told
// about every new sign-in ("Not you?"), seeing that signed-out devices erased their
// keys, the activity log's new kinds, and names that cannot mislead.

import { afterEach, describe, expect, it } from "vitest";
import { device, FAKE_TOTP_CODE, FakeIpc, signedOutDevice, WAITING } from "../src/demo/fake-ipc";
import type { ActivityEvent, SignedOutDevice } from "../src/types";
import { all, byTestId, flush, get, mount, NOW, row, text, type, unmountAll } from "./helpers";

afterEach(() => unmountAll());

const AT_1402 = new Date(2025, 2, 3, 14, 2).toISOString();

function signedIn(extra: ConstructorParameters<typeof FakeIpc>[0] = {}): FakeIpc {
  return new FakeIpc({
    state: { signed_in: true, session_id: "me" },
    devices: [device("me", "Ada's laptop", { current: true }), device("work", "Work laptop")],
    ...extra,
  });
}

describe("signing in with two-step sign-in", () => {
  async function toCodeStep(ipc: FakeIpc): Promise<void> {
    await mount(ipc);
    type(get<HTMLInputElement>("password"), "correct horse");
    get<HTMLButtonElement>("sign-in-submit").click();
    await flush();
  }

  const submit = async (): Promise<void> => {
    get<HTMLButtonElement>("sign-in-submit").click();
    await flush();
  };

  it("asks for the code as the form's second step, then signs in", async () => {
    const ipc = new FakeIpc({ twoStep: true });
    await toCodeStep(ipc);
    expect(byTestId("device-list")).toBeNull();
    expect(get("two-step").hidden).toBe(false);
    expect(get<HTMLInputElement>("password").closest<HTMLElement>(".form-step")!.hidden).toBe(true);
    expect(text(get("two-step-prompt"))).toBe("Two-step sign-in is on for ada@example.com.");
    const code = get<HTMLInputElement>("two-step-code");
    expect(document.activeElement).toBe(code);
    expect(code.getAttribute("autocomplete")).toBe("one-time-code");

    type(code, "12");
    await submit();
    expect(text(get("sign-in-error"))).toBe("The code is 6 digits.");
    expect(ipc.count("signInSecondStep")).toBe(0);

    type(code, "000000");
    await submit();
    expect(text(get("sign-in-error"))).toBe("The code is wrong or was already used.");
    expect(code.getAttribute("aria-invalid")).toBe("true");

    type(code, FAKE_TOTP_CODE);
    await submit();
    expect(ipc.calls.filter((c) => c.command === "signInSecondStep").at(-1)?.args).toEqual({ code: FAKE_TOTP_CODE, recovery: false });
    expect(byTestId("device-list")).not.toBeNull();
    expect(ipc.state.signed_in).toBe(true);
  });

  it("takes a recovery code instead", async () => {
    const ipc = new FakeIpc({ twoStep: true });
    ipc.recoveryCodes = ["AAAA-BBBB-CCCC-DDDD"];
    await toCodeStep(ipc);
    get<HTMLButtonElement>("use-recovery-code").click();
    expect(text(get("use-recovery-code"))).toBe("Use a code from the app");
    expect(text(document.querySelector("label[for=sign-in-two-step-code]"))).toBe("Recovery code");
    type(get<HTMLInputElement>("two-step-code"), "aaaa-bbbb-cccc-dddd");
    await submit();
    expect(ipc.calls.filter((c) => c.command === "signInSecondStep").at(-1)?.args).toEqual({
      code: "aaaa-bbbb-cccc-dddd",
      recovery: true,
    });
    expect(byTestId("device-list")).not.toBeNull();
  });

  it("goes back to the password when the sign-in expired, saying so", async () => {
    const ipc = new FakeIpc({ twoStep: true }).failNext("signInSecondStep", {
      code: "two_step_expired",
      message: "this sign-in expired or was already completed. Sign in again.",
    });
    await toCodeStep(ipc);
    type(get<HTMLInputElement>("two-step-code"), FAKE_TOTP_CODE);
    await submit();
    expect(get("two-step").hidden).toBe(true);
    expect(text(get("sign-in-error"))).toBe("This sign-in expired. Sign in again.");
    expect(document.activeElement).toBe(get("password"));
    expect(get<HTMLInputElement>("password").value).toBe("");
  });

  it("has a way back to the first step", async () => {
    const ipc = new FakeIpc({ twoStep: true });
    await toCodeStep(ipc);
    get<HTMLButtonElement>("two-step-back").click();
    expect(get("two-step").hidden).toBe(true);
    expect(get<HTMLInputElement>("email").value).toBe("ada@example.com");
    expect(document.activeElement).toBe(get("password"));
  });
});

describe("told about every new sign-in", () => {
  const phoneSignIn = {
    session_id: "phone",
    device: { name: "Phone", platform: "ios", os_version: "iOS 18.1", app_version: "1.0" },
    ip: "192.0.2.7",
    message: "New sign-in on 'Phone' (iOS 18.1) from 192.0.2.7",
  };

  it("shows a banner whose 'Not you?' opens the list at that device, its Sign out focused", async () => {
    const ipc = signedIn();
    await mount(ipc);
    get<HTMLButtonElement>("security-tab").click();
    ipc.devices.push(device("phone", "Phone", { platform: "ios" }));
    ipc.emit("new-sign-in", phoneSignIn);
    ipc.emit("devices-changed", { reason: "session.created" });
    await flush();
    const banner = get("sign-in-banner");
    expect(text(banner)).toContain("New sign-in on 'Phone' (iOS 18.1) from 192.0.2.7");
    expect(banner.querySelector("bdi")?.textContent).toBe("Phone");

    get<HTMLButtonElement>("sign-in-banner-show").click();
    await flush();
    expect(get("devices-tab").getAttribute("aria-selected")).toBe("true");
    const phone = row("phone");
    expect(phone.dataset.highlighted).toBe("true");
    expect(row("work").dataset.highlighted).toBeUndefined();
    expect(document.activeElement).toBe(get("sign-out-device", phone));

    get<HTMLButtonElement>("sign-in-banner-dismiss").click();
    expect(byTestId("sign-in-banner")).toBeNull();
  });

  it("unmarks the device once the person moves on, and forgets sign-ins when signed out here", async () => {
    const ipc = signedIn();
    await mount(ipc);
    ipc.emit("new-sign-in", { ...phoneSignIn, session_id: "work" });
    await flush();
    get<HTMLButtonElement>("sign-in-banner-show").click();
    await flush();
    expect(row("work").dataset.highlighted).toBe("true");
    get<HTMLButtonElement>("refresh-devices").focus();
    expect(row("work").dataset.highlighted).toBeUndefined();

    ipc.state = { ...ipc.state, signed_in: false, session_id: null };
    ipc.emit("signed-out", { by_session_id: "work", by_device_name: "Work laptop", reason: "revoked", at: AT_1402, message: "This device was signed out from Work laptop at 14:02." });
    await flush();
    expect(byTestId("sign-in-banner")).toBeNull();
  });

  it("finds a device the list did not have yet", async () => {
    const ipc = signedIn();
    await mount(ipc);
    ipc.emit("new-sign-in", phoneSignIn);
    await flush();
    ipc.devices.push(device("phone", "Phone"));
    get<HTMLButtonElement>("sign-in-banner-show").click();
    await flush();
    expect(row("phone").dataset.highlighted).toBe("true");
  });

  it("shows the device a notification click asked for: live, and when the click opened the window", async () => {
    const ipc = signedIn();
    ipc.deviceToShowNext = "work";
    await mount(ipc);
    expect(ipc.count("deviceToShow")).toBe(1);
    expect(row("work").dataset.highlighted).toBe("true");

    ipc.emit("show-device", { session_id: "me" });
    await flush();
    expect(row("me").dataset.highlighted).toBe("true");
    expect(row("work").dataset.highlighted).toBeUndefined();
  });

  it("offers the device of a security alert, and leaves out this device's own change", async () => {
    const ipc = signedIn({ signedOut: [signedOutDevice(device("old", "Old tablet"), { revoked_reason: "refresh_token_reuse" })] });
    await mount(ipc);
    ipc.emit("security-alert", { kind: "password_changed", session_id: "me", at: AT_1402, message: "The password of your account was changed." });
    await flush();
    expect(byTestId("alert-banner")).toBeNull();

    ipc.emit("security-alert", {
      kind: "refresh_token_reuse",
      session_id: "old",
      at: AT_1402,
      message: 'A refresh token of "Old tablet" was used twice.',
    });
    await flush();
    const banner = get("alert-banner");
    expect(banner.querySelector("bdi")?.textContent).toBe("Old tablet");
    get<HTMLButtonElement>("alert-show-device").click();
    await flush();
    const ended = document.querySelector<HTMLElement>('[data-signed-out-id="old"]')!;
    expect(ended.dataset.highlighted).toBe("true");
    expect(document.activeElement).toBe(ended);
  });
});

describe("signed-out devices and their wipe receipts", () => {
  const laptop = device("laptop", "Lost laptop", { platform: "windows", os_version: "11" });
  const waiting: SignedOutDevice = signedOutDevice(laptop, {
    revoked_at: new Date(NOW.getTime() - 2 * 60_000).toISOString(),
    revoked_reason: "password_changed",
  });

  it("lists them under 'Signed out', waiting or with their keys erased, live on session.wiped", async () => {
    const ipc = signedIn({ signedOut: [waiting] });
    await mount(ipc);
    const section = get("signed-out-section");
    expect(section.hidden).toBe(false);
    expect(text(section.querySelector("h2"))).toBe("Signed out");
    const entry = get("signed-out-row", section);
    expect(entry.dataset.signedOutId).toBe("laptop");
    expect(entry.dataset.wiped).toBe("false");
    expect(text(get("signed-out-name", entry))).toBe("Lost laptop");
    expect(get("signed-out-name", entry).getAttribute("dir")).toBe("auto");
    expect(text(entry)).toContain("Signed out 2 min ago · the password was changed · Windows 11");
    expect(text(get("wipe-status", entry))).toBe(WAITING);
    // Signed-out devices are not counted or listed as signed in.
    expect(all("device-row", get("device-list"))).toHaveLength(2);
    expect(text(get("device-count"))).toBe("2 devices");

    ipc.signedOut = [
      { ...waiting, wiped_at: AT_1402, wiped_ip: "192.0.2.9", wipe_status: "Keys erased from this device at 14:02, from 192.0.2.9" },
    ];
    ipc.emit("devices-changed", { reason: "session.wiped" });
    await flush();
    const wiped = get("signed-out-row");
    expect(wiped.dataset.wiped).toBe("true");
    expect(text(get("wipe-status", wiped))).toBe("Keys erased from this device at 14:02, from 192.0.2.9");
  });

  it("has no section when none was signed out, and keeps the list when it cannot be read", async () => {
    const ipc = signedIn();
    await mount(ipc);
    expect(get("signed-out-section").hidden).toBe(true);
    ipc.signedOut = [waiting];
    ipc.emit("devices-changed", { reason: "session.revoked" });
    await flush();
    expect(all("signed-out-row")).toHaveLength(1);
    ipc.failNext("signedOutDevices", { code: "server_error", message: "" });
    ipc.emit("devices-changed", { reason: "session.revoked" });
    await flush();
    expect(all("signed-out-row")).toHaveLength(1);
    expect(byTestId("devices-load-error")).toBeNull();
  });
});

describe("the activity log's new kinds", () => {
  const ev = (kind: ActivityEvent["kind"], over: Partial<ActivityEvent> = {}): ActivityEvent => ({
    at: AT_1402,
    kind,
    session_id: "work",
    device: { name: "Work laptop", platform: "macos", os_version: "", app_version: "" },
    ip: "192.0.2.9",
    by_session_id: null,
    ...over,
  });

  it("says them in plain words, names isolated", async () => {
    const ipc = signedIn({
      activity: [
        ev("password_changed"),
        ev("two_step_enabled"),
        ev("two_step_disabled"),
        ev("refresh_retried"),
        ev("wiped", { session_id: "laptop", device: { name: "Lost laptop", platform: "windows", os_version: "", app_version: "" } }),
        ev("revoked", { reason: "password_changed", by_session_id: "me" }),
      ],
    });
    await mount(ipc);
    get<HTMLButtonElement>("activity-tab").click();
    await flush();
    const rows = all("activity-row").map((r) => text(r.querySelector(".activity-title")));
    expect(rows).toEqual([
      "Password changed on Work laptop",
      "Two-step sign-in turned on from Work laptop",
      "Two-step sign-in turned off from Work laptop",
      "Work laptop renewed its sign-in again",
      "Lost laptop erased its keys",
      "Work laptop was signed out by this device",
    ]);
    for (const r of all("activity-row")) {
      expect(r.querySelector(".activity-title bdi")).not.toBeNull();
    }
    expect(text(all("activity-row")[4]!)).toContain("it confirmed it no longer holds its sign-in · from 192.0.2.9");
  });
});

describe("names cannot mislead", () => {
  const rtl = "\u05de\u05d7\u05e9\u05d1 \u05e0\u05d9\u05d9\u05d3 (Dan's)";

  it("isolates every device name: list, dialog, status, notice", async () => {
    const ipc = signedIn({ devices: [device("me", "Ada's laptop", { current: true }), device("rtl", rtl)] });
    await mount(ipc);
    const name = get("device-name", row("rtl"));
    expect(name.getAttribute("dir")).toBe("auto");
    expect(name.textContent).toBe(rtl);

    get<HTMLButtonElement>("sign-out-device", row("rtl")).click();
    await flush();
    const title = get("confirm-dialog").querySelector("h2")!;
    expect(title.querySelector("bdi")?.textContent).toBe(rtl);
    expect(text(title)).toBe(`Sign out ${rtl}?`);
    get<HTMLButtonElement>("confirm-ok").click();
    await flush();
    expect(get("devices-status").querySelector("bdi")?.textContent).toBe(rtl);

    ipc.state = { ...ipc.state, signed_in: false, session_id: null };
    ipc.emit("signed-out", {
      by_session_id: "x",
      by_device_name: rtl,
      reason: "revoked",
      at: AT_1402,
      message: `This device was signed out from ${rtl} at 14:02.`,
    });
    await flush();
    const notice = get("signed-out-notice");
    expect(notice.querySelector("bdi")?.textContent).toBe(rtl);
    expect(text(notice)).toBe(`This device was signed out from ${rtl} at 14:02.`);
  });
});
