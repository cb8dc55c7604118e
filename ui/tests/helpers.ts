// Shared test helpers: mount the app over FakeIpc and poke at the DOM like a person.

import { App } from "../src/app";
import { FakeIpc } from "../src/demo/fake-ipc";

/** A fixed "now" for every rendering test: 3 March 2025, 15:00 local time. */
export const NOW = new Date(2025, 2, 3, 15, 0, 0);

/** Lets pending promise chains (FakeIpc answers on a microtask) run to the end. */
export async function flush(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

export interface Mounted {
  app: App;
  root: HTMLElement;
  ipc: FakeIpc;
}

let mounted: App[] = [];

export async function mount(ipc: FakeIpc, opts: { now?: () => Date; tickMs?: number } = {}): Promise<Mounted> {
  const root = document.createElement("div");
  document.body.appendChild(root);
  const app = new App(root, { ipc, now: opts.now ?? (() => NOW), locale: "en-GB", tickMs: opts.tickMs ?? 30_000 });
  mounted.push(app);
  await app.start();
  await flush();
  return { app, root, ipc };
}

/** Tears down every app mounted by the test. */
export function unmountAll(): void {
  mounted.forEach((a) => a.destroy());
  mounted = [];
  document.body.replaceChildren();
}

export function byTestId<T extends HTMLElement = HTMLElement>(id: string, root: ParentNode = document): T | null {
  return root.querySelector<T>(`[data-testid="${id}"]`);
}

export function get<T extends HTMLElement = HTMLElement>(id: string, root: ParentNode = document): T {
  const el = byTestId<T>(id, root);
  if (!el) throw new Error(`no element with data-testid="${id}"`);
  return el;
}

export function all<T extends HTMLElement = HTMLElement>(id: string, root: ParentNode = document): T[] {
  return Array.from(root.querySelectorAll<T>(`[data-testid="${id}"]`));
}

export function text(el: Element | null): string {
  return (el?.textContent ?? "").replace(/\s+/g, " ").trim();
}

export function type(input: HTMLInputElement, value: string): void {
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

export function press(el: Element, key: string, init: KeyboardEventInit = {}): KeyboardEvent {
  const ev = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init });
  el.dispatchEvent(ev);
  return ev;
}

/** The device row of a session id. */
export function row(sessionId: string): HTMLElement {
  const el = document.querySelector<HTMLElement>(`[data-testid="device-row"][data-session-id="${sessionId}"]`);
  if (!el) throw new Error(`no device row for ${sessionId}`);
  return el;
}
