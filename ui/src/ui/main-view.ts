// Signed in: the Devices, Activity, Security and Settings tabs.

import { h, setAttr } from "../dom";
import { ActivityView } from "./activity-view";
import type { Ctx } from "./context";
import { DevicesView } from "./devices-view";
import { SecurityView } from "./security-view";
import { SettingsView } from "./settings-view";

export type Tab = "devices" | "activity" | "security" | "settings";
const TABS: Tab[] = ["devices", "activity", "security", "settings"];

export class MainView {
  readonly el: HTMLElement;
  readonly devices: DevicesView;
  readonly activity: ActivityView;
  readonly security: SecurityView;
  readonly settings: SettingsView;
  private tab: Tab = "devices";
  /** The tabs shown, in order (a browser has no settings of the app's). */
  private readonly order: Tab[];
  private readonly tabs: Record<Tab, HTMLButtonElement>;
  private readonly panels: Record<Tab, HTMLElement>;

  constructor(ctx: Ctx) {
    this.order = ctx.host === "web" ? TABS.filter((t) => t !== "settings") : TABS;
    this.devices = new DevicesView(ctx, () => this.activity.namesChanged());
    // The activity log names devices from both lists (signed-out ones included).
    this.activity = new ActivityView(ctx, () => [...this.devices.devices, ...this.devices.signedOutDevices]);
    this.security = new SecurityView(ctx);
    this.settings = new SettingsView(ctx);

    const tab = (id: Tab, label: string): HTMLButtonElement =>
      h(
        "button",
        {
          type: "button",
          role: "tab",
          class: "tab",
          id: `tab-${id}`,
          "aria-controls": `panel-${id}`,
          "data-testid": `${id}-tab`,
          on: { click: () => this.select(id, false) },
        },
        label,
      );
    this.tabs = {
      devices: tab("devices", "Devices"),
      activity: tab("activity", "Activity"),
      security: tab("security", "Security"),
      settings: tab("settings", "Settings"),
    };
    // Each panel's title is an <h1>: only the open panel is shown, so the page has one
    // level-one heading, naming what it shows.
    this.panels = {
      devices: h(
        "section",
        { role: "tabpanel", id: "panel-devices", "aria-labelledby": "tab-devices", class: "tabpanel" },
        this.devices.el,
      ),
      activity: h(
        "section",
        { role: "tabpanel", id: "panel-activity", "aria-labelledby": "tab-activity", class: "tabpanel" },
        this.activity.el,
      ),
      security: h(
        "section",
        { role: "tabpanel", id: "panel-security", "aria-labelledby": "tab-security", class: "tabpanel" },
        this.security.el,
      ),
      settings: h(
        "section",
        { role: "tabpanel", id: "panel-settings", "aria-labelledby": "tab-settings", class: "tabpanel" },
        this.settings.el,
      ),
    };
    const tablist = h(
      "div",
      { role: "tablist", "aria-label": "Sections", class: "tabs" },
      ...this.order.map((t) => this.tabs[t]),
    );
    tablist.addEventListener("keydown", (ev) => this.onTabKey(ev));
    this.el = h("div", { class: "main-view" }, tablist, ...this.order.map((t) => this.panels[t]));
    this.select("devices", false);
    void this.devices.refresh();
  }

  get currentTab(): Tab {
    return this.tab;
  }

  select(tab: Tab, focusTab: boolean): void {
    this.tab = tab;
    for (const id of TABS) {
      const on = id === tab;
      setAttr(this.tabs[id], "aria-selected", String(on));
      setAttr(this.tabs[id], "tabindex", on ? 0 : -1);
      this.tabs[id].classList.toggle("tab-selected", on);
      this.panels[id].hidden = !on;
    }
    if (focusTab) this.tabs[tab].focus();
    if (tab === "activity" && this.activity.stale) void this.activity.refresh();
    if (tab === "security") this.security.shown();
    if (tab === "settings") this.settings.shown();
  }

  /** "Not you?": the device list, at device `id`, ready to sign it out. */
  showDevice(id: string): void {
    if (this.tab !== "devices") this.select("devices", false);
    this.devices.showDevice(id);
  }

  /** A device's name, from either list (null: not listed). */
  nameOf(id: string): string | null {
    const d = this.devices.devices.find((x) => x.id === id) ?? this.devices.signedOutDevices.find((x) => x.id === id);
    return d ? d.device.name : null;
  }

  /** Moves focus to the start of the visible tab's content. */
  focusContent(): void {
    if (this.tab === "devices") this.devices.focusHeading();
    else if (this.tab === "activity") this.activity.focusHeading();
    else if (this.tab === "security") this.security.focusHeading();
    else this.settings.focusHeading();
  }

  /** The account's devices changed somewhere: refetch what is shown. */
  devicesChanged(): void {
    void this.devices.refresh();
    if (this.tab === "activity") void this.activity.refresh();
    else this.activity.stale = true;
  }

  tick(): void {
    this.devices.tick();
    this.activity.tick();
  }

  destroy(): void {
    this.devices.destroy();
    this.activity.destroy();
    this.security.destroy();
    this.settings.destroy();
  }

  private onTabKey(ev: KeyboardEvent): void {
    const order = this.order;
    const i = order.indexOf(this.tab);
    let next: Tab | undefined;
    if (ev.key === "ArrowRight") next = order[(i + 1) % order.length];
    else if (ev.key === "ArrowLeft") next = order[(i - 1 + order.length) % order.length];
    else if (ev.key === "Home") next = order[0];
    else if (ev.key === "End") next = order[order.length - 1];
    if (!next) return;
    ev.preventDefault();
    this.select(next, true);
  }
}
