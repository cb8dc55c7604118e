// Modal confirmation dialog: traps focus, closes on Escape or a click outside,
// makes the page behind it inert, and gives focus back to where it was.

import { focusable, h, uid, type Child } from "../dom";

/** Text, or text with nodes in it (device names isolated with `named()`). */
export type Words = string | Child[];

function words(w: Words): Child[] {
  return typeof w === "string" ? [w] : w;
}

export interface ConfirmOptions {
  title: Words;
  message: Words;
  confirmLabel: string;
  cancelLabel?: string;
  /** Styles the confirm button as destructive. */
  danger?: boolean;
}

export type Confirm = (opts: ConfirmOptions) => Promise<boolean>;

interface Open {
  backdrop: HTMLElement;
  resolve: (ok: boolean) => void;
  returnTo: HTMLElement | null;
}

export class DialogHost {
  private open: Open | null = null;
  private readonly onFocusIn = (ev: FocusEvent): void => {
    // Focus must not leave the dialog (e.g. a screen reader or a click on the page).
    const open = this.open;
    if (!open || !(ev.target instanceof Node) || open.backdrop.contains(ev.target)) return;
    (focusable(open.backdrop)[0] ?? open.backdrop).focus();
  };

  /**
   * @param layer where dialogs are put (a sibling of `page`)
   * @param page the rest of the app, made inert while a dialog is open
   */
  constructor(
    private readonly layer: HTMLElement,
    private readonly page: HTMLElement,
  ) {}

  get isOpen(): boolean {
    return this.open !== null;
  }

  readonly confirm: Confirm = (opts) => {
    this.close(false);
    return new Promise<boolean>((resolve) => {
      const titleId = uid("dialog-title");
      const messageId = uid("dialog-message");
      const cancel = h(
        "button",
        { type: "button", class: "button", "data-testid": "confirm-cancel" },
        opts.cancelLabel ?? "Cancel",
      );
      const ok = h(
        "button",
        {
          type: "button",
          class: opts.danger ? "button button-danger" : "button button-primary",
          "data-testid": "confirm-ok",
        },
        opts.confirmLabel,
      );
      const dialog = h(
        "div",
        {
          class: "dialog",
          role: "alertdialog",
          "aria-modal": "true",
          "aria-labelledby": titleId,
          "aria-describedby": messageId,
          "data-testid": "confirm-dialog",
          tabindex: -1,
        },
        h("h2", { id: titleId, class: "dialog-title" }, ...words(opts.title)),
        h("p", { id: messageId, class: "dialog-message" }, ...words(opts.message)),
        h("div", { class: "dialog-actions" }, cancel, ok),
      );
      const backdrop = h("div", { class: "dialog-backdrop" }, dialog);

      const active = document.activeElement;
      this.open = {
        backdrop,
        resolve,
        returnTo: active instanceof HTMLElement && active !== document.body ? active : null,
      };

      cancel.addEventListener("click", () => this.close(false));
      ok.addEventListener("click", () => this.close(true));
      backdrop.addEventListener("mousedown", (ev) => {
        if (ev.target === backdrop) this.close(false);
      });
      dialog.addEventListener("keydown", (ev) => this.onKeyDown(ev, dialog));

      this.page.setAttribute("inert", "");
      this.page.setAttribute("aria-hidden", "true");
      this.layer.appendChild(backdrop);
      document.addEventListener("focusin", this.onFocusIn);
      // The safe choice has focus first: Enter on an unexpected dialog does nothing harmful.
      cancel.focus();
    });
  };

  /** Closes the open dialog, if any, answering `ok`. */
  close(ok = false): void {
    const open = this.open;
    if (!open) return;
    this.open = null;
    document.removeEventListener("focusin", this.onFocusIn);
    open.backdrop.remove();
    this.page.removeAttribute("inert");
    this.page.removeAttribute("aria-hidden");
    if (open.returnTo?.isConnected) open.returnTo.focus();
    open.resolve(ok);
  }

  private onKeyDown(ev: KeyboardEvent, dialog: HTMLElement): void {
    if (ev.key === "Escape") {
      ev.preventDefault();
      ev.stopPropagation();
      this.close(false);
      return;
    }
    if (ev.key !== "Tab") return;
    const items = focusable(dialog);
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) {
      ev.preventDefault();
      return;
    }
    const current = document.activeElement;
    if (ev.shiftKey && (current === first || !dialog.contains(current))) {
      ev.preventDefault();
      last.focus();
    } else if (!ev.shiftKey && (current === last || !dialog.contains(current))) {
      ev.preventDefault();
      first.focus();
    }
  }
}
