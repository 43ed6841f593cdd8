import type { Frame } from "../../src/core/frame.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { SAMPLE } from "./paths.js";

const cache = new Map<string, Promise<Frame>>();

/** Real BTCUSDT spot 1m candles from the bundled sample (2023-02..2023-04), cached per test file. */
export function sampleCandles(months: readonly string[] = ["2023-03"]): Promise<Frame> {
  const key = months.join(",");
  let p = cache.get(key);
  if (!p) {
    p = loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", months);
    cache.set(key, p);
  }
  return p;
}
