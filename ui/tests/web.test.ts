// The account page: what it makes of the server's answers and events (src/web/api.ts),
// and the views as a browser shows them (host "web"). The page against the real server,
// in a real browser, is tests/tests/account_page.rs.

import { afterEach, describe, expect, it } from "vitest";
import { App } from "../src/app";
import { device, FakeIpc } from "../src/demo/fake-ipc";
import { errorMessage } from "../src/errors";
import type { SignInOptions } from "../src/ipc";
import type { SignInArgs } from "../src/types";
import { fromApiError, toActivity, toNotice, toSessions, translateServerEvent } from "../src/web/api";
import { all, byTestId, flush, get, NOW, text, type } from "./helpers";

describe("the API's errors, in the app's words", () => {
  it("counts a rate limit down from Retry-After", () => {
    const err = fromApiError(429, { error: "too_many_attempts", error_description: "Too many attempts." }, "42");
    expect(err).toEqual({ code: "rate_limited", message: "Too many attempts.", retry_after_secs: 42 });
    expect(fromApiError(429, null, null)).toEqual({ code: "rate_limited", message: "" });
  });

  it("reads a refused cookie as this device being signed out", () => {
    for (const body of [{ error: "invalid_token", error_description: "revoked" }, null]) {
      expect(fromApiError(401, body, null).code).toBe("session_revoked");
    }
  });

  it("keeps the meaning of the codes the views know", () => {
    const cases: Array<[number, string, string]> = [
      [401, "invalid_credentials", "invalid_credentials"],
      [404, "not_found", "not_found"],
      [422, "validation_failed", "validation_failed"],
      [400, "validation_failed", "validation_failed"],
      [422, "weak_password", "validation_failed"],
      [503, "temporarily_unavailable", "server_error"],
      [500, "server_error", "server_error"],
    ];
    for (const [status, code, expected] of cases) {
      expect(fromApiError(status, { error: code, error_description: "Words." }, null)).toEqual({
        code: expected,
        message: "Words.",
      });
    }
  });

  it("shows the server's own words for what has no equivalent", () => {
    const err = fromApiError(
      403,
      { error: "invalid_request", error_description: "This request did not come from the account page." },
      null,
    );
    expect(errorMessage(err, "sign-out")).toBe("This request did not come from the account page.");
    expect(errorMessage(fromApiError(418, "not json", null), "devices")).toBe("The server answered 418.");
  });

  it("reads two-step sign-in's answers as the app's flow codes", () => {
    const words = { error_description: "Words." };
    // A right password on a two-step account: the form asks for the code.
    expect(fromApiError(401, { error: "mfa_required", ...words }, null)).toEqual({ code: "two_step_required", message: "Words." });
    // A wrong code may be tried again, at sign-in (401) as in the Security tab (422)…
    for (const status of [401, 422]) {
      expect(fromApiError(status, { error: "invalid_code", ...words }, null)).toEqual({ code: "validation_failed", message: "Words." });
    }
    // …an expired sign-in may not.
    const expired = fromApiError(401, { error: "invalid_challenge", ...words }, null);
    expect(expired.code).toBe("two_step_expired");
    expect(errorMessage(expired, "sign-in")).toBe("This sign-in expired. Sign in again.");
  });
});

describe("the API's answers", () => {
  it("reads sessions, and what the contract does not know as unknown", () => {
    const [s] = toSessions({
      sessions: [
        {
          id: "s1",
          device: { name: "Firefox on Windows", platform: "web", os_version: "Windows", app_version: "133.0" },
          created_at: "2025-03-03T14:00:00Z",
          last_seen_at: "2025-03-03T14:59:00Z",
          last_ip: null,
          current: true,
        },
      ],
    });
    expect(s).toEqual({
      id: "s1",
      device: { name: "Firefox on Windows", platform: "web", os_version: "Windows", app_version: "133.0" },
      created_at: "2025-03-03T14:00:00Z",
      last_seen_at: "2025-03-03T14:59:00Z",
      last_ip: null,
      current: true,
    });
    const events = toActivity({
      events: [
        { at: "2025-03-03T14:00:00Z", kind: "teleported", session_id: "s1", device: null, ip: null, by_session_id: null },
        { at: "2025-03-03T13:00:00Z", kind: "revoked", session_id: "s2", device: null, ip: "192.0.2.7", by_session_id: "s1", reason: "moon_phase" },
      ],
    });
    expect(events.map((e) => [e.kind, e.reason])).toEqual([
      ["unknown", undefined],
      ["revoked", "unknown"],
    ]);
    expect(toNotice(null)).toBeNull();
    const notice = {
      message: "This device was signed out from Phone at 14:02.",
      reason: "revoked",
      by_session_id: "p",
      by_device_name: "Phone",
      at: "2025-03-03T14:02:00Z",
    };
    expect(toNotice(notice)).toEqual(notice);
    expect(toNotice({ ...notice, reason: "moon_phase" })?.reason).toBe("unknown");
  });
});

describe("the event stream, as the desktop app passes it on", () => {
  it("ends this browser's session when it is the one revoked", () => {
    const data = JSON.stringify({ session_id: "me", reason: "revoked", by_session_id: "phone" });
    expect(translateServerEvent("session.revoked", data, "me")).toEqual([{ event: "ended" }]);
    expect(translateServerEvent("session.revoked", data, "someone-else")).toEqual([
      { event: "devices-changed", payload: { reason: "session.revoked" } },
    ]);
  });

  it("raises security alerts, and refetches the devices for every event", () => {
    const alert = JSON.stringify({ kind: "password_changed", session_id: "s", at: "t", message: "Changed." });
    expect(translateServerEvent("security.alert", alert, "me")).toEqual([
      { event: "security-alert", payload: { kind: "password_changed", session_id: "s", at: "t", message: "Changed." } },
      { event: "devices-changed", payload: { reason: "security.alert" } },
    ]);
    const odd = JSON.stringify({ kind: "gremlins" });
    expect(translateServerEvent("security.alert", odd, "me")[0]).toMatchObject({ payload: { kind: "unknown" } });
    expect(translateServerEvent("session.created", "not json", "me")).toEqual([
      { event: "devices-changed", payload: { reason: "session.created" } },
    ]);
  });
});

/** FakeIpc, also recording what only the account page passes at sign-in. */
class WebFake extends FakeIpc {
  options: SignInOptions | undefined;

  override signIn(args: SignInArgs, options?: SignInOptions): ReturnType<FakeIpc["signIn"]> {
    this.options = options;
    return super.signIn(args);
  }
}

describe("the views in a browser", () => {
  let app: App | null = null;
  afterEach(() => {
    app?.destroy();
    app = null;
    document.body.replaceChildren();
  });

  async function mountWeb(ipc: FakeIpc): Promise<void> {
    const root = document.createElement("div");
    document.body.appendChild(root);
    app = new App(root, { ipc, host: "web", now: () => NOW, locale: "en-GB" });
    await app.start();
    await flush();
  }

  it("asks only for the email, the password and whether the computer is shared", async () => {
    const ipc = new WebFake({ state: { signed_in: false, email: null }, devices: [device("p", "Phone")] });
    await mountWeb(ipc);
    expect(byTestId("server-url")).toBeNull();
    expect(byTestId("device-name")).toBeNull();
    const shared = get<HTMLInputElement>("shared-computer");
    expect(document.querySelector(`label[for="${shared.id}"]`)?.textContent).toBe("This is a shared computer");

    type(get<HTMLInputElement>("email"), "ada@example.com");
    type(get<HTMLInputElement>("password"), "correct horse");
    shared.click();
    get<HTMLButtonElement>("sign-in-submit").click();
    await flush();
    expect(ipc.calls.find((c) => c.command === "signIn")?.args).toMatchObject({
      email: "ada@example.com",
      password: "correct horse",
      deviceName: null,
    });
    expect(ipc.options).toEqual({ sharedComputer: true });
    expect(all("device-row")).toHaveLength(2);
  });

  it("says when the server cannot be reached, with nothing to correct on the form", async () => {
    const ipc = new WebFake({ state: { signed_in: false } });
    ipc.failNext("signIn", { code: "server_unreachable", message: "Failed to fetch" });
    await mountWeb(ipc);
    type(get<HTMLInputElement>("password"), "correct horse");
    get<HTMLButtonElement>("sign-in-submit").click();
    await flush();
    expect(text(get("sign-in-error"))).toBe(
      "Can't reach the server at https://sessions.example.com. Check the address and your connection.",
    );
    expect(document.querySelectorAll("[aria-invalid]")).toHaveLength(0);
  });

  it("has no Settings tab (a web page does not start at login), and one level-one heading", async () => {
    const browser = device("me", "Chrome on Linux", { current: true, platform: "web", os_version: "Linux" });
    await mountWeb(new FakeIpc({ state: { signed_in: true, session_id: "me" }, devices: [browser] }));
    expect(byTestId("settings-tab")).toBeNull();
    expect(all("devices-tab")).toHaveLength(1);
    const visibleH1 = [...document.querySelectorAll("h1")].filter((h) => !h.closest("[hidden]"));
    expect(visibleH1.map((h) => text(h))).toEqual(["Devices"]);
    // A browser shows as one: its system, and a browser's icon.
    const row = all("device-row")[0]!;
    expect(row.querySelector("[data-platform]")?.getAttribute("data-platform")).toBe("web");
    expect(text(row)).toContain("Linux");
  });
});
