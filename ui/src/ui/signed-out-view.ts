// The Devices tab's "Signed out" section: every device signed out in the last 7 days,
// and whether it has erased its keys (its wipe receipt), updated live.

import { normalizePlatform, platformLabel, signedOutReason, systemText } from "../devices";
import { h, replaceChildren, setAttr } from "../dom";
import { platformIcon, uiIcon } from "../icons";
import { formatDateTime, parseTime, relativeTime } from "../time";
import type { SignedOutDevice } from "../types";

interface Env {
  now(): Date;
  locale: string | undefined;
}

/** One signed-out device; rebuilt with each list (nothing in it takes input). */
class SignedOutRow {
  readonly el: HTMLLIElement;
  private readonly when = h("time", { "data-testid": "signed-out-when" });

  constructor(
    readonly device: SignedOutDevice,
    private readonly env: Env,
  ) {
    const d = device.device;
    const platform = normalizePlatform(d.platform);
    const wiped = device.wiped_at !== null;
    const reason = signedOutReason(device.revoked_reason);
    this.el = h(
      "li",
      {
        class: "device-row signed-out-row",
        "data-testid": "signed-out-row",
        // Not data-session-id: that names the rows of signed-in devices.
        "data-signed-out-id": device.id,
        "data-wiped": String(wiped),
      },
      h("span", { class: "device-icon", "data-platform": platform }, platformIcon(platform), h("span", { class: "visually-hidden" }, platformLabel(platform))),
      h(
        "div",
        { class: "device-main" },
        h("div", { class: "device-title" }, h("span", { class: "device-name", "data-testid": "signed-out-name", dir: "auto" }, d.name)),
        h(
          "p",
          { class: "signed-out-facts" },
          "Signed out ",
          this.when,
          reason ? ` · ${reason}` : "",
          ` · ${systemText(d.platform, d.os_version)}`,
        ),
        h(
          "p",
          { class: wiped ? "wipe-status wipe-status-done" : "wipe-status", "data-testid": "wipe-status" },
          uiIcon(wiped ? "check" : "clock"),
          // Worded on the Rust side (proto::notice), as sessionctl says it.
          h("span", null, device.wipe_status),
        ),
      ),
    );
    this.tick();
  }

  tick(): void {
    const at = parseTime(this.device.revoked_at);
    this.when.textContent = at ? relativeTime(at, this.env.now(), this.env.locale) : "";
    setAttr(this.when, "datetime", at ? this.device.revoked_at : null);
    setAttr(this.when, "title", at ? formatDateTime(at, this.env.locale) : null);
  }

  setHighlighted(on: boolean): void {
    this.el.classList.toggle("device-row-highlighted", on);
    setAttr(this.el, "data-highlighted", on ? "true" : null);
  }
}

export class SignedOutSection {
  readonly el: HTMLElement;
  private readonly list = h("ul", { class: "device-list", "data-testid": "signed-out-list", "aria-labelledby": "signed-out-heading" });
  private rows: SignedOutRow[] = [];

  constructor(private readonly env: Env) {
    this.el = h(
      "section",
      { class: "signed-out", "data-testid": "signed-out-section", hidden: true },
      h("h2", { class: "section-title", id: "signed-out-heading" }, "Signed out"),
      h(
        "p",
        { class: "section-help" },
        "Devices signed out in the last 7 days. A signed-out device confirms when it has erased its keys, as soon as it is online.",
      ),
      this.list,
    );
  }

  get devices(): SignedOutDevice[] {
    return this.rows.map((r) => r.device);
  }

  show(devices: readonly SignedOutDevice[]): void {
    const highlighted = this.rows.find((r) => r.el.dataset.highlighted === "true")?.device.id;
    const sorted = [...devices].sort((a, b) => Date.parse(b.revoked_at) - Date.parse(a.revoked_at));
    this.rows = sorted.map((d) => new SignedOutRow(d, this.env));
    replaceChildren(this.list, ...this.rows.map((r) => r.el));
    this.el.hidden = this.rows.length === 0;
    if (highlighted) this.highlight(highlighted);
  }

  tick(): void {
    for (const r of this.rows) r.tick();
  }

  /** Marks the row of `id` (none: unmark all); the row, if there is one. */
  highlight(id: string | null): HTMLElement | null {
    let found: HTMLElement | null = null;
    for (const r of this.rows) {
      const on = r.device.id === id;
      r.setHighlighted(on);
      if (on) found = r.el;
    }
    return found;
  }
}
