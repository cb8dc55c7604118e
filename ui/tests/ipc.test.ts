// The real bridge, over Tauri's own IPC mock: command names and argument names
// must match docs/app-ipc.md exactly, and rejections must become AppErrors.

import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { createTauriIpc, toAppError } from "../src/ipc";

afterEach(() => clearMocks());

describe("createTauriIpc", () => {
  it("calls the contract's commands with camelCase arguments", async () => {
    const seen: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      if (cmd === "sign_out_others") return { revoked: 2 };
      return null;
    });
    const ipc = createTauriIpc();
    await ipc.appState();
    await ipc.signIn({ serverUrl: "https://s.example", email: "a@b.c", password: "pw", deviceName: "Laptop" });
    await ipc.listDevices();
    await ipc.renameDevice("id-1", "New name");
    await ipc.signOutDevice("id-2");
    expect(await ipc.signOutOthers()).toEqual({ revoked: 2 });
    await ipc.signOutEverywhere();
    await ipc.signOut();
    await ipc.activity();
    await ipc.dismissNotice();
    await ipc.firstPaint("devices", 4);

    const pick = (name: string): unknown => seen.find(([c]) => c === name)?.[1];
    expect(seen.map(([c]) => c)).toEqual([
      "app_state",
      "sign_in",
      "list_devices",
      "rename_device",
      "sign_out_device",
      "sign_out_others",
      "sign_out_everywhere",
      "sign_out",
      "activity",
      "dismiss_notice",
      "first_paint",
    ]);
    expect(pick("sign_in")).toEqual({ serverUrl: "https://s.example", email: "a@b.c", password: "pw", deviceName: "Laptop" });
    expect(pick("rename_device")).toEqual({ id: "id-1", name: "New name" });
    expect(pick("sign_out_device")).toEqual({ id: "id-2" });
    expect(pick("first_paint")).toEqual({ screen: "devices", rows: 4 });
  });

  it("calls the after-a-scare commands with their argument objects", async () => {
    const seen: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      return null;
    });
    const ipc = createTauriIpc();
    await ipc.signInSecondStep({ code: "123456", recovery: false });
    await ipc.account();
    await ipc.changePassword({ currentPassword: "old pw", newPassword: "new pw!", signOutOtherDevices: true });
    await ipc.twoStepStart("pw");
    await ipc.twoStepConfirm("123456");
    await ipc.twoStepDisable({ password: "pw", code: "AAAA-BBBB" });
    await ipc.signedOutDevices();
    await ipc.deviceToShow();
    expect(seen).toEqual([
      ["sign_in_second_step", { code: "123456", recovery: false }],
      ["account", {}],
      ["change_password", { currentPassword: "old pw", newPassword: "new pw!", signOutOtherDevices: true }],
      ["two_step_start", { password: "pw" }],
      ["two_step_confirm", { code: "123456" }],
      ["two_step_disable", { password: "pw", code: "AAAA-BBBB" }],
      ["signed_out_devices", {}],
      ["device_to_show", {}],
    ]);
  });

  it("passes the app's own flow codes through", async () => {
    mockIPC(() => {
      throw { code: "two_step_required", message: "Enter the code." };
    });
    await expect(createTauriIpc().signIn({ serverUrl: "https://s", email: "a@b.c", password: "pw", deviceName: null })).rejects.toEqual({
      code: "two_step_required",
      message: "Enter the code.",
    });
  });

  it("rejects with the backend's AppError", async () => {
    mockIPC(() => {
      throw { code: "rate_limited", message: "slow down", retry_after_secs: 42 };
    });
    await expect(createTauriIpc().listDevices()).rejects.toEqual({
      code: "rate_limited",
      message: "slow down",
      retry_after_secs: 42,
    });
  });

  it("delivers event payloads to handlers and stops after unlisten", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const ipc = createTauriIpc();
    const got: unknown[] = [];
    const unlisten = await ipc.on("devices-changed", (p) => got.push(p));
    await emit("devices-changed", { reason: "session.created" });
    expect(got).toEqual([{ reason: "session.created" }]);
    unlisten();
    await emit("devices-changed", { reason: "session.revoked" });
    expect(got).toHaveLength(1);
  });
});

describe("toAppError", () => {
  it("keeps well-formed errors and drops junk fields", () => {
    expect(toAppError({ code: "not_found", message: "gone", extra: 1 })).toEqual({ code: "not_found", message: "gone" });
    expect(toAppError({ code: "rate_limited", message: "", retry_after_secs: "soon" })).toEqual({ code: "rate_limited", message: "" });
  });

  it("wraps strings, JSON strings and Errors", () => {
    expect(toAppError("plain failure")).toEqual({ code: "unknown", message: "plain failure" });
    expect(toAppError('{"code":"server_error","message":"x"}')).toEqual({ code: "server_error", message: "x" });
    expect(toAppError(new TypeError("bridge down"))).toEqual({ code: "internal", message: "bridge down" });
    expect(toAppError(undefined)).toEqual({ code: "unknown", message: "" });
  });
});
