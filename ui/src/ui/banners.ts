// App-wide banners: pending sign-outs, keychain trouble, security alerts.
// Each banner element lives as long as its condition, so updates never steal focus.

import { h, replaceChildren } from "../dom";
import { uiIcon } from "../icons";
import { formatWhen, parseTime } from "../time";
import type { AppState, SecurityAlert } from "../types";

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
}

export class Banners {
  readonly el = h("div", { class: "banners" });
  private readonly alertsBox = h("div", { class: "alerts" });
  private readonly pendingBox = h("div", null);
  private readonly keychainBox = h("div", null);
  private readonly alerts: SecurityAlert[] = [];

  constructor(private readonly env: Env) {
    this.el.append(this.alertsBox, this.keychainBox, this.pendingBox);
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

  clearAlerts(): void {
    this.alerts.length = 0;
    this.renderAlerts();
  }

  /** Re-renders alerts, e.g. when "Review activity" becomes (un)available. */
  setReview(review: (() => void) | null): void {
    this.env.review = review;
    this.renderAlerts();
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
        return h(
          "div",
          { class: "banner banner-danger", role: "alert", "data-testid": "alert-banner", "data-kind": alert.kind },
          uiIcon("alert"),
          h(
            "div",
            { class: "banner-text" },
            h("strong", { class: "banner-title" }, alertTitle(alert)),
            h("span", null, " "),
            h("span", null, alert.message),
            at ? h("span", { class: "banner-when" }, ` (${formatWhen(at, now, this.env.locale)})`) : null,
          ),
          h("div", { class: "banner-actions" }, reviewButton, dismiss),
        );
      }),
    );
  }
}
