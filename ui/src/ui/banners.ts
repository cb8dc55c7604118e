// App-wide banners: pending sign-outs, keychain trouble, security alerts.
// Each banner element lives as long as its condition, so updates never steal focus.

import { h, replaceChildren, withNames } from "../dom";
import { uiIcon } from "../icons";
import { formatWhen, parseTime } from "../time";
import type { AppState, NewSignIn, SecurityAlert } from "../types";

export function pendingText(n: number): string {
  return n === 1
    ? "Sign-out is waiting to reach the server; it will be retried automatically."
    : `${n} sign-outs are waiting to reach the server; they will be retried automatically.`;
}

export function keychainText(message: string | null): string {
  const base = "The system keychain is unavailable, so the app cannot keep you signed in.";
  const detail = message?.trim();
  return detail ? `${base} ${detail}` : base;
}

export function alertTitle(alert: SecurityAlert): string {
  return alert.kind === "refresh_token_reuse" ? "Possible stolen sign-in" : "Security alert";
}

interface Env {
  now(): Date;
  locale: string | undefined;
  /** Shows the activity log; absent when signed out. */
  review: (() => void) | null;
  /** Shows a device in the list ("Not you?"); absent when signed out. */
  showDevice?: ((id: string) => void) | null;
  /** A device's name, if it is listed (to isolate it in the server's sentences). */
  nameOf?: (id: string) => string | null;
}

export class Banners {
  readonly el = h("div", { class: "banners" });
  private readonly alertsBox = h("div", { class: "alerts" });
  private readonly pendingBox = h("div", null);
  private readonly keychainBox = h("div", null);
  private readonly signInsBox = h("div", { class: "alerts" });
  private readonly alerts: SecurityAlert[] = [];
  private readonly signIns: NewSignIn[] = [];

  constructor(private readonly env: Env) {
    this.el.append(this.alertsBox, this.signInsBox, this.keychainBox, this.pendingBox);
  }

  /** Another device signed in: said until dismissed, with "Not you?". */
  addSignIn(signIn: NewSignIn): void {
    const i = this.signIns.findIndex((s) => s.session_id === signIn.session_id);
    if (i >= 0) this.signIns.splice(i, 1);
    this.signIns.unshift(signIn);
    this.signIns.length = Math.min(this.signIns.length, 3);
    this.renderSignIns();
  }

  update(state: AppState): void {
    this.toggle(this.pendingBox, state.pending_revocations > 0, "pending-banner", "status", "info", () =>
      pendingText(state.pending_revocations),
    );
    this.toggle(this.keychainBox, !state.keychain.available, "keychain-banner", "alert", "alert", () =>
      keychainText(state.keychain.message),
    );
  }

  addAlert(alert: SecurityAlert): void {
    this.alerts.unshift(alert);
    // A handful is enough; the activity log keeps them all.
    this.alerts.length = Math.min(this.alerts.length, 3);
    this.renderAlerts();
  }

  /** Signed out here: news of the account's sign-ins is not this screen's any more. */
  clearSignIns(): void {
    this.signIns.length = 0;
    this.renderSignIns();
  }

  clearAlerts(): void {
    this.alerts.length = 0;
    this.signIns.length = 0;
    this.renderAlerts();
    this.renderSignIns();
  }

  /** Re-renders alerts, e.g. when "Review activity" becomes (un)available. */
  setReview(review: (() => void) | null, showDevice: ((id: string) => void) | null = null): void {
    this.env.review = review;
    this.env.showDevice = showDevice;
    this.renderAlerts();
    this.renderSignIns();
  }

  private renderSignIns(): void {
    const show = this.env.showDevice;
    replaceChildren(
      this.signInsBox,
      ...this.signIns.map((signIn) => {
        const dismiss = h(
          "button",
          {
            type: "button",
            class: "button button-icon",
            "data-testid": "sign-in-banner-dismiss",
            "aria-label": "Dismiss",
            on: {
              click: () => {
                const i = this.signIns.indexOf(signIn);
                if (i >= 0) this.signIns.splice(i, 1);
                this.renderSignIns();
              },
            },
          },
          uiIcon("close"),
        );
        const showButton = show
          ? h(
              "button",
              {
                type: "button",
                class: "button",
                "data-testid": "sign-in-banner-show",
                on: { click: () => show(signIn.session_id) },
              },
              "Not you? Show this device",
            )
          : null;
        return h(
          "div",
          { class: "banner banner-info", role: "status", "data-testid": "sign-in-banner", "data-session-id": signIn.session_id },
          uiIcon("info"),
          // Worded on the Rust side (proto::notice), the words of the OS notification.
          h("p", { class: "banner-text" }, ...withNames(signIn.message, [signIn.device.name])),
          h("div", { class: "banner-actions" }, showButton, dismiss),
        );
      }),
    );
  }

  private toggle(
    box: HTMLElement,
    on: boolean,
    testid: string,
    role: "status" | "alert",
    icon: "info" | "alert",
    text: () => string,
  ): void {
    const existing = box.firstElementChild;
    if (!on) {
      if (existing) replaceChildren(box);
      return;
    }
    const body = text();
    if (existing) {
      const p = existing.querySelector(".banner-text");
      if (p && p.textContent !== body) p.textContent = body;
      return;
    }
    replaceChildren(
      box,
      h(
        "div",
        { class: `banner banner-${icon === "alert" ? "warning" : "info"}`, role, "data-testid": testid },
        uiIcon(icon),
        h("p", { class: "banner-text" }, body),
      ),
    );
  }

  private renderAlerts(): void {
    const now = this.env.now();
    const review = this.env.review;
    replaceChildren(
      this.alertsBox,
      ...this.alerts.map((alert) => {
        const at = parseTime(alert.at);
        const dismiss = h(
          "button",
          {
            type: "button",
            class: "button button-icon",
            "data-testid": "alert-dismiss",
            "aria-label": "Dismiss alert",
            on: {
              click: () => {
                const i = this.alerts.indexOf(alert);
                if (i >= 0) this.alerts.splice(i, 1);
                this.renderAlerts();
              },
            },
          },
          uiIcon("close"),
        );
        const reviewButton = review
          ? h("button", { type: "button", class: "button", "data-testid": "alert-review", on: { click: review } }, "Review activity")
          : null;
        const show = this.env.showDevice;
        const device = alert.session_id;
        const showButton =
          show && device
            ? h(
                "button",
                { type: "button", class: "button", "data-testid": "alert-show-device", on: { click: () => show(device) } },
                "Show the device",
              )
            : null;
        const name = device ? (this.env.nameOf?.(device) ?? null) : null;
        return h(
          "div",
          { class: "banner banner-danger", role: "alert", "data-testid": "alert-banner", "data-kind": alert.kind },
          uiIcon("alert"),
          h(
            "div",
            { class: "banner-text" },
            h("strong", { class: "banner-title" }, alertTitle(alert)),
            h("span", null, " "),
            h("span", null, ...withNames(alert.message, [name])),
            at ? h("span", { class: "banner-when" }, ` (${formatWhen(at, now, this.env.locale)})`) : null,
          ),
          h("div", { class: "banner-actions" }, showButton, reviewButton, dismiss),
        );
      }),
    );
  }
}
