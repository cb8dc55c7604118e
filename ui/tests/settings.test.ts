import { afterEach, describe, expect, it } from "vitest";
import { device, FakeIpc } from "../src/demo/fake-ipc";
import { flush, get, mount, press, text, unmountAll } from "./helpers";

afterEach(() => unmountAll());

function signedIn(startAtLogin = false): FakeIpc {
  return new FakeIpc({
    state: { signed_in: true, session_id: "me" },
    devices: [device("me", "Ada's laptop", { current: true })],
    startAtLogin,
  });
}

async function openSettings(ipc: FakeIpc): Promise<HTMLInputElement> {
  await mount(ipc);
  get<HTMLButtonElement>("settings-tab").click();
  await flush();
  return get<HTMLInputElement>("start-at-login");
}

describe("Start at login", () => {
  it("shows the setting as the app has it, read when the tab opens", async () => {
    const ipc = signedIn(true);
    await mount(ipc);
    expect(ipc.count("startAtLogin")).toBe(0);

    get<HTMLButtonElement>("settings-tab").click();
    await flush();
    const box = get<HTMLInputElement>("start-at-login");
    expect(ipc.count("startAtLogin")).toBe(1);
    expect(box.checked).toBe(true);
    expect(box.disabled).toBe(false);
    expect(text(document.querySelector('label[for="start-at-login"]'))).toBe("Start at login");
    const help = document.getElementById(box.getAttribute("aria-describedby") ?? "");
    expect(text(help)).toMatch(/^Session Manager starts in the tray when you log in/);
  });

  it("switches it on and off through the backend", async () => {
    const ipc = signedIn(false);
    const box = await openSettings(ipc);
    expect(box.checked).toBe(false);

    box.click();
    await flush();
    expect(ipc.calls.at(-1)).toEqual({ command: "setStartAtLogin", args: { enabled: true } });
    expect(ipc.startsAtLogin).toBe(true);
    expect(box.checked).toBe(true);

    box.click();
    await flush();
    expect(ipc.calls.at(-1)).toEqual({ command: "setStartAtLogin", args: { enabled: false } });
    expect(ipc.startsAtLogin).toBe(false);
    expect(box.checked).toBe(false);
  });

  it("puts the box back and says why when the change fails", async () => {
    const ipc = signedIn(false);
    const box = await openSettings(ipc);
    ipc.failNext("setStartAtLogin", { code: "config_error", message: "could not write /home/ada/.config/autostart" });

    box.click();
    await flush();
    expect(box.checked).toBe(false);
    expect(box.disabled).toBe(false);
    const error = get("start-at-login-error");
    expect(error.hidden).toBe(false);
    expect(text(error)).toBe(
      "The app could not read or write its settings file. (could not write /home/ada/.config/autostart)",
    );

    box.click();
    await flush();
    expect(box.checked).toBe(true);
    expect(error.hidden).toBe(true);
  });

  it("leaves the box disabled when the setting cannot be read", async () => {
    const ipc = signedIn(false).failNext("startAtLogin", {
      code: "config_error",
      message: "Start at login is not available: no configuration directory",
    });
    const box = await openSettings(ipc);
    expect(box.disabled).toBe(true);
    expect(get("start-at-login-error").hidden).toBe(false);
  });

  it("is the third tab, reached with the arrow keys", async () => {
    const ipc = signedIn();
    await mount(ipc);
    get<HTMLButtonElement>("devices-tab").focus();
    press(get("devices-tab"), "End");
    await flush();
    expect(document.activeElement).toBe(get("settings-tab"));
    expect(get("settings-tab").getAttribute("aria-selected")).toBe("true");
    expect(get<HTMLElement>("start-at-login").closest("[hidden]")).toBeNull();
  });
});
