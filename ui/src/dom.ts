// A tiny DOM builder. Text always goes in as text nodes; there is no way to pass
// HTML, inline styles or inline handlers through it (the page runs under a strict
// CSP and shows device names chosen on other devices).

export type AttrValue = string | number | boolean | null | undefined;
export type Child = Node | string | null | undefined | false;

type Handlers = { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };

export interface Props {
  [attr: string]: AttrValue | Handlers;
  on?: Handlers;
}

function checkAttr(name: string): void {
  const n = name.toLowerCase();
  if (n === "style" || n.startsWith("on")) throw new Error(`attribute not allowed: ${name}`);
}

/** Sets (true / string / number) or removes (false / null / undefined) an attribute. */
export function setAttr(el: Element, name: string, value: AttrValue): void {
  checkAttr(name);
  if (value === false || value === null || value === undefined) el.removeAttribute(name);
  else el.setAttribute(name, value === true ? "" : String(value));
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    for (const [name, value] of Object.entries(props)) {
      if (name === "on") continue;
      setAttr(el, name, value as AttrValue);
    }
    const handlers = props.on;
    if (handlers) {
      for (const [type, fn] of Object.entries(handlers)) {
        el.addEventListener(type, fn as EventListener);
      }
    }
  }
  append(el, children);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, AttrValue> = {},
  ...children: SVGElement[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) setAttr(el, name, value);
  for (const c of children) el.appendChild(c);
  return el;
}

/** Replaces all children of `el`. */
export function replaceChildren(el: Element, ...children: Child[]): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, children);
}

let idCounter = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** Elements that take focus with Tab, in document order. */
export function focusable(root: Element): HTMLElement[] {
  const sel =
    'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
    'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  return Array.from(root.querySelectorAll<HTMLElement>(sel)).filter((el) => !el.closest("[hidden]"));
}

/**
 * A device name inside other text: in a `<bdi>`, so a name written right to left (or
 * one that starts with such letters) keeps its own direction and cannot reorder the
 * sentence around it.
 */
export function named(name: string): HTMLElement {
  return h("bdi", { class: "name" }, name);
}

/**
 * `text` with every occurrence of one of `names` isolated as by `named()`: for
 * sentences worded elsewhere (the Rust side, the server) that mention device names.
 */
export function withNames(text: string, names: ReadonlyArray<string | null | undefined>): Child[] {
  const wanted = [...new Set(names.map((n) => n?.trim() ?? "").filter((n) => n.length > 0))].sort(
    (a, b) => b.length - a.length,
  );
  const out: Child[] = [];
  let rest = text;
  while (rest) {
    let at = -1;
    let found = "";
    for (const name of wanted) {
      const i = rest.indexOf(name);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        found = name;
      }
    }
    if (at < 0) {
      out.push(rest);
      break;
    }
    if (at > 0) out.push(rest.slice(0, at));
    out.push(named(found));
    rest = rest.slice(at + found.length);
  }
  return out;
}
