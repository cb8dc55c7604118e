// The page runs under `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'`.
// These checks keep the source free of what that policy (or safe rendering) forbids.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { h, setAttr } from "../src/dom";

const root = join(__dirname, "..");

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p, ext) : ext.test(name) ? [p] : [];
  });
}

const sources = files(join(root, "src"), /\.ts$/).map((p) => ({ p, code: readFileSync(p, "utf8") }));

describe("CSP and escaping rules in the source", () => {
  it.each([
    ["innerHTML / outerHTML / insertAdjacentHTML", /\b(innerHTML|outerHTML|insertAdjacentHTML)\b/],
    ["document.write", /document\.write/],
    ["eval / new Function / string timers", /\beval\(|new Function\(|set(Timeout|Interval)\(\s*["'`]/],
    ["inline styles", /\.style\b|["']style["']\s*:|cssText/],
    ["data: or blob: URLs", /["'`](data|blob):/],
    ["remote URLs in attributes", /(src|href)\s*[:=]\s*["'`]https?:/],
  ])("uses no %s", (_what, pattern) => {
    const hits = sources.filter(({ code }) => pattern.test(code)).map(({ p }) => p.slice(root.length + 1));
    expect(hits).toEqual([]);
  });

  it("has no inline script or style in the HTML entry points", () => {
    for (const page of ["index.html", "demo.html", "web.html"]) {
      const html = readFileSync(join(root, page), "utf8");
      expect(html).not.toMatch(/<style/i);
      expect(html).not.toMatch(/style=/i);
      expect(html).not.toMatch(/\son[a-z]+=/i);
      for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
        expect(m[1]).toMatch(/\bsrc=/);
        expect(m[2]!.trim()).toBe("");
      }
    }
  });

  it("the DOM builder refuses inline styles and handlers", () => {
    expect(() => h("div", { style: "color:red" })).toThrow();
    expect(() => h("img", { onerror: "alert(1)" })).toThrow();
    expect(() => setAttr(document.createElement("a"), "onClick", "x")).toThrow();
    const el = h("p", null, "<b>not bold</b>");
    expect(el.children).toHaveLength(0);
    expect(el.textContent).toBe("<b>not bold</b>");
  });
});
