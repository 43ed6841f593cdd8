import type { HoldoutSplit, RankMetric, RowBound, SearchSettings, SignalSet } from "../config/index.js";
import { ConfigError, DataError, UsageError } from "../core/errors.js";
import { type Frame, lowerBound } from "../core/frame.js";
import { isoTimeShort } from "../core/time.js";
import type { SignalStep } from "../signals/index.js";
import {
  checkRuleParameters,
  expandAxes,
  type GridEvaluation,
  type GridInput,
  rankCells,
  THRESHOLD_RULES,
  type ThresholdRule,
  thresholdSignals,
} from "./grid.js";
import { runGrid } from "./gridThreads.js";
import { type OverfitOdds, overfitOdds } from "./overfit.js";
import { runBacktest } from "./traderRun.js";
import type { BacktestOptions, Bars, GridCell, Metrics } from "./types.js";

/** CSCV blocks for a grid's PBO (fewer when the days are too few; see overfitOdds). */
const PBO_BLOCKS = 16;

/**
 * The threshold search around the grid (grid.ts): which signal set is searched, its cells, the
 * rows it runs on (simulate_model's bounds, the scored rows, the holdout split), the ranked
 * cells and the best cell's check on the holdout. It takes the typed search settings
 * (config/settings.ts) and columns already read; the pipeline reads and writes the files.
 */

/** The signal_sets entry whose thresholds are searched: `wanted` (simulate_model.signal_generator), else the last threshold rule. */
export function searchedSignalSet(
  sets: readonly SignalSet[],
  wanted: string | undefined,
): { index: number; set: SignalSet; rule: ThresholdRule } {
  let index = -1;
  if (wanted !== undefined) index = sets.findIndex((s) => s.generator === wanted);
  else
    for (let i = sets.length - 1; i >= 0 && index < 0; i--)
      if ((sets[i] as SignalSet).generator in THRESHOLD_RULES) index = i;
  if (index < 0) {
    const msg =
      wanted !== undefined
        ? `simulate_model.signal_generator: no signal_sets entry uses generator "${wanted}"`
        : "signal_sets: no threshold_rule or threshold_rule2 entry to search";
    throw new ConfigError(msg, [msg]);
  }
  const set = sets[index] as SignalSet;
  if (!(set.generator in THRESHOLD_RULES)) {
    const msg = `simulate_model.signal_generator: "${set.generator}" has no thresholds to search; use threshold_rule or threshold_rule2`;
    throw new ConfigError(msg, [msg]);
  }
  return { index, set, rule: set.generator as ThresholdRule };
}

/** The numeric parameters of a signal set's config (the thresholds it trades when nothing is searched). */
export function baseParameters(set: SignalSet): Record<string, number> {
  const p = set.config.parameters;
  const out: Record<string, number> = {};
  if (p !== null && typeof p === "object") {
    for (const [k, v] of Object.entries(p as Record<string, unknown>)) if (typeof v === "number") out[k] = v;
  }
  return out;
}

/** The signal sets with sets[index]'s parameters replaced (a grid's cell, or the chosen one). */
export function withParameters(
  sets: readonly SignalSet[],
  index: number,
  params: Record<string, number>,
): SignalSet[] {
  return sets.map((s, i) =>
    i === index ? { ...s, config: { ...s.config, parameters: { ...baseParameters(s), ...params } } } : s,
  );
}

/** What a search runs: the searched set, its rule and the grid's cells (parameters checked). */
export interface SearchPlan {
  /** Index of the searched set in signal_sets. */
  index: number;
  set: SignalSet;
  rule: ThresholdRule;
  /** Every cell's parameters: the set's own, overridden by the grid's values. */
  cells: Record<string, number>[];
}

/** The searched set and the grid's cells; a config without a grid or with a rule parameter unset is a ConfigError. */
export function planSearch(sets: readonly SignalSet[], search: SearchSettings): SearchPlan {
  if (search.grid.length === 0) {
    throw new ConfigError(
      "simulate_model.grid: missing; list the thresholds to search, e.g. buy_signal_threshold: [0.02, 0.05]",
      ["simulate_model.grid: missing"],
    );
  }
  const { index, set, rule } = searchedSignalSet(sets, search.signalGenerator);
  const cells = expandAxes(search.grid, baseParameters(set), search.buySellEqual);
  checkRuleParameters(rule, cells);
  return { index, set, rule, cells };
}

/** The searched rule's score columns (its step's inputs, prefixes applied); `file` names the table in errors. */
export function scoreColumns(step: SignalStep, frame: Frame, file: string): Float64Array[] {
  return step.inputs.map((n) => {
    if (!frame.has(n)) {
      throw new DataError(
        `no column "${n}" for ${step.path} (${step.generator}); columns: ${frame.columnNames.join(", ")}`,
        { file },
      );
    }
    return frame.get(n);
  });
}

/** Row index of a bound within `time`: a row number (clamped to the rows), or the first row at or after a time. */
export function rowOf(time: Float64Array, bound: RowBound | undefined, fallback: number): number {
  if (bound === undefined) return fallback;
  if ("row" in bound) return Math.min(Math.max(0, bound.row), time.length);
  return lowerBound(time, bound.time);
}

/** First and one-past-last row where every score is a number (walk-forward predictions cover only part). */
function scoredSpan(
  scores: readonly Float64Array[],
  start: number,
  end: number,
): { start: number; end: number } {
  const ok = (i: number) => scores.every((s) => !Number.isNaN(s[i] as number));
  let a = start;
  while (a < end && !ok(a)) a++;
  let b = end;
  while (b > a && !ok(b - 1)) b--;
  return { start: a, end: b };
}

/** Rows of a search: cells are optimised on [start, split), the holdout is [split, end) (`split === end` without one). */
export interface SearchRange {
  start: number;
  split: number;
  end: number;
}

/**
 * The rows a threshold search (and the report of its result) uses: the search's data_start and
 * data_end (end exclusive) narrowed to the rows where every score is a number, and the holdout
 * split. `file` names the table in errors.
 */
export function searchRange(
  time: Float64Array,
  scores: readonly Float64Array[],
  bounds: Pick<SearchSettings, "dataStart" | "dataEnd">,
  holdout: HoldoutSplit | undefined,
  file: string,
): SearchRange {
  const from = rowOf(time, bounds.dataStart, 0);
  const to = rowOf(time, bounds.dataEnd, time.length);
  const span = scoredSpan(scores, from, Math.max(from, to));
  if (span.end - span.start < 2) {
    throw new DataError(
      `no scored rows to simulate between ${isoTimeShort(time[from] ?? 0)} and the end; the score column(s) are all NaN`,
      { file },
    );
  }
  let split = span.end;
  if (holdout !== undefined) {
    split = lowerBound(time, holdout.time);
    if (split <= span.start + 1 || split >= span.end - 1) {
      throw new UsageError(
        `--holdout ${holdout.text}: must fall inside the scored rows ${isoTimeShort(time[span.start] as number)} .. ${isoTimeShort(time[span.end - 1] as number)}`,
      );
    }
  }
  return { start: span.start, split, end: span.end };
}

/** The best cell's backtest on the rows after the split, from the initial capital. */
export interface HoldoutCheck {
  /** The --holdout / simulate_model.holdout text the split came from. */
  from: string;
  start: string;
  end: string;
  rows: number;
  params: Record<string, number>;
  metrics: Metrics;
}

/** A search's result: every cell, ranked, and the best cell's holdout check. */
export interface SearchOutcome {
  rule: ThresholdRule;
  rankBy: RankMetric;
  /** Cells with fewer trades rank after the others (simulate_model.min_trades). */
  minTrades: number;
  options: BacktestOptions;
  /** The rows the cells were optimised on. */
  range: { start: string; end: string; rows: number };
  holdout?: HoldoutCheck;
  cells: GridCell[];
  ranked: GridCell[];
  /** The best topn_to_store cells (at least one). */
  top: GridCell[];
  /** The grid's overfitting odds over the optimised rows' UTC days: cells, PBO, the best cell's deflated Sharpe ratio. */
  overfit: OverfitOdds;
}

export interface SearchInput {
  bars: Bars;
  plan: SearchPlan;
  /** The rule's score columns, aligned with the bars. */
  scores: Float64Array[];
  range: SearchRange;
  search: SearchSettings;
  /** The split's source when the range has a holdout. */
  holdout: HoldoutSplit | undefined;
  options: BacktestOptions;
  /** Worker threads for the grid (see gridWorkers). */
  workers: number;
  /** Aborting terminates the grid's worker threads. */
  signal?: AbortSignal;
  /**
   * Backtests the cells elsewhere (the pipeline's task jobs), their metrics and day returns in
   * the cells' order, or undefined to use the worker threads. Called with the grid's input.
   */
  evaluate?: (
    grid: GridInput,
    cells: readonly Record<string, number>[],
  ) => Promise<GridEvaluation | undefined>;
}

/** Backtests every cell on [start, split), ranks them, and checks the best on [split, end). */
export async function runSearch(input: SearchInput): Promise<SearchOutcome> {
  const { bars, plan, scores, range, search, options } = input;
  const { start, split, end } = range;
  const time = bars.time;
  const grid = { bars, rule: plan.rule, scores, options, start, end: split };
  const evaluation =
    (await input.evaluate?.(grid, plan.cells)) ??
    (await runGrid(grid, plan.cells, input.workers, input.signal));
  const cells: GridCell[] = plan.cells.map((params, i) => ({
    params,
    metrics: evaluation.metrics[i] as Metrics,
  }));
  const ranked = rankCells(cells, search.rankBy, search.minTrades);
  const top = ranked.slice(0, Math.max(1, search.topCells));
  const overfit = overfitOdds(
    evaluation.dayReturns,
    cells.length,
    evaluation.days,
    cells.indexOf(ranked[0] as GridCell),
    { blocks: PBO_BLOCKS, trial: "cell", period: "day" },
  );

  let holdout: HoldoutCheck | undefined;
  const best = ranked[0] as GridCell;
  if (split < end) {
    const n = time.length;
    const signals = thresholdSignals(plan.rule, scores, best.params, {
      buy: new Uint8Array(n),
      sell: new Uint8Array(n),
    });
    const r = runBacktest(bars, signals, options, { start: split, end, collectTrades: false });
    holdout = {
      from: (input.holdout as HoldoutSplit).text,
      start: isoTimeShort(time[split] as number),
      end: isoTimeShort(time[end - 1] as number),
      rows: end - split,
      params: best.params,
      metrics: r.metrics,
    };
  }
  return {
    rule: plan.rule,
    rankBy: search.rankBy,
    minTrades: search.minTrades,
    options,
    range: {
      start: isoTimeShort(time[start] as number),
      end: isoTimeShort(time[split - 1] as number),
      rows: split - start,
    },
    ...(holdout !== undefined ? { holdout } : {}),
    cells,
    ranked,
    top,
    overfit,
  };
}
