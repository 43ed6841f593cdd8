import { beforeAll, describe, expect, it } from "vitest";
import { Frame } from "../../src/core/frame.js";
import { createSignalStream, runSignalSets, type SignalSetInput } from "../../src/signals/index.js";
import { sampleCandles } from "../helpers/candles.js";

/**
 * Batch and streaming agree bit for bit on real data: one month of BTCUSDT 1m candles from the
 * bundled sample, with up/down scores derived from close-to-close returns (NaN holes punched in
 * to exercise every NaN path), through every generator and window kind.
 */

const SETS: SignalSetInput[] = [
  { generator: "smoothen", config: { columns: ["up", "up2"], names: "up_roll", window: 5 } },
  { generator: "smoothen", config: { columns: "down", names: "down_ewm", window: 4.5 } },
  {
    generator: "smoothen",
    config: { columns: ["up", "down"], names: "pt", point_threshold: 0.03, window: 3, ewm: true },
  },
  { generator: "smoothen", config: { columns: "up", names: "up_w1", window: 1 } },
  { generator: "combine", config: { columns: ["up_roll", "down_ewm"], names: "rel", combine: "relative" } },
  {
    generator: "combine",
    feature_prefix: "x",
    config: {
      columns: ["up_roll", "down_ewm"],
      names: "trade_score",
      combine: "difference",
      coefficient: 3,
      constant: 0.01,
    },
  },
  { generator: "combine", config: { columns: ["up", "down"], names: "maxed" } },
  {
    generator: "threshold_rule",
    config: {
      columns: "x_trade_score",
      names: ["buy", "sell"],
      parameters: { buy_signal_threshold: 0.05, sell_signal_threshold: -0.05 },
    },
  },
  {
    generator: "threshold_rule2",
    config: {
      columns: ["rel", "x_trade_score"],
      names: ["buy2", "sell2"],
      parameters: {
        buy_signal_threshold: 0.2,
        buy_signal_threshold_2: 0.03,
        sell_signal_threshold: -0.2,
        sell_signal_threshold_2: -0.03,
      },
    },
  },
  // Overwrites a column an earlier entry produced, as batch does.
  { generator: "smoothen", config: { columns: "rel", names: "rel", window: 7 } },
];

let scores: Frame;

beforeAll(async () => {
  const candles = await sampleCandles(["2023-03"]);
  const close = candles.get("close");
  const n = candles.length;
  const up = new Float64Array(n).fill(Number.NaN);
  const up2 = new Float64Array(n).fill(Number.NaN);
  const down = new Float64Array(n).fill(Number.NaN);
  for (let i = 1; i < n; i++) {
    const r = ((close[i] as number) / (close[i - 1] as number) - 1) * 100;
    if (i % 997 < 4) continue; // holes of 4 NaN rows
    up[i] = Math.max(r, 0);
    down[i] = Math.max(-r, 0);
    if (i % 13 !== 0) up2[i] = Math.abs(r);
  }
  scores = new Frame(candles.time, [
    ["close", close],
    ["up", up],
    ["up2", up2],
    ["down", down],
  ]);
});

describe("signal stream equals batch on real candles", () => {
  it("every produced column, bit for bit, fed one row at a time", () => {
    const batch = scores.slice(0);
    const produced = runSignalSets(batch, SETS);
    const stream = createSignalStream(SETS);
    expect(stream.inputs).toEqual(["up", "up2", "down"]);
    expect([...stream.outputs].sort()).toEqual([...produced].sort());

    const n = scores.length;
    expect(n).toBeGreaterThan(40_000);
    const inCols = stream.inputs.map((c) => scores.get(c));
    const row = new Float64Array(inCols.length);
    const out = new Float64Array(stream.outputs.length);
    const got = stream.outputs.map(() => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < inCols.length; k++) row[k] = (inCols[k] as Float64Array)[i] as number;
      stream.next(row, out);
      for (let k = 0; k < out.length; k++) (got[k] as Float64Array)[i] = out[k] as number;
    }
    stream.outputs.forEach((c, k) => {
      const b = batch.get(c);
      const s = got[k] as Float64Array;
      let mismatches = 0;
      for (let i = 0; i < n; i++) if (!Object.is(b[i], s[i])) mismatches++;
      expect(mismatches, c).toBe(0);
    });

    // The data exercised the paths that matter: signals fire, NaN and values both occur.
    const ones = (c: string) => batch.get(c).reduce((a, v) => a + (v === 1 ? 1 : 0), 0);
    for (const c of ["buy", "sell", "buy2", "sell2"]) expect(ones(c), c).toBeGreaterThan(10);
    expect(batch.get("down_ewm").some(Number.isNaN)).toBe(true);
    expect(batch.get("rel").some((v) => !Number.isNaN(v) && v !== 0)).toBe(true);
  });

  it("push(row) gives the same values by column name, and names the missing column", () => {
    const batch = scores.slice(0, 3000);
    runSignalSets(batch, SETS);
    const stream = createSignalStream(SETS);
    for (let i = 0; i < batch.length; i++) {
      const r = stream.push({
        up: batch.get("up")[i] as number,
        up2: batch.get("up2")[i] as number,
        down: batch.get("down")[i] as number,
        close: 1, // extra columns are ignored
      });
      for (const c of stream.outputs) {
        if (!Object.is(r[c], batch.get(c)[i]))
          throw new Error(`row ${i} column ${c}: ${r[c]} != ${batch.get(c)[i]}`);
      }
    }
    expect(() => stream.push({ up: 1, down: 1 })).toThrow('the row has no number for column "up2"');
  });

  it("batch is fast: the sets on a month of 1m rows in well under a second", () => {
    const f = scores.slice(0);
    const t0 = performance.now();
    runSignalSets(f, SETS);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
