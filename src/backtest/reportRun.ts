import { isoTime, isoTimeShort } from "../core/time.js";
import type { ThresholdRule } from "./grid.js";
import type { PredictionsProvenance } from "./inSample.js";
import type { OverfitJson } from "./overfit.js";
import { renderReportHtml } from "./report/html.js";
import { renderEquityPng } from "./report/png.js";
import type { SearchRange } from "./search.js";
import { runBacktest } from "./traderRun.js";
import type { BacktestOptions, BacktestResult, Bars, GridCell, Metrics, Signals } from "./types.js";

/**
 * `itb report`'s backtest: one run with full trades at the chosen thresholds (the best cell of
 * the last threshold search while it is up to date, else the config's own), its holdout on its
 * own, and what the HTML page, the PNG and the JSON show. The pipeline reads the predictions and
 * the search result and writes the files.
 */

/** A threshold search's result as its JSON file (simulation.json) records it. */
export interface SimulationFile {
  best?: GridCell;
  grid?: GridCell[];
  rank_by?: string;
  min_trades?: number;
  signal_generator?: string;
  range?: { start: string; end: string; rows: number };
  holdout?: { from: string; start: string; end: string; rows: number; metrics: Metrics } | null;
  inputs?: Record<string, unknown>;
  /** The grid's overfitting odds (written since itb records them). */
  overfitting?: OverfitJson;
}

/**
 * Why a search's result no longer fits the config and predictions (`current`: what the search
 * would record now, see the pipeline's searchInputs), or undefined when it does.
 */
export function staleReason(
  sim: SimulationFile,
  current: Record<string, unknown>,
  rule: string,
): string | undefined {
  if (sim.signal_generator !== rule)
    return `it searched ${sim.signal_generator}, the config's rule is ${rule}`;
  const was = sim.inputs as { config_sha256?: string; predictions?: object } | undefined;
  const now = current as { config_sha256: string; predictions: object };
  if (was === undefined) return "it records no inputs (made by an older itb)";
  if (was.config_sha256 !== now.config_sha256) return "signal_sets, simulate_model or backtest changed since";
  if (JSON.stringify(was.predictions) !== JSON.stringify(now.predictions))
    return "the predictions changed since";
  return undefined;
}

function sliceBars(b: Bars, start: number, end: number): Bars {
  return {
    time: b.time.subarray(start, end),
    open: b.open.subarray(start, end),
    high: b.high.subarray(start, end),
    low: b.low.subarray(start, end),
    close: b.close.subarray(start, end),
  };
}

export interface ReportRunInput {
  symbol: string;
  freq: string;
  configHash: string;
  /** Epoch ms the report is stamped with. */
  now: number;
  /** The predictions table as read, and where it came from. */
  input: string;
  provenance: PredictionsProvenance;
  inSample: boolean;
  /** Every row of the table. */
  bars: Bars;
  /** The searched rule's buy and sell columns (1 = signal) and its score columns, every row. */
  buy: Float64Array;
  sell: Float64Array;
  scores: readonly Float64Array[];
  /** The score columns' names. */
  scoreNames: readonly string[];
  /** The rows the search used, its holdout split included (`split === end` without one). */
  range: SearchRange;
  rule: ThresholdRule;
  params: Record<string, number>;
  /** The search result the thresholds came from (its file), or undefined for the config's own. */
  search: { file: string; result: SimulationFile } | undefined;
  /** min_trades of the config, used when the thresholds are the config's own. */
  minTrades: number;
  options: BacktestOptions;
}

export interface ReportOutcome {
  params: Record<string, number>;
  paramsFrom: "simulation" | "config";
  /** Fewer trades than this are too few to tell an edge from luck (as the search ranked). */
  minTrades: number;
  /** The predictions are in-sample (allowed by the opt-in): every number is marked IN-SAMPLE. */
  inSample: boolean;
  result: BacktestResult;
  range: { start: string; end: string; rows: number };
  /** The search's holdout: from when, and the chosen thresholds' metrics there. */
  holdout?: { start: string; metrics: Metrics };
}

/** The report's backtest and its three renderings (HTML page, PNG of the equity curve, JSON). */
export function buildReport(input: ReportRunInput): {
  outcome: ReportOutcome;
  html: string;
  png: Uint8Array;
  json: Record<string, unknown>;
} {
  const { range: span, params, rule, options, inSample } = input;
  const sim = input.search?.result;
  const fromSim = sim !== undefined;
  const toSignals = (x: Float64Array) =>
    Uint8Array.from(x.subarray(span.start, span.end), (v) => (v === 1 ? 1 : 0));
  const signals: Signals = { buy: toSignals(input.buy), sell: toSignals(input.sell) };
  const bars = sliceBars(input.bars, span.start, span.end);
  const result = runBacktest(bars, signals, options);
  const holdout = fromSim && span.split < span.end ? (sim?.holdout ?? undefined) : undefined;
  // The holdout on its own, from the initial capital, as the search measured it: its numbers
  // are the ones to judge the thresholds by (the whole run carries the selection's equity in).
  const holdoutRun =
    holdout !== undefined
      ? runBacktest(bars, signals, options, { start: span.split - span.start })
      : undefined;
  const selection = holdout !== undefined ? sim?.best?.metrics : undefined;

  const m = result.metrics;
  const chosen = holdout
    ? ` (chosen on rows before ${holdout.start}; from then on it is a holdout)`
    : fromSim
      ? " (chosen on these rows: in-sample for the thresholds)"
      : "";
  const title = `${input.symbol} ${input.freq} — ${rule} ${Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ")}${chosen}`;
  const gridCells = fromSim ? (sim?.grid ?? []) : [];
  // as the search ranked (an older simulation.json records none: it ranked without a minimum)
  const minTrades = fromSim ? (sim?.min_trades ?? 0) : input.minTrades;
  const axes = [...new Set(gridCells.flatMap((c) => Object.keys(c.params)))].filter(
    (k) => new Set(gridCells.map((c) => c.params[k])).size > 1,
  );
  const grid =
    axes.length === 2
      ? {
          xParam: axes[0] as string,
          yParam: axes[1] as string,
          cells: gridCells,
          metric: (sim?.rank_by ?? "profitPctPerMonth") as keyof Metrics,
          ...(sim?.best?.params !== undefined ? { best: sim.best.params } : {}),
          minTrades,
        }
      : undefined;
  const score =
    rule === "threshold_rule"
      ? {
          name: input.scoreNames[0] as string,
          values: (input.scores[0] as Float64Array).subarray(span.start, span.end),
          ...(params.buy_signal_threshold !== undefined ? { buyThreshold: params.buy_signal_threshold } : {}),
          ...(params.sell_signal_threshold !== undefined
            ? { sellThreshold: params.sell_signal_threshold }
            : {}),
        }
      : undefined;
  const generatedAt = isoTime(input.now);
  const holdoutStart = bars.time[span.split - span.start] as number;
  const html = renderReportHtml({
    title,
    symbol: input.symbol,
    freq: input.freq,
    bars,
    ...(score !== undefined ? { score } : {}),
    result,
    ...(grid !== undefined ? { grid } : {}),
    generatedAt,
    configHash: input.configHash,
    inSample,
    thresholds: fromSim ? "search" : "config",
    minTrades,
    ...(holdoutRun !== undefined && selection !== undefined
      ? { holdout: { start: holdoutStart, result: holdoutRun, selection } }
      : {}),
    ...(fromSim && sim?.overfitting !== undefined ? { overfit: sim.overfitting } : {}),
  });
  const png = renderEquityPng({
    title: `${input.symbol} ${input.freq}`,
    bars,
    result,
    inSample,
    ...(holdoutRun !== undefined ? { holdout: { start: holdoutStart, metrics: holdoutRun.metrics } } : {}),
  });
  const range = {
    start: isoTimeShort(bars.time[0] as number),
    end: isoTimeShort(bars.time[bars.time.length - 1] as number),
    rows: bars.time.length,
  };
  const json = {
    kind: "report",
    generated_at: generatedAt,
    symbol: input.symbol,
    freq: input.freq,
    input: input.input,
    predictions: input.provenance,
    // every number below is measured on the models' training rows (allowed by allow_in_sample)
    in_sample: inSample,
    signal_generator: rule,
    params,
    params_from: input.search?.file ?? "config",
    range,
    // With a holdout, the search's own numbers for the two parts of the range.
    selection:
      fromSim && sim?.best !== undefined ? { range: sim.range ?? null, metrics: sim.best.metrics } : null,
    // the holdout backtested on its own (the search's numbers there, recomputed with its months and trades)
    holdout:
      holdout !== undefined && holdoutRun !== undefined
        ? { ...holdout, metrics: holdoutRun.metrics, monthly: holdoutRun.monthly, trades: holdoutRun.trades }
        : null,
    // the search's overfitting odds (its number of cells, PBO, the deflated Sharpe ratio of its best cell)
    overfitting: fromSim ? (sim?.overfitting ?? null) : null,
    options,
    metrics: m,
    monthly: result.monthly,
    trades: result.trades,
  };
  const outcome: ReportOutcome = {
    params,
    paramsFrom: fromSim ? "simulation" : "config",
    minTrades,
    inSample,
    result,
    range,
    ...(holdout !== undefined && holdoutRun !== undefined
      ? { holdout: { start: holdout.start, metrics: holdoutRun.metrics } }
      : {}),
  };
  return { outcome, html, png, json };
}
