import { beforeAll, describe, expect, it } from "vitest";
import type { Frame } from "../../src/core/frame.js";
import { mergeSources } from "../../src/data/merge.js";
import type { ResolvedSet } from "../../src/features/featureSets.js";
import type { CustomGenerator, FeatureGenerator } from "../../src/features/generator.js";
import { INDICATORS } from "../../src/features/indicators/index.js";
import { itbstatsGenerator } from "../../src/features/itbstats.js";
import { checkLookahead } from "../../src/features/lookahead.js";
import { talibGenerator } from "../../src/features/talib.js";
import { loadCustomGenerator } from "../../src/pipeline/generators.js";
import { sampleCandles } from "../helpers/candles.js";
import { ROOT } from "../helpers/paths.js";

let data: Frame;
beforeAll(async () => {
  // Real March 2023 candles on the 1-minute grid, the part that holds the 80-minute halt (NaN
  // rows), so truncation points fall inside a real gap too.
  const { frame } = mergeSources([{ name: "BTCUSDT", prefix: "", frame: await sampleCandles(["2023-03"]) }], {
    freqMs: 60_000,
    interpolate: false,
    maxGap: 0,
  });
  data = frame.slice(28_000, 42_000);
});

const INPUT_COLUMN: Record<string, string> = {
  real: "close",
  real0: "close",
  real1: "open",
  open: "open",
  high: "high",
  low: "low",
  close: "close",
  volume: "volume",
};

function set(generator: CustomGenerator, config: Record<string, unknown>, name = "talib"): ResolvedSet {
  return { name, generator, column_prefix: "", feature_prefix: "", config };
}

function failures(checks: Awaited<ReturnType<typeof checkLookahead>>): string[] {
  return checks
    .filter((c) => !c.prefixOk || c.streamOk !== true)
    .map((c) => `${c.column} ${JSON.stringify(c.firstBad)}`);
}

describe("lookahead and batch/stream parity on real candles", () => {
  it("every ported TA-Lib indicator (default options) is prefix-invariant and streams its batch values", async () => {
    const sets = [...INDICATORS.values()].map((ind) =>
      set(talibGenerator, {
        columns: Object.fromEntries(ind.inputs.map((i) => [i, INPUT_COLUMN[i]])),
        functions: [ind.name],
      }),
    );
    const checks = await checkLookahead(data, sets, { checkpoints: 6 });
    expect(checks.length).toBeGreaterThanOrEqual(INDICATORS.size);
    expect(failures(checks)).toEqual([]);
  });

  it("talib sets with windows, relative parameters and multi-output functions", async () => {
    const sets = [
      set(talibGenerator, {
        columns: ["close"],
        functions: ["SMA", "LINEARREG_SLOPE", "STDDEV"],
        windows: [1, 5, 60],
      }),
      set(talibGenerator, {
        columns: ["close"],
        functions: ["EMA", "RSI"],
        windows: [5, 14, 60],
        parameters: { rel_base: "last", rel_func: "rel_diff", percentage: true },
      }),
      set(talibGenerator, { columns: ["close"], functions: ["BBANDS"], windows: [20] }),
      set(talibGenerator, {
        columns: ["high", "low", "close"],
        functions: ["ATR", "ADX"],
        windows: [14, 30],
      }),
    ];
    expect(failures(await checkLookahead(data, sets, { checkpoints: 8 }))).toEqual([]);
  });

  it("itbstats", async () => {
    const sets = [
      set(
        itbstatsGenerator,
        {
          columns: ["close"],
          functions: ["mean", "std", "slope", "area", "lsbm", "fmax", "scipy_skew", "pandas_kurtosis"],
          windows: [5, 60],
        },
        "itbstats",
      ),
    ];
    expect(failures(await checkLookahead(data, sets, { checkpoints: 6 }))).toEqual([]);
  });

  it("the example custom generator passes", async () => {
    const g = await loadCustomGenerator("./examples/custom-generator.mjs:rangePct", ROOT);
    const checks = await checkLookahead(data, [set(g, { window: 10 }, "custom")], { checkpoints: 6 });
    expect(checks.map((c) => c.column)).toEqual(["range_pct_10"]);
    expect(failures(checks)).toEqual([]);
  });

  it("flags the original's linear interpolation across the halt as lookahead", async () => {
    const checks = await checkLookahead(
      data,
      [set(talibGenerator, { columns: ["close"], functions: ["SMA"], windows: [5], fill: "linear" })],
      { checkpoints: 4 },
    );
    expect(checks[0]?.prefixOk).toBe(false);
    expect(new Date(checks[0]?.firstBad?.time as number).toISOString()).toBe("2023-03-24T12:40:00.000Z");
  });

  it("flags a generator that reads the next row, and one whose stream drifts", async () => {
    const peek: FeatureGenerator = {
      inputs: () => ["close"],
      outputs: () => ["next_close"],
      warmup: () => 0,
      batch: (f) => {
        const c = f.get("close");
        return [Float64Array.from(c, (_, i) => (i + 1 < c.length ? (c[i + 1] as number) : Number.NaN))];
      },
      stream: () => ({
        next: (v, out) => {
          out[0] = v[0] as number;
        },
      }),
    };
    const drift: FeatureGenerator = {
      inputs: () => ["close"],
      outputs: () => ["drift"],
      warmup: () => 0,
      batch: (f) => [new Float64Array(f.get("close"))],
      stream: () => ({
        next: (v, out) => {
          out[0] = (v[0] as number) * (1 + 1e-6);
        },
      }),
    };
    const checks = await checkLookahead(data, [set(peek, {}, "peek"), set(drift, {}, "drift")], {
      checkpoints: 3,
    });
    expect(checks.map((c) => [c.column, c.prefixOk, c.streamOk])).toEqual([
      ["next_close", false, false],
      ["drift", true, false],
    ]);
  });
});
