/** How numbers and times read on the pages: UTC, fixed decimals, thousands separated. */

const DASH = "–";

const formatters = new Map<number, Intl.NumberFormat>();
function formatter(decimals: number): Intl.NumberFormat {
  let f = formatters.get(decimals);
  if (f === undefined) {
    f = new Intl.NumberFormat("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    formatters.set(decimals, f);
  }
  return f;
}

export function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** A number with `decimals` decimals and thousands separators; a dash when missing. */
export function num(v: number | null | undefined, decimals = 2): string {
  return isNum(v) ? formatter(decimals).format(v) : DASH;
}

/** A price: as many decimals as its size needs (4 below 10, 2 above). */
export function price(v: number | null | undefined): string {
  if (!isNum(v)) return DASH;
  const a = Math.abs(v);
  return num(v, a >= 1000 ? 2 : a >= 10 ? 3 : a >= 1 ? 4 : 6);
}

/** A quantity: up to 8 decimals, trailing zeros dropped. */
export function qty(v: number | null | undefined): string {
  if (!isNum(v)) return DASH;
  return new Intl.NumberFormat("en-US", { maximumFractionDigits: 8 }).format(v);
}

/** A signed amount (+12.34 / −5.00). */
export function signed(v: number | null | undefined, decimals = 2): string {
  if (!isNum(v)) return DASH;
  const s = num(Math.abs(v), decimals);
  return v > 0 ? `+${s}` : v < 0 ? `−${s}` : s;
}

export function pct(v: number | null | undefined, decimals = 2): string {
  return isNum(v) ? `${signed(v * 100, decimals)} %` : DASH;
}

/** "2023-03-20 14:05" (UTC) from epoch ms. */
export function time(ms: number | null | undefined): string {
  if (!isNum(ms)) return DASH;
  return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
}

/** "2023-03-20 14:05:07" (UTC) from epoch ms or ISO text. */
export function timeSec(v: number | string | null | undefined): string {
  if (v === null || v === undefined || v === "") return DASH;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().slice(0, 19).replace("T", " ");
}

/** "long", "short" or "flat" from a side of -1, 0 or 1. */
export function sideName(side: number | null | undefined): string {
  return side === 1 ? "long" : side === -1 ? "short" : "flat";
}

/** The class of a signed value: "pos", "neg" or nothing. */
export function tone(v: number | null | undefined): string | undefined {
  return isNum(v) ? (v > 0 ? "pos" : v < 0 ? "neg" : undefined) : undefined;
}

/** A metric value of any kind: numbers by size, other values as text. */
export function metric(v: unknown): string {
  if (typeof v === "number") {
    if (!Number.isFinite(v)) return DASH;
    return Number.isInteger(v) ? num(v, 0) : Math.abs(v) >= 1 ? num(v, 2) : num(v, 4);
  }
  if (v === null || v === undefined) return DASH;
  if (typeof v === "boolean") return v ? "yes" : "no";
  return typeof v === "string" ? v : JSON.stringify(v);
}
