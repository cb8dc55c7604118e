// An in-memory stand-in for the Rust side. It implements the same `Ipc` as the real
// bridge, typed by the contract generated from Rust (../generated), so `tsc` fails when
// it drifts from the backend. Used by the tests and by the demo page (demo.html);
// never part of the app bundle.

import type { Ipc, Unlisten } from "../ipc";
import type {
  ActivityEvent,
  AppError,
  AppState,
  ChangePasswordArgs,
  CommandAnswer,
  DeviceArgs,
  EventMap,
  EventName,
  FirstPaintArgs,
  RenameDeviceArgs,
  SecondStepArgs,
  SessionInfo,
  SignedOutDevice,
  SignInArgs,
  StartAtLoginArgs,
  TwoStepDisableArgs,
} from "../types";
import { SAMPLE_QR_SVG } from "./qr-sample";

/** The code the fake authenticator app shows (any time). */
export const FAKE_TOTP_CODE = "123456";
/** The secret FakeIpc hands out when two-step sign-in is turned on. */
export const FAKE_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
/** What FakeIpc says of a device that has not sent its wipe receipt (as proto::notice). */
export const WAITING = "Waiting for this device to come online";

/** A command, by the name of its `Ipc` method. */
type Command = Exclude<keyof Ipc, "on">;

export interface FakeOptions {
  state?: Partial<AppState>;
  devices?: SessionInfo[];
  activity?: ActivityEvent[];
  /** Password sign_in accepts (any email). */
  password?: string;
  /** Simulated latency of every command, ms. */
  latencyMs?: number;
  now?: () => Date;
  /** Whether "Start at login" is on. */
  startAtLogin?: boolean;
  /** Devices signed out in the last 7 days. */
  signedOut?: SignedOutDevice[];
  /** Two-step sign-in is on for the account. */
  twoStep?: boolean;
}

export function baseState(over: Partial<AppState> = {}): AppState {
  return {
    signed_in: false,
    server_url: "https://sessions.example.com",
    email: "ada@example.com",
    session_id: null,
    default_device_name: "Ada's laptop",
    keychain: { backend: "secret-service", available: true, message: null },
    pending_revocations: 0,
    online: true,
    signed_out_notice: null,
    ...over,
  };
}

export function device(
  id: string,
  name: string,
  over: Partial<Omit<SessionInfo, "device">> & { platform?: string; os_version?: string; app_version?: string } = {},
): SessionInfo {
  const { platform = "linux", os_version = "6.1", app_version = "1.0.0", ...rest } = over;
  return {
    id,
    device: { name, platform, os_version, app_version },
    created_at: "2025-03-01T09:00:00Z",
    last_seen_at: "2025-03-03T12:00:00Z",
    last_ip: "203.0.113.7",
    current: false,
    ...rest,
  };
}

/** A device as the signed-out list has it (sample data: the wipe status is the caller's). */
export function signedOutDevice(
  session: SessionInfo,
  over: Partial<Omit<SignedOutDevice, "id" | "device">> = {},
): SignedOutDevice {
  return {
    id: session.id,
    device: session.device,
    created_at: session.created_at,
    last_seen_at: session.last_seen_at,
    last_ip: session.last_ip,
    revoked_at: "2025-03-03T13:00:00Z",
    revoked_reason: "revoked",
    wiped_at: null,
    wiped_ip: null,
    wipe_status: WAITING,
    ...over,
  };
}

export class FakeIpc implements Ipc {
  state: AppState;
  devices: SessionInfo[];
  events: ActivityEvent[];
  signedOut: SignedOutDevice[];
  /** Two-step sign-in is on. */
  twoStep: boolean;
  /** Recovery codes still unused. */
  recoveryCodes: string[] = [];
  /** A sign-in waiting for its code (the backend keeps the challenge). */
  private challenge: SignInArgs | null = null;
  /** Turning two-step on was started and waits for its first code. */
  private enrolling = false;
  /** What `deviceToShow` answers next (a notification click that opened the window). */
  deviceToShowNext: string | null = null;
  /** Every command called, in order, with its arguments. */
  readonly calls: Array<{ command: Command; args: unknown }> = [];
  private readonly failures = new Map<Command, AppError[]>();
  private readonly holds = new Map<Command, Array<() => void>>();
  private readonly held = new Set<Command>();
  private readonly listeners = new Map<EventName, Set<(payload: never) => void>>();
  private password: string;
  private readonly latencyMs: number;
  private readonly now: () => Date;
  private nextId = 100;
  /** "Start at login", as the login item would say. */
  startsAtLogin: boolean;

  constructor(opts: FakeOptions = {}) {
    this.state = baseState(opts.state);
    this.devices = opts.devices ?? [];
    this.events = opts.activity ?? [];
    this.password = opts.password ?? "correct horse";
    this.latencyMs = opts.latencyMs ?? 0;
    this.now = opts.now ?? (() => new Date());
    this.startsAtLogin = opts.startAtLogin ?? false;
    this.signedOut = opts.signedOut ?? [];
    this.twoStep = opts.twoStep ?? false;
  }

  /** The next call of `command` rejects with `error`. */
  failNext(command: Command, error: AppError): this {
    const list = this.failures.get(command) ?? [];
    list.push(error);
    this.failures.set(command, list);
    return this;
  }

  /** Calls of `command` wait until `release(command)`. */
  hold(command: Command): this {
    this.held.add(command);
    return this;
  }

  release(command: Command): void {
    this.held.delete(command);
    const waiting = this.holds.get(command) ?? [];
    this.holds.delete(command);
    waiting.forEach((go) => go());
  }

  count(command: Command): number {
    return this.calls.filter((c) => c.command === command).length;
  }

  /** Sends an event as the backend would. */
  emit<E extends EventName>(event: E, payload: EventMap[E]): void {
    for (const fn of this.listeners.get(event) ?? []) (fn as (p: EventMap[E]) => void)(payload);
  }

  listenerCount(event: EventName): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  on<E extends EventName>(event: E, handler: (payload: EventMap[E]) => void): Promise<Unlisten> {
    const set = this.listeners.get(event) ?? new Set();
    set.add(handler as (payload: never) => void);
    this.listeners.set(event, set);
    return Promise.resolve(() => set.delete(handler as (payload: never) => void));
  }

  private async run<T>(command: Command, args: unknown, body: () => T): Promise<T> {
    this.calls.push({ command, args });
    if (this.held.has(command)) {
      await new Promise<void>((go) => {
        const list = this.holds.get(command) ?? [];
        list.push(go);
        this.holds.set(command, list);
      });
    }
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    else await Promise.resolve();
    const failure = this.failures.get(command)?.shift();
    if (failure) throw failure;
    return structuredClone(body());
  }

  private requireSignedIn(): void {
    if (!this.state.signed_in) throw { code: "not_signed_in", message: "Not signed in." } satisfies AppError;
  }

  private log(e: Omit<ActivityEvent, "at">): void {
    this.events.unshift({ at: this.now().toISOString(), ...e });
  }

  appState(): Promise<CommandAnswer<"app_state">> {
    return this.run("appState", undefined, () => this.state);
  }

  signIn(args: SignInArgs): Promise<CommandAnswer<"sign_in">> {
    return this.run("signIn", args, () => {
      if (args.password !== this.password) {
        throw { code: "invalid_credentials", message: "Wrong email or password." } satisfies AppError;
      }
      if (this.twoStep) {
        this.challenge = args;
        throw { code: "two_step_required", message: "Enter the code your authenticator app shows." } satisfies AppError;
      }
      return this.completeSignIn(args);
    });
  }

  signInSecondStep(args: SecondStepArgs): Promise<CommandAnswer<"sign_in_second_step">> {
    return this.run("signInSecondStep", args, () => {
      const pending = this.challenge;
      if (!pending) {
        throw { code: "two_step_expired", message: "This sign-in expired. Sign in again." } satisfies AppError;
      }
      const code = args.code.replace(/\s/g, "");
      const ok = args.recovery ? this.useRecoveryCode(args.code) : code === FAKE_TOTP_CODE;
      if (!ok) {
        throw { code: "validation_failed", message: "The code is wrong or was already used." } satisfies AppError;
      }
      this.challenge = null;
      return this.completeSignIn(pending);
    });
  }

  private useRecoveryCode(typed: string): boolean {
    const i = this.recoveryCodes.indexOf(typed.trim().toUpperCase());
    if (i < 0) return false;
    this.recoveryCodes.splice(i, 1);
    return true;
  }

  private completeSignIn(args: SignInArgs): AppState {
    {
      const id = `session-${this.nextId++}`;
      const now = this.now().toISOString();
      this.devices = this.devices.map((d) => ({ ...d, current: false }));
      this.devices.unshift({
        id,
        device: {
          name: args.deviceName ?? this.state.default_device_name,
          platform: "linux",
          os_version: "6.1",
          app_version: "1.0.0",
        },
        created_at: now,
        last_seen_at: now,
        last_ip: "127.0.0.1",
        current: true,
      });
      this.log({ kind: "signed_in", session_id: id, device: this.devices[0]!.device, ip: "127.0.0.1", by_session_id: null });
      this.state = {
        ...this.state,
        signed_in: true,
        server_url: args.serverUrl,
        email: args.email,
        session_id: id,
        online: true,
        signed_out_notice: null,
      };
      return this.state;
    }
  }

  listDevices(): Promise<CommandAnswer<"list_devices">> {
    return this.run("listDevices", undefined, () => {
      this.requireSignedIn();
      return this.devices;
    });
  }

  renameDevice(id: RenameDeviceArgs["id"], name: RenameDeviceArgs["name"]): Promise<CommandAnswer<"rename_device">> {
    return this.run("renameDevice", { id, name }, () => {
      this.requireSignedIn();
      const d = this.devices.find((x) => x.id === id);
      if (!d) throw { code: "not_found", message: "No such device." } satisfies AppError;
      d.device = { ...d.device, name };
      this.log({ kind: "renamed", session_id: id, device: d.device, ip: null, by_session_id: this.state.session_id });
      return d;
    });
  }

  signOutDevice(id: DeviceArgs["id"]): Promise<CommandAnswer<"sign_out_device">> {
    return this.run("signOutDevice", { id }, () => {
      this.requireSignedIn();
      const d = this.devices.find((x) => x.id === id);
      if (!d) throw { code: "not_found", message: "No such device." } satisfies AppError;
      this.devices = this.devices.filter((x) => x.id !== id);
      this.signedOut.unshift(signedOutDevice(d, { revoked_at: this.now().toISOString(), revoked_reason: "revoked" }));
      this.log({ kind: "revoked", session_id: id, device: d.device, ip: null, by_session_id: this.state.session_id, reason: "revoked" });
      return null;
    });
  }

  signOutOthers(): Promise<CommandAnswer<"sign_out_others">> {
    return this.run("signOutOthers", undefined, () => {
      this.requireSignedIn();
      const others = this.devices.filter((d) => !d.current);
      this.devices = this.devices.filter((d) => d.current);
      for (const d of others) {
        this.log({ kind: "revoked", session_id: d.id, device: d.device, ip: null, by_session_id: this.state.session_id, reason: "revoked_others" });
      }
      return { revoked: others.length };
    });
  }

  signOutEverywhere(): Promise<CommandAnswer<"sign_out_everywhere">> {
    return this.run("signOutEverywhere", undefined, () => {
      this.requireSignedIn();
      this.log({ kind: "signed_out_everywhere", session_id: this.state.session_id, device: null, ip: null, by_session_id: this.state.session_id });
      this.devices = [];
      this.state = { ...this.state, signed_in: false, session_id: null, online: false };
      return this.state;
    });
  }

  signOut(): Promise<CommandAnswer<"sign_out">> {
    return this.run("signOut", undefined, () => {
      this.devices = this.devices.filter((d) => !d.current);
      this.state = { ...this.state, signed_in: false, session_id: null, online: false };
      return this.state;
    });
  }

  activity(): Promise<CommandAnswer<"activity">> {
    return this.run("activity", undefined, () => {
      this.requireSignedIn();
      return this.events;
    });
  }

  dismissNotice(): Promise<CommandAnswer<"dismiss_notice">> {
    return this.run("dismissNotice", undefined, () => {
      this.state = { ...this.state, signed_out_notice: null };
      return this.state;
    });
  }

  firstPaint(screen: FirstPaintArgs["screen"], rows: FirstPaintArgs["rows"]): Promise<CommandAnswer<"first_paint">> {
    return this.run("firstPaint", { screen, rows }, () => null);
  }

  startAtLogin(): Promise<CommandAnswer<"start_at_login">> {
    return this.run("startAtLogin", undefined, () => ({ enabled: this.startsAtLogin }));
  }

  setStartAtLogin(enabled: StartAtLoginArgs["enabled"]): Promise<CommandAnswer<"set_start_at_login">> {
    return this.run("setStartAtLogin", { enabled }, () => {
      this.startsAtLogin = enabled;
      return { enabled };
    });
  }

  account(): Promise<CommandAnswer<"account">> {
    return this.run("account", undefined, () => {
      this.requireSignedIn();
      return { email: this.state.email ?? "", created_at: "2025-01-09T08:00:00Z", two_step: this.twoStep };
    });
  }

  private checkPassword(password: string): void {
    if (password !== this.password) {
      throw { code: "invalid_credentials", message: "The password is wrong. Type your current password again." } satisfies AppError;
    }
  }

  changePassword(args: ChangePasswordArgs): Promise<CommandAnswer<"change_password">> {
    return this.run("changePassword", { ...args }, () => {
      this.requireSignedIn();
      this.checkPassword(args.currentPassword);
      if (args.newPassword.length < 8) {
        throw { code: "validation_failed", message: "The password must be at least 8 characters long. Correct the input and try again." } satisfies AppError;
      }
      this.password = args.newPassword;
      const others = args.signOutOtherDevices ? this.devices.filter((d) => !d.current) : [];
      this.devices = this.devices.filter((d) => !others.includes(d));
      const at = this.now().toISOString();
      for (const d of others) this.signedOut.unshift(signedOutDevice(d, { revoked_at: at, revoked_reason: "password_changed" }));
      this.log({ kind: "password_changed", session_id: this.state.session_id, device: null, ip: "127.0.0.1", by_session_id: null });
      return { revoked: others.length };
    });
  }

  twoStepStart(password: string): Promise<CommandAnswer<"two_step_start">> {
    return this.run("twoStepStart", { password }, () => {
      this.requireSignedIn();
      this.checkPassword(password);
      this.enrolling = true;
      return { secret: FAKE_TOTP_SECRET, qr_svg: SAMPLE_QR_SVG };
    });
  }

  twoStepConfirm(code: string): Promise<CommandAnswer<"two_step_confirm">> {
    return this.run("twoStepConfirm", { code }, () => {
      this.requireSignedIn();
      if (!this.enrolling || code.replace(/\s/g, "") !== FAKE_TOTP_CODE) {
        throw { code: "validation_failed", message: "The code is wrong or was already used." } satisfies AppError;
      }
      this.enrolling = false;
      this.twoStep = true;
      this.recoveryCodes = Array.from({ length: 10 }, (_, i) => `R${i}AB-CDEF-GH${i}J-KLMN`);
      this.log({ kind: "two_step_enabled", session_id: this.state.session_id, device: null, ip: "127.0.0.1", by_session_id: null });
      return { recovery_codes: [...this.recoveryCodes] };
    });
  }

  twoStepDisable(args: TwoStepDisableArgs): Promise<CommandAnswer<"two_step_disable">> {
    return this.run("twoStepDisable", { ...args }, () => {
      this.requireSignedIn();
      this.checkPassword(args.password);
      if (args.code.replace(/\s/g, "") !== FAKE_TOTP_CODE && !this.useRecoveryCode(args.code)) {
        throw { code: "validation_failed", message: "The code is wrong or was already used." } satisfies AppError;
      }
      this.twoStep = false;
      this.log({ kind: "two_step_disabled", session_id: this.state.session_id, device: null, ip: "127.0.0.1", by_session_id: null });
      return null;
    });
  }

  signedOutDevices(): Promise<CommandAnswer<"signed_out_devices">> {
    return this.run("signedOutDevices", undefined, () => {
      this.requireSignedIn();
      return this.signedOut;
    });
  }

  deviceToShow(): Promise<CommandAnswer<"device_to_show">> {
    return this.run("deviceToShow", undefined, () => {
      const id = this.deviceToShowNext;
      this.deviceToShowNext = null;
      return id;
    });
  }
}
