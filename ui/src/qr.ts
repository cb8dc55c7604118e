// The server's QR code (an SVG document) on screen, under the page's strict CSP and
// without ever handing its text to the HTML parser: the document is parsed as XML with
// DOMParser, and a new <svg> is built from what a QR code is made of — its view box,
// and rectangles and paths of plain colours whose geometry is only numbers and move
// and line commands. Anything else in it (scripts, handlers, styles, links, foreign
// content) is left behind; a document without the squares is not shown.

import { svg } from "./dom";

const NUMBER = /^-?\d+(\.\d+)?$/;
const VIEW_BOX = /^-?\d+(\.\d+)?( -?\d+(\.\d+)?){3}$/;
const COLOUR = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$|^(black|white|none)$/;
/** Absolute and relative moves, horizontal, vertical and straight lines, close. */
const PATH = /^[MmHhVvLlZz0-9.,\s-]+$/;

function attr(el: Element, name: string, valid: RegExp): string | null {
  const v = el.getAttribute(name)?.trim() ?? null;
  return v !== null && valid.test(v) ? v : null;
}

/** The QR code drawn by `text`, or null when it is not one this page can show safely. */
export function readQrSvg(text: string): SVGSVGElement | null {
  let doc: Document;
  try {
    doc = new DOMParser().parseFromString(text, "image/svg+xml");
  } catch {
    return null;
  }
  const root = doc.documentElement;
  if (root.localName !== "svg" || root.namespaceURI !== "http://www.w3.org/2000/svg") return null;
  const viewBox = attr(root, "viewBox", VIEW_BOX);
  if (!viewBox) return null;
  const shapes: SVGElement[] = [];
  for (const el of Array.from(root.children)) {
    if (el.namespaceURI !== root.namespaceURI) continue;
    const fill = attr(el, "fill", COLOUR) ?? "#000";
    if (el.localName === "rect") {
      const [x, y, width, height] = ["x", "y", "width", "height"].map((n) => attr(el, n, NUMBER) ?? "0");
      shapes.push(svg("rect", { x, y, width, height, fill }));
    } else if (el.localName === "path") {
      const d = attr(el, "d", PATH);
      if (d) shapes.push(svg("path", { d, fill }));
    }
  }
  if (!shapes.some((s) => s.localName === "path")) return null;
  return svg(
    "svg",
    { class: "qr-code", viewBox, "shape-rendering": "crispEdges", role: "img", "aria-label": "QR code" },
    ...shapes,
  );
}
