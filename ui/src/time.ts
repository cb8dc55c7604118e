// Time formatting. Every function takes `now` and an optional locale so tests are exact.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Parses an RFC 3339 time; null when it is missing or not a time. */
export function parseTime(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** Whole calendar days between two instants in local time (DST-safe). */
export function calendarDaysBetween(earlier: Date, later: Date): number {
  return Math.round((startOfDay(later) - startOfDay(earlier)) / DAY);
}

/**
 * "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", then the date.
 * Times slightly in the future (clock skew between server and device) read "just now".
 */
export function relativeTime(then: Date, now: Date, locale?: string): string {
  const diff = now.getTime() - then.getTime();
  if (diff < MINUTE) return "just now";
  if (diff < HOUR) return `${Math.floor(diff / MINUTE)} min ago`;
  const days = calendarDaysBetween(then, now);
  if (days <= 0) return `${Math.floor(diff / HOUR)} h ago`;
  if (days === 1) return "yesterday";
  if (days < 7) return `${days} days ago`;
  return formatDate(then, locale);
}

const STYLES = {
  date: { day: "numeric", month: "short", year: "numeric" },
  dateTime: { dateStyle: "medium", timeStyle: "short" },
  clock: { timeStyle: "short" },
} satisfies Record<string, Intl.DateTimeFormatOptions>;

// Making a formatter costs far more than using one (locale data is loaded each time),
// and a device list formats several dates per row: keep one per style and locale.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(style: keyof typeof STYLES, locale: string | undefined): Intl.DateTimeFormat {
  const key = `${style}|${locale ?? ""}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, STYLES[style]);
    formatters.set(key, f);
  }
  return f;
}

/** "3 Mar 2025" (in the locale's order). */
export function formatDate(d: Date, locale?: string): string {
  return formatter("date", locale).format(d);
}

/** "3 Mar 2025, 14:02" (in the locale's style). */
export function formatDateTime(d: Date, locale?: string): string {
  return formatter("dateTime", locale).format(d);
}

/** "14:02" (or "2:02 PM", as the locale writes it). */
export function formatClock(d: Date, locale?: string): string {
  return formatter("clock", locale).format(d);
}

/** "at 14:02" today, "yesterday at 14:02", else "on 3 Mar 2025 at 14:02". */
export function formatWhen(d: Date, now: Date, locale?: string): string {
  const days = calendarDaysBetween(d, now);
  const clock = formatClock(d, locale);
  if (days === 0) return `at ${clock}`;
  if (days === 1) return `yesterday at ${clock}`;
  return `on ${formatDate(d, locale)} at ${clock}`;
}

/** Seconds left until `deadline`, rounded up, never negative. */
export function secondsLeft(deadlineMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((deadlineMs - nowMs) / 1000));
}

/**
 * Counts down whole seconds to a deadline, calling `onTick` with the seconds left
 * (first at once) and `onDone` when it reaches zero. Works from the wall clock, so a
 * late timer never makes it drift.
 */
export class Countdown {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly onTick: (secondsLeft: number) => void,
    private readonly onDone: () => void,
  ) {}

  start(seconds: number): void {
    this.stop();
    const deadline = Date.now() + Math.max(0, seconds) * 1000;
    const tick = (): void => {
      const left = secondsLeft(deadline, Date.now());
      if (left <= 0) {
        this.stop();
        this.onDone();
      } else {
        this.onTick(left);
      }
    };
    tick();
    if (seconds > 0) this.timer = setInterval(tick, 250);
  }

  get running(): boolean {
    return this.timer !== null;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
