import { barsOf } from "../../src/backtest/bars.js";
import { defaultBacktestOptions, runBacktest } from "../../src/backtest/engine.js";
import type { ReportInput } from "../../src/backtest/report/html.js";
import type { BacktestResult, Bars, GridCell, Signals } from "../../src/backtest/types.js";
import { lowerBound } from "../../src/core/frame.js";
import { sampleCandles } from "./candles.js";

const MINUTE = 60_000;

/**
 * A deterministic momentum score over real candles: percent distance of the close from its
 * simple moving average over `window` bars (NaN during the warm-up).
 */
export function momentumScore(close: Float64Array, window = 120): Float64Array {
  const out = new Float64Array(close.length).fill(Number.NaN);
  let sum = 0;
  for (let i = 0; i < close.length; i++) {
    sum += close[i] as number;
    if (i >= window) sum -= close[i - window] as number;
    if (i >= window - 1) out[i] = ((close[i] as number) / (sum / window) - 1) * 100;
  }
  return out;
}

export function thresholdSignals(score: Float64Array, buyAt: number, sellAt: number): Signals {
  const buy = new Uint8Array(score.length);
  const sell = new Uint8Array(score.length);
  for (let i = 0; i < score.length; i++) {
    const s = score[i] as number;
    if (s >= buyAt) buy[i] = 1;
    if (s <= sellAt) sell[i] = 1;
  }
  return { buy, sell };
}

export interface BacktestFixture {
  bars: Bars;
  score: Float64Array;
  buyThreshold: number;
  sellThreshold: number;
  result: BacktestResult;
  grid: GridCell[];
}

/**
 * The engine run on real BTCUSDT 1m candles from the bundled sample with the momentum score
 * and fixed thresholds (long only, next-open fills, 0.1 % fees), plus a 3 × 3 threshold grid.
 */
export async function backtestFixture(months: readonly string[] = ["2023-03"]): Promise<BacktestFixture> {
  const frame = await sampleCandles(months);
  const bars = barsOf(frame);
  const score = momentumScore(bars.close);
  const buyThreshold = 0.4;
  const sellThreshold = -0.4;
  const options = defaultBacktestOptions(MINUTE);
  const result = runBacktest(bars, thresholdSignals(score, buyThreshold, sellThreshold), options);
  const grid: GridCell[] = [];
  for (const buy of [0.2, 0.4, 0.6]) {
    for (const sell of [-0.6, -0.4, -0.2]) {
      const r = runBacktest(bars, thresholdSignals(score, buy, sell), options, { collectTrades: false });
      grid.push({ params: { buy_signal_threshold: buy, sell_signal_threshold: sell }, metrics: r.metrics });
    }
  }
  return { bars, score, buyThreshold, sellThreshold, result, grid };
}

/**
 * The fixture's run split at `start` (epoch ms) as a search with a holdout splits it: the
 * holdout backtested on its own from the initial capital, and the rows before it (the
 * selection) without trades.
 */
export function holdoutOf(f: BacktestFixture, start: number): NonNullable<ReportInput["holdout"]> {
  const split = lowerBound(f.bars.time, start);
  const signals = thresholdSignals(f.score, f.buyThreshold, f.sellThreshold);
  const options = f.result.options;
  return {
    start: f.bars.time[split] as number,
    result: runBacktest(f.bars, signals, options, { start: split }),
    selection: runBacktest(f.bars, signals, options, { end: split, collectTrades: false }).metrics,
  };
}

/** A complete report input from the fixture. */
export function reportInput(f: BacktestFixture, title = "BTCUSDT momentum"): ReportInput {
  return {
    title,
    symbol: "BTCUSDT",
    freq: "1m",
    bars: f.bars,
    score: {
      name: "momentum",
      values: f.score,
      buyThreshold: f.buyThreshold,
      sellThreshold: f.sellThreshold,
    },
    result: f.result,
    grid: {
      xParam: "buy_signal_threshold",
      yParam: "sell_signal_threshold",
      cells: f.grid,
      metric: "profitPct",
    },
    generatedAt: "2024-01-01T00:00:00.000Z",
    configHash: "0123456789abcdef",
  };
}
