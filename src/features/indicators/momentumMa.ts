import { input, intOption, isZero, maTypeOption, nanArray, optOf, val } from "./indicatorKit.js";
import { maBatch, maLookback, maStream, type ScalarStream } from "./ma.js";
import { WindowExtreme } from "./momentumCommon.js";
import { RsiState, rsiBatch } from "./oscillators.js";
import type { Indicator, IndicatorStream, Options } from "./types.js";

/**
 * Momentum indicators built on TA-Lib's moving averages (TA_MA, any `matype` that ma.ts
 * implements): APO, PPO, STOCH, STOCHF, STOCHRSI.
 */

// ---------------------------------------------------------------- APO, PPO

/**
 * TA_INT_PO: MA(fast) - MA(slow) over the whole series (periods swapped when slow < fast); PPO
 * divides by MA(slow) and gives 0 when it is (almost) zero.
 */
const poFast = intOption("fastperiod", 12, 2);
const poSlow = intOption("slowperiod", 26, 2);
const poMa = maTypeOption("matype");

interface PoParams {
  fast: number;
  slow: number;
  matype: number;
}

function poParams(opts: Options): PoParams {
  let fast = optOf(opts, poFast);
  let slow = optOf(opts, poSlow);
  if (slow < fast) [fast, slow] = [slow, fast];
  return { fast, slow, matype: optOf(opts, poMa) };
}

function poValue(fast: number, slow: number, percent: boolean): number {
  if (!percent) return fast - slow;
  return isZero(slow) ? 0.0 : ((fast - slow) / slow) * 100.0;
}

function poIndicator(name: string, percent: boolean): Indicator {
  return {
    name,
    inputs: ["real"],
    options: [poFast, poSlow, poMa],
    outputs: ["real"],
    lookback(opts) {
      const m = poParams(opts);
      return maLookback(m.matype, m.slow);
    },
    batch(inputs, opts) {
      const x = input(inputs, 0);
      const m = poParams(opts);
      const n = x.length;
      const lb = maLookback(m.matype, m.slow);
      const fast = maBatch(m.matype, x, m.fast);
      const slow = maBatch(m.matype, x, m.slow);
      const out = nanArray(n);
      for (let i = lb; i < n; i++) out[i] = poValue(fast[i] as number, slow[i] as number, percent);
      return [out];
    },
    stream(opts): IndicatorStream {
      const m = poParams(opts);
      const fast = maStream(m.matype, m.fast);
      const slow = maStream(m.matype, m.slow);
      return {
        next(values, out) {
          const x = val(values, 0);
          const f = fast.next(x);
          const s = slow.next(x);
          out[0] = Number.isNaN(s) ? Number.NaN : poValue(f, s, percent);
        },
      };
    },
  };
}

export const APO = poIndicator("APO", false);
export const PPO = poIndicator("PPO", true);

// ---------------------------------------------------------------- fast %K

/**
 * Stochastic fast %K over `period` bars: (close - lowest) / ((highest - lowest) / 100), 0 on a
 * flat range. Highest and lowest come from monotonic deques (the values TA-Lib's rescanning
 * loop finds).
 */
class FastK {
  private t = -1;
  private readonly hi: WindowExtreme;
  private readonly lo: WindowExtreme;
  constructor(private readonly period: number) {
    this.hi = new WindowExtreme(period, true);
    this.lo = new WindowExtreme(period, false);
  }
  /** %K of this bar, NaN for the first `period - 1` bars. */
  next(h: number, l: number, c: number): number {
    const t = ++this.t;
    this.hi.push(t, h);
    this.lo.push(t, l);
    if (t < this.period - 1) return Number.NaN;
    const lowest = this.lo.value;
    const diff = (this.hi.value - lowest) / 100.0;
    return diff !== 0.0 ? (c - lowest) / diff : 0.0;
  }
}

/** Fast %K of rows [0, n) of the inputs; NaN before `period - 1`. */
function fastKBatch(h: Float64Array, l: Float64Array, c: Float64Array, period: number): Float64Array {
  const n = h.length;
  const out = nanArray(n);
  const k = new FastK(period);
  for (let i = 0; i < n; i++) out[i] = k.next(h[i] as number, l[i] as number, c[i] as number);
  return out;
}

// ---------------------------------------------------------------- STOCHF, STOCHRSI

const fkPeriod = intOption("fastk_period", 5, 1);
const fdPeriod = intOption("fastd_period", 3, 1);
const fdMa = maTypeOption("fastd_matype");

interface StochFParams {
  k: number;
  d: number;
  dType: number;
}

function stochFParams(opts: Options): StochFParams {
  return { k: optOf(opts, fkPeriod), d: optOf(opts, fdPeriod), dType: optOf(opts, fdMa) };
}

function stochFLookback(m: StochFParams): number {
  return m.k - 1 + maLookback(m.dType, m.d);
}

/** STOCHF of (h, l, c) written into outK/outD at `offset + i`, from its lookback on. */
function stochFInto(
  h: Float64Array,
  l: Float64Array,
  c: Float64Array,
  m: StochFParams,
  outK: Float64Array,
  outD: Float64Array,
  offset: number,
): void {
  const n = h.length;
  const lbK = m.k - 1;
  const lb = stochFLookback(m);
  if (n <= lb) return;
  const fk = fastKBatch(h, l, c, m.k);
  const fd = maBatch(m.dType, fk.subarray(lbK), m.d);
  for (let i = lb; i < n; i++) {
    outK[offset + i] = fk[i] as number;
    outD[offset + i] = fd[i - lbK] as number;
  }
}

/** Streaming STOCHF: %K, then the %D average of %K; both NaN until %D is warm. */
class StochFState {
  private readonly fk: FastK;
  private readonly fd: ScalarStream;
  constructor(m: StochFParams) {
    this.fk = new FastK(m.k);
    this.fd = maStream(m.dType, m.d);
  }
  next(h: number, l: number, c: number, out: Float64Array): void {
    const k = this.fk.next(h, l, c);
    const d = Number.isNaN(k) ? Number.NaN : this.fd.next(k);
    out[0] = Number.isNaN(d) ? Number.NaN : k;
    out[1] = d;
  }
}

const FAST_OUTPUTS = ["fastk", "fastd"] as const;

export const STOCHF: Indicator = {
  name: "STOCHF",
  inputs: ["high", "low", "close"],
  options: [fkPeriod, fdPeriod, fdMa],
  outputs: FAST_OUTPUTS,
  lookback: (opts) => stochFLookback(stochFParams(opts)),
  batch(inputs, opts) {
    const h = input(inputs, 0);
    const n = h.length;
    const outK = nanArray(n);
    const outD = nanArray(n);
    stochFInto(h, input(inputs, 1), input(inputs, 2), stochFParams(opts), outK, outD, 0);
    return [outK, outD];
  },
  stream(opts) {
    const s = new StochFState(stochFParams(opts));
    return {
      next(values, out) {
        s.next(val(values, 0), val(values, 1), val(values, 2), out);
      },
    };
  },
};

/** STOCHRSI: STOCHF with high = low = close = RSI(timeperiod), from RSI's first value. */
const srsiPeriod = intOption("timeperiod", 14, 2);

export const STOCHRSI: Indicator = {
  name: "STOCHRSI",
  inputs: ["real"],
  options: [srsiPeriod, fkPeriod, fdPeriod, fdMa],
  outputs: FAST_OUTPUTS,
  lookback: (opts) => optOf(opts, srsiPeriod) + stochFLookback(stochFParams(opts)),
  batch(inputs, opts) {
    const x = input(inputs, 0);
    const p = optOf(opts, srsiPeriod);
    const n = x.length;
    const outK = nanArray(n);
    const outD = nanArray(n);
    if (n > p) {
      const rsi = rsiBatch(x, p, false).subarray(p);
      stochFInto(rsi, rsi, rsi, stochFParams(opts), outK, outD, p);
    }
    return [outK, outD];
  },
  stream(opts) {
    const rsi = new RsiState(optOf(opts, srsiPeriod), false);
    const s = new StochFState(stochFParams(opts));
    return {
      next(values, out) {
        const r = rsi.next(val(values, 0));
        if (Number.isNaN(r)) out.fill(Number.NaN);
        else s.next(r, r, r, out);
      },
    };
  },
};

// ---------------------------------------------------------------- STOCH

const skPeriod = intOption("slowk_period", 3, 1);
const skMa = maTypeOption("slowk_matype");
const sdPeriod = intOption("slowd_period", 3, 1);
const sdMa = maTypeOption("slowd_matype");

interface StochParams {
  k: number;
  sk: number;
  skType: number;
  sd: number;
  sdType: number;
}

function stochParams(opts: Options): StochParams {
  return {
    k: optOf(opts, fkPeriod),
    sk: optOf(opts, skPeriod),
    skType: optOf(opts, skMa),
    sd: optOf(opts, sdPeriod),
    sdType: optOf(opts, sdMa),
  };
}

function stochLookback(m: StochParams): number {
  return m.k - 1 + maLookback(m.skType, m.sk) + maLookback(m.sdType, m.sd);
}

/**
 * Slow stochastic: slow %K = MA(fast %K), slow %D = MA(slow %K), each average starting where
 * its input starts (TA-Lib runs TA_MA on the trimmed buffers).
 */
export const STOCH: Indicator = {
  name: "STOCH",
  inputs: ["high", "low", "close"],
  options: [fkPeriod, skPeriod, skMa, sdPeriod, sdMa],
  outputs: ["slowk", "slowd"],
  lookback: (opts) => stochLookback(stochParams(opts)),
  batch(inputs, opts) {
    const h = input(inputs, 0);
    const m = stochParams(opts);
    const n = h.length;
    const outK = nanArray(n);
    const outD = nanArray(n);
    const lb = stochLookback(m);
    if (n <= lb) return [outK, outD];
    const lbK = m.k - 1;
    const lbKS = maLookback(m.skType, m.sk);
    const fk = fastKBatch(h, input(inputs, 1), input(inputs, 2), m.k);
    const sk = maBatch(m.skType, fk.subarray(lbK), m.sk);
    const sd = maBatch(m.sdType, sk.subarray(lbKS), m.sd);
    for (let i = lb; i < n; i++) {
      outK[i] = sk[i - lbK] as number;
      outD[i] = sd[i - lbK - lbKS] as number;
    }
    return [outK, outD];
  },
  stream(opts) {
    const m = stochParams(opts);
    const fk = new FastK(m.k);
    const sk = maStream(m.skType, m.sk);
    const sd = maStream(m.sdType, m.sd);
    return {
      next(values, out) {
        out[0] = Number.NaN;
        out[1] = Number.NaN;
        const k = fk.next(val(values, 0), val(values, 1), val(values, 2));
        if (Number.isNaN(k)) return;
        const slowK = sk.next(k);
        if (Number.isNaN(slowK)) return;
        const slowD = sd.next(slowK);
        if (Number.isNaN(slowD)) return;
        out[0] = slowK;
        out[1] = slowD;
      },
    };
  },
};

export const MA_MOMENTUM_GROUP: readonly Indicator[] = [APO, PPO, STOCH, STOCHF, STOCHRSI];
