import { UsageError } from "./errors.js";

/**
 * A bar frequency. Accepts the original's pandas spellings (`1min`, `5min`, `1h`, `1H`, `1D`,
 * `1T`, `30s`) and Binance's interval names (`1m`, `5m`, `1h`, `1d`, `1w`). Months are not a
 * fixed duration and are refused: the grid needs a constant step.
 */
export interface Freq {
  /** Step in milliseconds. */
  readonly ms: number;
  /** Binance interval name (`1m`, `1h`, `1d`), used for downloads and archive paths. */
  readonly binance: string;
  /** pandas offset alias (`1min`, `1h`, `1D`), as the original's configs write it. */
  readonly pandas: string;
}

const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  min: 60_000,
  t: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const BINANCE_INTERVALS = new Set([
  "1s",
  "1m",
  "3m",
  "5m",
  "15m",
  "30m",
  "1h",
  "2h",
  "4h",
  "6h",
  "8h",
  "12h",
  "1d",
  "3d",
  "1w",
]);

export function parseFreq(text: string): Freq {
  const m = /^(\d*)\s*(s|min|m|t|h|d|w)$/i.exec(text.trim());
  // `1M` is a month in both spellings: refuse it explicitly rather than read it as minutes.
  if (!m || /^\d*M$/.test(text.trim())) {
    throw new UsageError(
      `unsupported frequency "${text}": use a number and a unit, e.g. 1m, 5min, 15m, 1h, 4h, 1d, 1D, 1w`,
    );
  }
  const n = m[1] === "" || m[1] === undefined ? 1 : Number(m[1]);
  const unit = (m[2] ?? "").toLowerCase();
  const unitMs = UNIT_MS[unit];
  if (!Number.isInteger(n) || n <= 0 || unitMs === undefined) {
    throw new UsageError(`unsupported frequency "${text}": the count must be a positive integer`);
  }
  return freqFromMs(n * unitMs);
}

const S = 1_000;
const M = 60_000;
const H = 3_600_000;
const D = 86_400_000;
const W = 604_800_000;

export function freqFromMs(ms: number): Freq {
  const [n, short, pandasUnit]: [number, string, string] =
    ms % W === 0
      ? [ms / W, "w", "W"]
      : ms % D === 0
        ? [ms / D, "d", "D"]
        : ms % H === 0
          ? [ms / H, "h", "h"]
          : ms % M === 0
            ? [ms / M, "m", "min"]
            : [ms / S, "s", "s"];
  return { ms, binance: `${n}${short}`, pandas: `${n}${pandasUnit}` };
}

export function isBinanceInterval(freq: Freq): boolean {
  return BINANCE_INTERVALS.has(freq.binance);
}
