/**
 * Number and time text for the Telegram messages. The original's strings come from Python
 * format specs (`{x:.2f}`, `{x:+.2f}`, `{int(x):,}`); `pyFixed` and `pyIntGrouped` reproduce
 * them exactly (round half to even on the exact binary value, `nan`, `inf`, `-0.00`), where
 * `Number.prototype.toFixed` would round exact ties away from zero and print `NaN`.
 */
import { isoMinute } from "../../core/time.js";

const view = new DataView(new ArrayBuffer(8));

/** Digits of `abs` (finite, ≥ 0) rounded half to even at `digits` decimals, as Python does. */
function exactFixed(abs: number, digits: number): string {
  view.setFloat64(0, abs);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp = -1074;
  if (expBits !== 0) {
    mantissa |= 1n << 52n;
    exp = expBits - 1075;
  }
  // abs = mantissa · 2^exp exactly; n = abs · 10^digits rounded half to even.
  const scale = 10n ** BigInt(digits);
  let n: bigint;
  if (exp >= 0) {
    n = (mantissa << BigInt(exp)) * scale;
  } else {
    const num = mantissa * scale;
    const den = 1n << BigInt(-exp);
    n = num / den;
    const twice = (num % den) * 2n;
    if (twice > den || (twice === den && (n & 1n) === 1n)) n += 1n;
  }
  const s = n.toString().padStart(digits + 1, "0");
  return digits === 0 ? s : `${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

/**
 * Python's `format(x, ".{digits}f")` (`"+.{digits}f"` with `plus`): `-0.00` for −0 and for
 * negatives that round to zero, `nan`/`+nan`, `inf`/`-inf`.
 */
export function pyFixed(x: number, digits: number, plus = false): string {
  const negative = x < 0 || Object.is(x, -0);
  const sign = negative ? "-" : plus ? "+" : "";
  if (Number.isNaN(x)) return `${plus ? "+" : ""}nan`;
  if (!Number.isFinite(x)) return `${sign}inf`;
  return sign + exactFixed(Math.abs(x), digits);
}

/** `1234567.5` → `1,234,567.5`: commas between groups of three integer digits. */
function groupThousands(text: string): string {
  const m = /^([+-]?)(\d+)(.*)$/.exec(text);
  if (m === null) return text;
  const [, sign = "", int = "", rest = ""] = m;
  return sign + int.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + rest;
}

/** Python's `f"{int(x):,}"`: truncated toward zero, thousands separated (`74,896`); `nan` if not finite. */
export function pyIntGrouped(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
  return groupThousands(BigInt(Math.trunc(x)).toString());
}

/** Drops trailing zeros of the fraction beyond `keep` decimals (`1.23400` → `1.234`). */
function trimZeros(text: string, keep: number): string {
  const dot = text.indexOf(".");
  if (dot < 0) return text;
  let end = text.length;
  while (end > dot + 1 + keep && text[end - 1] === "0") end--;
  if (end === dot + 1) end = dot;
  return text.slice(0, end);
}

/**
 * A price: six significant digits, at least two and at most eight decimals, thousands
 * separated, trailing zeros beyond two decimals dropped: `30,123.45`, `1.2345`, `0.07231`.
 */
export function formatPrice(price: number): string {
  if (!Number.isFinite(price)) return "n/a";
  const abs = Math.abs(price);
  const intDigits = Math.floor(Math.log10(abs || 1)) + 1;
  const decimals = Math.min(8, Math.max(2, 6 - intDigits));
  return groupThousands(trimZeros(pyFixed(price, decimals), 2));
}

/** A base quantity: up to eight decimals without trailing zeros, thousands separated (`0.0015`, `1,500`). */
export function formatQty(qty: number): string {
  if (!Number.isFinite(qty)) return "n/a";
  return groupThousands(trimZeros(pyFixed(qty, 8), 0));
}

/** A quote amount to the cent, thousands separated; with `signed`, a `+` on gains (`+12.34`). */
export function formatQuote(amount: number, signed = false): string {
  if (!Number.isFinite(amount)) return "n/a";
  return groupThousands(pyFixed(amount, 2, signed));
}

/** A fraction as a signed percentage to two decimals: `0.0125` → `+1.25%`. */
export function formatPct(fraction: number): string {
  if (!Number.isFinite(fraction)) return "n/a";
  return `${pyFixed(100 * fraction, 2, true)}%`;
}

/** `2024-05-01 12:34 UTC`. */
export function formatTime(ms: number): string {
  return `${isoMinute(ms)} UTC`;
}

/** A duration in seconds, for people: `0.4 s`, `45 s`, `12 min`, `3.5 h`, `2.0 d`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "n/a";
  const abs = Math.abs(seconds);
  if (abs < 10) return `${pyFixed(seconds, 1)} s`;
  if (abs < 120) return `${pyFixed(seconds, 0)} s`;
  if (abs < 7200) return `${pyFixed(seconds / 60, 0)} min`;
  if (abs < 172_800) return `${pyFixed(seconds / 3600, 1)} h`;
  return `${pyFixed(seconds / 86_400, 1)} d`;
}
