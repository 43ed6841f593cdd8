import { isoMinute } from "../../core/time.js";

/** Text helpers for the HTML report: escaping and fixed-decimal number formatting. */

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for an HTML element body or a quoted attribute value. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * A number as text with `decimals` fixed decimals; non-finite values as "∞", "-∞", "NaN"
 * (a profit factor without a losing trade is Infinity).
 */
export function fmt(v: number, decimals: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "∞";
  if (v === Number.NEGATIVE_INFINITY) return "-∞";
  const s = v.toFixed(decimals);
  // "-0.00" reads as a loss; a value that rounds to zero is shown as zero
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/** "1 trade", "2 trades", "0 trades". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Decimals for a price: 2 for prices above 100, more for smaller ones (8 at most). */
export function priceDecimals(p: number): number {
  if (!Number.isFinite(p) || p === 0) return 2;
  return Math.max(2, Math.min(8, 4 - Math.floor(Math.log10(Math.abs(p)))));
}

/** Decimals for a quantity: enough for 5 significant digits, 8 at most. */
export function qtyDecimals(q: number): number {
  if (!Number.isFinite(q) || q === 0) return 0;
  return Math.max(0, Math.min(8, 4 - Math.floor(Math.log10(Math.abs(q)))));
}

/** "2023-03-01 12:34" (UTC) for an epoch-ms time; "" for NaN. */
export function fmtTime(ms: number): string {
  if (!Number.isFinite(ms)) return "";
  return isoMinute(ms);
}

/** A bucket length as "30m", "4h", "1d", "14d". */
export function fmtDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * The exact value for a data-value attribute: String(v) round-trips every double
 * ("Infinity", "NaN" included), so a reader can compare it with the result JSON bit for bit.
 */
export function exact(v: number): string {
  return String(v);
}

/**
 * JSON for a `<script type="application/json">` element: non-finite numbers become the strings
 * "Infinity", "-Infinity", "NaN" (JSON has no such numbers) and "<" is escaped as \u003c so that
 * no string in the data can close the script element.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
  )
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}
