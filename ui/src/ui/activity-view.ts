// The Activity tab: the account's security history, newest first.

import { buildNameIndex, describeActivityParts, type Part } from "../activity";
import { h, named, replaceChildren, setAttr, type Child } from "../dom";
import { errorMessage } from "../errors";
import { uiIcon, type UiIcon } from "../icons";
import { formatDateTime, parseTime, relativeTime } from "../time";
import type { ActivityEvent, AppError, SessionInfo } from "../types";
import { failureToShow, type Ctx } from "./context";

export class ActivityView {
  readonly el: HTMLElement;
  events: ActivityEvent[] = [];
  /** Set when something changed while the tab was hidden. */
  stale = true;

  private readonly heading = h("h1", { class: "panel-title", id: "activity-heading", tabindex: -1 }, "Activity");
  private readonly list = h("ol", {
    class: "activity-list",
    "data-testid": "activity-list",
    "aria-labelledby": "activity-heading",
  });
  private readonly stateBox = h("div", { class: "list-state" });
  private readonly refreshButton: HTMLButtonElement;
  private readonly times: Array<{ el: HTMLTimeElement; at: Date }> = [];
  private loaded = false;
  private error: AppError | null = null;
  private inFlight: Promise<void> | null = null;
  private queued = false;
  private destroyed = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly devices: () => ReadonlyArray<Pick<SessionInfo, "id" | "device">>,
  ) {
    this.refreshButton = h(
      "button",
      { type: "button", class: "button", "data-testid": "refresh-activity", on: { click: () => void this.refresh() } },
      uiIcon("refresh"),
      "Refresh",
    );
    this.el = h(
      "div",
      { class: "panel activity-panel" },
      h(
        "div",
        { class: "panel-header" },
        h("div", { class: "panel-heading" }, this.heading),
        h("div", { class: "toolbar" }, this.refreshButton),
      ),
      this.stateBox,
      this.list,
    );
    this.render();
  }

  focusHeading(): void {
    this.heading.focus();
  }

  refresh(): Promise<void> {
    if (this.inFlight) {
      this.queued = true;
      return this.inFlight;
    }
    this.stale = false;
    setAttr(this.refreshButton, "aria-busy", "true");
    this.refreshButton.classList.add("is-busy");
    this.inFlight = (async () => {
      do {
        this.queued = false;
        await this.fetchOnce();
      } while (this.queued && !this.destroyed);
    })().finally(() => {
      this.inFlight = null;
      setAttr(this.refreshButton, "aria-busy", null);
      this.refreshButton.classList.remove("is-busy");
    });
    return this.inFlight;
  }

  /** Device names changed: re-describe the events. */
  namesChanged(): void {
    if (this.loaded) this.render();
  }

  tick(): void {
    const now = this.ctx.now();
    for (const t of this.times) t.el.textContent = relativeTime(t.at, now, this.ctx.locale);
  }

  destroy(): void {
    this.destroyed = true;
  }

  private async fetchOnce(): Promise<void> {
    try {
      const events = await this.ctx.ipc.activity();
      if (this.destroyed) return;
      this.events = [...events].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
      this.loaded = true;
      this.error = null;
    } catch (e) {
      if (this.destroyed) return;
      const err = failureToShow(this.ctx, e);
      if (!err) return;
      this.error = err;
    }
    this.render();
  }

  private render(): void {
    if (this.error) {
      replaceChildren(
        this.stateBox,
        h(
          "div",
          { class: "state state-error", role: "alert", "data-testid": "activity-error" },
          h("p", null, "Couldn't load the activity."),
          h("p", { class: "state-detail" }, errorMessage(this.error, "activity", this.ctx.state().server_url)),
          h(
            "button",
            { type: "button", class: "button button-primary", "data-testid": "activity-retry", on: { click: () => void this.refresh() } },
            "Retry",
          ),
        ),
      );
    } else if (!this.loaded) {
      replaceChildren(
        this.stateBox,
        h("p", { class: "state state-loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Loading activity…"),
      );
    } else if (this.events.length === 0) {
      replaceChildren(this.stateBox, h("p", { class: "state state-empty", "data-testid": "activity-empty" }, "No activity yet."));
    } else {
      replaceChildren(this.stateBox);
    }

    const who = {
      index: buildNameIndex(this.devices(), this.events),
      currentSessionId: this.ctx.state().session_id,
    };
    const now = this.ctx.now();
    this.times.length = 0;
    const rows = this.events.map((e) => {
      const text = describeActivityParts(e, who);
      const at = parseTime(e.at);
      const time = h(
        "time",
        { class: "activity-time", datetime: at ? e.at : null, title: at ? formatDateTime(at, this.ctx.locale) : null },
        at ? relativeTime(at, now, this.ctx.locale) : "",
      );
      if (at) this.times.push({ el: time, at });
      return h(
        "li",
        {
          class: text.alert ? "activity-row activity-alert" : "activity-row",
          "data-testid": "activity-row",
          "data-kind": e.kind,
        },
        h("span", { class: "activity-icon" }, uiIcon(activityIcon(e.kind, text.alert))),
        h(
          "div",
          { class: "activity-main" },
          text.alert ? h("span", { class: "badge badge-alert" }, "Security alert") : null,
          h("p", { class: "activity-title" }, ...parts(text.titleParts)),
          text.detail ? h("p", { class: "activity-detail" }, text.detail) : null,
        ),
        time,
      );
    });
    replaceChildren(this.list, ...rows);
    this.list.hidden = this.events.length === 0;
  }
}

/** A sentence on screen: its device names isolated. */
function parts(p: readonly Part[]): Child[] {
  return p.map((x) => (typeof x === "string" ? x : named(x.name)));
}

function activityIcon(kind: ActivityEvent["kind"], alert: boolean): UiIcon {
  if (alert) return "alert";
  switch (kind) {
    case "signed_in":
    case "wiped":
      return "check";
    case "password_changed":
    case "two_step_enabled":
    case "two_step_disabled":
      return "key";
    default:
      return "info";
  }
}
