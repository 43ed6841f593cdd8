import { expect } from "vitest";
import { OVERLAP_GROUP } from "../../src/features/indicators/groupOverlap.js";
import { computeIndicator, resolveOptions } from "../../src/features/indicators/registry.js";
import type { Indicator, InputName, Options } from "../../src/features/indicators/types.js";
import { sampleCandles } from "../helpers/candles.js";
import { maxRelDiff, oracle } from "../helpers/talibOracle.js";

/**
 * Shared checks of the overlap-group test files (overlap, volume, volatility, statistic, price,
 * math operators): our kernels against TA-Lib's C library on real BTCUSDT 1m candles.
 */

export const TOL = 1e-9;

export type Columns = Partial<Record<InputName, Float64Array>>;

/** Options as Python talib keywords. */
export type Opts = Record<string, number>;

/** March 2023 BTCUSDT 1m (44,560 rows): `real` is close, `real0`/`real1` are close/open. */
export async function marchColumns(): Promise<Columns> {
  const f = await sampleCandles(["2023-03"]);
  const close = f.get("close");
  return {
    open: f.get("open"),
    high: f.get("high"),
    low: f.get("low"),
    close,
    volume: f.get("volume"),
    real: close,
    real0: close,
    real1: f.get("open"),
  };
}

export function indicator(name: string): Indicator {
  const ind = OVERLAP_GROUP.find((i) => i.name === name);
  if (!ind) throw new Error(`${name} is not in OVERLAP_GROUP`);
  return ind;
}

export function inputsOf(ind: Indicator, cols: Columns): Float64Array[] {
  return ind.inputs.map((k) => {
    const c = cols[k];
    if (!c) throw new Error(`no column ${k}`);
    return c;
  });
}

function named(ind: Indicator, inputs: readonly Float64Array[]): Columns {
  const out: Columns = {};
  ind.inputs.forEach((k, j) => {
    out[k] = inputs[j];
  });
  return out;
}

export function oracleOf(ind: Indicator, inputs: readonly Float64Array[], opts: Options): Float64Array[] {
  return oracle(ind.name, named(ind, inputs), { ...opts });
}

export function firstNumber(x: Float64Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i] as number)) return i;
  return x.length;
}

/** Every output within `tol` of the reference, NaN exactly where the reference has NaN. */
export function expectMatches(
  label: string,
  ours: readonly Float64Array[],
  ref: readonly Float64Array[],
  tol = TOL,
): number {
  expect(ours.length, `${label}: output count`).toBe(ref.length);
  let worst = 0;
  ref.forEach((r, j) => {
    const o = ours[j] as Float64Array;
    expect(o.length, `${label}[${j}] length`).toBe(r.length);
    const d = maxRelDiff(o, r);
    expect(d.nanMismatch, `${label}[${j}] NaN position mismatch at ${d.nanMismatch}`).toBe(-1);
    expect(d.diff, `${label}[${j}] max rel diff at ${d.at}`).toBeLessThanOrEqual(tol);
    worst = Math.max(worst, d.diff);
  });
  return worst;
}

/** Feeds every row to a fresh stream; returns the streamed outputs. */
export function runStream(ind: Indicator, inputs: readonly Float64Array[], opts: Options): Float64Array[] {
  const n = (inputs[0] as Float64Array).length;
  const s = ind.stream(opts);
  const row = new Float64Array(inputs.length);
  const out = new Float64Array(ind.outputs.length);
  const streamed = ind.outputs.map(() => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < inputs.length; k++) row[k] = (inputs[k] as Float64Array)[i] as number;
    s.next(row, out);
    for (let j = 0; j < out.length; j++) (streamed[j] as Float64Array)[i] = out[j] as number;
  }
  return streamed;
}

export interface CheckOptions {
  /** Stream-vs-batch tolerance; 0 (bit-identical) unless the stream's arithmetic differs. */
  streamTol?: number;
}

/**
 * Batch vs TA-Lib (1e-9, identical NaN positions), lookback vs TA-Lib's begIndex, stream vs batch
 * over every row. Returns the batch's worst relative difference from TA-Lib.
 */
export function checkAll(
  name: string,
  cols: Columns,
  given: Record<string, number>,
  o: CheckOptions = {},
): number {
  const ind = indicator(name);
  const opts = resolveOptions(ind, given);
  const inputs = inputsOf(ind, cols);
  const label = `${name} ${JSON.stringify(given)}`;
  const ours = ind.batch(inputs, opts);
  const ref = oracleOf(ind, inputs, opts);
  const worst = expectMatches(label, ours, ref);
  expect(ind.lookback(opts), `${label} lookback`).toBe(firstNumber(ref[0] as Float64Array));
  expect(firstNumber(ours[0] as Float64Array), `${label} first value`).toBe(ind.lookback(opts));
  expectMatches(`${label} stream`, runStream(ind, inputs, opts), ours, o.streamTol ?? 0);
  return worst;
}

/**
 * Python talib's leading-NaN handling through computeIndicator: 10 NaN rows in front shift the
 * output by 10 and the rest equals TA-Lib on the unshifted input. Inputs shorter than the
 * lookback give all NaN, and lookback+1 rows give exactly one value (TA-Lib's).
 */
export function checkEdges(name: string, cols: Columns, given: Record<string, number> = {}): void {
  const ind = indicator(name);
  const opts = resolveOptions(ind, given);
  const full = inputsOf(ind, cols).map((x) => x.subarray(0, 5000));
  const ref = oracleOf(ind, full, opts);
  const pad = 10;
  const padded = full.map((x) => {
    const y = new Float64Array(x.length + pad).fill(Number.NaN);
    y.set(x, pad);
    return y;
  });
  const shifted = computeIndicator(ind, padded, opts);
  shifted.forEach((s, j) => {
    for (let i = 0; i < pad; i++) expect(Number.isNaN(s[i] as number), `${name} padded row ${i}`).toBe(true);
    // Index outputs count from the start of the padded series (Python talib adds the skipped rows).
    const got = ind.indexOutputs ? s.subarray(pad).map((v) => v - pad) : s.subarray(pad);
    expectMatches(`${name} after NaN prefix [${j}]`, [got], [ref[j] as Float64Array]);
  });

  const lb = ind.lookback(opts);
  for (const len of [0, 1, lb, lb + 1]) {
    const short = full.map((x) => x.slice(0, len));
    const ours = ind.batch(short, opts);
    const nValues = ours.map((o) => o.length - o.filter(Number.isNaN).length);
    if (len <= lb) {
      for (const c of nValues) expect(c, `${name} on ${len} rows`).toBe(0);
    } else {
      for (const c of nValues) expect(c, `${name} on ${len} rows`).toBe(1);
      expectMatches(`${name} on ${len} rows`, ours, oracleOf(ind, short, opts));
    }
  }
}
