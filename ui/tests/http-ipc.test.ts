// The account page's Ipc over HTTP (src/web/http-ipc.ts): what each command of the
// desktop app's contract asks the server, and what it makes of the answers, against a
// stand-in for the server's account-page API. The page against the real server, in a
// real browser, is tests/tests/account_page.rs.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../src/app";
import { errorMessage } from "../src/errors";
import { toAppError, type Ipc } from "../src/ipc";
import type { AppError } from "../src/types";
import { createHttpIpc } from "../src/web/http-ipc";
import { all, flush, get, NOW, text, type } from "./helpers";

const ORIGIN = "https://sessions.example.com";
const BASE = "/account/api";

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Request {
  method: string;
  path: string;
  body: unknown;
}

/**
 * The server's account-page API as far as a test needs it: answers by method and
 * path (the query string included), recorded requests. Unanswered requests get 404.
 */
class Server {
  readonly requests: Request[] = [];
  private readonly routes = new Map<string, Array<Answer | ((body: unknown) => Answer)>>();

  /** Answers `method path` with `answers`, one per request, the last one for good. */
  on(method: string, path: string, ...answers: Array<Answer | ((body: unknown) => Answer)>): this {
    this.routes.set(`${method} ${path}`, answers);
    return this;
  }

  /** What was sent to `method path`, in order. */
  sent(method: string, path: string): unknown[] {
    return this.requests.filter((r) => r.method === method && r.path === path).map((r) => r.body);
  }

  readonly fetch = async (input: string, init: RequestInit): Promise<Response> => {
    const method = init.method ?? "GET";
    const path = input.startsWith(BASE) ? input.slice(BASE.length) : input;
    const body: unknown = typeof init.body === "string" ? JSON.parse(init.body) : null;
    this.requests.push({ method, path, body });
    const answers = this.routes.get(`${method} ${path}`);
    const next = answers && (answers.length > 1 ? answers.shift() : answers[0]);
    const a: Answer = next ? (typeof next === "function" ? next(body) : next) : error(404, "not_found", "Not found.");
    const headers = { "content-type": "application/json", ...a.headers };
    return new Response(a.status === 204 ? null : JSON.stringify(a.body ?? null), { status: a.status, headers });
  };
}

function error(status: number, code: string, description: string, headers?: Record<string, string>): Answer {
  return { status, body: { error: code, error_description: description }, headers };
}

/** The browser's EventSource, which jsdom lacks: a stream that never says anything. */
class SilentEventSource {
  static readonly CLOSED = 2;
  readyState = 0;
  constructor(readonly url: string) {}
  addEventListener(): void {}
  close(): void {
    this.readyState = SilentEventSource.CLOSED;
  }
}

const BROWSER_SESSION = "0193a0b0-0000-7000-8000-000000000001";
const SESSIONS = {
  sessions: [
    {
      id: BROWSER_SESSION,
      device: { name: "Firefox on Linux", platform: "web", os_version: "Linux", app_version: "133.0" },
      created_at: "2025-03-03T13:59:00Z",
      last_seen_at: "2025-03-03T14:00:00Z",
      last_ip: "127.0.0.1",
      current: true,
    },
  ],
};

let server: Server;
let ipc: Ipc;

beforeEach(() => {
  server = new Server();
  vi.stubGlobal("fetch", server.fetch);
  vi.stubGlobal("EventSource", SilentEventSource);
  ipc = createHttpIpc({ base: BASE, origin: ORIGIN });
});

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    return toAppError(e);
  }
  throw new Error("it did not reject");
}

/** A right password on an account with two-step sign-in (the challenge goes in a cookie). */
const MFA_REQUIRED = error(401, "mfa_required", "Enter the code from your authenticator app.");

describe("two-step sign-in on the page", () => {
  it("asks for the code as the app does, then signs in with it, as the computer was chosen to be", async () => {
    server.on("POST", "/sign-in", MFA_REQUIRED);
    server.on("POST", "/sign-in/two-step", { status: 200, body: { session_id: BROWSER_SESSION } });

    const err = await rejection(
      ipc.signIn({ serverUrl: ORIGIN, email: " Ada@Example.com", password: "correct horse", deviceName: null }, { sharedComputer: true }),
    );
    expect(err.code).toBe("two_step_required");
    expect(server.sent("POST", "/sign-in")).toEqual([
      { email: " Ada@Example.com", password: "correct horse", shared_computer: true },
    ]);

    const state = await ipc.signInSecondStep({ code: "123 456", recovery: false });
    expect(server.sent("POST", "/sign-in/two-step")).toEqual([{ code: "123 456", shared_computer: true }]);
    expect(state).toMatchObject({ signed_in: true, session_id: BROWSER_SESSION, email: "ada@example.com" });
  });

  it("sends a recovery code as one", async () => {
    server.on("POST", "/sign-in", MFA_REQUIRED);
    server.on("POST", "/sign-in/two-step", { status: 200, body: { session_id: BROWSER_SESSION } });
    await rejection(ipc.signIn({ serverUrl: ORIGIN, email: "ada@example.com", password: "pw", deviceName: null }));
    await ipc.signInSecondStep({ code: "ABCD-EFGH-IJKL-MNOP", recovery: true });
    expect(server.sent("POST", "/sign-in/two-step")).toEqual([
      { recovery_code: "ABCD-EFGH-IJKL-MNOP", shared_computer: false },
    ]);
  });

  it("lets a wrong code be tried again, and a counted-out one wait", async () => {
    server.on("POST", "/sign-in", MFA_REQUIRED);
    server.on(
      "POST",
      "/sign-in/two-step",
      error(401, "invalid_code", "The code is wrong or was already used. Wait for the next one and try again."),
      error(429, "too_many_attempts", "Too many wrong codes.", { "retry-after": "61" }),
      { status: 200, body: { session_id: BROWSER_SESSION } },
    );
    await rejection(ipc.signIn({ serverUrl: ORIGIN, email: "ada@example.com", password: "pw", deviceName: null }));

    const wrong = await rejection(ipc.signInSecondStep({ code: "000000", recovery: false }));
    expect(wrong).toEqual({
      code: "validation_failed",
      message: "The code is wrong or was already used. Wait for the next one and try again.",
    });
    expect(errorMessage(wrong, "sign-in")).toBe(wrong.message);
    const limited = await rejection(ipc.signInSecondStep({ code: "111111", recovery: false }));
    expect(limited).toMatchObject({ code: "rate_limited", retry_after_secs: 61 });
    expect((await ipc.signInSecondStep({ code: "222222", recovery: false })).signed_in).toBe(true);
  });

  it("starts over from the password when the sign-in expired, or none waits for a code", async () => {
    const expired = await rejection(ipc.signInSecondStep({ code: "123456", recovery: false }));
    expect(expired.code).toBe("two_step_expired");
    expect(server.requests).toEqual([]);

    server.on("POST", "/sign-in", MFA_REQUIRED);
    server.on("POST", "/sign-in/two-step", error(401, "invalid_challenge", "This sign-in expired or was already completed; sign in again."));
    await rejection(ipc.signIn({ serverUrl: ORIGIN, email: "ada@example.com", password: "pw", deviceName: null }));
    expect((await rejection(ipc.signInSecondStep({ code: "123456", recovery: false }))).code).toBe("two_step_expired");
    // Given up: the next code does not even reach the server.
    expect((await rejection(ipc.signInSecondStep({ code: "654321", recovery: false }))).code).toBe("two_step_expired");
    expect(server.sent("POST", "/sign-in/two-step")).toHaveLength(1);
  });

  it("forgets a second step once a plain sign-in succeeds", async () => {
    server.on("POST", "/sign-in", MFA_REQUIRED, { status: 200, body: { session_id: BROWSER_SESSION } });
    await rejection(ipc.signIn({ serverUrl: ORIGIN, email: "ada@example.com", password: "pw", deviceName: null }));
    await ipc.signIn({ serverUrl: ORIGIN, email: "ada@example.com", password: "pw", deviceName: null });
    expect((await rejection(ipc.signInSecondStep({ code: "123456", recovery: false }))).code).toBe("two_step_expired");
  });
});

describe("the account, the password and two-step settings", () => {
  it("reads the account as the app's `account` answers it", async () => {
    server.on("GET", "/v1/account", {
      status: 200,
      body: { user_id: "u", email: "ada@example.com", created_at: "2025-01-09T08:00:00Z", two_step: true },
    });
    expect(await ipc.account()).toEqual({ email: "ada@example.com", created_at: "2025-01-09T08:00:00Z", two_step: true });
  });

  it("changes the password, signing the other devices out or not", async () => {
    server.on("POST", "/v1/account/password", (body) => ({
      status: 200,
      body: { revoked: (body as { sign_out_other_devices: boolean }).sign_out_other_devices ? 2 : 0 },
    }));
    expect(await ipc.changePassword({ currentPassword: "old one!", newPassword: "a new one!", signOutOtherDevices: true })).toEqual({
      revoked: 2,
    });
    expect(await ipc.changePassword({ currentPassword: "old one!", newPassword: "a new one!", signOutOtherDevices: false })).toEqual({
      revoked: 0,
    });
    expect(server.sent("POST", "/v1/account/password")[0]).toEqual({
      current_password: "old one!",
      new_password: "a new one!",
      sign_out_other_devices: true,
    });
  });

  it("words a wrong current password, a weak new one and a wrong code as the app does", async () => {
    server.on(
      "POST",
      "/v1/account/password",
      error(403, "invalid_credentials", "The password is wrong."),
      error(422, "weak_password", "The password is one of the most common ones."),
    );
    const wrong = await rejection(ipc.changePassword({ currentPassword: "x", newPassword: "y", signOutOtherDevices: true }));
    expect(wrong.code).toBe("invalid_credentials");
    expect(errorMessage(wrong, "security")).toBe("That is not your current password.");
    const weak = await rejection(ipc.changePassword({ currentPassword: "x", newPassword: "y", signOutOtherDevices: true }));
    expect(weak.code).toBe("validation_failed");
    expect(errorMessage(weak, "security")).toBe("The password is one of the most common ones.");

    server.on("POST", "/v1/account/two-step/confirm", error(422, "invalid_code", "The code is wrong or was already used."));
    const code = await rejection(ipc.twoStepConfirm("000000"));
    expect(code.code).toBe("validation_failed");
    expect(errorMessage(code, "security")).toBe("The code is wrong or was already used.");
  });

  it("turns two-step sign-in on: the key and the QR code, without the otpauth URI; then the recovery codes", async () => {
    server.on("POST", "/v1/account/two-step", {
      status: 200,
      body: { secret: "JBSWY3DPEHPK3PXP", otpauth_uri: "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", qr_svg: "<svg/>" },
    });
    const codes = Array.from({ length: 10 }, (_, i) => `AAAA-BBBB-CCCC-DDD${i}`);
    server.on("POST", "/v1/account/two-step/confirm", { status: 200, body: { recovery_codes: codes } });

    expect(await ipc.twoStepStart("correct horse")).toEqual({ secret: "JBSWY3DPEHPK3PXP", qr_svg: "<svg/>" });
    expect(server.sent("POST", "/v1/account/two-step")).toEqual([{ password: "correct horse" }]);
    expect(await ipc.twoStepConfirm("123456")).toEqual({ recovery_codes: codes });
    expect(server.sent("POST", "/v1/account/two-step/confirm")).toEqual([{ code: "123456" }]);
  });

  it("turns two-step sign-in off with the password and a code", async () => {
    server.on("DELETE", "/v1/account/two-step", { status: 204 });
    expect(await ipc.twoStepDisable({ password: "correct horse", code: "123456" })).toBeNull();
    expect(server.sent("DELETE", "/v1/account/two-step")).toEqual([{ password: "correct horse", code: "123456" }]);
  });
});

describe("signed-out devices and notification clicks", () => {
  it("asks the server to word the wipe status in this browser's time zone, and shows its words", async () => {
    const offset = -new Date().getTimezoneOffset();
    const wiped = {
      id: "0193a0b0-0000-7000-8000-000000000002",
      device: { name: "Work laptop", platform: "linux", os_version: "Debian 12", app_version: "0.1.0" },
      created_at: "2025-03-01T09:00:00Z",
      last_seen_at: "2025-03-03T13:00:00Z",
      last_ip: "192.0.2.9",
      revoked_at: "2025-03-03T14:00:00Z",
      revoked_reason: "password_changed",
      wiped_at: "2025-03-03T14:02:00Z",
      wiped_ip: "192.0.2.9",
      wipe_status: "Keys erased from this device at 14:02, from 192.0.2.9",
    };
    const waiting = { ...wiped, id: "0193a0b0-0000-7000-8000-000000000003", revoked_reason: "a_new_reason", wiped_at: null, wiped_ip: null, wipe_status: "Waiting for this device to come online" };
    server.on("GET", `/signed-out?offset_minutes=${offset}`, { status: 200, body: { devices: [wiped, waiting] } });

    const list = await ipc.signedOutDevices();
    expect(list).toEqual([wiped, { ...waiting, revoked_reason: "unknown" }]);
  });

  it("has no notification to show in a browser", async () => {
    expect(await ipc.deviceToShow()).toBeNull();
    expect(server.requests).toEqual([]);
  });
});

describe("the sign-in form's second step, on the page", () => {
  it("asks for the code after the password, and lists the devices once it is right", async () => {
    server.on("GET", "/v1/account", error(401, "invalid_token", "Sign in on the account page first."), {
      status: 200,
      body: { user_id: "u", email: "ada@example.com", created_at: "2025-01-09T08:00:00Z", two_step: true },
    });
    server.on("GET", "/v1/sessions", error(401, "invalid_token", "Sign in on the account page first."), { status: 200, body: SESSIONS });
    server.on("GET", "/notice?offset_minutes=" + -new Date().getTimezoneOffset(), { status: 204 });
    server.on("POST", "/sign-in", MFA_REQUIRED);
    server.on("POST", "/sign-in/two-step", { status: 200, body: { session_id: BROWSER_SESSION } });
    server.on("GET", `/signed-out?offset_minutes=${-new Date().getTimezoneOffset()}`, { status: 200, body: { devices: [] } });

    const root = document.createElement("div");
    document.body.appendChild(root);
    const app = new App(root, { ipc, host: "web", now: () => NOW, locale: "en-GB" });
    try {
      await app.start();
      await flush();
      type(get<HTMLInputElement>("email"), "ada@example.com");
      type(get<HTMLInputElement>("password"), "correct horse");
      get<HTMLInputElement>("shared-computer").click();
      get<HTMLButtonElement>("sign-in-submit").click();
      await flush(60);
      expect(get("two-step").hidden).toBe(false);
      expect(text(get("two-step"))).toContain("Two-step sign-in is on for ada@example.com.");

      type(get<HTMLInputElement>("two-step-code"), "123456");
      get<HTMLButtonElement>("sign-in-submit").click();
      await flush(60);
      expect(server.sent("POST", "/sign-in/two-step")).toEqual([{ code: "123456", shared_computer: true }]);
      expect(all("device-row").map((r) => r.getAttribute("data-session-id"))).toEqual([BROWSER_SESSION]);
    } finally {
      app.destroy();
    }
  });
});
