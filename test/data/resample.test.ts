import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { bucketStart, nativeStep, resampleKlines } from "../../src/data/resample.js";
import { HAVE_SHARED, SAMPLE, SHARED_DATA, SHARED_SKIP_REASON } from "../helpers/paths.js";

const H = 3_600_000;

describe("resampleKlines", () => {
  it("aligns weeks to Monday 00:00 UTC like Binance", () => {
    expect(new Date(bucketStart(Date.UTC(2023, 2, 24, 12), 7 * 86_400_000)).toISOString()).toBe(
      "2023-03-20T00:00:00.000Z",
    );
  });

  it("aggregates OHLCV by the exchange's rules", () => {
    const t0 = Date.UTC(2023, 0, 1);
    const f = new Frame(Float64Array.from([t0, t0 + 60_000, t0 + 120_000, t0 + H]), [
      ["open", Float64Array.from([1, 2, 3, 9])],
      ["high", Float64Array.from([5, 7, 6, 9])],
      ["low", Float64Array.from([1, 0.5, 2, 9])],
      ["close", Float64Array.from([2, 3, 4, 9])],
      ["volume", Float64Array.from([1, 2, 3, 4])],
    ]);
    const r = resampleKlines(f, H);
    expect(Array.from(r.time)).toEqual([t0, t0 + H]);
    expect(Array.from(r.get("open"))).toEqual([1, 9]);
    expect(Array.from(r.get("high"))).toEqual([7, 9]);
    expect(Array.from(r.get("low"))).toEqual([0.5, 9]);
    expect(Array.from(r.get("close"))).toEqual([4, 9]);
    expect(Array.from(r.get("volume"))).toEqual([6, 4]);
    expect(nativeStep(f.time)).toBe(60_000);
  });

  it.skipIf(!HAVE_SHARED)(
    `1m candles aggregated to 1h equal Binance's own 1h klines (2023-02..04)${SHARED_SKIP_REASON}`,
    async () => {
      const m1 = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-02", "2023-03", "2023-04"]);
      const h1 = resampleKlines(m1, H);
      const from = Date.UTC(2023, 1, 1);
      const to = Date.UTC(2023, 4, 1);
      const lines = gunzipSync(readFileSync(resolve(SHARED_DATA, "klines/BTCUSDT-1h.csv.gz")))
        .toString("utf8")
        .split("\n")
        .slice(1)
        .filter((l) => l.length > 0)
        .map((l) => l.split(",").map(Number))
        .filter((r) => (r[0] as number) >= from && (r[0] as number) < to);
      expect(h1.length).toBe(lines.length);
      const cols = ["open", "high", "low", "close", "volume", "close_time", "quote_av", "trades"] as const;
      lines.forEach((row, i) => {
        expect(h1.time[i]).toBe(row[0]);
        cols.forEach((c, j) => {
          const want = row[j + 1] as number;
          const got = h1.get(c)[i] as number;
          // Prices and times are copied, so exact; sums of decimals differ by float rounding.
          if (j < 4 || c === "close_time" || c === "trades") expect(got).toBe(want);
          else expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
        });
      });
    },
  );
});
