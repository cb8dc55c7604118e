// The Security tab after a scare: a new password (the other devices signed out), and
// two-step sign-in turned on (QR code, key, first code, recovery codes once) and off.

import { afterEach, describe, expect, it, vi } from "vitest";
import { device, FAKE_TOTP_CODE, FAKE_TOTP_SECRET, FakeIpc } from "../src/demo/fake-ipc";
import { readQrSvg } from "../src/qr";
import { groupSecret } from "../src/ui/security-view";
import { all, byTestId, flush, get, mount, text, type, unmountAll } from "./helpers";

afterEach(() => {
  unmountAll();
  vi.useRealTimers();
});

function signedIn(extra: ConstructorParameters<typeof FakeIpc>[0] = {}): FakeIpc {
  return new FakeIpc({
    state: { signed_in: true, session_id: "me" },
    devices: [device("me", "Ada's laptop", { current: true }), device("work", "Work laptop"), device("phone", "Phone")],
    ...extra,
  });
}

async function openSecurity(ipc: FakeIpc): Promise<void> {
  await mount(ipc);
  get<HTMLButtonElement>("security-tab").click();
  await flush();
}

function fillPassword(current: string, fresh: string, again = fresh): void {
  type(get<HTMLInputElement>("current-password"), current);
  type(get<HTMLInputElement>("new-password"), fresh);
  type(get<HTMLInputElement>("confirm-password"), again);
}

const submitPassword = async (): Promise<void> => {
  get<HTMLButtonElement>("change-password-submit").click();
  await flush();
};

describe("changing the password", () => {
  it("signs the other devices out by default, and says how many", async () => {
    const ipc = signedIn();
    await openSecurity(ipc);
    expect(get("security-tab").getAttribute("aria-selected")).toBe("true");
    expect(get<HTMLInputElement>("sign-out-others-on-change").checked).toBe(true);

    fillPassword("correct horse", "a much better secret");
    await submitPassword();

    expect(ipc.calls.find((c) => c.command === "changePassword")?.args).toEqual({
      currentPassword: "correct horse",
      newPassword: "a much better secret",
      signOutOtherDevices: true,
    });
    expect(text(get("change-password-status"))).toBe("Password changed. 2 other devices were signed out.");
    expect(get<HTMLInputElement>("current-password").value).toBe("");
    expect(get<HTMLInputElement>("new-password").value).toBe("");
    expect(ipc.devices.map((d) => d.id)).toEqual(["me"]);
  });

  it("keeps the other devices when asked to", async () => {
    const ipc = signedIn();
    await openSecurity(ipc);
    get<HTMLInputElement>("sign-out-others-on-change").click();
    fillPassword("correct horse", "a much better secret");
    await submitPassword();
    expect(text(get("change-password-status"))).toBe("Password changed. Your other devices stay signed in.");
    expect(ipc.devices).toHaveLength(3);
  });

  it("checks the form before asking: the new password twice, long enough, not the old one", async () => {
    const ipc = signedIn();
    await openSecurity(ipc);
    await submitPassword();
    expect(text(get("change-password-error"))).toBe("Enter your current password.");

    fillPassword("correct horse", "short");
    await submitPassword();
    expect(text(get("change-password-error"))).toBe("Use at least 8 characters for the new password.");
    expect(get("new-password").getAttribute("aria-invalid")).toBe("true");

    fillPassword("correct horse", "a much better secret", "a much better secret!");
    await submitPassword();
    expect(text(get("change-password-error"))).toBe("The two new passwords are not the same.");
    expect(document.activeElement).toBe(get("confirm-password"));
    expect(ipc.count("changePassword")).toBe(0);
  });

  it("says a wrong current password plainly, and selects it", async () => {
    const ipc = signedIn();
    await openSecurity(ipc);
    fillPassword("not it", "a much better secret");
    await submitPassword();
    expect(text(get("change-password-error"))).toBe("That is not your current password.");
    expect(document.activeElement).toBe(get("current-password"));
    expect(get("current-password").getAttribute("aria-invalid")).toBe("true");
  });

  it("shows the server's reason for a weak password", async () => {
    const ipc = signedIn().failNext("changePassword", {
      code: "validation_failed",
      message: "The password is one of the most common passwords. Correct the input and try again.",
    });
    await openSecurity(ipc);
    fillPassword("correct horse", "password123");
    await submitPassword();
    expect(text(get("change-password-error"))).toBe(
      "The password is one of the most common passwords. Correct the input and try again.",
    );
    expect(document.activeElement).toBe(get("new-password"));
  });

  it("counts down when rate limited, then lets the person try again", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
    const ipc = signedIn().failNext("changePassword", { code: "rate_limited", message: "", retry_after_secs: 3 });
    await openSecurity(ipc);
    fillPassword("correct horse", "a much better secret");
    await submitPassword();
    expect(text(get("change-password-error"))).toBe("Too many attempts. Try again in 3 s");
    expect(get<HTMLButtonElement>("change-password-submit").disabled).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(text(get("change-password-error"))).toBe("Too many attempts. Try again in 2 s");
    vi.advanceTimersByTime(2500);
    expect(text(get("change-password-error"))).toBe("");
    expect(get<HTMLButtonElement>("change-password-submit").disabled).toBe(false);
  });
});

describe("two-step sign-in", () => {
  it("turns on: password, QR code and key, a first code, then the recovery codes once", async () => {
    const ipc = signedIn();
    await openSecurity(ipc);
    expect(ipc.count("account")).toBe(1);
    expect(text(get("two-step-state"))).toBe("Off");

    get<HTMLButtonElement>("two-step-enable").click();
    await flush();
    type(get<HTMLInputElement>("two-step-password"), "wrong");
    get<HTMLButtonElement>("two-step-start").click();
    await flush();
    expect(text(get("two-step-error"))).toBe("That is not your current password.");

    type(get<HTMLInputElement>("two-step-password"), "correct horse");
    get<HTMLButtonElement>("two-step-start").click();
    await flush();
    const qr = get("two-step-qr").querySelector("svg");
    expect(qr?.getAttribute("viewBox")).toBe("0 0 212 212");
    expect(qr?.querySelector("path")?.getAttribute("d")).toMatch(/^M16 16h4/);
    expect(text(get("two-step-secret"))).toBe(groupSecret(FAKE_TOTP_SECRET));
    expect(text(get("two-step-secret")).replace(/ /g, "")).toBe(FAKE_TOTP_SECRET);
    expect(document.activeElement).toBe(get("two-step-confirm-code"));

    type(get<HTMLInputElement>("two-step-confirm-code"), "12345");
    get<HTMLButtonElement>("two-step-confirm").click();
    await flush();
    expect(text(get("two-step-error"))).toBe("Enter the 6 digits the app shows.");
    expect(ipc.count("twoStepConfirm")).toBe(0);

    type(get<HTMLInputElement>("two-step-confirm-code"), "654321");
    get<HTMLButtonElement>("two-step-confirm").click();
    await flush();
    expect(text(get("two-step-error"))).toBe("The code is wrong or was already used.");

    type(get<HTMLInputElement>("two-step-confirm-code"), "123 456");
    get<HTMLButtonElement>("two-step-confirm").click();
    await flush();
    expect(ipc.calls.filter((c) => c.command === "twoStepConfirm").at(-1)?.args).toEqual({ code: FAKE_TOTP_CODE });
    const codes = all("recovery-code").map((c) => text(c));
    expect(codes).toHaveLength(10);
    expect(codes).toEqual(ipc.recoveryCodes);
    const warning = get("recovery-codes-warning");
    expect(text(warning)).toContain("Store these recovery codes now.");
    expect(text(warning)).toContain("shown only this once");
    expect(document.activeElement).toBe(warning);
    expect(text(get("two-step-state"))).toBe("On");

    const copied: string[] = [];
    Object.defineProperty(navigator, "clipboard", {
      configurable: true,
      value: { writeText: (t: string) => (copied.push(t), Promise.resolve()) },
    });
    get<HTMLButtonElement>("copy-recovery-codes").click();
    await flush();
    expect(copied).toEqual([codes.join("\n")]);
    expect(text(get("copy-recovery-codes-status"))).toBe("Copied.");

    get<HTMLButtonElement>("recovery-codes-done").click();
    await flush();
    expect(byTestId("recovery-codes")).toBeNull();
    expect(text(get("two-step-state"))).toBe("On");
    expect(text(get("two-step-status"))).toBe("Two-step sign-in is on.");
    expect(byTestId("two-step-disable")).not.toBeNull();
  });

  it("turns off with the password and a recovery code", async () => {
    const ipc = signedIn({ twoStep: true });
    ipc.recoveryCodes = ["AAAA-BBBB-CCCC-DDDD"];
    await openSecurity(ipc);
    expect(text(get("two-step-state"))).toBe("On");
    get<HTMLButtonElement>("two-step-disable").click();
    await flush();
    type(get<HTMLInputElement>("two-step-disable-password"), "correct horse");
    type(get<HTMLInputElement>("two-step-disable-code"), "aaaa-bbbb-cccc-dddd");
    get<HTMLButtonElement>("two-step-disable-submit").click();
    await flush();
    expect(ipc.twoStep).toBe(false);
    expect(text(get("two-step-state"))).toBe("Off");
    expect(text(get("two-step-status"))).toBe("Two-step sign-in is off. Signing in takes your password alone.");
  });

  it("says why it cannot tell, with Retry", async () => {
    const ipc = signedIn().failNext("account", { code: "server_unreachable", message: "" });
    await openSecurity(ipc);
    expect(text(get("two-step-error"))).toContain("Can't reach the server");
    get<HTMLButtonElement>("two-step-retry").click();
    await flush();
    expect(text(get("two-step-state"))).toBe("Off");
  });
});

describe("the server's QR code on screen", () => {
  const qr =
    '<?xml version="1.0" standalone="yes"?><svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40">' +
    '<rect x="0" y="0" width="40" height="40" fill="#fff"/><path fill="#000" d="M4 4h4v4H4V4M12 4h4v4H12V4"/></svg>';

  it("keeps only the squares: no script, handler, style, link or foreign content", () => {
    const hostile = qr.replace(
      "<rect",
      '<script>alert(1)</script><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>' +
        '<a href="https://evil.example"><path d="M0 0h1"/></a><rect onload="alert(2)" style="fill:red"',
    );
    const el = readQrSvg(hostile)!;
    expect(el.getAttribute("viewBox")).toBe("0 0 40 40");
    expect(Array.from(el.children).map((c) => c.localName)).toEqual(["rect", "path"]);
    expect(el.outerHTML).not.toMatch(/script|onload|style|foreignObject|href|evil/);
    expect(el.querySelector("path")?.getAttribute("d")).toBe("M4 4h4v4H4V4M12 4h4v4H12V4");
  });

  it("refuses what is not a QR code drawing", () => {
    expect(readQrSvg("<html><body>hi</body></html>")).toBeNull();
    expect(readQrSvg("not xml at all <")).toBeNull();
    expect(readQrSvg(qr.replace(/<path[^>]*\/>/, ""))).toBeNull();
    expect(readQrSvg(qr.replace('d="M4', 'd="url(#x) M4'))).toBeNull();
  });
});
