import { defineIndicator, input } from "./indicatorKit.js";
import type { Indicator, IndicatorStream, InputName } from "./types.js";

/** TA-Lib's price transforms, each with TA-Lib's order of additions. */

export function avgprice(open: Float64Array, high: Float64Array, low: Float64Array, close: Float64Array) {
  const n = open.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = ((high[i] as number) + (low[i] as number) + (close[i] as number) + (open[i] as number)) / 4;
  }
  return out;
}

export function medprice(high: Float64Array, low: Float64Array): Float64Array {
  const n = high.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = ((high[i] as number) + (low[i] as number)) / 2.0;
  return out;
}

export function typprice(high: Float64Array, low: Float64Array, close: Float64Array): Float64Array {
  const n = high.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++)
    out[i] = ((high[i] as number) + (low[i] as number) + (close[i] as number)) / 3.0;
  return out;
}

export function wclprice(high: Float64Array, low: Float64Array, close: Float64Array): Float64Array {
  const n = high.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = ((high[i] as number) + (low[i] as number) + (close[i] as number) * 2.0) / 4.0;
  }
  return out;
}

/** A price transform's per-bar formula over its inputs in Python talib's order. */
type BarFormula = (v: ArrayLike<number>) => number;

function priceIndicator(
  name: string,
  inputs: readonly InputName[],
  batch: (ins: readonly Float64Array[]) => Float64Array,
  bar: BarFormula,
): Indicator {
  return defineIndicator({
    name,
    inputs,
    options: [],
    outputs: ["real"],
    lookback: () => 0,
    batch: (ins) => [batch(ins)],
    stream: (): IndicatorStream => ({
      next(values, out) {
        out[0] = bar(values);
      },
    }),
  });
}

const at = (v: ArrayLike<number>, k: number): number => v[k] as number;

export const PRICE_INDICATORS: readonly Indicator[] = [
  priceIndicator(
    "AVGPRICE",
    ["open", "high", "low", "close"],
    (ins) => avgprice(input(ins, 0), input(ins, 1), input(ins, 2), input(ins, 3)),
    (v) => (at(v, 1) + at(v, 2) + at(v, 3) + at(v, 0)) / 4,
  ),
  priceIndicator(
    "MEDPRICE",
    ["high", "low"],
    (ins) => medprice(input(ins, 0), input(ins, 1)),
    (v) => (at(v, 0) + at(v, 1)) / 2.0,
  ),
  priceIndicator(
    "TYPPRICE",
    ["high", "low", "close"],
    (ins) => typprice(input(ins, 0), input(ins, 1), input(ins, 2)),
    (v) => (at(v, 0) + at(v, 1) + at(v, 2)) / 3.0,
  ),
  priceIndicator(
    "WCLPRICE",
    ["high", "low", "close"],
    (ins) => wclprice(input(ins, 0), input(ins, 1), input(ins, 2)),
    (v) => (at(v, 0) + at(v, 1) + at(v, 2) * 2.0) / 4.0,
  ),
];
