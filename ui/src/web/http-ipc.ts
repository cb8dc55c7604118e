// The account page's side of the `Ipc` seam: the commands and events of the desktop
// app's contract (docs/app-ipc.md), answered over the session server's account-page
// API (`/account/api`, crates/server/src/http/web.rs) instead of Tauri.
//
// The browser's session lives in an HttpOnly cookie scoped to the API's path: no script
// here ever sees a token. The browser sends that cookie with every same-origin request,
// and an `Origin` header with every change, which the server checks.

import { endsSession } from "../errors";
import { toAppError, type Ipc, type SignInOptions, type Unlisten } from "../ipc";
import type {
  AppError,
  AppState,
  ChangePasswordArgs,
  CommandAnswer,
  EventMap,
  EventName,
  SecondStepArgs,
  SignedOutNotice,
  SignInArgs,
  TwoStepDisableArgs,
} from "../types";
import {
  SERVER_EVENTS,
  fromApiError,
  toAccount,
  toActivity,
  toNotice,
  toRecoveryCodes,
  toSession,
  toSessions,
  toSignedOutDevices,
  toTwoStepSetup,
  translateServerEvent,
} from "./api";

/** The API, next to the page (`/account/` + `api`): where the session cookie is sent. */
const DEFAULT_BASE = `${import.meta.env.BASE_URL}api`;

/**
 * How long the event stream may be down before the page says "Offline". The server ends
 * a browser's stream every minute (when the right to read it is checked again) and the
 * browser reconnects by itself a few seconds later, resuming from the last event: that
 * is no outage.
 */
const OFFLINE_AFTER_MS = 10_000;
/** Reopening a stream the server refused (busy, restarting): from 2 s up to 30 s. */
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 30_000;

export interface HttpIpcOptions {
  /** The API's root; `/account/api` on the server's own page. */
  base?: string;
  /** The server, as the page names it in messages: the page's own origin. */
  origin?: string;
}

/** The account page's `Ipc`. */
export function createHttpIpc(opts: HttpIpcOptions = {}): Ipc {
  return new HttpIpc(opts.base ?? DEFAULT_BASE, opts.origin ?? location.origin);
}

class HttpIpc implements Ipc {
  /** This browser's session, while signed in. */
  private session: { id: string; email: string } | null = null;
  /** The email last signed in with, for the sign-in form. */
  private lastEmail: string | null = null;
  /**
   * A sign-in waiting for its two-step code: what the first step chose. The server's
   * challenge itself is in an HttpOnly cookie, out of this script's reach.
   */
  private secondStep: { email: string; sharedComputer: boolean } | null = null;
  /** Why this browser was signed out, kept until dismissed or signed in again. */
  private notice: SignedOutNotice | null = null;
  /** False once the event stream is known to be down. */
  private online = true;
  private stream: EventSource | null = null;
  /** The current stream has carried an event id, so a reconnect resumes after it. */
  private sawEventId = false;
  /** Events may have been missed (a stream opened without a place to resume from). */
  private resync = false;
  private offlineTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryMs = RETRY_MIN_MS;
  /** This page is signing its own session out: the revocation it hears is its own doing. */
  private leaving = false;
  /** Finding out why the session ended, once however many ask. */
  private ending: Promise<void> | null = null;
  private readonly listeners = new Map<EventName, Set<(payload: never) => void>>();

  constructor(
    private readonly base: string,
    private readonly origin: string,
  ) {}

  // ---- Commands ----

  /** Signed in when the cookie still stands for a live session; else why it ended. */
  async appState(): Promise<CommandAnswer<"app_state">> {
    try {
      const [account, sessions] = await Promise.all([
        this.call("GET", "/v1/account"),
        this.call("GET", "/v1/sessions"),
      ]);
      const own = toSessions(sessions).find((s) => s.current);
      const email = isRecord(account) && typeof account.email === "string" ? account.email : null;
      if (own && email) this.signedIn(own.id, email);
    } catch (e) {
      if (!endsSession(toAppError(e))) throw e;
      await this.sessionLost();
    }
    return this.state();
  }

  async signIn(args: SignInArgs, options?: SignInOptions): Promise<CommandAnswer<"sign_in">> {
    // No server to choose (this page's own) and no device name: the server names the
    // browser from itself ("Firefox on Windows").
    const sharedComputer = options?.sharedComputer ?? false;
    this.secondStep = null;
    let answer: unknown;
    try {
      answer = await this.call("POST", "/sign-in", {
        email: args.email,
        password: args.password,
        shared_computer: sharedComputer,
      });
    } catch (e) {
      // Rejected with `two_step_required`, as the app's `sign_in`: the form asks for the
      // code and calls `signInSecondStep`, which must choose the same for this computer.
      if (toAppError(e).code === "two_step_required") this.secondStep = { email: args.email, sharedComputer };
      throw e;
    }
    return this.completeSignIn(answer, args.email);
  }

  /** The second step of a sign-in that asked for it: the code, or a recovery code. */
  async signInSecondStep(args: SecondStepArgs): Promise<CommandAnswer<"sign_in_second_step">> {
    const pending = this.secondStep;
    if (!pending) {
      // Nothing is waiting for a code (the page was reloaded, or it was completed): as
      // the app answers, start over from the password.
      const err: AppError = { code: "two_step_expired", message: "" };
      throw err;
    }
    let answer: unknown;
    try {
      answer = await this.call("POST", "/sign-in/two-step", {
        ...(args.recovery ? { recovery_code: args.code } : { code: args.code }),
        shared_computer: pending.sharedComputer,
      });
    } catch (e) {
      // A wrong code may be tried again; an expired challenge may not.
      if (toAppError(e).code === "two_step_expired") this.secondStep = null;
      throw e;
    }
    this.secondStep = null;
    return this.completeSignIn(answer, pending.email);
  }

  private completeSignIn(answer: unknown, email: string): AppState {
    const id = isRecord(answer) && typeof answer.session_id === "string" ? answer.session_id : "";
    this.notice = null;
    // The server keeps emails trimmed and lower-cased.
    this.signedIn(id, email.trim().toLowerCase());
    return this.state();
  }

  async listDevices(): Promise<CommandAnswer<"list_devices">> {
    return toSessions(await this.call("GET", "/v1/sessions"));
  }

  async renameDevice(id: string, name: string): Promise<CommandAnswer<"rename_device">> {
    const answer = await this.call("PATCH", `/v1/sessions/${encodeURIComponent(id)}`, { device: { name } });
    return toSession(isRecord(answer) ? answer : {});
  }

  async signOutDevice(id: string): Promise<CommandAnswer<"sign_out_device">> {
    await this.call("DELETE", `/v1/sessions/${encodeURIComponent(id)}`);
    return null;
  }

  async signOutOthers(): Promise<CommandAnswer<"sign_out_others">> {
    const answer = await this.call("POST", "/v1/sessions/revoke", { scope: "others" });
    return { revoked: isRecord(answer) && typeof answer.revoked === "number" ? answer.revoked : 0 };
  }

  async signOutEverywhere(): Promise<CommandAnswer<"sign_out_everywhere">> {
    await this.leave(() => this.call("POST", "/v1/sessions/revoke", { scope: "all" }));
    // The cookie now names a session that has ended: have the server clear it.
    await this.call("POST", "/sign-out").catch(() => {});
    return this.state();
  }

  async signOut(): Promise<CommandAnswer<"sign_out">> {
    // Revokes this browser's session and clears its cookie. Unlike the desktop app's,
    // nothing is kept to retry: there is no credential left here to revoke later.
    await this.leave(() => this.call("POST", "/sign-out"));
    return this.state();
  }

  async activity(): Promise<CommandAnswer<"activity">> {
    return toActivity(await this.call("GET", "/v1/activity"));
  }

  async account(): Promise<CommandAnswer<"account">> {
    return toAccount(await this.call("GET", "/v1/account"));
  }

  async changePassword(args: ChangePasswordArgs): Promise<CommandAnswer<"change_password">> {
    const answer = await this.call("POST", "/v1/account/password", {
      current_password: args.currentPassword,
      new_password: args.newPassword,
      sign_out_other_devices: args.signOutOtherDevices,
    });
    return { revoked: isRecord(answer) && typeof answer.revoked === "number" ? answer.revoked : 0 };
  }

  async twoStepStart(password: string): Promise<CommandAnswer<"two_step_start">> {
    return toTwoStepSetup(await this.call("POST", "/v1/account/two-step", { password }));
  }

  async twoStepConfirm(code: string): Promise<CommandAnswer<"two_step_confirm">> {
    return toRecoveryCodes(await this.call("POST", "/v1/account/two-step/confirm", { code }));
  }

  async twoStepDisable(args: TwoStepDisableArgs): Promise<CommandAnswer<"two_step_disable">> {
    await this.call("DELETE", "/v1/account/two-step", { password: args.password, code: args.code });
    return null;
  }

  /** Worded by the server in the app's words, with times in this browser's time zone. */
  async signedOutDevices(): Promise<CommandAnswer<"signed_out_devices">> {
    return toSignedOutDevices(await this.call("GET", `/signed-out?offset_minutes=${browserOffsetMinutes()}`));
  }

  /** A browser shows no OS notification, so none was clicked: nothing to show. */
  async deviceToShow(): Promise<CommandAnswer<"device_to_show">> {
    return null;
  }

  async dismissNotice(): Promise<CommandAnswer<"dismiss_notice">> {
    this.notice = null;
    return this.state();
  }

  /** Nothing to report: timing the app's start is the desktop app's business. */
  async firstPaint(): Promise<CommandAnswer<"first_paint">> {
    return null;
  }

  /** A web page does not start at login: always off. */
  async startAtLogin(): Promise<CommandAnswer<"start_at_login">> {
    return { enabled: false };
  }

  /** Answers the setting as it is, which a web page cannot change: off. */
  async setStartAtLogin(): Promise<CommandAnswer<"set_start_at_login">> {
    return { enabled: false };
  }

  on<E extends EventName>(event: E, handler: (payload: EventMap[E]) => void): Promise<Unlisten> {
    const set = this.listeners.get(event) ?? new Set();
    set.add(handler as (payload: never) => void);
    this.listeners.set(event, set);
    return Promise.resolve(() => set.delete(handler as (payload: never) => void));
  }

  // ---- State ----

  private state(): AppState {
    const signedIn = this.session !== null;
    return {
      signed_in: signedIn,
      server_url: this.origin,
      email: this.session?.email ?? this.lastEmail,
      session_id: this.session?.id ?? null,
      default_device_name: "",
      // The browser's cookie jar holds the session; there is no keychain to be missing.
      keychain: { backend: "browser", available: true, message: null },
      pending_revocations: 0,
      online: signedIn && this.online,
      signed_out_notice: signedIn ? null : this.notice,
    };
  }

  private emit<E extends EventName>(event: E, payload: EventMap[E]): void {
    for (const fn of this.listeners.get(event) ?? []) (fn as (p: EventMap[E]) => void)(payload);
  }

  private signedIn(id: string, email: string): void {
    const fresh = this.session?.id !== id;
    this.session = { id, email };
    this.lastEmail = email;
    if (fresh) {
      this.closeStream();
      this.online = true;
    }
    this.openStream();
  }

  /** Runs this page's own sign-out: the revocation the stream then reports is no news. */
  private async leave(signOut: () => Promise<unknown>): Promise<void> {
    this.leaving = true;
    try {
      await signOut();
    } finally {
      this.leaving = false;
    }
    this.session = null;
    this.notice = null;
    this.closeStream();
  }

  /**
   * The session ended elsewhere (signed out from another device, expired): the server
   * says why, in the app's words, once (and clears the cookie). Kept until dismissed.
   */
  private sessionLost(): Promise<void> {
    this.session = null;
    this.closeStream();
    this.ending ??= (async () => {
      try {
        const notice = toNotice(await this.call("GET", `/notice?offset_minutes=${browserOffsetMinutes()}`));
        if (notice) this.notice = notice;
      } catch {
        // No notice to show; the sign-in screen still shows.
      }
    })().finally(() => {
      this.ending = null;
    });
    return this.ending;
  }

  /** Told by the stream: as the desktop app, `signed-out` once `app_state` says so. */
  private async endedHere(): Promise<void> {
    if (!this.session) return;
    await this.sessionLost();
    if (this.notice) this.emit("signed-out", this.notice);
    this.emit("state-changed", this.state());
  }

  private setOnline(on: boolean): void {
    if (this.offlineTimer !== null) {
      clearTimeout(this.offlineTimer);
      this.offlineTimer = null;
    }
    if (this.online === on) return;
    this.online = on;
    if (this.session) this.emit("state-changed", this.state());
  }

  // ---- The event stream ----

  private openStream(): void {
    if (this.stream || !this.session) return;
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    // Same origin: the browser sends the session cookie, and on every reconnect the id
    // of the last event it received (Last-Event-ID), so the server fills the gap.
    const es = new EventSource(`${this.base}/v1/events`);
    this.stream = es;
    this.sawEventId = false;
    es.addEventListener("open", () => {
      if (es !== this.stream) return;
      this.retryMs = RETRY_MIN_MS;
      if (this.resync) {
        this.resync = false;
        this.emit("devices-changed", { reason: "reconnected" });
      }
      this.setOnline(true);
    });
    es.addEventListener("error", () => {
      if (es !== this.stream) return;
      if (es.readyState === EventSource.CLOSED) {
        // The server refused the stream (not a dropped connection, which the browser
        // retries itself): signed out, or the server is in trouble.
        void this.streamRefused();
        return;
      }
      // Reconnecting. With no event id yet there is nothing to resume from.
      if (!this.sawEventId) this.resync = true;
      this.offlineTimer ??= setTimeout(() => this.setOnline(false), OFFLINE_AFTER_MS);
    });
    for (const name of SERVER_EVENTS) {
      es.addEventListener(name, (m: MessageEvent<string>) => {
        if (es !== this.stream) return;
        if (m.lastEventId) this.sawEventId = true;
        this.onServerEvent(name, m.data);
      });
    }
  }

  private closeStream(): void {
    this.stream?.close();
    this.stream = null;
    for (const t of [this.offlineTimer, this.retryTimer]) if (t !== null) clearTimeout(t);
    this.offlineTimer = null;
    this.retryTimer = null;
  }

  private onServerEvent(name: string, data: string): void {
    for (const t of translateServerEvent(name, data, this.session?.id ?? null)) {
      if (t.event === "ended") {
        // Its own sign-out is already being handled by the command that did it.
        if (!this.leaving) void this.endedHere();
      } else if (t.event === "security-alert") {
        this.emit("security-alert", t.payload);
      } else {
        this.emit("devices-changed", t.payload);
      }
    }
  }

  private async streamRefused(): Promise<void> {
    this.closeStream();
    try {
      await this.call("GET", "/v1/account");
    } catch (e) {
      if (endsSession(toAppError(e))) {
        await this.endedHere();
        return;
      }
    }
    if (!this.session) return;
    // Still signed in: try again later; what was missed meanwhile is fetched then.
    this.setOnline(false);
    this.resync = true;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.openStream();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  // ---- HTTP ----

  /** One API call; rejects with an AppError. 204 answers null. */
  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        credentials: "same-origin",
        cache: "no-store",
        headers: body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (e) {
      const err: AppError = { code: "server_unreachable", message: e instanceof Error ? e.message : "" };
      throw err;
    }
    if (res.status === 204) return null;
    const data: unknown = await res.json().catch(() => null);
    if (!res.ok) throw fromApiError(res.status, data, res.headers.get("retry-after"));
    return data;
  }
}

/** This browser's offset from UTC now, in minutes east (the server words times in it). */
function browserOffsetMinutes(): number {
  return -new Date().getTimezoneOffset();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}
