import { type GridAxis, gridAxes, type RankMetric, THRESHOLD_RULE_PARAMETERS } from "../config/index.js";
import { ConfigError } from "../core/errors.js";
import { ruleThresholds, type ThresholdSide, thresholdColumn } from "../signals/thresholds.js";
import { buyHoldPath, dayStarts, runEngine } from "./engine.js";
import type { BacktestOptions, Bars, GridCell, Metrics, Signals } from "./types.js";

/**
 * The threshold search (the original's simulate_model / train_signal_model): every combination
 * of the grid's values is turned into buy/sell signals by the threshold rule and backtested;
 * cells are ranked by a metric. Pure computation: the caller owns files and threads.
 */

/** The rules whose parameters are searched, with the parameter names each reads. */
export const THRESHOLD_RULES = THRESHOLD_RULE_PARAMETERS;

export type ThresholdRule = keyof typeof THRESHOLD_RULES;

/**
 * Expands the grid into parameter sets (sklearn's ParameterGrid order: keys sorted, the last key
 * varies fastest). With `buySellEqual` the sell axes are dropped and each sell threshold is the
 * negated buy threshold, as in the original.
 */
export function expandGrid(
  grid: Record<string, unknown>,
  base: Record<string, number>,
  buySellEqual: boolean,
  path = "simulate_model.grid",
): Record<string, number>[] {
  const kept = Object.keys(grid).filter((name) => !(buySellEqual && name.startsWith("sell_")));
  return expandAxes(gridAxes(Object.fromEntries(kept.map((k) => [k, grid[k]])), path), base, buySellEqual);
}

/** `expandGrid` over axes already parsed (the search settings' grid). */
export function expandAxes(
  axes: readonly GridAxis[],
  base: Record<string, number>,
  buySellEqual: boolean,
): Record<string, number>[] {
  let cells: Record<string, number>[] = [{ ...base }];
  for (const axis of axes) {
    if (buySellEqual && axis.name.startsWith("sell_")) continue;
    const next: Record<string, number>[] = [];
    for (const c of cells) for (const v of axis.values) next.push({ ...c, [axis.name]: v });
    cells = next;
  }
  if (buySellEqual) {
    for (const c of cells) {
      if (c.buy_signal_threshold !== undefined) c.sell_signal_threshold = -c.buy_signal_threshold;
      if (c.buy_signal_threshold_2 !== undefined) c.sell_signal_threshold_2 = -c.buy_signal_threshold_2;
    }
  }
  return cells;
}

/** Checks that every parameter the rule reads has a value, naming what is missing. */
export function checkRuleParameters(rule: ThresholdRule, cells: readonly Record<string, number>[]): void {
  const first = cells[0];
  if (first === undefined) throw new ConfigError("simulate_model.grid: the grid has no cells", []);
  const missing = THRESHOLD_RULES[rule].filter((p) => typeof first[p] !== "number");
  if (missing.length > 0) {
    const msg = `simulate_model.grid: ${rule} needs ${missing.join(", ")} (in the grid or in the signal set's config.parameters)`;
    throw new ConfigError(msg, [msg]);
  }
}

/** Buy/sell signals of a threshold rule (signals/thresholds.ts) into reusable buffers. */
export function thresholdSignals(
  rule: ThresholdRule,
  scores: readonly Float64Array[],
  p: Record<string, number>,
  out: Signals,
): Signals {
  const thresholds = ruleThresholds(rule, p);
  thresholdColumn("buy", scores, thresholds.buy, out.buy);
  thresholdColumn("sell", scores, thresholds.sell, out.sell);
  return out;
}

export interface GridInput {
  bars: Bars;
  rule: ThresholdRule;
  /** The rule's score columns, aligned with the bars. */
  scores: Float64Array[];
  options: BacktestOptions;
  /** Row range [start, end) the cells are backtested on. */
  start: number;
  end: number;
}

/** Bytes of signal columns a grid keeps for reuse across its cells. */
const COLUMN_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * A grid's results: every cell's metrics and its return per UTC day of the range (for the
 * overfitting odds, overfit.ts).
 */
export interface GridEvaluation {
  metrics: Metrics[];
  /** UTC days the range touches (the first and last may be partial). */
  days: number;
  /**
   * cells × days, one row per cell in the cells' order: the day-end equity over the previous
   * day's (the first day's over the initial capital), minus 1; 0 after the equity reached 0.
   */
  dayReturns: Float64Array;
}

/**
 * Backtests the given cells in this thread. The buy column depends only on the buy thresholds
 * and the sell column only on the sell thresholds, so each distinct column is computed once
 * and kept (up to COLUMN_CACHE_BYTES; beyond, into scratch buffers); the buy-and-hold pass,
 * which does not depend on the signals, is done once for all cells.
 */
export function evaluateCells(input: GridInput, cells: readonly Record<string, number>[]): GridEvaluation {
  const n = input.bars.time.length;
  const two = input.rule === "threshold_rule2";
  const scores = two ? input.scores.slice(0, 2) : input.scores.slice(0, 1);
  const buyHold = buyHoldPath(input.bars, input.start, input.end);
  const cache = new Map<string, Uint8Array>();
  let budget = COLUMN_CACHE_BYTES;
  const scratch = { buy: new Uint8Array(0), sell: new Uint8Array(0) };
  const column = (side: ThresholdSide, thresholds: number[]): Uint8Array => {
    const key = `${side}${thresholds.join(",")}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    if (budget >= n) {
      budget -= n;
      const col = thresholdColumn(side, scores, thresholds, new Uint8Array(n));
      cache.set(key, col);
      return col;
    }
    if (scratch[side].length !== n) scratch[side] = new Uint8Array(n);
    return thresholdColumn(side, scores, thresholds, scratch[side]);
  };
  const starts = dayStarts(input.bars.time, input.start, input.end);
  const days = input.end > input.start ? starts.length + 1 : 0;
  const dayEnds = { starts, equity: new Float64Array(days) };
  const dayReturns = new Float64Array(cells.length * days);
  const metrics = cells.map((p, c) => {
    const thresholds = ruleThresholds(input.rule, p);
    const buy = column("buy", thresholds.buy);
    const sell = column("sell", thresholds.sell);
    const m = runEngine(input.bars, { buy, sell }, input.options, {
      start: input.start,
      end: input.end,
      collectTrades: false,
      buyHold,
      ...(days > 0 ? { days: dayEnds } : {}),
    }).metrics;
    let prev = input.options.initialCapital;
    for (let d = 0; d < days; d++) {
      const e = dayEnds.equity[d] as number;
      dayReturns[c * days + d] = prev > 0 ? e / prev - 1 : 0;
      prev = e;
    }
    return m;
  });
  return { metrics, days, dayReturns };
}

/**
 * Where a cell stands before its metric is compared: 0 with at least `minTrades` trades, 1 with
 * fewer, 2 without any (no result at all, only the zeros of doing nothing). With `minTrades` 0
 * every cell stands level, as in the original.
 */
export function tradeTier(trades: number, minTrades: number): number {
  if (minTrades <= 0 || trades >= minTrades) return 0;
  return trades > 0 ? 1 : 2;
}

/**
 * Ranks cells by a metric, best first; NaN ranks last, ties keep grid order. Cells with fewer
 * than `minTrades` trades rank after every cell that has enough (and cells without a trade after
 * those), in metric order among themselves: a cell whose profit rests on one or two trades is
 * luck as often as an edge, and a grid search over many cells finds such luck easily.
 */
export function rankCells(cells: readonly GridCell[], by: RankMetric, minTrades = 0): GridCell[] {
  const key = (c: GridCell) => {
    const v = c.metrics[by];
    return Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v;
  };
  const tier = (c: GridCell) => tradeTier(c.metrics.trades, minTrades);
  return cells
    .map((c, i) => ({ c, i }))
    .sort((a, b) => tier(a.c) - tier(b.c) || key(b.c) - key(a.c) || a.i - b.i)
    .map((x) => x.c);
}
