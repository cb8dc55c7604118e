// The Security tab, for after a scare: change the password (signing the other devices
// out), and turn two-step sign-in on (QR code, first code, recovery codes shown once)
// or off.

import { h, replaceChildren, setAttr, uid, type Child } from "../dom";
import { errorMessage, rateLimitText } from "../errors";
import { uiIcon } from "../icons";
import { readQrSvg } from "../qr";
import { Countdown } from "../time";
import type { AppError, TwoStepSetup } from "../types";
import { failureToShow, type Ctx } from "./context";
import { labelledInput, type LabelledInput } from "./labelled-input";

/** The shortest password worth sending (the server has the full policy and says why). */
const MIN_PASSWORD = 8;

/** A labelled input with its own id. */
function field(label: string, testid: string, attrs: Record<string, string>, hint?: string): LabelledInput {
  return labelledInput(uid(testid), label, testid, attrs, hint);
}

/** "JBSW Y3DP …": a base32 secret in groups of four, as authenticator apps show it. */
export function groupSecret(secret: string): string {
  return secret.replace(/\s+/g, "").replace(/(.{4})(?=.)/g, "$1 ");
}

/** The feedback line of a form: an error (role=alert) or a status (role=status). */
class Feedback {
  readonly error: HTMLElement;
  readonly status: HTMLElement;
  private readonly countdown: Countdown;

  constructor(testid: string, onRateLimitEnd: () => void) {
    this.error = h("p", { class: "feedback feedback-error", role: "alert", "data-testid": `${testid}-error` });
    this.status = h("p", { class: "feedback feedback-ok", role: "status", "data-testid": `${testid}-status` });
    this.countdown = new Countdown(
      (left) => this.showCountdown(left),
      () => {
        this.clear();
        onRateLimitEnd();
      },
    );
  }

  get limited(): boolean {
    return this.countdown.running;
  }

  clear(): void {
    replaceChildren(this.error);
    replaceChildren(this.status);
  }

  fail(text: string): void {
    replaceChildren(this.status);
    replaceChildren(this.error, text);
  }

  say(...text: Child[]): void {
    replaceChildren(this.error);
    replaceChildren(this.status, ...text);
  }

  /** Shows what `err` means here; a rate limit counts down (announced once). */
  failWith(err: AppError): void {
    if (err.code === "rate_limited") {
      this.countdown.start(Math.max(1, Math.ceil(err.retry_after_secs ?? 60)));
      return;
    }
    this.fail(errorMessage(err, "security"));
  }

  stop(): void {
    this.countdown.stop();
  }

  private showCountdown(left: number): void {
    let count = this.error.querySelector<HTMLElement>("[data-countdown]");
    if (!count) {
      count = h("span", { "data-countdown": "", "aria-live": "off" });
      const words = rateLimitText(left).replace(/\d+ s$/, "");
      replaceChildren(this.status);
      replaceChildren(this.error, words, count, " s");
    }
    count.textContent = String(left);
  }
}

type TwoStepStage = "loading" | "off" | "password" | "setup" | "codes" | "on" | "disable" | "error";

export class SecurityView {
  readonly el: HTMLElement;

  private readonly heading = h("h1", { class: "panel-title", id: "security-heading", tabindex: -1 }, "Security");
  private loaded = false;
  private destroyed = false;

  // Password
  private readonly current: HTMLInputElement;
  private readonly fresh: HTMLInputElement;
  private readonly again: HTMLInputElement;
  private readonly signOutOthers: HTMLInputElement;
  private readonly passwordSubmit: HTMLButtonElement;
  private readonly passwordFeedback: Feedback;
  private changing = false;

  // Two-step sign-in
  private readonly twoStepBox = h("div", { class: "two-step" });
  private readonly twoStepStatus = h("p", { class: "setting-state", "data-testid": "two-step-state" });
  private readonly twoStepFeedback: Feedback;
  private stage: TwoStepStage = "loading";
  private busy = false;
  private setup: TwoStepSetup | null = null;
  private codes: string[] = [];

  constructor(private readonly ctx: Ctx) {
    const current = field("Current password", "current-password", { type: "password", autocomplete: "current-password" });
    const fresh = field(
      "New password",
      "new-password",
      { type: "password", autocomplete: "new-password" },
      `At least ${MIN_PASSWORD} characters; not a common password, not your email.`,
    );
    const again = field("New password again", "confirm-password", { type: "password", autocomplete: "new-password" });
    this.current = current.input;
    this.fresh = fresh.input;
    this.again = again.input;
    this.signOutOthers = h("input", {
      type: "checkbox",
      id: "sign-out-others-on-change",
      class: "setting-toggle",
      "data-testid": "sign-out-others-on-change",
      checked: true,
    });
    this.passwordSubmit = h(
      "button",
      { type: "submit", class: "button button-primary", "data-testid": "change-password-submit" },
      "Change password",
    );
    this.passwordFeedback = new Feedback("change-password", () => this.setChanging(false));
    const passwordForm = h(
      "form",
      { class: "security-form", novalidate: true, "data-testid": "change-password-form", "aria-labelledby": "password-heading" },
      current.row,
      fresh.row,
      again.row,
      h(
        "div",
        { class: "setting-row" },
        this.signOutOthers,
        h("label", { for: "sign-out-others-on-change", class: "setting-label" }, "Sign out my other devices"),
      ),
      h(
        "p",
        { class: "setting-help" },
        "Recommended after a scare: whoever knew the old password and signed in with it is signed out too. This device stays signed in.",
      ),
      h("div", { class: "form-actions" }, this.passwordSubmit),
      this.passwordFeedback.error,
      this.passwordFeedback.status,
    );
    passwordForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.changePassword();
    });

    this.twoStepFeedback = new Feedback("two-step", () => this.setBusy(false));

    this.el = h(
      "div",
      { class: "panel security-panel" },
      h("div", { class: "panel-header" }, h("div", { class: "panel-heading" }, this.heading)),
      h(
        "section",
        { class: "security-section" },
        h("h2", { class: "section-title", id: "password-heading" }, "Password"),
        passwordForm,
      ),
      h(
        "section",
        { class: "security-section", "aria-labelledby": "two-step-heading" },
        h("h2", { class: "section-title", id: "two-step-heading" }, "Two-step sign-in"),
        h(
          "p",
          { class: "section-help" },
          "Signing in then also takes a code from an authenticator app on your phone, so a stolen password alone is not enough.",
        ),
        this.twoStepStatus,
        this.twoStepBox,
        this.twoStepFeedback.error,
        this.twoStepFeedback.status,
      ),
    );
    this.renderTwoStep();
  }

  focusHeading(): void {
    this.heading.focus();
  }

  /** Reads whether two-step sign-in is on, the first time the tab is shown. */
  shown(): void {
    if (this.loaded) return;
    this.loaded = true;
    void this.loadAccount();
  }

  destroy(): void {
    this.destroyed = true;
    this.passwordFeedback.stop();
    this.twoStepFeedback.stop();
    // Nothing secret outlives the view.
    this.setup = null;
    this.codes = [];
  }

  // ---- password ----

  private setChanging(on: boolean): void {
    this.changing = on;
    this.passwordSubmit.disabled = on || this.passwordFeedback.limited;
    setAttr(this.passwordSubmit, "aria-busy", on ? "true" : null);
    this.passwordSubmit.textContent = on ? "Changing…" : "Change password";
  }

  private invalid(input: HTMLInputElement, text: string): void {
    this.passwordFeedback.fail(text);
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  private async changePassword(): Promise<void> {
    if (this.changing || this.passwordFeedback.limited) return;
    this.passwordFeedback.clear();
    const currentPassword = this.current.value;
    const newPassword = this.fresh.value;
    if (!currentPassword) return this.invalid(this.current, "Enter your current password.");
    if ([...newPassword].length < MIN_PASSWORD) {
      return this.invalid(this.fresh, `Use at least ${MIN_PASSWORD} characters for the new password.`);
    }
    if (newPassword === currentPassword) return this.invalid(this.fresh, "The new password is the same as the current one.");
    if (this.again.value !== newPassword) return this.invalid(this.again, "The two new passwords are not the same.");
    const signOutOtherDevices = this.signOutOthers.checked;
    this.setChanging(true);
    try {
      const { revoked } = await this.ctx.ipc.changePassword({ currentPassword, newPassword, signOutOtherDevices });
      if (this.destroyed) return;
      for (const input of [this.current, this.fresh, this.again]) input.value = "";
      this.passwordFeedback.say(
        signOutOtherDevices
          ? `Password changed. ${revoked === 1 ? "1 other device was" : `${revoked} other devices were`} signed out.`
          : "Password changed. Your other devices stay signed in.",
      );
      this.setChanging(false);
    } catch (e) {
      if (this.destroyed) return;
      const err = failureToShow(this.ctx, e);
      if (!err) return;
      this.passwordFeedback.failWith(err);
      this.setChanging(false);
      if (err.code === "invalid_credentials") {
        this.current.setAttribute("aria-invalid", "true");
        this.current.select();
        this.current.focus();
      } else if (err.code === "validation_failed") {
        this.fresh.setAttribute("aria-invalid", "true");
        this.fresh.focus();
      }
    }
  }

  // ---- two-step sign-in ----

  private async loadAccount(): Promise<void> {
    this.stage = "loading";
    this.renderTwoStep();
    try {
      const account = await this.ctx.ipc.account();
      if (this.destroyed) return;
      this.stage = account.two_step ? "on" : "off";
    } catch (e) {
      if (this.destroyed) return;
      const err = failureToShow(this.ctx, e);
      if (!err) return;
      this.stage = "error";
      this.twoStepFeedback.fail(errorMessage(err, "security", this.ctx.state().server_url));
    }
    this.renderTwoStep();
  }

  private go(stage: TwoStepStage): void {
    this.stage = stage;
    this.twoStepFeedback.clear();
    this.renderTwoStep();
    this.twoStepBox.querySelector<HTMLElement>("input, [data-focus-first]")?.focus();
  }

  private setBusy(on: boolean): void {
    this.busy = on;
    for (const b of this.twoStepBox.querySelectorAll<HTMLButtonElement>("button[type=submit]")) {
      b.disabled = on || this.twoStepFeedback.limited;
      setAttr(b, "aria-busy", on ? "true" : null);
    }
  }

  /** Runs a step's call; on failure says why and stays on the step. */
  private async step<T>(call: () => Promise<T>, done: (answer: T) => void, invalid?: HTMLInputElement): Promise<void> {
    if (this.busy || this.twoStepFeedback.limited) return;
    this.twoStepFeedback.clear();
    this.setBusy(true);
    try {
      const answer = await call();
      if (this.destroyed) return;
      this.busy = false;
      done(answer);
    } catch (e) {
      if (this.destroyed) return;
      const err = failureToShow(this.ctx, e);
      if (!err) return;
      this.twoStepFeedback.failWith(err);
      this.setBusy(false);
      if (invalid) {
        invalid.setAttribute("aria-invalid", "true");
        invalid.select();
        invalid.focus();
      }
    }
  }

  private form(testid: string, onSubmit: () => void, ...children: Child[]): HTMLFormElement {
    const form = h("form", { class: "security-form", novalidate: true, "data-testid": testid }, ...children);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      onSubmit();
    });
    return form;
  }

  private button(label: string, testid: string, onClick: () => void, primary = false): HTMLButtonElement {
    return h(
      "button",
      { type: "button", class: primary ? "button button-primary" : "button", "data-testid": testid, on: { click: onClick } },
      label,
    );
  }

  private submit(label: string, testid: string, danger = false): HTMLButtonElement {
    return h("button", { type: "submit", class: danger ? "button button-danger" : "button button-primary", "data-testid": testid }, label);
  }

  private renderTwoStep(): void {
    const stage = this.stage;
    this.twoStepStatus.textContent =
      stage === "loading" ? "Checking…" : stage === "error" ? "" : ["on", "disable", "codes"].includes(stage) ? "On" : "Off";
    setAttr(this.twoStepStatus, "data-on", ["on", "disable", "codes"].includes(stage) ? "true" : "false");
    switch (stage) {
      case "loading":
        replaceChildren(this.twoStepBox);
        return;
      case "error":
        replaceChildren(this.twoStepBox, this.button("Retry", "two-step-retry", () => void this.loadAccount()));
        return;
      case "off":
        replaceChildren(this.twoStepBox, this.button("Turn on two-step sign-in", "two-step-enable", () => this.go("password"), true));
        return;
      case "password": {
        const password = field("Current password", "two-step-password", { type: "password", autocomplete: "current-password" });
        replaceChildren(
          this.twoStepBox,
          this.form(
            "two-step-password-form",
            () =>
              void this.step(
                () => this.ctx.ipc.twoStepStart(password.input.value),
                (setup) => {
                  this.setup = setup;
                  this.go("setup");
                },
                password.input,
              ),
            password.row,
            h(
              "div",
              { class: "form-actions" },
              this.submit("Continue", "two-step-start"),
              this.button("Cancel", "two-step-cancel", () => this.go("off")),
            ),
          ),
        );
        return;
      }
      case "setup":
        replaceChildren(this.twoStepBox, this.renderSetup());
        return;
      case "codes":
        replaceChildren(this.twoStepBox, this.renderCodes());
        return;
      case "on":
        replaceChildren(this.twoStepBox, this.button("Turn off two-step sign-in", "two-step-disable", () => this.go("disable")));
        return;
      case "disable": {
        const password = field("Current password", "two-step-disable-password", { type: "password", autocomplete: "current-password" });
        const code = field(
          "Code",
          "two-step-disable-code",
          { type: "text", autocomplete: "one-time-code", spellcheck: "false" },
          "The code your authenticator app shows, or one of your recovery codes.",
        );
        const submit = (): void => {
          if (!password.input.value) return this.twoStepInvalid(password.input, "Enter your current password.");
          if (!code.input.value.trim()) return this.twoStepInvalid(code.input, "Enter a code.");
          void this.step(
            () => this.ctx.ipc.twoStepDisable({ password: password.input.value, code: code.input.value }),
            () => {
              this.go("off");
              this.twoStepFeedback.say("Two-step sign-in is off. Signing in takes your password alone.");
            },
          );
        };
        replaceChildren(
          this.twoStepBox,
          this.form(
            "two-step-disable-form",
            submit,
            password.row,
            code.row,
            h(
              "div",
              { class: "form-actions" },
              this.submit("Turn off", "two-step-disable-submit", true),
              this.button("Cancel", "two-step-disable-cancel", () => this.go("on")),
            ),
          ),
        );
        return;
      }
    }
  }

  private twoStepInvalid(input: HTMLInputElement, text: string): void {
    this.twoStepFeedback.fail(text);
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }

  private renderSetup(): HTMLElement {
    const setup = this.setup;
    const qr = setup ? readQrSvg(setup.qr_svg) : null;
    const code = field(
      "Code from the app",
      "two-step-confirm-code",
      { type: "text", inputmode: "numeric", autocomplete: "one-time-code", spellcheck: "false", maxlength: "7" },
      "The 6-digit code the app shows for Session Manager.",
    );
    const submit = (): void => {
      const typed = code.input.value.replace(/\s/g, "");
      if (!/^\d{6}$/.test(typed)) return this.twoStepInvalid(code.input, "Enter the 6 digits the app shows.");
      void this.step(
        () => this.ctx.ipc.twoStepConfirm(typed),
        (answer) => {
          this.setup = null;
          this.codes = answer.recovery_codes;
          this.go("codes");
        },
        code.input,
      );
    };
    return h(
      "div",
      { class: "two-step-setup" },
      h(
        "ol",
        { class: "steps" },
        h("li", null, "Open your authenticator app (Google Authenticator, Aegis, 1Password, …) and add an account."),
        h("li", null, "Scan this code, or type the key below."),
      ),
      h(
        "figure",
        { class: "qr", "data-testid": "two-step-qr" },
        qr ?? h("p", { class: "state-detail" }, "The QR code cannot be shown; type the key instead."),
        h("figcaption", { class: "visually-hidden" }, "QR code of your two-step sign-in key"),
      ),
      h(
        "p",
        { class: "secret-line" },
        h("span", { class: "label" }, "Key: "),
        h("code", { class: "secret", "data-testid": "two-step-secret" }, groupSecret(setup?.secret ?? "")),
      ),
      this.form(
        "two-step-confirm-form",
        submit,
        code.row,
        h(
          "div",
          { class: "form-actions" },
          this.submit("Turn on", "two-step-confirm"),
          this.button("Cancel", "two-step-cancel", () => {
            this.setup = null;
            this.go("off");
          }),
        ),
      ),
    );
  }

  private renderCodes(): HTMLElement {
    const list = h(
      "ol",
      { class: "recovery-codes", "data-testid": "recovery-codes" },
      ...this.codes.map((c) => h("li", null, h("code", { "data-testid": "recovery-code" }, c))),
    );
    const copied = h("span", { class: "copied", role: "status", "data-testid": "copy-recovery-codes-status" });
    const copy = h(
      "button",
      {
        type: "button",
        class: "button",
        "data-testid": "copy-recovery-codes",
        on: { click: () => void this.copyCodes(list, copied) },
      },
      uiIcon("copy"),
      "Copy",
    );
    return h(
      "div",
      { class: "recovery" },
      h(
        "div",
        { class: "notice notice-warning", role: "alert", "data-testid": "recovery-codes-warning", tabindex: -1, "data-focus-first": "" },
        uiIcon("alert"),
        h(
          "p",
          { class: "notice-text" },
          h("strong", null, "Store these recovery codes now. "),
          "They are shown only this once. Each one signs you in once in place of a code, if you lose your phone.",
        ),
      ),
      list,
      h(
        "div",
        { class: "form-actions" },
        copy,
        copied,
        h(
          "button",
          {
            type: "button",
            class: "button button-primary",
            "data-testid": "recovery-codes-done",
            on: {
              click: () => {
                this.codes = [];
                this.go("on");
                this.twoStepFeedback.say("Two-step sign-in is on.");
              },
            },
          },
          "I have stored them",
        ),
      ),
    );
  }

  private async copyCodes(list: HTMLElement, status: HTMLElement): Promise<void> {
    const text = this.codes.join("\n");
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = "Copied.";
    } catch {
      // No clipboard for this page: select the codes, for the person to copy.
      const range = document.createRange();
      range.selectNodeContents(list);
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
      status.textContent = "Selected: press Ctrl+C to copy.";
    }
  }
}
