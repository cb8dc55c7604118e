// The Settings tab: "Start at login".

import { h, replaceChildren, setAttr } from "../dom";
import { errorMessage } from "../errors";
import { toAppError } from "../ipc";
import type { StartAtLogin } from "../types";
import type { Ctx } from "./context";

export class SettingsView {
  readonly el: HTMLElement;

  private readonly heading = h("h1", { class: "panel-title", id: "settings-heading", tabindex: -1 }, "Settings");
  private readonly startAtLogin: HTMLInputElement;
  private readonly error = h("p", { class: "field-error", role: "alert", "data-testid": "start-at-login-error", hidden: true });
  /** Read once, when the tab is first shown. */
  private loaded = false;
  private destroyed = false;

  constructor(private readonly ctx: Ctx) {
    this.startAtLogin = h("input", {
      type: "checkbox",
      id: "start-at-login",
      class: "setting-toggle",
      "data-testid": "start-at-login",
      "aria-describedby": "start-at-login-help",
      disabled: true,
      on: { change: () => void this.change() },
    });
    this.el = h(
      "div",
      { class: "panel settings-panel" },
      h("div", { class: "panel-header" }, h("div", { class: "panel-heading" }, this.heading)),
      h(
        "div",
        { class: "setting" },
        h(
          "div",
          { class: "setting-row" },
          this.startAtLogin,
          h("label", { for: "start-at-login", class: "setting-label" }, "Start at login"),
        ),
        h(
          "p",
          { class: "setting-help", id: "start-at-login-help" },
          "Session Manager starts in the tray when you log in and keeps watching with its window closed: if another device signs this one out, its credential leaves the keychain at once and you are told.",
        ),
        this.error,
      ),
    );
  }

  focusHeading(): void {
    this.heading.focus();
  }

  /** Reads the setting the first time the tab is shown. */
  shown(): void {
    if (this.loaded) return;
    this.loaded = true;
    void this.apply(() => this.ctx.ipc.startAtLogin(), null);
  }

  destroy(): void {
    this.destroyed = true;
  }

  private change(): void {
    const wanted = this.startAtLogin.checked;
    void this.apply(() => this.ctx.ipc.setStartAtLogin(wanted), !wanted);
  }

  /**
   * Runs a read (`before` null) or a change (`before`: the box before the click); the
   * box then shows what the backend answers. A failed change puts the box back; a
   * failed read leaves it disabled, since there is no setting to show.
   */
  private async apply(call: () => Promise<StartAtLogin>, before: boolean | null): Promise<void> {
    this.startAtLogin.disabled = true;
    setAttr(this.startAtLogin, "aria-busy", "true");
    let usable = true;
    try {
      const setting = await call();
      if (this.destroyed) return;
      this.startAtLogin.checked = setting.enabled;
      this.showError(null);
    } catch (e) {
      if (this.destroyed) return;
      if (before === null) usable = false;
      else this.startAtLogin.checked = before;
      this.showError(errorMessage(toAppError(e), "settings"));
    }
    this.startAtLogin.disabled = !usable;
    setAttr(this.startAtLogin, "aria-busy", null);
  }

  private showError(message: string | null): void {
    this.error.hidden = message === null;
    replaceChildren(this.error, message ?? "");
  }
}
