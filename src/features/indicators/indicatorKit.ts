import { arenaColumn } from "./arena.js";
import { IndicatorError, resolveOptions } from "./registry.js";
import type { Indicator, IndicatorStream, InputName, OptionSpec, Options } from "./types.js";

/**
 * The one kit of helpers for defining indicators: every entry point validates its options
 * (filling Python talib's defaults) and its inputs once per call, so kernels see only checked
 * values and never validate in their loops; and TA-Lib's constants and small macros, which
 * the kernels repeat operation by operation so that results agree with the C library bit for
 * bit.
 */

export interface IndicatorDef {
  readonly name: string;
  readonly inputs: readonly InputName[];
  readonly options: readonly OptionSpec[];
  readonly outputs: readonly string[];
  readonly indexOutputs?: boolean;
  lookback(o: Options): number;
  batch(inputs: readonly Float64Array[], o: Options): Float64Array[];
  stream(o: Options): IndicatorStream;
}

export function defineIndicator(def: IndicatorDef): Indicator {
  const ind: Indicator = {
    name: def.name,
    inputs: def.inputs,
    options: def.options,
    outputs: def.outputs,
    ...(def.indexOutputs ? { indexOutputs: true } : {}),
    lookback: (opts) => def.lookback(resolveOptions(ind, opts)),
    batch: (inputs, opts) => {
      checkInputs(ind, inputs);
      return def.batch(inputs, resolveOptions(ind, opts));
    },
    stream: (opts) => def.stream(resolveOptions(ind, opts)),
  };
  return ind;
}

function checkInputs(ind: Indicator, inputs: readonly Float64Array[]): void {
  if (inputs.length !== ind.inputs.length) {
    throw new IndicatorError(
      `${ind.name} takes ${ind.inputs.length} input(s) (${ind.inputs.join(", ")}), got ${inputs.length}`,
    );
  }
  const n = inputs[0]?.length ?? 0;
  for (let k = 1; k < inputs.length; k++) {
    if ((inputs[k] as Float64Array).length !== n) {
      throw new IndicatorError(
        `${ind.name}: input ${ind.inputs[k]} has ${(inputs[k] as Float64Array).length} values, ${ind.inputs[0]} has ${n}`,
      );
    }
  }
}

/** A resolved real option's value (resolveOptions guarantees every declared option is present). */
export function opt(o: Options, name: string): number {
  return o[name] as number;
}

/**
 * A resolved integer option (period, matype) as a small integer. `| 0` matters for speed: the
 * options objects can hold integers as boxed doubles (V8 generalizes a field's representation
 * once any object of that shape held a fraction), and a period passed as a double turns every
 * kernel's loop index into float64 arithmetic (LINEARREG_SLOPE(60) went from 25 to 45 ms).
 */
export function iopt(o: Options, name: string): number {
  return (o[name] as number) | 0;
}

/** Input k of a checked input list. */
export function input(inputs: readonly Float64Array[], k: number): Float64Array {
  return inputs[k] as Float64Array;
}

export function intOption(name: string, def: number, min: number, max = 100000): OptionSpec {
  return { name, kind: "int", default: def, min, max };
}

export function realOption(name: string, def: number, min: number, max: number): OptionSpec {
  return { name, kind: "real", default: def, min, max };
}

export function timeperiod(def: number, min = 2): OptionSpec {
  return intOption("timeperiod", def, min);
}

export const MATYPE_OPTION: OptionSpec = { name: "matype", kind: "matype", default: 0, min: 0, max: 8 };

/** TA-Lib's bound for unbounded real options (TA_REAL_MIN / TA_REAL_MAX). */
export const REAL_BOUND = 3e37;

/** A stream of one output over one input, from a scalar step. */
export function scalarStream(s: { next(x: number): number }): IndicatorStream {
  return {
    next(values, out) {
      out[0] = s.next(values[0] as number);
    },
  };
}

/**
 * Rows per call of a kernel's chunk function. A kernel runs once per column, so V8 optimises a
 * loop over the whole column while it runs (on-stack replacement), and that code keeps the
 * loop's running doubles boxed on the heap: RSI's first call over a year of minutes took 10.7 ms
 * and ~120 MB of short-lived heap numbers (30 scavenges), against 5.3 ms once optimised as a
 * whole function. The hot kernels therefore loop over chunks of CHUNK_ROWS rows in a small
 * function of their own, which V8 optimises as a whole after a few calls; the running values
 * cross chunks in a Float64Array. Same operations in the same order: the results are unchanged.
 */
export const CHUNK_ROWS = 4096;

/** TA-Lib's TA_EPSILON: TA_IS_ZERO and TA_IS_ZERO_OR_NEG compare against it. */
export const TA_EPSILON = 0.00000000000001;

export function isZero(v: number): boolean {
  return -TA_EPSILON < v && v < TA_EPSILON;
}

/** A moving-average type option (TA_MAType 0..8), default SMA. */
export function maTypeOption(name: string): OptionSpec {
  return { name, kind: "matype", default: 0, min: 0, max: 8 };
}

/** The option's value, or its default when the caller passed unresolved options. */
export function optOf(opts: Options, spec: OptionSpec): number {
  const v = opts[spec.name];
  return v === undefined ? spec.default : v;
}

export function nanArray(n: number): Float64Array {
  return new Float64Array(n).fill(Number.NaN);
}

/**
 * A kernel's output column comes from the feature run's arena when there is one (arena.ts), so
 * that the wasm kernels write it in place, else from the heap.
 *
 * `nanPrefix` in memory that is not zeroed first, for a kernel that writes every position from
 * `lookback` on: a year of minutes is 4.2 MB per output, zeroed for nothing. The bench's feature
 * stage in one thread: 91.9 against 93.8 ms (mean of 12 runs, within the noise), 86.8 against
 * 90.9 ms with every kernel's outputs unzeroed (mean of 8).
 */
export function uninitNanPrefix(n: number, lookback: number): Float64Array {
  const out = arenaColumn(n) ?? new Float64Array(Buffer.allocUnsafeSlow(8 * n).buffer, 0, n);
  out.fill(Number.NaN, 0, Math.min(lookback, n));
  return out;
}

/** A new output with NaN in [0, min(lookback, n)); the kernel writes the rest. */
export function nanPrefix(n: number, lookback: number): Float64Array {
  const out = arenaColumn(n) ?? new Float64Array(n);
  out.fill(Number.NaN, 0, Math.min(lookback, n));
  return out;
}

/** Reads value `k` of a streamed bar. */
export function val(values: ArrayLike<number>, k: number): number {
  return values[k] as number;
}

/** TA-Lib's TRUE_RANGE macro: max(h-l, |h-yc|, |l-yc|). */
export function trueRange(h: number, l: number, yc: number): number {
  let out = h - l;
  let t = Math.abs(h - yc);
  if (t > out) out = t;
  t = Math.abs(l - yc);
  if (t > out) out = t;
  return out;
}
