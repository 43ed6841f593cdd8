import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { KLINE_COLUMNS } from "../../src/core/klines.js";
import type { Market, MarketData } from "../../src/exchange/marketData.js";

export { type Captured, capture } from "../helpers/capture.js";

/** Shared by the download tests: an in-memory exchange over real candles, capture of logs and progress. */

const made = new Set<string>();

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `itb-download-test-${label}-`));
  made.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

/**
 * A MarketData over a frame of real candles, behaving like Binance's klines endpoint: rows
 * with open time >= startTime that have opened by `now`, the last one possibly still forming
 * (then reported with half its volume, as a forming candle differs from the final one).
 */
export class FrameMarket implements MarketData {
  readonly maxKlines = 1000;
  now: number;
  data: Frame;
  readonly calls: { startTime: number; limit: number }[] = [];
  /** Called before each kline request with its 0-based index; may throw to inject a failure. */
  beforeFetch: ((call: number) => void) | undefined;

  constructor(data: Frame, now: number) {
    this.data = data;
    this.now = now;
  }

  async fetchKlines(_symbol: string, _market: Market, _interval: string, startTime: number, limit: number) {
    this.beforeFetch?.(this.calls.length);
    this.calls.push({ startTime, limit });
    const lo = this.data.lowerBound(startTime);
    let hi = Math.min(this.data.length, lo + Math.min(limit, this.maxKlines));
    hi = Math.min(hi, this.data.lowerBound(this.now + 1));
    const page = this.data.slice(lo, hi);
    const last = page.length - 1;
    if (last >= 0 && (page.get("close_time")[last] as number) >= this.now) {
      const volume = page.get("volume");
      volume[last] = (volume[last] as number) / 2;
    }
    return page;
  }

  async serverTime(): Promise<number> {
    return this.now;
  }

  async close(): Promise<void> {}
}

/** Asserts two kline frames are equal row for row in time and all 11 columns (NaN equals NaN). */
export function expectSameKlines(actual: Frame, expected: Frame): void {
  expect(actual.length).toBe(expected.length);
  expect(actual.columnNames).toEqual([...KLINE_COLUMNS]);
  let timeDiff = -1;
  for (let i = 0; i < actual.length && timeDiff < 0; i++) {
    if (!Object.is(actual.time[i], expected.time[i])) timeDiff = i;
  }
  expect(timeDiff, `time first differs at row ${timeDiff}`).toBe(-1);
  for (const c of KLINE_COLUMNS) {
    const a = actual.get(c);
    const e = expected.get(c);
    let firstDiff = -1;
    for (let i = 0; i < a.length && firstDiff < 0; i++) {
      if (!Object.is(a[i], e[i])) firstDiff = i;
    }
    expect(firstDiff, `column ${c} first differs at row ${firstDiff}`).toBe(-1);
  }
}

/** A copy of `frame` in which `column` is changed at the given rows. */
export function withChanged(frame: Frame, column: string, rows: readonly number[], delta: number): Frame {
  const out = new Frame(frame.time.slice());
  for (const [name, values] of frame.columns()) out.set(name, values.slice());
  const c = out.get(column);
  for (const r of rows) c[r] = (c[r] as number) + delta;
  return out;
}
