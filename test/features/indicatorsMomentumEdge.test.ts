import { beforeAll, describe, it } from "vitest";
import { sampleCandles } from "../helpers/candles.js";
import { type Columns, checkAll } from "./indicatorsMomentumHelpers.js";

/**
 * The division-by-zero and flat-market branches, against TA-Lib: real candles with a long flat
 * stretch (zero ranges, zero changes: RSI/CMO/ADX/DX/DI sums decay below TA_EPSILON; STOCH,
 * WILLR, BOP, ULTOSC, CCI see zero ranges or deviations), a stretch of zero volume (MFI's
 * "sum < 1" rule) and a stretch of zero prices (ROC family, PPO, TRIX divide by zero).
 */

const N = 4000;

const SHORT: Record<string, Record<string, number>> = {
  ADX: { timeperiod: 3 },
  ADXR: { timeperiod: 3 },
  APO: { fastperiod: 3, slowperiod: 5, matype: 1 },
  AROON: { timeperiod: 3 },
  AROONOSC: { timeperiod: 3 },
  BOP: {},
  CCI: { timeperiod: 3 },
  CMO: { timeperiod: 3 },
  DX: { timeperiod: 3 },
  MACD: { fastperiod: 3, slowperiod: 6, signalperiod: 2 },
  MACDFIX: { signalperiod: 3 },
  MFI: { timeperiod: 3 },
  MINUS_DI: { timeperiod: 1 },
  MINUS_DM: { timeperiod: 1 },
  MOM: { timeperiod: 1 },
  PLUS_DI: { timeperiod: 1 },
  PLUS_DM: { timeperiod: 1 },
  PPO: { fastperiod: 3, slowperiod: 5, matype: 0 },
  ROC: { timeperiod: 1 },
  ROCP: { timeperiod: 1 },
  ROCR: { timeperiod: 1 },
  ROCR100: { timeperiod: 1 },
  RSI: { timeperiod: 3 },
  STOCH: { fastk_period: 3, slowk_period: 2, slowk_matype: 1, slowd_period: 2, slowd_matype: 2 },
  STOCHF: { fastk_period: 3, fastd_period: 2, fastd_matype: 6 },
  STOCHRSI: { timeperiod: 3, fastk_period: 3, fastd_period: 2 },
  TRIX: { timeperiod: 2 },
  ULTOSC: { timeperiod1: 2, timeperiod2: 3, timeperiod3: 4 },
  WILLR: { timeperiod: 3 },
};

let cols: Columns;

beforeAll(async () => {
  const f = await sampleCandles(["2023-03"]);
  const take = (name: string) => f.get(name).slice(0, N);
  const [open, high, low, close, volume] = ["open", "high", "low", "close", "volume"].map(take) as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  for (const x of [open, high, low, close]) x.fill(21000.37, 400, 2400);
  volume.fill(0, 2500, 2600);
  for (const x of [open, high, low, close]) x.fill(0, 2800, 2900);
  // A bar with high == low but a different close, and equal highs/lows for the tie rules.
  high[3100] = low[3100] = 20500;
  high.fill(high[3200] as number, 3200, 3210);
  low.fill(low[3300] as number, 3300, 3310);
  cols = { open, high, low, close, volume };
});

describe("momentum indicators vs TA-Lib on flat, zero-volume and zero-price stretches", () => {
  for (const [name, short] of Object.entries(SHORT)) {
    it(name, () => {
      checkAll(name, cols, {});
      checkAll(name, cols, short);
    });
  }
});
