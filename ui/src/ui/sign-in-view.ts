// The sign-in screen, with the "signed out from elsewhere" notice. On an account with
// two-step sign-in the same form asks, as its second step, for the code.

import { validateDeviceName } from "../devices";
import { h, replaceChildren, setAttr, withNames } from "../dom";
import { errorMessage } from "../errors";
import { uiIcon } from "../icons";
import { toAppError } from "../ipc";
import { Countdown } from "../time";
import type { AppError, AppState, SignedOutNotice } from "../types";
import type { Ctx } from "./context";
import { labelledInput } from "./labelled-input";

export interface SignInOptions {
  notice: SignedOutNotice | null;
  /** A note about what just happened ("You signed out everywhere."). */
  info?: string | undefined;
  onSignedIn(state: AppState): void;
  onDismissNotice(): void;
}

type Field = "serverUrl" | "email" | "password" | "deviceName";

/** Adds https:// when no scheme was typed; null when it still is not an http(s) URL. */
export function normalizeServerUrl(raw: string): string | null {
  let s = raw.trim();
  if (!s) return null;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) s = `https://${s}`;
  try {
    const url = new URL(s);
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    if (!url.hostname) return null;
    // Keep what was typed (minus a trailing slash) rather than URL's normal form.
    return s.replace(/\/+$/, "");
  } catch {
    return null;
  }
}

export class SignInView {
  readonly el: HTMLElement;
  private readonly inputs: Record<Field, HTMLInputElement>;
  private readonly submit: HTMLButtonElement;
  private readonly submitLabel = h("span", null, "Sign in");
  private readonly error = h("div", { class: "form-error", role: "alert", "data-testid": "sign-in-error", id: "sign-in-error" });
  private readonly noticeBox = h("div", { class: "notice-slot" });
  private readonly countdown: Countdown;
  /** The account page's "This is a shared computer" (absent in the desktop app). */
  private readonly shared: HTMLInputElement | null;
  private busy = false;
  private destroyed = false;
  private noticeKey: string | null = null;
  /** The first step's fields, hidden while the code is asked for. */
  private readonly firstStep: HTMLElement;
  private readonly secondStep: HTMLElement;
  private readonly code: HTMLInputElement;
  private readonly codeLabel = h("label", { class: "label", for: "sign-in-two-step-code" });
  private readonly codeHint = h("p", { class: "hint", id: "sign-in-two-step-code-hint" });
  private readonly recoveryToggle: HTMLButtonElement;
  private readonly secondStepLead = h("p", { class: "sign-in-lead", "data-testid": "two-step-prompt" });
  /** Asking for the second step's code. */
  private codeStep = false;
  /** The code typed is one of the recovery codes. */
  private recovery = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly opts: SignInOptions,
  ) {
    const state = ctx.state();
    const field = (name: Field, label: string, testid: string, attrs: Record<string, string>, value: string, hint?: string) => {
      const made = labelledInput(`sign-in-${testid}`, label, testid, { name, ...attrs }, hint, "sign-in-error");
      made.input.value = value;
      return made;
    };

    const server = field(
      "serverUrl",
      "Server",
      "server-url",
      { type: "url", autocomplete: "url", inputmode: "url", spellcheck: "false", placeholder: "https://sessions.example.com" },
      state.server_url ?? "",
    );
    const email = field(
      "email",
      "Email",
      "email",
      { type: "email", autocomplete: "username", spellcheck: "false" },
      state.email ?? "",
    );
    const password = field("password", "Password", "password", { type: "password", autocomplete: "current-password" }, "");
    const device = field(
      "deviceName",
      "Name this device",
      "device-name",
      { type: "text", autocomplete: "off" },
      state.default_device_name,
      "Shown in your device list on every device.",
    );
    this.inputs = { serverUrl: server.input, email: email.input, password: password.input, deviceName: device.input };
    // On the account page the server is the page's own, and it names the browser itself
    // ("Firefox on Windows"); a shared computer should forget the sign-in instead.
    const web = ctx.host === "web";
    this.shared = web
      ? h("input", {
          type: "checkbox",
          id: "sign-in-shared-computer",
          class: "setting-toggle",
          "data-testid": "shared-computer",
          "aria-describedby": "sign-in-shared-computer-hint",
        })
      : null;
    const sharedRow = this.shared
      ? h(
          "div",
          { class: "field" },
          h(
            "div",
            { class: "setting-row" },
            this.shared,
            h("label", { for: "sign-in-shared-computer", class: "setting-label" }, "This is a shared computer"),
          ),
          h(
            "p",
            { class: "hint setting-help", id: "sign-in-shared-computer-hint" },
            "You will be signed out when the browser closes.",
          ),
        )
      : null;

    this.submit = h(
      "button",
      { type: "submit", class: "button button-primary button-wide", "data-testid": "sign-in-submit" },
      h("span", { class: "spinner", "aria-hidden": "true" }),
      this.submitLabel,
    );

    this.code = h("input", {
      id: "sign-in-two-step-code",
      class: "input",
      type: "text",
      "data-testid": "two-step-code",
      autocomplete: "one-time-code",
      spellcheck: "false",
      "aria-describedby": "sign-in-two-step-code-hint sign-in-error",
    });
    this.code.addEventListener("input", () => this.code.removeAttribute("aria-invalid"));
    this.recoveryToggle = h(
      "button",
      { type: "button", class: "button button-link", "data-testid": "use-recovery-code", on: { click: () => this.toggleRecovery() } },
      "",
    );
    this.firstStep = h(
      "div",
      { class: "form-step" },
      web ? null : server.row,
      email.row,
      password.row,
      web ? null : device.row,
      sharedRow,
    );
    this.secondStep = h(
      "div",
      { class: "form-step", hidden: true, "data-testid": "two-step" },
      this.secondStepLead,
      h("div", { class: "field" }, this.codeLabel, this.code, this.codeHint),
      h(
        "div",
        { class: "form-links" },
        this.recoveryToggle,
        h(
          "button",
          { type: "button", class: "button button-link", "data-testid": "two-step-back", on: { click: () => this.backToFirstStep(null) } },
          "Back",
        ),
      ),
    );
    this.setRecovery(false);

    const form = h(
      "form",
      { class: "sign-in-form", novalidate: true, "aria-labelledby": "sign-in-title" },
      this.firstStep,
      this.secondStep,
      this.submit,
      this.error,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.signIn();
    });

    this.countdown = new Countdown(
      (left) => this.showRateLimit(left),
      () => this.endRateLimit(),
    );

    const info = opts.info
      ? h("p", { class: "info", role: "status", "data-testid": "sign-in-info" }, uiIcon("info"), h("span", null, opts.info))
      : null;

    this.el = h(
      "div",
      { class: "sign-in" },
      h(
        "div",
        { class: "card sign-in-card" },
        h("h1", { class: "sign-in-title", id: "sign-in-title", tabindex: -1 }, "Sign in"),
        h("p", { class: "sign-in-lead" }, "See every device where you are signed in, and sign out the ones you don't trust."),
        this.noticeBox,
        info,
        form,
      ),
    );
    this.setNotice(opts.notice);
  }

  /** Shows (or hides, with null) the "signed out from elsewhere" notice. */
  setNotice(notice: SignedOutNotice | null): void {
    // Unchanged: keep the element (and the focus on it).
    const key = notice ? JSON.stringify(notice) : "";
    if (key === this.noticeKey) return;
    this.noticeKey = key;
    if (!notice) {
      replaceChildren(this.noticeBox);
      return;
    }
    const dismiss = h(
      "button",
      {
        type: "button",
        class: "button button-icon",
        "data-testid": "dismiss-notice",
        "aria-label": "Dismiss message",
        on: { click: () => this.opts.onDismissNotice() },
      },
      uiIcon("close"),
    );
    replaceChildren(
      this.noticeBox,
      h(
        "div",
        { class: "notice", role: "alert", "data-testid": "signed-out-notice", tabindex: -1 },
        uiIcon("alert"),
        // Worded on the Rust side, the same words as the OS notification and sessionctl;
        // the device's name in it isolated.
        h("p", { class: "notice-text" }, ...withNames(notice.message, [notice.by_device_name])),
        dismiss,
      ),
    );
  }

  /** Focus for arrival: the notice if there is one, else the first empty field. */
  focusInitial(): void {
    if (this.codeStep) {
      this.code.focus();
      return;
    }
    const notice = this.noticeBox.querySelector<HTMLElement>("[data-testid=signed-out-notice]");
    if (notice) {
      notice.focus();
      return;
    }
    const order: Field[] = this.ctx.host === "web" ? ["email", "password"] : ["serverUrl", "email", "password", "deviceName"];
    const empty = order.find((f) => !this.inputs[f].value);
    this.inputs[empty ?? "password"].focus();
  }

  destroy(): void {
    this.destroyed = true;
    this.countdown.stop();
  }

  private values(): Record<Field, string> {
    return {
      serverUrl: this.inputs.serverUrl.value,
      email: this.inputs.email.value,
      password: this.inputs.password.value,
      deviceName: this.inputs.deviceName.value,
    };
  }

  /** Checks the form; on a problem, shows it and returns false. */
  private validate(v: Record<Field, string>): { serverUrl: string } | null {
    const problem = (field: Field, text: string): null => {
      this.showError(text, field);
      return null;
    };
    const web = this.ctx.host === "web";
    const serverUrl = web ? (this.ctx.state().server_url ?? location.origin) : normalizeServerUrl(v.serverUrl);
    if (!web && !v.serverUrl.trim()) return problem("serverUrl", "Enter the address of your session server.");
    if (!serverUrl) return problem("serverUrl", "Enter a server address like https://sessions.example.com.");
    if (!v.email.trim()) return problem("email", "Enter your email.");
    if (!/^[^\s@]+@[^\s@]+$/.test(v.email.trim())) return problem("email", "Enter a valid email address.");
    if (!v.password) return problem("password", "Enter your password.");
    const nameProblem = web ? null : validateDeviceName(v.deviceName);
    if (nameProblem) return problem("deviceName", nameProblem);
    return { serverUrl };
  }

  /** Asks for the code: the password was right, the account has two-step sign-in. */
  private toSecondStep(email: string): void {
    this.codeStep = true;
    this.firstStep.hidden = true;
    this.secondStep.hidden = false;
    this.code.value = "";
    this.setRecovery(false);
    replaceChildren(this.secondStepLead, `Two-step sign-in is on for ${email}.`);
    this.code.focus();
  }

  /** Back to the email and password (the Back button, or a sign-in that expired). */
  private backToFirstStep(error: string | null): void {
    this.codeStep = false;
    this.secondStep.hidden = true;
    this.firstStep.hidden = false;
    this.code.value = "";
    this.clearError();
    if (error) this.showError(error, "password");
    else this.inputs.password.focus();
  }

  private toggleRecovery(): void {
    this.setRecovery(!this.recovery);
    this.code.value = "";
    this.clearError();
    this.code.focus();
  }

  private setRecovery(on: boolean): void {
    this.recovery = on;
    this.codeLabel.textContent = on ? "Recovery code" : "Code from your authenticator app";
    this.codeHint.textContent = on
      ? "One of the codes you stored when you turned two-step sign-in on. Each works once."
      : "The 6-digit code the app shows for Session Manager.";
    setAttr(this.code, "inputmode", on ? null : "numeric");
    this.recoveryToggle.textContent = on ? "Use a code from the app" : "Use a recovery code instead";
  }

  private async secondStepSignIn(): Promise<void> {
    const typed = this.code.value.trim();
    if (!typed) {
      this.showCodeError(this.recovery ? "Enter a recovery code." : "Enter the code the app shows.");
      return;
    }
    if (!this.recovery && !/^\d{6}$/.test(typed.replace(/\s/g, ""))) {
      this.showCodeError("The code is 6 digits.");
      return;
    }
    this.setBusy(true);
    try {
      const state = await this.ctx.ipc.signInSecondStep({ code: typed, recovery: this.recovery });
      if (this.destroyed) return;
      this.inputs.password.value = "";
      this.code.value = "";
      this.setBusy(false);
      this.opts.onSignedIn(state);
    } catch (e) {
      if (this.destroyed) return;
      this.setBusy(false);
      const err = toAppError(e);
      if (err.code === "two_step_expired") {
        this.inputs.password.value = "";
        this.backToFirstStep(errorMessage(err, "sign-in"));
      } else if (err.code === "rate_limited") {
        this.countdown.start(Math.max(1, Math.ceil(err.retry_after_secs ?? 60)));
      } else {
        this.showCodeError(errorMessage(err, "sign-in", this.inputs.serverUrl.value));
        this.code.select();
      }
    }
  }

  private showCodeError(text: string): void {
    this.showError(text, null);
    this.code.setAttribute("aria-invalid", "true");
    this.code.focus();
  }

  private async signIn(): Promise<void> {
    if (this.busy || this.countdown.running) return;
    if (this.codeStep) {
      this.clearError();
      await this.secondStepSignIn();
      return;
    }
    const v = this.values();
    this.clearError();
    const ok = this.validate(v);
    if (!ok) return;
    this.inputs.serverUrl.value = ok.serverUrl;
    this.setBusy(true);
    const web = this.ctx.host === "web";
    try {
      const state = await this.ctx.ipc.signIn(
        {
          serverUrl: ok.serverUrl,
          email: v.email.trim(),
          password: v.password,
          deviceName: web ? null : v.deviceName.trim(),
        },
        web ? { sharedComputer: this.shared?.checked ?? false } : undefined,
      );
      if (this.destroyed) return;
      this.inputs.password.value = "";
      this.setBusy(false);
      this.opts.onSignedIn(state);
    } catch (e) {
      if (this.destroyed) return;
      this.setBusy(false);
      const err = toAppError(e);
      if (err.code === "two_step_required") this.toSecondStep(v.email.trim());
      else this.failed(err, ok.serverUrl);
    }
  }

  private failed(err: AppError, serverUrl: string): void {
    switch (err.code) {
      case "rate_limited":
        this.countdown.start(Math.max(1, Math.ceil(err.retry_after_secs ?? 60)));
        return;
      case "invalid_credentials":
        this.showError(errorMessage(err, "sign-in"), "password");
        this.inputs.password.select();
        return;
      case "server_unreachable":
        this.showError(errorMessage(err, "sign-in", serverUrl), "serverUrl");
        return;
      case "validation_failed":
        this.showError(errorMessage(err, "sign-in"), null);
        return;
      default:
        this.showError(errorMessage(err, "sign-in", serverUrl), null);
    }
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.submit.disabled = busy || this.countdown.running;
    setAttr(this.submit, "aria-busy", busy ? "true" : null);
    this.submit.classList.toggle("is-busy", busy);
    this.submitLabel.textContent = busy ? "Signing in…" : "Sign in";
    for (const input of Object.values(this.inputs)) input.readOnly = busy;
    this.code.readOnly = busy;
    if (this.shared) this.shared.disabled = busy;
  }

  private clearError(): void {
    replaceChildren(this.error);
    this.error.classList.remove("has-error");
    for (const input of Object.values(this.inputs)) input.removeAttribute("aria-invalid");
    this.code.removeAttribute("aria-invalid");
  }

  private showError(text: string, field: Field | null): void {
    replaceChildren(this.error, uiIcon("alert"), h("span", null, text));
    this.error.classList.add("has-error");
    // Only a field on the form (the account page has no server or device name field).
    const input = field ? this.inputs[field] : null;
    if (input?.isConnected) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }

  private showRateLimit(left: number): void {
    // The number changes every second; only the first message is announced.
    let count = this.error.querySelector<HTMLElement>("[data-countdown]");
    if (!count) {
      count = h("span", { "data-countdown": "", "aria-live": "off" });
      replaceChildren(
        this.error,
        uiIcon("alert"),
        h("span", null, "Too many attempts. Try again in ", count, " s"),
      );
      this.error.classList.add("has-error");
    }
    count.textContent = String(left);
    this.submit.disabled = true;
  }

  private endRateLimit(): void {
    if (this.destroyed) return;
    this.clearError();
    this.submit.disabled = this.busy;
  }
}
