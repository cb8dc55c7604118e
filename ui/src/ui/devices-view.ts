// The Devices tab: every signed-in device, rename, sign out one / others / everywhere.

import { countText, sortDevices } from "../devices";
import { h, named, replaceChildren, setAttr, type Child } from "../dom";
import { endsSession, errorMessage, type ErrorContext } from "../errors";
import { uiIcon } from "../icons";
import { toAppError } from "../ipc";
import type { AppError, SessionInfo, SignedOutDevice } from "../types";
import { failureToShow, type Ctx } from "./context";
import { DeviceRow, type RowActions } from "./device-row";
import { SignedOutSection } from "./signed-out-view";

type LoadState = "loading" | "ready" | "error";

export class DevicesView {
  readonly el: HTMLElement;
  /** The devices as last loaded, this device first. */
  devices: SessionInfo[] = [];

  private readonly rows = new Map<string, DeviceRow>();
  private readonly heading = h("h1", { class: "panel-title", id: "devices-heading", tabindex: -1 }, "Devices");
  private readonly countEl = h("span", { class: "panel-count", "data-testid": "device-count" });
  private readonly list = h("ul", {
    class: "device-list",
    "data-testid": "device-list",
    "aria-labelledby": "devices-heading",
  });
  private readonly stateBox = h("div", { class: "list-state" });
  private readonly status = h("p", { class: "feedback feedback-ok", role: "status", "data-testid": "devices-status" });
  private readonly problem = h("p", { class: "feedback feedback-error", role: "alert", "data-testid": "devices-error" });
  private readonly refreshButton: HTMLButtonElement;
  private readonly othersButton: HTMLButtonElement;
  private readonly everywhereButton: HTMLButtonElement;

  private readonly signedOut: SignedOutSection;
  /** The device the person was sent to ("Not you?"), until it is on screen. */
  private wanted: string | null = null;

  private loadState: LoadState = "loading";
  private loadError: AppError | null = null;
  private inFlight: Promise<void> | null = null;
  private queued = false;
  private destroyed = false;
  private readonly rowActions: RowActions;

  constructor(
    private readonly ctx: Ctx,
    /** Told whenever the list changes (the Activity tab uses the names). */
    private readonly onDevices: (devices: SessionInfo[]) => void = () => {},
  ) {
    this.refreshButton = h(
      "button",
      {
        type: "button",
        class: "button",
        "data-testid": "refresh-devices",
        on: { click: () => void this.refresh(true) },
      },
      uiIcon("refresh"),
      "Refresh",
    );
    this.othersButton = h(
      "button",
      {
        type: "button",
        class: "button",
        "data-testid": "sign-out-others",
        on: { click: () => void this.signOutOthers() },
      },
      "Sign out all other devices",
    );
    this.everywhereButton = h(
      "button",
      {
        type: "button",
        class: "button button-danger",
        "data-testid": "sign-out-everywhere",
        on: { click: () => void this.signOutEverywhere() },
      },
      "Sign out everywhere",
    );
    this.rowActions = {
      rename: (row, name) => this.ctx.ipc.renameDevice(row.id, name).then((s) => this.renamed(s)),
      signOut: (row) => void this.signOutRow(row),
      onError: (err) => {
        if (endsSession(err)) this.ctx.sessionLost();
      },
    };

    this.signedOut = new SignedOutSection({ now: () => this.ctx.now(), locale: this.ctx.locale });
    this.el = h(
      "div",
      { class: "panel devices-panel" },
      h(
        "div",
        { class: "panel-header" },
        h("div", { class: "panel-heading" }, this.heading, this.countEl),
        h("div", { class: "toolbar" }, this.refreshButton, this.othersButton, this.everywhereButton),
      ),
      this.status,
      this.problem,
      this.stateBox,
      this.list,
      this.signedOut.el,
    );
    this.renderState();
  }

  /** The devices signed out in the last 7 days, as last loaded. */
  get signedOutDevices(): SignedOutDevice[] {
    return this.signedOut.devices;
  }

  /**
   * "Not you?": brings the device `id` into view, marked, with its "Sign out" focused
   * (one click away); a signed-out device is marked in the "Signed out" section. A
   * device not listed yet (a sign-in just announced) is looked for again after a fetch.
   */
  showDevice(id: string): void {
    this.wanted = id;
    if (this.applyWanted()) return;
    void this.refresh().then(() => {
      if (this.destroyed || this.wanted !== id) return;
      if (!this.applyWanted()) {
        this.wanted = null;
        this.say("That device is no longer listed.");
      }
    });
  }

  /** Shows the wanted device if it is listed; false while it is not. */
  private applyWanted(): boolean {
    const id = this.wanted;
    if (!id) return true;
    const row = this.rows.get(id);
    for (const r of this.rows.values()) r.setHighlighted(r.id === id);
    const ended = this.signedOut.highlight(row ? null : id);
    const el = row?.el ?? ended;
    if (!el) return false;
    this.wanted = null;
    // As little scrolling as shows it (the banner that led here may stay in view). Not
    // in every DOM (jsdom has none); the focus below scrolls there too.
    el.scrollIntoView?.({ block: "nearest" });
    if (row) {
      row.focusSignOut();
      // Marked until the person moves on from it.
      const moveOn = (ev: FocusEvent): void => {
        if (ev.relatedTarget instanceof Node && row.el.contains(ev.relatedTarget)) return;
        row.setHighlighted(false);
        row.el.removeEventListener("focusout", moveOn);
      };
      row.el.addEventListener("focusout", moveOn);
    } else {
      setAttr(el, "tabindex", -1);
      el.focus();
    }
    return true;
  }

  focusHeading(): void {
    this.heading.focus();
  }

  /** Loads the list; concurrent calls coalesce into one more fetch after the current one. */
  refresh(manual = false): Promise<void> {
    if (manual) this.clearFeedback();
    if (this.inFlight) {
      this.queued = true;
      return this.inFlight;
    }
    this.setRefreshing(true);
    this.inFlight = (async () => {
      do {
        this.queued = false;
        await this.fetchOnce();
      } while (this.queued && !this.destroyed);
    })().finally(() => {
      this.inFlight = null;
      this.setRefreshing(false);
    });
    return this.inFlight;
  }

  /** Updates relative times. */
  tick(): void {
    for (const row of this.rows.values()) row.tick();
    this.signedOut.tick();
  }

  destroy(): void {
    this.destroyed = true;
  }

  private async fetchOnce(): Promise<void> {
    // Both lists at once. The signed-out one is a bonus: if it cannot be had, the
    // section keeps what it showed.
    const ended = this.ctx.ipc.signedOutDevices().then(
      (list) => list,
      (e: unknown) => {
        if (endsSession(toAppError(e))) this.ctx.sessionLost();
        return null;
      },
    );
    try {
      const list = await this.ctx.ipc.listDevices();
      const signedOut = await ended;
      if (this.destroyed) return;
      this.loadError = null;
      this.loadState = "ready";
      this.show(list);
      if (signedOut) this.signedOut.show(signedOut);
      this.applyWanted();
      this.ctx.painted("devices", list.length);
    } catch (e) {
      if (this.destroyed) return;
      const err = failureToShow(this.ctx, e);
      if (!err) return;
      this.loadError = err;
      this.loadState = "error";
      this.renderState();
    }
  }

  private setRefreshing(on: boolean): void {
    setAttr(this.refreshButton, "aria-busy", on ? "true" : null);
    this.refreshButton.classList.toggle("is-busy", on);
    setAttr(this.list, "aria-busy", on ? "true" : null);
  }

  private show(list: SessionInfo[]): void {
    const sorted = sortDevices(list);
    this.devices = sorted;
    const keep = new Set(sorted.map((s) => s.id));
    for (const row of [...this.rows.values()]) {
      if (!keep.has(row.id)) this.removeRow(row);
    }
    sorted.forEach((session, i) => {
      let row = this.rows.get(session.id);
      if (row) {
        row.update(session);
      } else {
        row = new DeviceRow(session, this.rowActions, { now: () => this.ctx.now(), locale: this.ctx.locale });
        this.rows.set(session.id, row);
      }
      const at = this.list.children[i];
      if (at !== row.el) this.list.insertBefore(row.el, at ?? null);
    });
    this.renderState();
    this.onDevices(this.devices);
  }

  private renderState(): void {
    const n = this.devices.length;
    this.countEl.textContent = this.loadState === "loading" && n === 0 ? "" : countText(n, "device", "devices");
    const others = this.devices.filter((d) => !d.current).length;
    this.othersButton.disabled = this.loadState === "loading" || others === 0;
    setAttr(this.othersButton, "title", others === 0 && this.loadState !== "loading" ? "No other devices are signed in" : null);
    this.list.hidden = n === 0;

    if (this.loadState === "loading" && n === 0) {
      replaceChildren(
        this.stateBox,
        h("p", { class: "state state-loading", role: "status", "data-testid": "devices-loading" },
          h("span", { class: "spinner", "aria-hidden": "true" }),
          "Loading devices…"),
      );
    } else if (this.loadState === "error" && this.loadError) {
      const retry = h(
        "button",
        { type: "button", class: "button button-primary", "data-testid": "devices-retry", on: { click: () => void this.refresh(true) } },
        "Retry",
      );
      replaceChildren(
        this.stateBox,
        h(
          "div",
          { class: "state state-error", role: "alert", "data-testid": "devices-load-error" },
          h("p", null, n === 0 ? "Couldn't load your devices." : "Couldn't update the list; it may be out of date."),
          h("p", { class: "state-detail" }, errorMessage(this.loadError, "devices", this.ctx.state().server_url)),
          retry,
        ),
      );
    } else if (n === 0) {
      replaceChildren(
        this.stateBox,
        h("p", { class: "state state-empty", "data-testid": "devices-empty" }, "No devices are signed in to this account."),
      );
    } else {
      replaceChildren(this.stateBox);
    }
  }

  private renamed(session: SessionInfo): SessionInfo {
    this.devices = sortDevices(this.devices.map((d) => (d.id === session.id ? session : d)));
    this.say("Renamed to “", named(session.device.name), "”.");
    this.onDevices(this.devices);
    return session;
  }

  private removeRow(row: DeviceRow): void {
    const hadFocus = row.el.contains(document.activeElement);
    const next = row.el.nextElementSibling ?? row.el.previousElementSibling;
    row.el.remove();
    this.rows.delete(row.id);
    if (!hadFocus) return;
    const nextRow = [...this.rows.values()].find((r) => r.el === next);
    if (nextRow) nextRow.focusSignOut();
    else this.heading.focus();
  }

  private clearFeedback(): void {
    this.status.textContent = "";
    this.problem.textContent = "";
  }

  private say(...text: Child[]): void {
    this.problem.textContent = "";
    replaceChildren(this.status, ...text);
  }

  private fail(e: unknown, context: ErrorContext, ...what: Child[]): void {
    const err = failureToShow(this.ctx, e);
    if (!err) return;
    this.status.textContent = "";
    replaceChildren(this.problem, ...what, `: ${errorMessage(err, context, this.ctx.state().server_url)}`);
  }

  private async signOutRow(row: DeviceRow): Promise<void> {
    if (row.session.current) {
      await this.signOutThisDevice();
      return;
    }
    const name = row.name;
    const ok = await this.ctx.confirm({
      title: ["Sign out ", named(name), "?"],
      message: [named(name), " will have to sign in again to get back in. Its access ends right away."],
      confirmLabel: "Sign out",
      danger: true,
    });
    if (!ok || this.destroyed) return;
    this.clearFeedback();
    row.setBusy(true);
    try {
      await this.ctx.ipc.signOutDevice(row.id);
      if (this.destroyed) return;
      this.removeRow(row);
      this.devices = this.devices.filter((d) => d.id !== row.id);
      this.renderState();
      this.say(named(name), " was signed out.");
      void this.refresh();
    } catch (e) {
      if (this.destroyed) return;
      row.setBusy(false);
      if (toAppError(e).code === "not_found") {
        this.say(named(name), " was already signed out.");
        void this.refresh();
        return;
      }
      this.fail(e, "sign-out", "Couldn't sign out ", named(name));
    }
  }

  private async signOutThisDevice(): Promise<void> {
    const ok = await this.ctx.confirm({
      title: "Sign out of this device?",
      message: "You will need to sign in again to manage your devices from here.",
      confirmLabel: "Sign out",
      danger: true,
    });
    if (!ok || this.destroyed) return;
    this.clearFeedback();
    try {
      const state = await this.ctx.ipc.signOut();
      this.ctx.signedOut(state, "You signed out of this device.");
    } catch (e) {
      this.fail(e, "sign-out", "Couldn't sign out");
    }
  }

  private async signOutOthers(): Promise<void> {
    const others = this.devices.filter((d) => !d.current).length;
    if (others === 0) return;
    const ok = await this.ctx.confirm({
      title: `Sign out ${countText(others, "other device", "other devices")}?`,
      message:
        others === 1
          ? "The other device will have to sign in again. This device stays signed in."
          : `All ${others} other devices will have to sign in again. This device stays signed in.`,
      confirmLabel: "Sign out others",
      danger: true,
    });
    if (!ok || this.destroyed) return;
    this.clearFeedback();
    this.othersButton.disabled = true;
    setAttr(this.othersButton, "aria-busy", "true");
    try {
      const { revoked } = await this.ctx.ipc.signOutOthers();
      if (this.destroyed) return;
      this.say(`Signed out ${countText(revoked, "other device", "other devices")}.`);
    } catch (e) {
      this.fail(e, "sign-out", "Couldn't sign out the other devices");
    } finally {
      setAttr(this.othersButton, "aria-busy", null);
      if (!this.destroyed) {
        this.renderState();
        // The button was disabled while busy (and stays so with no others left): keep focus in the panel.
        if (document.activeElement === document.body || document.activeElement === null) this.heading.focus();
        void this.refresh();
      }
    }
  }

  private async signOutEverywhere(): Promise<void> {
    const n = this.devices.length;
    const ok = await this.ctx.confirm({
      title: "Sign out everywhere?",
      message:
        n > 1
          ? `All ${n} devices, this one included, will be signed out right away. You will need to sign in again.`
          : "Every device on your account, this one included, will be signed out right away. You will need to sign in again.",
      confirmLabel: "Sign out everywhere",
      danger: true,
    });
    if (!ok || this.destroyed) return;
    this.clearFeedback();
    this.everywhereButton.disabled = true;
    setAttr(this.everywhereButton, "aria-busy", "true");
    try {
      const state = await this.ctx.ipc.signOutEverywhere();
      this.ctx.signedOut(state, "You signed out everywhere. Every device, this one included, has to sign in again.");
    } catch (e) {
      this.fail(e, "sign-out", "Couldn't sign out everywhere");
    } finally {
      this.everywhereButton.disabled = false;
      setAttr(this.everywhereButton, "aria-busy", null);
    }
  }
}
