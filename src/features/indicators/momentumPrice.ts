import { input, intOption, nanArray, nanPrefix, optOf, uninitNanPrefix, val } from "./indicatorKit.js";
import { emaInto, perToK, SeededEma } from "./momentumCommon.js";
import type { Indicator, IndicatorStream } from "./types.js";
import { runKernel } from "./wasmKernels.js";

/**
 * Momentum of a single series: MOM, ROC, ROCP, ROCR, ROCR100 (value against the value
 * `timeperiod` bars back), TRIX (rate of change of a triple EMA), MACD and MACDFIX.
 */

// ---------------------------------------------------------------- MOM, ROC family

type LagFn = (cur: number, old: number) => number;

function lagIndicator(name: string, fn: LagFn, period = intOption("timeperiod", 10, 1)): Indicator {
  return {
    name,
    inputs: ["real"],
    options: [period],
    outputs: ["real"],
    lookback: (opts) => optOf(opts, period),
    batch(inputs, opts) {
      const x = input(inputs, 0);
      const p = optOf(opts, period);
      const n = x.length;
      const out = nanPrefix(n, p);
      for (let i = p; i < n; i++) out[i] = fn(x[i] as number, x[i - p] as number);
      return [out];
    },
    stream(opts): IndicatorStream {
      const p = optOf(opts, period);
      const ring = new Float64Array(p);
      let t = 0;
      return {
        next(values, out) {
          const x = val(values, 0);
          const slot = t % p;
          out[0] = t >= p ? fn(x, ring[slot] as number) : Number.NaN;
          ring[slot] = x;
          t++;
        },
      };
    },
  };
}

const MOM_PERIOD = intOption("timeperiod", 10, 1);
const MOM_BASE = lagIndicator("MOM", (cur, old) => cur - old, MOM_PERIOD);

/** Price difference, with its own loop so V8 keeps it monomorphic (MOM is in the benchmark set). */
export const MOM: Indicator = {
  ...MOM_BASE,
  batch(inputs, opts) {
    const x = input(inputs, 0);
    const p = optOf(opts, MOM_PERIOD);
    const n = x.length;
    const out = uninitNanPrefix(n, p); // every position from p on is written below
    if (runKernel("mom", [x], [out], p, p, new Float64Array(0))) return [out];
    for (let i = p; i < n; i++) out[i] = (x[i] as number) - (x[i - p] as number);
    return [out];
  },
};

// TA-Lib outputs 0 when the earlier value is exactly 0.
export const ROC = lagIndicator("ROC", (cur, old) => (old !== 0.0 ? (cur / old - 1.0) * 100.0 : 0.0));
export const ROCP = lagIndicator("ROCP", (cur, old) => (old !== 0.0 ? (cur - old) / old : 0.0));
export const ROCR = lagIndicator("ROCR", (cur, old) => (old !== 0.0 ? cur / old : 0.0));
export const ROCR100 = lagIndicator("ROCR100", (cur, old) => (old !== 0.0 ? (cur / old) * 100.0 : 0.0));

// ---------------------------------------------------------------- TRIX

/**
 * TRIX: one-bar rate of change (in percent, TA-Lib's ROC) of EMA(EMA(EMA(x))). Each EMA is
 * seeded with the simple mean of its first `timeperiod` inputs, so the output starts at
 * 3 * (period - 1) + 1.
 */
const trixPeriod = intOption("timeperiod", 30, 1);

function roc1(cur: number, prev: number): number {
  return prev !== 0.0 ? (cur / prev - 1.0) * 100.0 : 0.0;
}

export const TRIX: Indicator = {
  name: "TRIX",
  inputs: ["real"],
  options: [trixPeriod],
  outputs: ["real"],
  lookback: (opts) => 3 * (optOf(opts, trixPeriod) - 1) + 1,
  batch(inputs, opts) {
    const x = input(inputs, 0);
    const p = optOf(opts, trixPeriod);
    const k = perToK(p);
    const n = x.length;
    const lb = 3 * (p - 1) + 1;
    // Each EMA is read only where the previous step wrote it.
    const e1 = new Float64Array(n);
    const e2 = new Float64Array(n);
    const e3 = new Float64Array(n);
    emaInto(x, 0, p, k, e1);
    emaInto(e1, p - 1, p, k, e2);
    emaInto(e2, 2 * (p - 1), p, k, e3);
    const out = nanPrefix(n, lb);
    for (let i = lb; i < n; i++) out[i] = roc1(e3[i] as number, e3[i - 1] as number);
    return [out];
  },
  stream(opts) {
    const p = optOf(opts, trixPeriod);
    const k = perToK(p);
    const a = new SeededEma(p, k);
    const b = new SeededEma(p, k);
    const c = new SeededEma(p, k);
    let prev = Number.NaN;
    return {
      next(values, out) {
        const e1 = a.next(val(values, 0));
        let r = Number.NaN;
        if (!Number.isNaN(e1)) {
          const e2 = b.next(e1);
          if (!Number.isNaN(e2)) {
            const e3 = c.next(e2);
            if (!Number.isNaN(e3)) {
              if (!Number.isNaN(prev)) r = roc1(e3, prev);
              prev = e3;
            }
          }
        }
        out[0] = r;
      },
    };
  },
};

// ---------------------------------------------------------------- MACD, MACDFIX

/**
 * TA_INT_MACD. The slow EMA is seeded with the mean of bars [0, slow); the fast EMA is seeded
 * later, with the mean of bars [slow - fast, slow), so both lines start on bar slow - 1. The
 * signal EMA runs over the MACD line from there. MACDFIX uses k = 0.075 and 0.15 (not 2/27 and
 * 2/13) with the 26/12 seeding windows.
 */
interface MacdParams {
  slow: number;
  fast: number;
  kSlow: number;
  kFast: number;
  signal: number;
}

function macdLookback(m: MacdParams): number {
  return m.slow - 1 + (m.signal - 1);
}

function macdBatch(x: Float64Array, m: MacdParams): Float64Array[] {
  const n = x.length;
  const slow = nanArray(n);
  const fast = nanArray(n);
  const signal = nanArray(n);
  const hist = nanArray(n);
  const start = m.slow - 1;
  emaInto(x, 0, m.slow, m.kSlow, slow);
  emaInto(x, m.slow - m.fast, m.fast, m.kFast, fast);
  // fast becomes the MACD line in place.
  for (let i = start; i < n; i++) fast[i] = (fast[i] as number) - (slow[i] as number);
  if (start < n) emaInto(fast, start, m.signal, perToK(m.signal), signal);
  const lb = macdLookback(m);
  fast.fill(Number.NaN, 0, Math.min(lb, n));
  for (let i = lb; i < n; i++) hist[i] = (fast[i] as number) - (signal[i] as number);
  return [fast, signal, hist];
}

function macdStream(m: MacdParams): IndicatorStream {
  const slowEma = new SeededEma(m.slow, m.kSlow);
  const fastEma = new SeededEma(m.fast, m.kFast);
  const sigEma = new SeededEma(m.signal, perToK(m.signal));
  const fastFrom = m.slow - m.fast;
  let t = -1;
  return {
    next(values, out) {
      const x = val(values, 0);
      t++;
      const s = slowEma.next(x);
      const f = t >= fastFrom ? fastEma.next(x) : Number.NaN;
      out[0] = Number.NaN;
      out[1] = Number.NaN;
      out[2] = Number.NaN;
      if (Number.isNaN(s)) return;
      const line = f - s;
      const sig = sigEma.next(line);
      if (Number.isNaN(sig)) return;
      out[0] = line;
      out[1] = sig;
      out[2] = line - sig;
    },
  };
}

const macdFast = intOption("fastperiod", 12, 2);
const macdSlow = intOption("slowperiod", 26, 2);
const macdSignal = intOption("signalperiod", 9, 1);

function macdParams(opts: Readonly<Record<string, number>>): MacdParams {
  let fast = optOf(opts, macdFast);
  let slow = optOf(opts, macdSlow);
  if (slow < fast) [fast, slow] = [slow, fast];
  return { slow, fast, kSlow: perToK(slow), kFast: perToK(fast), signal: optOf(opts, macdSignal) };
}

const MACD_OUTPUTS = ["macd", "macdsignal", "macdhist"] as const;

export const MACD: Indicator = {
  name: "MACD",
  inputs: ["real"],
  options: [macdFast, macdSlow, macdSignal],
  outputs: MACD_OUTPUTS,
  lookback: (opts) => macdLookback(macdParams(opts)),
  batch: (inputs, opts) => macdBatch(input(inputs, 0), macdParams(opts)),
  stream: (opts) => macdStream(macdParams(opts)),
};

const fixSignal = intOption("signalperiod", 9, 1);

function macdFixParams(opts: Readonly<Record<string, number>>): MacdParams {
  return { slow: 26, fast: 12, kSlow: 0.075, kFast: 0.15, signal: optOf(opts, fixSignal) };
}

export const MACDFIX: Indicator = {
  name: "MACDFIX",
  inputs: ["real"],
  options: [fixSignal],
  outputs: MACD_OUTPUTS,
  lookback: (opts) => macdLookback(macdFixParams(opts)),
  batch: (inputs, opts) => macdBatch(input(inputs, 0), macdFixParams(opts)),
  stream: (opts) => macdStream(macdFixParams(opts)),
};

export const PRICE_MOMENTUM_GROUP: readonly Indicator[] = [
  MACD,
  MACDFIX,
  MOM,
  ROC,
  ROCP,
  ROCR,
  ROCR100,
  TRIX,
];
