// One device in the list. Updated in place (never rebuilt) so a refetch that
// arrives while the person is renaming keeps their input and focus.

import { normalizePlatform, platformLabel, systemText, validateDeviceName } from "../devices";
import { h, replaceChildren, setAttr, uid } from "../dom";
import { errorMessage } from "../errors";
import { platformIcon, uiIcon } from "../icons";
import { toAppError } from "../ipc";
import { formatDate, formatDateTime, parseTime, relativeTime } from "../time";
import type { AppError, SessionInfo } from "../types";

export interface RowActions {
  rename(row: DeviceRow, name: string): Promise<SessionInfo>;
  signOut(row: DeviceRow): void;
  /** An error that ends the session surfaced here. */
  onError(err: AppError): void;
}

export interface RowEnv {
  now(): Date;
  locale: string | undefined;
}

export class DeviceRow {
  readonly el: HTMLLIElement;
  session: SessionInfo;
  private editing = false;
  private saving = false;
  private busy = false;

  private readonly iconBox = h("span", { class: "device-icon" });
  // dir="auto": a name keeps its own direction, isolated from the text around it.
  private readonly nameEl = h("span", { class: "device-name", "data-testid": "device-name", dir: "auto" });
  private readonly badge = h("span", { class: "badge", "data-testid": "this-device-badge" }, "This device");
  private readonly renameButton: HTMLButtonElement;
  private readonly signOutButton: HTMLButtonElement;
  private readonly titleLine: HTMLElement;
  private readonly systemEl = h("dd", null);
  private readonly appEl = h("dd", null);
  private readonly ipEl = h("dd", null);
  private readonly createdEl = h("time", null);
  private readonly lastSeenEl = h("time", { "data-testid": "last-active" });
  private form: HTMLFormElement | null = null;

  constructor(
    session: SessionInfo,
    private readonly actions: RowActions,
    private readonly env: RowEnv,
  ) {
    this.session = session;
    this.renameButton = h(
      "button",
      {
        type: "button",
        class: "button button-icon",
        "data-testid": "rename-button",
        on: { click: () => this.startEditing() },
      },
      uiIcon("edit"),
      h("span", { class: "visually-hidden" }, "Rename"),
    );
    this.signOutButton = h(
      "button",
      {
        type: "button",
        class: "button button-danger-quiet",
        "data-testid": "sign-out-device",
        on: {
          click: () => {
            if (!this.busy) this.actions.signOut(this);
          },
        },
      },
      "Sign out",
    );
    this.titleLine = h("div", { class: "device-title" }, this.nameEl, this.badge, this.renameButton);

    const item = (label: string, value: HTMLElement): HTMLElement =>
      h("div", { class: "device-fact" }, h("dt", null, label), value);

    this.el = h(
      "li",
      { class: "device-row", "data-testid": "device-row" },
      this.iconBox,
      h(
        "div",
        { class: "device-main" },
        this.titleLine,
        h(
          "dl",
          { class: "device-facts" },
          item("Last active", h("dd", null, this.lastSeenEl)),
          item("Signed in", h("dd", null, this.createdEl)),
          item("System", this.systemEl),
          item("App version", this.appEl),
          item("IP address", this.ipEl),
        ),
      ),
      h("div", { class: "device-actions" }, this.signOutButton),
    );
    this.update(session);
  }

  get id(): string {
    return this.session.id;
  }

  get name(): string {
    return this.session.device.name;
  }

  get isEditing(): boolean {
    return this.editing;
  }

  /** Shows new data for this device (the name only when not being edited). */
  update(session: SessionInfo): void {
    this.session = session;
    const d = session.device;
    setAttr(this.el, "data-session-id", session.id);
    setAttr(this.el, "data-current", String(session.current));
    this.el.classList.toggle("device-row-current", session.current);

    const platform = normalizePlatform(d.platform);
    replaceChildren(
      this.iconBox,
      platformIcon(platform),
      h("span", { class: "visually-hidden" }, platformLabel(platform)),
    );
    setAttr(this.iconBox, "data-platform", platform);
    this.nameEl.textContent = d.name;
    this.badge.hidden = !session.current;
    setAttr(this.renameButton, "aria-label", `Rename ${d.name}`);
    setAttr(this.signOutButton, "aria-label", session.current ? "Sign out of this device" : `Sign out ${d.name}`);
    this.systemEl.textContent = systemText(d.platform, d.os_version);
    this.appEl.textContent = d.app_version.trim() ? d.app_version : "Unknown";
    this.ipEl.textContent = session.last_ip ?? "Unknown";

    const created = parseTime(session.created_at);
    this.createdEl.textContent = created ? formatDate(created, this.env.locale) : "Unknown";
    setAttr(this.createdEl, "datetime", created ? session.created_at : null);
    setAttr(this.createdEl, "title", created ? formatDateTime(created, this.env.locale) : null);
    this.tick();
  }

  /** Refreshes the relative "last active" time. */
  tick(): void {
    const seen = parseTime(this.session.last_seen_at);
    this.lastSeenEl.textContent = seen ? relativeTime(seen, this.env.now(), this.env.locale) : "Unknown";
    setAttr(this.lastSeenEl, "datetime", seen ? this.session.last_seen_at : null);
    setAttr(this.lastSeenEl, "title", seen ? formatDateTime(seen, this.env.locale) : null);
  }

  /** While signing out. The button stays focusable (aria-disabled), so focus is not lost. */
  setBusy(busy: boolean): void {
    this.busy = busy;
    setAttr(this.signOutButton, "aria-disabled", busy ? "true" : null);
    setAttr(this.signOutButton, "aria-busy", busy ? "true" : null);
    this.signOutButton.textContent = busy ? "Signing out…" : "Sign out";
    this.el.classList.toggle("device-row-busy", busy);
  }

  focusSignOut(): void {
    this.signOutButton.focus();
  }

  /** Marks the row the person was sent to ("Not you?"). */
  setHighlighted(on: boolean): void {
    this.el.classList.toggle("device-row-highlighted", on);
    setAttr(this.el, "data-highlighted", on ? "true" : null);
  }

  startEditing(): void {
    if (this.editing) return;
    this.editing = true;
    const inputId = uid("rename");
    const errorId = `${inputId}-error`;
    const input = h("input", {
      id: inputId,
      class: "input rename-input",
      type: "text",
      "data-testid": "rename-input",
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": errorId,
    });
    input.value = this.name;
    const error = h("p", { id: errorId, class: "field-error", "data-testid": "rename-error", role: "alert" });
    const save = h("button", { type: "submit", class: "button button-primary", "data-testid": "rename-save" }, "Save");
    const cancel = h(
      "button",
      { type: "button", class: "button", "data-testid": "rename-cancel", on: { click: () => this.stopEditing() } },
      "Cancel",
    );
    const form = h(
      "form",
      { class: "rename-form", novalidate: true },
      h("label", { class: "visually-hidden", for: inputId }, `New name for ${this.name}`),
      h("div", { class: "rename-controls" }, input, save, cancel),
      error,
    );
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      void this.save(input, error, save);
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") {
        ev.preventDefault();
        ev.stopPropagation();
        this.stopEditing();
      } else if (ev.key === "Enter") {
        ev.preventDefault();
        void this.save(input, error, save);
      }
    });
    input.addEventListener("input", () => {
      if (error.textContent) {
        error.textContent = "";
        input.removeAttribute("aria-invalid");
      }
    });

    this.form = form;
    this.titleLine.hidden = true;
    this.titleLine.after(form);
    input.focus();
    input.select();
  }

  stopEditing(focus = true): void {
    if (!this.editing) return;
    this.editing = false;
    this.saving = false;
    this.form?.remove();
    this.form = null;
    this.titleLine.hidden = false;
    this.nameEl.textContent = this.name;
    if (focus) this.renameButton.focus();
  }

  private async save(input: HTMLInputElement, error: HTMLElement, save: HTMLButtonElement): Promise<void> {
    if (this.saving) return;
    const name = input.value.trim();
    const invalid = validateDeviceName(name);
    if (invalid) {
      error.textContent = invalid;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    if (name === this.name) {
      this.stopEditing();
      return;
    }
    this.saving = true;
    input.disabled = true;
    save.disabled = true;
    save.textContent = "Saving…";
    try {
      const updated = await this.actions.rename(this, name);
      if (!this.editing) return;
      this.stopEditing(false);
      this.update(updated);
      this.renameButton.focus();
    } catch (e) {
      const err = toAppError(e);
      this.actions.onError(err);
      if (!this.editing) return;
      this.saving = false;
      input.disabled = false;
      save.disabled = false;
      save.textContent = "Save";
      error.textContent = errorMessage(err, "rename");
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  }
}
