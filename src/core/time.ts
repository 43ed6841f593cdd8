import { UsageError } from "./errors.js";

export const DAY_MS = 86_400_000;

/**
 * ISO-8601 text of epoch-millisecond times, UTC: the one place itb formats a time for a file,
 * a log line or a message.
 */

/** `2023-03-01T00:00:00.000Z` for an epoch-millisecond time. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** `2023-03-01T00:00:00Z`: `isoTime` without a zero millisecond part (`…:00.250Z` keeps it). */
export function isoTimeShort(ms: number): string {
  return isoTime(ms).replace(".000Z", "Z");
}

/** `2023-03-01 12:34` (UTC, to the minute), for tables read by people. */
export function isoMinute(ms: number): string {
  return isoTime(ms).slice(0, 16).replace("T", " ");
}

/**
 * Parses a user-given date or time as UTC: `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`,
 * full ISO-8601, or epoch milliseconds. A time without a zone is UTC, never local time.
 */
export function parseTime(text: string, what = "time"): number {
  const s = text.trim();
  if (/^\d{10,}$/.test(s)) return Number(s);
  let iso = s;
  if (/^\d{4}-\d{2}$/.test(s)) iso = `${s}-01T00:00:00Z`;
  else if (/^\d{4}-\d{2}-\d{2}$/.test(s)) iso = `${s}T00:00:00Z`;
  else if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) iso = `${s.replace(" ", "T")}Z`;
  const ms = Date.parse(iso);
  // Date.parse rolls impossible days over (2023-02-30 → 2023-03-02): refuse them instead.
  const day = /^(\d{4}-\d{2}-\d{2})(T[\d:.]+Z)?$/.exec(iso)?.[1];
  if (!Number.isFinite(ms) || (day !== undefined && dayKey(ms) !== day)) {
    throw new UsageError(`invalid ${what} "${text}": expected YYYY-MM, YYYY-MM-DD, an ISO time or epoch ms`);
  }
  return ms;
}

/** Start of the UTC month holding `ms`. */
export function monthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** Start of the next UTC month after the one holding `ms`. */
export function nextMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** `YYYY-MM` of a time. */
export function monthKey(ms: number): string {
  return isoTime(ms).slice(0, 7);
}

/** `YYYY-MM-DD` of a time. */
export function dayKey(ms: number): string {
  return isoTime(ms).slice(0, 10);
}

/** A duration in its two largest units, whole seconds down: "45s", "3m 12s", "2h 05m", "12d 4h". */
export function formatDuration(seconds: number): string {
  const pad2 = (n: number) => String(n).padStart(2, "0");
  const sign = seconds < 0 ? "-" : "";
  let s = Math.floor(Math.abs(seconds));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${sign}${d}d ${h}h`;
  if (h > 0) return `${sign}${h}h ${pad2(m)}m`;
  if (m > 0) return `${sign}${m}m ${pad2(s)}s`;
  return `${sign}${s}s`;
}
