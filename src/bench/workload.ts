import { Frame } from "../core/frame.js";
import { monthKey } from "../core/time.js";
import { loadArchiveMonths } from "../data/archive/import.js";
import { mergeSources } from "../data/merge.js";
import { type ResolvedSet, runSetsSync, streamSets } from "../features/featureSets.js";
import { fillGaps } from "../features/fill.js";
import { talibGenerator } from "../features/talib.js";
import { LABEL_GENERATORS } from "../labels/index.js";

/** `n` month keys ("YYYY-MM") from `start` on. */
export function monthsFrom(start: string, n: number): string[] {
  const [y, m] = start.split("-").map(Number) as [number, number];
  return Array.from({ length: n }, (_, i) => monthKey(Date.UTC(y, m - 1 + i, 1)));
}

/**
 * The bench's candles: BTCUSDT spot 1m klines of `months` months from `start` in the archive
 * folder `data`, on the 1-minute grid (the archive's frame is merged in its own memory and is
 * garbage on return).
 */
export async function loadBenchFrame(data: string, start: string, months: number): Promise<Frame> {
  const klines = await loadArchiveMonths(data, "BTCUSDT", "spot", "1m", monthsFrom(start, months));
  return mergeSources([{ name: "BTCUSDT", prefix: "", frame: klines }], {
    freqMs: 60_000,
    interpolate: false,
    maxGap: 0,
    reuseSources: true,
  }).frame;
}

/**
 * The reference's 20-feature set as itb feature_sets. Inputs are interpolated linearly, as the
 * reference does, so both sides compute the same numbers (itb's default fill is causal ffill).
 */
const talib = (config: Record<string, unknown>): ResolvedSet => ({
  name: "talib",
  generator: talibGenerator,
  column_prefix: "",
  feature_prefix: "",
  config: { fill: "linear", ...config },
});

export const BENCH_FEATURE_SETS: readonly ResolvedSet[] = [
  talib({ columns: ["close"], functions: ["SMA"], windows: [5, 10, 20, 60, 120] }),
  talib({ columns: ["close"], functions: ["EMA"], windows: [12, 26] }),
  talib({ columns: ["close"], functions: ["RSI"], windows: [14] }),
  talib({ columns: ["close"], functions: ["LINEARREG_SLOPE"], windows: [10, 20, 60] }),
  talib({ columns: ["close"], functions: ["MOM"], windows: [10] }),
  talib({ columns: ["high", "low", "close"], functions: ["ATR"], windows: [14] }),
  talib({ columns: ["close"], functions: ["STDDEV"], windows: [20, 60] }),
  talib({ columns: ["close"], functions: ["BBANDS"], windows: [20], args: { nbdevup: 2, nbdevdn: 2 } }),
  talib({ columns: ["close", "volume"], functions: ["OBV"] }),
  talib({ columns: ["volume"], functions: ["SMA"], windows: [20] }),
];

export function benchFeatures(frame: Frame): string[] {
  return runSetsSync(frame, BENCH_FEATURE_SETS).flatMap((r) => r.columns);
}

/** highlow2 high_20 / low_20 (2 %, tolerance 0.2, horizon 120) on interpolated close/high/low. */
export function benchLabels(frame: Frame): string[] {
  const gen = LABEL_GENERATORS.highlow2;
  if (!gen) throw new Error("highlow2 label generator missing");
  const filled = new Frame(frame.time, [
    ["close", fillGaps(frame.get("close"), "linear")],
    ["high", fillGaps(frame.get("high"), "linear")],
    ["low", fillGaps(frame.get("low"), "linear")],
  ]);
  const names: string[] = [];
  for (const [fn, name] of [
    ["high", "high_20"],
    ["low", "low_20"],
  ] as const) {
    const config = {
      columns: ["close", "high", "low"],
      function: fn,
      thresholds: [2.0],
      tolerance: 0.2,
      horizon: 120,
      names: [name],
    };
    const [out] = gen.batch(filled, config);
    frame.set(name, out as Float64Array);
    names.push(name);
  }
  return names;
}

/** Share of 1s among labelled rows, as the reference reports it. */
export function labelRate(x: Float64Array): number {
  let ones = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (!Number.isNaN(v)) {
      n++;
      ones += v;
    }
  }
  return n ? Math.round((ones / n) * 10_000) / 10_000 : Number.NaN;
}

/** Microseconds per candle to update all 20 features in streaming mode over the last `rows`. */
export function benchStreaming(frame: Frame, rows: number): number {
  const part = frame.slice(Math.max(0, frame.length - rows));
  const t0 = performance.now();
  streamSets(part, BENCH_FEATURE_SETS);
  return ((performance.now() - t0) * 1000) / part.length;
}
