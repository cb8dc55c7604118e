// Demo page: the real UI over FakeIpc, for a plain browser (`npm run demo`).
// `?scenario=` picks a starting point: signed-in (default), sign-in, signed-out,
// banners, activity, rate-limited, rename, dialog, security, two-step-sign-in (the demo's
// authenticator code is 123456), new-sign-in.

import "../styles.css";
import { App } from "../app";
import { formatWhen } from "../time";
import { demoBackend } from "./data";

const scenario = new URLSearchParams(location.search).get("scenario") ?? "signed-in";
const now = new Date();
const ipc = demoBackend(scenario, now);
const root = document.getElementById("app");

async function run(): Promise<void> {
  if (!root) return;
  const app = new App(root, { ipc });
  await app.start();
  const click = (testid: string): void =>
    document.querySelector<HTMLElement>(`[data-testid="${testid}"]`)?.click();
  const until = async (ok: () => boolean): Promise<void> => {
    for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  };
  await until(() => document.querySelector('[data-testid="device-row"], [data-testid="sign-in-submit"]') !== null);
  switch (scenario) {
    case "signed-out": {
      const at = new Date(now.getTime() - 2 * 60_000);
      ipc.emit("signed-out", {
        by_session_id: "s-work",
        by_device_name: "Work laptop",
        reason: "revoked",
        at: at.toISOString(),
        // Sample data: in the app, the Rust side words this (proto::notice).
        message: `This device was signed out from Work laptop ${formatWhen(at, now)}.`,
      });
      break;
    }
    case "banners":
      ipc.emit("state-changed", {
        ...ipc.state,
        online: false,
        pending_revocations: 1,
        keychain: { backend: "secret-service", available: false, message: "No Secret Service provider is running." },
      });
      ipc.emit("security-alert", {
        kind: "refresh_token_reuse",
        message: "A sign-in token of Old tablet was used twice; that device was signed out.",
        at: new Date(now.getTime() - 60_000).toISOString(),
        session_id: "s-tablet",
      });
      break;
    case "activity":
      click("activity-tab");
      break;
    case "security":
      click("security-tab");
      break;
    case "two-step-sign-in":
      document.querySelector<HTMLInputElement>('[data-testid="password"]')!.value = "correct horse";
      click("sign-in-submit");
      break;
    case "new-sign-in":
      ipc.emit("new-sign-in", {
        session_id: "s-phone",
        device: ipc.devices.find((d) => d.id === "s-phone")!.device,
        ip: "2001:db8::8",
        // Sample data: in the app, the Rust side words this (proto::notice).
        message: "New sign-in on 'Pixel 8' (15) from 2001:db8::8",
      });
      break;
    case "rate-limited":
      ipc.failNext("signIn", { code: "rate_limited", message: "Too many attempts.", retry_after_secs: 42 });
      document.querySelector<HTMLInputElement>('[data-testid="password"]')!.value = "x";
      click("sign-in-submit");
      break;
    case "rename": {
      document.querySelectorAll<HTMLElement>('[data-testid="rename-button"]')[1]?.click();
      const input = document.querySelector<HTMLInputElement>('[data-testid="rename-input"]');
      if (input) {
        input.value = "";
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
      }
      break;
    }
    case "dialog":
      document.querySelectorAll<HTMLElement>('[data-testid="sign-out-device"]')[2]?.click();
      break;
    default:
      break;
  }
}

void run();
