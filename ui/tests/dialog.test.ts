import { afterEach, describe, expect, it } from "vitest";
import { DialogHost } from "../src/ui/dialog";
import { get, press } from "./helpers";

afterEach(() => document.body.replaceChildren());

function setup(): { host: DialogHost; page: HTMLElement; opener: HTMLButtonElement } {
  const page = document.createElement("div");
  const opener = document.createElement("button");
  opener.textContent = "Open";
  page.appendChild(opener);
  const layer = document.createElement("div");
  document.body.append(page, layer);
  opener.focus();
  return { host: new DialogHost(layer, page), page, opener };
}

describe("confirm dialog", () => {
  it("is a labelled modal with the safe button focused, and the page inert", () => {
    const { host, page } = setup();
    void host.confirm({ title: "Sign out Old tablet?", message: "It will have to sign in again.", confirmLabel: "Sign out", danger: true });
    const dialog = get("confirm-dialog");
    expect(dialog.getAttribute("role")).toBe("alertdialog");
    expect(dialog.getAttribute("aria-modal")).toBe("true");
    expect(document.getElementById(dialog.getAttribute("aria-labelledby")!)!.textContent).toBe("Sign out Old tablet?");
    expect(document.getElementById(dialog.getAttribute("aria-describedby")!)!.textContent).toBe("It will have to sign in again.");
    expect(document.activeElement).toBe(get("confirm-cancel"));
    expect(page.hasAttribute("inert")).toBe(true);
  });

  it("traps Tab and Shift+Tab inside", () => {
    const { host } = setup();
    void host.confirm({ title: "t", message: "m", confirmLabel: "OK" });
    const cancel = get("confirm-cancel");
    const ok = get("confirm-ok");
    ok.focus();
    expect(press(ok, "Tab").defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(cancel);
    expect(press(cancel, "Tab", { shiftKey: true }).defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(ok);
    // From the first to the second, the browser moves focus itself.
    cancel.focus();
    expect(press(cancel, "Tab").defaultPrevented).toBe(false);
  });

  it("pulls focus back when it escapes", () => {
    const { host, opener } = setup();
    void host.confirm({ title: "t", message: "m", confirmLabel: "OK" });
    opener.focus();
    expect(get("confirm-dialog").contains(document.activeElement)).toBe(true);
  });

  it("answers false on Escape and gives focus back to the opener", async () => {
    const { host, page, opener } = setup();
    const answer = host.confirm({ title: "t", message: "m", confirmLabel: "OK" });
    press(get("confirm-cancel"), "Escape");
    await expect(answer).resolves.toBe(false);
    expect(document.querySelector('[data-testid="confirm-dialog"]')).toBeNull();
    expect(document.activeElement).toBe(opener);
    expect(page.hasAttribute("inert")).toBe(false);
  });

  it("answers true on OK", async () => {
    const { host } = setup();
    const answer = host.confirm({ title: "t", message: "m", confirmLabel: "OK" });
    get<HTMLButtonElement>("confirm-ok").click();
    await expect(answer).resolves.toBe(true);
  });
});
