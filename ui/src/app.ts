// The app: holds the AppState, listens to the backend's events, and switches
// between the sign-in screen and the signed-in tabs.

import { h, replaceChildren } from "./dom";
import { errorMessage } from "./errors";
import { uiIcon } from "./icons";
import { toAppError, type Ipc, type Unlisten } from "./ipc";
import type { AppError, AppState, Screen, SignedOutNotice } from "./types";
import { Banners } from "./ui/banners";
import type { Ctx, Host } from "./ui/context";
import { DialogHost } from "./ui/dialog";
import { MainView } from "./ui/main-view";
import { SignInView } from "./ui/sign-in-view";

export interface AppOptions {
  ipc: Ipc;
  /** The desktop app (the default) or the account page in a browser. */
  host?: Host;
  /** The clock (tests pass a fixed one). */
  now?: () => Date;
  /** BCP 47 locale for dates; the system's when absent. */
  locale?: string;
  /** How often relative times are refreshed. */
  tickMs?: number;
}

const EMPTY_STATE: AppState = {
  signed_in: false,
  server_url: null,
  email: null,
  session_id: null,
  default_device_name: "",
  keychain: { backend: "", available: true, message: null },
  pending_revocations: 0,
  online: false,
  signed_out_notice: null,
};

export class App {
  private readonly ipc: Ipc;
  private readonly ctx: Ctx;
  private readonly page: HTMLElement;
  private readonly content = h("main", { class: "content", id: "content" });
  private readonly account = h("div", { class: "account" });
  private readonly dialogs: DialogHost;
  private readonly banners: Banners;
  private state: AppState | null = null;
  private view: SignInView | MainView | null = null;
  /** The notice on screen; kept until dismissed or signed in again. */
  private notice: SignedOutNotice | null = null;
  /** The session this device last had (to recognise the person's own sign-out). */
  private ownSessionId: string | null = null;
  private unlisten: Unlisten[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private destroyed = false;
  private chromeKey = "";
  private firstPaintReported = false;

  constructor(
    root: HTMLElement,
    private readonly opts: AppOptions,
  ) {
    this.ipc = opts.ipc;
    const layer = h("div", { class: "dialog-layer" });
    this.banners = new Banners({
      now: () => this.now(),
      locale: opts.locale,
      review: null,
      nameOf: (id) => this.mainView()?.nameOf(id) ?? null,
    });
    this.page = h(
      "div",
      { class: "app-shell" },
      h(
        "header",
        { class: "app-header" },
        h("div", { class: "brand" }, brandMark(), h("span", { class: "brand-name" }, "Session Manager")),
        this.account,
      ),
      this.banners.el,
      this.content,
    );
    this.dialogs = new DialogHost(layer, this.page);
    replaceChildren(root, this.page, layer);

    this.ctx = {
      ipc: this.ipc,
      host: opts.host ?? "app",
      locale: opts.locale,
      now: () => this.now(),
      confirm: this.dialogs.confirm,
      state: () => this.state ?? EMPTY_STATE,
      signedOut: (state, info) => this.applyState(state, { info, focus: true }),
      sessionLost: () => void this.syncState(),
      painted: (screen, rows) => this.reportFirstPaint(screen, rows),
    };
  }

  /** Subscribes to the backend's events, reads the state and shows the right screen. */
  async start(): Promise<void> {
    const ipc = this.ipc;
    let subs: Unlisten[];
    try {
      subs = await Promise.all([
        ipc.on("state-changed", (s) => this.applyState(s)),
        ipc.on("signed-out", (n) => this.onSignedOut(n)),
        ipc.on("devices-changed", () => this.mainView()?.devicesChanged()),
        ipc.on("security-alert", (a) => {
          // This device's own change (its password, two-step off) reaches every device,
          // this one included: here it is no news.
          const own = a.session_id !== null && a.session_id === this.state?.session_id && a.kind !== "refresh_token_reuse";
          if (!own) this.banners.addAlert(a);
          this.mainView()?.devicesChanged();
        }),
        ipc.on("new-sign-in", (n) => this.banners.addSignIn(n)),
        ipc.on("show-device", (d) => this.mainView()?.showDevice(d.session_id)),
      ]);
    } catch (e) {
      // Outside the desktop app (or a broken bridge): nothing will work, say so.
      this.showStartError(toAppError(e), false);
      return;
    }
    if (this.destroyed) {
      subs.forEach((u) => u());
      return;
    }
    this.unlisten = subs;
    this.timer = setInterval(() => this.mainView()?.tick(), this.opts.tickMs ?? 30_000);
    await this.load();
  }

  destroy(): void {
    this.destroyed = true;
    this.unlisten.forEach((u) => u());
    this.unlisten = [];
    if (this.timer !== null) clearInterval(this.timer);
    this.dialogs.close(false);
    this.view?.destroy();
    this.view = null;
  }

  private now(): Date {
    return this.opts.now ? this.opts.now() : new Date();
  }

  /** Once per start: after the next frame is drawn, tell the backend the wait is over. */
  private reportFirstPaint(screen: Screen, rows: number): void {
    if (this.firstPaintReported || this.destroyed) return;
    this.firstPaintReported = true;
    const frame = globalThis.requestAnimationFrame ?? ((f: () => void) => setTimeout(f, 16));
    // Two frames: the first callback runs before the paint, the second after it.
    frame(() => frame(() => void this.ipc.firstPaint(screen, rows).catch(() => {})));
  }

  private mainView(): MainView | null {
    return this.view instanceof MainView ? this.view : null;
  }

  private async load(): Promise<void> {
    replaceChildren(
      this.content,
      h("p", { class: "state state-loading splash", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Starting…"),
    );
    try {
      const state = await this.ipc.appState();
      if (!this.destroyed) this.applyState(state, { focus: false });
    } catch (e) {
      if (!this.destroyed) this.showStartError(toAppError(e), true);
    }
  }

  private showStartError(err: AppError, canRetry: boolean): void {
    replaceChildren(
      this.content,
      h(
        "div",
        { class: "card state state-error", role: "alert", "data-testid": "start-error" },
        h("p", null, this.opts.host === "web" ? "The page could not load your account." : "The app could not start."),
        h("p", { class: "state-detail" }, errorMessage(err, "start")),
        canRetry
          ? h("button", { type: "button", class: "button button-primary", "data-testid": "start-retry", on: { click: () => void this.load() } }, "Retry")
          : null,
      ),
    );
  }

  /** Re-reads the state from the backend (after an error that may mean we were signed out). */
  private async syncState(): Promise<void> {
    try {
      const state = await this.ipc.appState();
      if (!this.destroyed) this.applyState(state, { focus: true });
    } catch {
      // Keep what is shown; the next event or action will tell.
    }
  }

  private onSignedOut(notice: SignedOutNotice): void {
    const ownAction = notice.by_session_id !== null && notice.by_session_id === this.ownSessionId;
    if (ownAction && this.view instanceof SignInView) {
      // This device signed out everywhere and already shows so; the event only echoes it.
      this.ipc.dismissNotice().catch(() => {});
      return;
    }
    this.notice = notice;
    const base = this.state ?? EMPTY_STATE;
    this.applyState(
      { ...base, signed_in: false, session_id: null, online: false, signed_out_notice: notice },
      { focus: true },
    );
    void this.syncState();
  }

  private applyState(next: AppState, how: { info?: string | undefined; focus?: boolean } = {}): void {
    if (this.destroyed) return;
    const prev = this.state;
    this.state = next;
    if (next.signed_in && next.session_id) this.ownSessionId = next.session_id;
    if (next.signed_out_notice && !next.signed_in) this.notice = next.signed_out_notice;

    this.renderChrome(next);
    const needsRoute = !this.view || !prev || prev.signed_in !== next.signed_in || how.info !== undefined;
    if (needsRoute) {
      this.route(next, how.info, how.focus ?? true);
    } else if (this.view instanceof SignInView) {
      this.view.setNotice(this.notice);
    }
  }

  private renderChrome(state: AppState): void {
    this.banners.update(state);
    const offline = state.signed_in && !state.online;
    // Rebuild the header only when it changes, so the "Offline" status is announced once.
    const key = JSON.stringify([state.signed_in ? state.email : null, offline]);
    if (key === this.chromeKey) return;
    this.chromeKey = key;
    replaceChildren(
      this.account,
      state.signed_in && state.email ? h("span", { class: "account-email", title: "Signed in as" }, state.email) : null,
      offline
        ? h(
            "span",
            {
              class: "offline",
              role: "status",
              "data-testid": "offline-indicator",
              title: "Not connected to the server. The list may be out of date; reconnecting…",
            },
            uiIcon("offline"),
            "Offline",
          )
        : null,
    );
  }

  private route(state: AppState, info: string | undefined, focus: boolean): void {
    this.dialogs.close(false);
    this.view?.destroy();
    if (state.signed_in) {
      if (this.notice || state.signed_out_notice) {
        this.notice = null;
        // The notice belongs to the previous session; the backend keeps it until told.
        if (state.signed_out_notice) this.ipc.dismissNotice().catch(() => {});
      }
      const main = new MainView(this.ctx);
      this.view = main;
      replaceChildren(this.content, main.el);
      this.banners.setReview(
        () => {
          main.select("activity", false);
          main.focusContent();
        },
        (id) => main.showDevice(id),
      );
      if (focus) main.focusContent();
      // A click on a notification may have opened this window to show a device.
      this.ipc
        .deviceToShow()
        .then((id) => {
          if (id && this.view === main) main.showDevice(id);
        })
        .catch(() => {});
    } else {
      const view = new SignInView(this.ctx, {
        notice: this.notice,
        info,
        onSignedIn: (s) => this.applyState(s, { focus: true }),
        onDismissNotice: () => void this.dismissNotice(),
      });
      this.view = view;
      replaceChildren(this.content, view.el);
      this.banners.clearSignIns();
      this.banners.setReview(null);
      if (focus) view.focusInitial();
      this.reportFirstPaint("sign-in", 0);
    }
  }

  private async dismissNotice(): Promise<void> {
    this.notice = null;
    const view = this.view;
    if (view instanceof SignInView) {
      view.setNotice(null);
      view.focusInitial();
    }
    try {
      const state = await this.ipc.dismissNotice();
      this.applyState(state, { focus: false });
    } catch {
      // Hidden here either way; the backend shows it again on the next start at worst.
    }
  }
}

function brandMark(): SVGSVGElement {
  const icon = uiIcon("shield");
  icon.classList.add("brand-mark");
  return icon;
}
