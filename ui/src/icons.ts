// Inline SVG icons, built as DOM elements (no remote or data: URLs). Decorative:
// each is aria-hidden, and the text next to it says the same thing.

import type { Platform } from "./devices";
import { svg } from "./dom";

type Shape = SVGElement;

function icon(className: string, filled: boolean, ...shapes: Shape[]): SVGSVGElement {
  return svg(
    "svg",
    {
      class: `icon ${className}`,
      viewBox: "0 0 24 24",
      width: 24,
      height: 24,
      "aria-hidden": "true",
      focusable: "false",
      fill: filled ? "currentColor" : "none",
      stroke: filled ? "none" : "currentColor",
      "stroke-width": filled ? null : 1.8,
      "stroke-linecap": filled ? null : "round",
      "stroke-linejoin": filled ? null : "round",
    },
    ...shapes,
  );
}

const path = (d: string, extra: Record<string, string> = {}): Shape => svg("path", { d, ...extra });
const circle = (cx: number, cy: number, r: number, extra: Record<string, string> = {}): Shape =>
  svg("circle", { cx, cy, r, ...extra });
const rect = (x: number, y: number, w: number, hgt: number, rx: number): Shape =>
  svg("rect", { x, y, width: w, height: hgt, rx });

const PLATFORM_ICONS: Record<Platform, () => SVGSVGElement> = {
  // Tux, simplified: body, belly, eyes, beak.
  linux: () =>
    icon(
      "icon-linux",
      false,
      path("M12 2.5c-2.4 0-3.8 1.9-3.8 4.3 0 1.6-.6 2.6-1.6 4.1S4.5 14.2 4.5 16.6c0 3 3.3 4.9 7.5 4.9s7.5-1.9 7.5-4.9c0-2.4-1.1-4.2-2.1-5.7s-1.6-2.5-1.6-4.1c0-2.4-1.4-4.3-3.8-4.3z"),
      path("M9.2 20.8c-.8-1.1-1.2-2.5-1.2-4.1 0-2.6 1.8-4.7 4-4.7s4 2.1 4 4.7c0 1.6-.4 3-1.2 4.1"),
      circle(10.5, 6.6, 0.6, { fill: "currentColor" }),
      circle(13.5, 6.6, 0.6, { fill: "currentColor" }),
      path("M10.9 8.8h2.2L12 10z"),
    ),
  // An apple.
  macos: () =>
    icon(
      "icon-macos",
      true,
      path(
        "M16.4 12.7c0-2.5 2.1-3.7 2.2-3.8-1.2-1.7-3-2-3.6-2-1.5-.2-3 .9-3.8.9-.8 0-2-.9-3.3-.8-1.7 0-3.2 1-4.1 2.5-1.7 3-.4 7.4 1.3 9.8.8 1.2 1.8 2.5 3 2.5 1.2-.1 1.7-.8 3.2-.8 1.5 0 1.9.8 3.2.8 1.3 0 2.2-1.2 3-2.4.9-1.4 1.3-2.7 1.3-2.8-.1 0-2.4-1-2.4-3.9zM14 5.4c.7-.8 1.1-1.9 1-3-1 0-2.1.6-2.8 1.4-.6.7-1.2 1.8-1 2.9 1 .1 2.1-.5 2.8-1.3z",
      ),
    ),
  // Four panes.
  windows: () =>
    icon(
      "icon-windows",
      true,
      path("M3 5.2 10.4 4.2v7.1H3zM11.4 4 21 2.7v8.6h-9.6zM3 12.5h7.4v7.2L3 18.7zM11.4 12.5H21v8.8l-9.6-1.3z"),
    ),
  // A phone with a notch.
  ios: () =>
    icon("icon-ios", false, rect(6.5, 2.5, 11, 19, 2.5), path("M10.5 4.8h3"), circle(12, 18.6, 0.4)),
  // The robot: head with antennae and eyes, body, arms.
  android: () =>
    icon(
      "icon-android",
      false,
      path("M6.5 11a5.5 5.5 0 0 1 11 0z"),
      path("M8.3 6.3 7 4.5M15.7 6.3 17 4.5"),
      circle(9.9, 8.6, 0.5, { fill: "currentColor" }),
      circle(14.1, 8.6, 0.5, { fill: "currentColor" }),
      path("M6.5 12.5h11v5.5a1.5 1.5 0 0 1-1.5 1.5H8a1.5 1.5 0 0 1-1.5-1.5z"),
      path("M4.3 12.5v4.5M19.7 12.5v4.5M9.8 19.5v2M14.2 19.5v2"),
    ),
  // A globe: a browser.
  web: () =>
    icon(
      "icon-web",
      false,
      circle(12, 12, 9),
      path("M3 12h18"),
      path("M12 3c2.4 2.5 3.6 5.5 3.6 9s-1.2 6.5-3.6 9c-2.4-2.5-3.6-5.5-3.6-9S9.6 5.5 12 3z"),
    ),
  // A screen with a question mark.
  unknown: () =>
    icon(
      "icon-unknown",
      false,
      rect(3, 4, 18, 13, 2),
      path("M8.5 20.5h7M12 17v3.5"),
      path("M10.2 8.8a1.9 1.9 0 1 1 2.6 1.8c-.5.2-.8.6-.8 1.1v.4"),
      circle(12, 14.2, 0.3, { fill: "currentColor" }),
    ),
};

export function platformIcon(platform: Platform): SVGSVGElement {
  return PLATFORM_ICONS[platform]();
}

export type UiIcon =
  | "refresh"
  | "edit"
  | "alert"
  | "info"
  | "offline"
  | "check"
  | "close"
  | "shield"
  | "clock"
  | "key"
  | "copy";

const UI_ICONS: Record<UiIcon, () => SVGSVGElement> = {
  refresh: () => icon("icon-refresh", false, path("M20 11a8 8 0 1 0-2.3 5.7"), path("M20 4v7h-7")),
  edit: () =>
    icon("icon-edit", false, path("M4 20h4L19 9a2.1 2.1 0 0 0-3-3L5 17z"), path("M14.5 7.5l3 3")),
  alert: () =>
    icon(
      "icon-alert",
      false,
      path("M12 3 2.5 20h19z"),
      path("M12 10v4.5"),
      circle(12, 17.3, 0.4, { fill: "currentColor" }),
    ),
  info: () =>
    icon("icon-info", false, circle(12, 12, 9), path("M12 11v5.5"), circle(12, 7.8, 0.4, { fill: "currentColor" })),
  offline: () =>
    icon(
      "icon-offline",
      false,
      path("M2.5 8.5a14 14 0 0 1 19 0M5.5 12a9.5 9.5 0 0 1 13 0M8.7 15.4a5 5 0 0 1 6.6 0"),
      path("M3 3l18 18"),
    ),
  check: () => icon("icon-check", false, path("M4.5 12.5l5 5L19.5 7")),
  close: () => icon("icon-close", false, path("M6 6l12 12M18 6 6 18")),
  clock: () => icon("icon-clock", false, circle(12, 12, 9), path("M12 7v5l3 2")),
  key: () => icon("icon-key", false, circle(8, 15, 4), path("M11 12l9-9M17 6l3 3M15 8l2 2")),
  copy: () => icon("icon-copy", false, rect(8, 8, 12, 12, 2), path("M16 8V5a1 1 0 0 0-1-1H5a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h3")),
  shield: () =>
    icon("icon-shield", false, path("M12 2.8 4.5 5.6v6.1c0 4.6 3.1 8.1 7.5 9.5 4.4-1.4 7.5-4.9 7.5-9.5V5.6z"), path("M8.7 12.2l2.3 2.3 4.4-4.6")),
};

export function uiIcon(name: UiIcon): SVGSVGElement {
  return UI_ICONS[name]();
}
