import { expect } from "vitest";
import { INDICATORS, resolveOptions } from "../../src/features/indicators/index.js";
import type { Indicator, InputName, Options } from "../../src/features/indicators/types.js";
import { maxRelDiff, oracle } from "../helpers/talibOracle.js";

/** Shared checks of the momentum test files: our kernels against TA-Lib's C library. */

export const TOL = 1e-9;

export type Columns = Partial<Record<InputName, Float64Array>>;

export function indicator(name: string): Indicator {
  const ind = INDICATORS.get(name);
  if (!ind) throw new Error(`${name} is not registered`);
  return ind;
}

export function inputsOf(ind: Indicator, cols: Columns): Float64Array[] {
  return ind.inputs.map((k) => {
    const c = cols[k === "real" ? "close" : k];
    if (!c) throw new Error(`no column ${k}`);
    return c;
  });
}

export function oracleOf(ind: Indicator, inputs: readonly Float64Array[], opts: Record<string, number>) {
  const named: Columns = {};
  ind.inputs.forEach((k, j) => {
    named[k] = inputs[j];
  });
  return oracle(ind.name, named, opts);
}

function firstNumber(x: Float64Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i] as number)) return i;
  return x.length;
}

/** Every output within TOL of TA-Lib, NaN exactly where TA-Lib has none. */
export function expectMatches(
  label: string,
  ours: readonly Float64Array[],
  ref: readonly Float64Array[],
): void {
  expect(ours.length, `${label}: output count`).toBe(ref.length);
  ref.forEach((r, j) => {
    const o = ours[j] as Float64Array;
    expect(o.length, `${label}[${j}] length`).toBe(r.length);
    const d = maxRelDiff(o, r);
    expect(d.nanMismatch, `${label}[${j}] NaN position mismatch at ${d.nanMismatch}`).toBe(-1);
    expect(d.diff, `${label}[${j}] max rel diff at ${d.at}`).toBeLessThanOrEqual(TOL);
  });
}

/** Batch vs TA-Lib, lookback vs TA-Lib's begIndex, stream vs batch over every row. */
export function checkAll(name: string, cols: Columns, given: Record<string, number>): void {
  const ind = indicator(name);
  const opts = resolveOptions(ind, given);
  const inputs = inputsOf(ind, cols);
  const label = `${name} ${JSON.stringify(given)}`;
  const ours = ind.batch(inputs, opts);
  const ref = oracleOf(ind, inputs, given);
  expectMatches(label, ours, ref);
  expect(ind.lookback(opts), `${label} lookback`).toBe(firstNumber(ref[0] as Float64Array));
  checkStream(ind, inputs, opts, ours, label);
}

/** Feeds every row to a fresh stream and requires the batch outputs, row by row. */
export function checkStream(
  ind: Indicator,
  inputs: readonly Float64Array[],
  opts: Options,
  batch: readonly Float64Array[],
  label = ind.name,
): void {
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
  expectMatches(`${label} stream`, streamed, batch);
}
