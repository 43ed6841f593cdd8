import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { barsOf } from "../backtest/bars.js";
import { runBacktest } from "../backtest/engine.js";
import {
  checkRuleParameters,
  DEFAULT_MIN_TRADES,
  expandGrid,
  type RankMetric,
  rankCells,
  THRESHOLD_RULES,
  type ThresholdRule,
  thresholdSignals,
} from "../backtest/grid.js";
import { gridWorkers, runGrid } from "../backtest/gridThreads.js";
import { plural } from "../backtest/report/format.js";
import type { BacktestOptions, Bars, GridCell, Metrics } from "../backtest/types.js";
import { type Config, canonicalJson, type SignalSet } from "../config/index.js";
import { parseConfigTime } from "../config/primitives.js";
import { ConfigError, DataError, UsageError } from "../core/errors.js";
import { type Frame, lowerBound } from "../core/frame.js";
import type { Logger } from "../core/log.js";
import { writeFileAtomic } from "../data/atomic.js";
import { symbolFile } from "../data/paths.js";
import { frameFileInfo, readFrame } from "../data/store/index.js";
import { runSignalSets, type SignalStep } from "../signals/index.js";
import { backtestOptionsOf } from "./backtestOptions.js";
import { checkInSample, IN_SAMPLE, type PredictionsProvenance } from "./inSample.js";
import { resolveSignalSets } from "./signalStages.js";

/**
 * `itb simulate` (threshold search) and the backtest behind `itb report`: both read the
 * predictions table, run the config's signal_sets on it and trade the signals with the same
 * engine and options.
 */

const BAR_COLUMNS = ["open", "high", "low", "close"] as const;

export interface ScoredTable {
  file: string;
  frame: Frame;
  bars: Bars;
  /** Where the predictions came from ("predict-rolling", "predict" or unknown) and whether any row was in-sample. */
  provenance: PredictionsProvenance;
}

function predictionsMetricsFile(file: string): string {
  return `${file.replace(/\.[^./\\]+$/, "")}.metrics.json`;
}

function readProvenance(file: string): ScoredTable["provenance"] {
  const metricsFile = predictionsMetricsFile(file);
  if (!existsSync(metricsFile)) return { kind: "unknown", inSample: false, metricsFile: undefined };
  try {
    const j = JSON.parse(readFileSync(metricsFile, "utf8")) as { kind?: unknown; in_sample?: unknown };
    return {
      kind: typeof j.kind === "string" ? j.kind : "unknown",
      inSample: j.in_sample === true,
      metricsFile,
    };
  } catch {
    return { kind: "unknown", inSample: false, metricsFile };
  }
}

/** Reads the predictions table (or another table named by `input`) with the candle columns. */
export async function readScoredTable(config: Config, input?: string): Promise<ScoredTable> {
  const file = input ?? symbolFile(config, config.predict_file_name);
  const info = await frameFileInfo(file, { timeColumn: config.time_column });
  if (info === undefined) {
    throw new DataError("file not found; run `itb predict-rolling` (or `itb predict`) first", { file });
  }
  const missing = BAR_COLUMNS.filter((c) => !info.columns.includes(c));
  if (missing.length > 0) {
    throw new DataError(`missing candle column(s) ${missing.join(", ")}; the backtest trades on them`, {
      file,
    });
  }
  const frame = await readFrame(file, { timeColumn: config.time_column });
  return { file, frame, bars: barsOf(frame), provenance: readProvenance(file) };
}

/** The signal_sets entry whose thresholds are searched: simulate_model.signal_generator, else the last threshold rule. */
export function searchedSignalSet(config: Config): { index: number; set: SignalSet; rule: ThresholdRule } {
  const sets = config.signal_sets;
  const wanted = config.simulate_model?.signal_generator;
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

/** The searched rule's score columns (its step's inputs, prefixes applied). */
export function scoreColumns(step: SignalStep, frame: Frame, file: string): Float64Array[] {
  return step.inputs.map((n) => {
    if (!frame.has(n)) {
      throw new DataError(
        `no column "${n}" for ${step.path} (${step.generator}); columns: ${frame.columnNames.join(", ")}`,
        {
          file,
        },
      );
    }
    return frame.get(n);
  });
}

export function baseParameters(set: SignalSet): Record<string, number> {
  const p = set.config.parameters;
  const out: Record<string, number> = {};
  if (p !== null && typeof p === "object") {
    for (const [k, v] of Object.entries(p as Record<string, unknown>)) if (typeof v === "number") out[k] = v;
  }
  return out;
}

/** The config with signal_sets[index]'s parameters replaced (the grid's cell, or the chosen one). */
export function withParameters(config: Config, index: number, params: Record<string, number>): Config {
  const signal_sets = config.signal_sets.map((s, i) =>
    i === index ? { ...s, config: { ...s.config, parameters: { ...baseParameters(s), ...params } } } : s,
  );
  return { ...config, signal_sets };
}

/** Row index of a config's row-or-time bound within `time` (first row at or after a time). */
export function rowOf(
  time: Float64Array,
  v: number | string | null | undefined,
  fallback: number,
  path: string,
): number {
  if (v === null || v === undefined) return fallback;
  if (typeof v === "number") return Math.min(Math.max(0, v), time.length);
  const t = parseConfigTime(v);
  if (t === undefined) throw new ConfigError(`${path}: cannot read the time "${v}"`, [`${path}: not a time`]);
  return lowerBound(time, t);
}

/** First and one-past-last row where every score is a number (walk-forward predictions cover only part). */
export function scoredSpan(
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

export interface SimulateOptions {
  input?: string;
  /** Optimise before this time, report after it. Overrides simulate_model.holdout. */
  holdout?: string;
  /** Worker threads for the grid, as asked (`--workers`). */
  workers?: number;
  /** At most this many; a grid too small to gain from threads runs in one (see gridWorkers). */
  maxWorkers?: number;
  /** --allow-in-sample: search in-sample predictions (see inSample.ts). */
  allowInSample?: boolean;
  /** The caller is the command, which has the --allow-in-sample flag (named in the refusal). */
  cli?: boolean;
  log: Logger;
  /** Aborting terminates the grid's worker threads; nothing is written. */
  signal?: AbortSignal;
}

export interface SimulateRun {
  input: string;
  provenance: ScoredTable["provenance"];
  /** The predictions are in-sample (allowed by the opt-in): every number is marked IN-SAMPLE. */
  inSample: boolean;
  rule: ThresholdRule;
  rankBy: RankMetric;
  /** Cells with fewer trades rank after the others (simulate_model.min_trades). */
  minTrades: number;
  options: BacktestOptions;
  range: { start: string; end: string; rows: number };
  holdout?: {
    /** The --holdout / simulate_model.holdout text the split came from. */
    from: string;
    start: string;
    end: string;
    rows: number;
    params: Record<string, number>;
    metrics: Metrics;
  };
  /** What the result depends on besides the grid (see searchInputs). */
  inputs: Record<string, unknown>;
  cells: GridCell[];
  ranked: GridCell[];
  top: GridCell[];
  seconds: number;
  outputs: { json: string; csv: string };
}

const iso = (t: number) => new Date(t).toISOString().replace(".000Z", "Z");

/**
 * The rows a threshold search (and the report of its result) uses: simulate_model's data_start
 * and data_end (end exclusive) narrowed to the rows where every score is a number, and the
 * holdout split (`split === end` without one): cells are optimised on [start, split).
 */
export function searchRange(
  config: Config,
  table: ScoredTable,
  scores: readonly Float64Array[],
  holdoutOverride?: string,
): { start: number; split: number; end: number } {
  const sm = config.simulate_model ?? {};
  const time = table.bars.time;
  const from = rowOf(time, sm.data_start, 0, "simulate_model.data_start");
  const to = rowOf(time, sm.data_end, time.length, "simulate_model.data_end");
  const span = scoredSpan(scores, from, Math.max(from, to));
  if (span.end - span.start < 2) {
    throw new DataError(
      `no scored rows to simulate between ${iso(time[from] ?? 0)} and the end; the score column(s) are all NaN`,
      { file: table.file },
    );
  }
  const holdoutText = holdoutOverride ?? sm.holdout ?? undefined;
  let split = span.end;
  if (holdoutText !== undefined && holdoutText !== null) {
    const at = parseConfigTime(holdoutText);
    if (at === undefined) throw new UsageError(`--holdout: cannot read the time "${holdoutText}"`);
    split = lowerBound(time, at);
    if (split <= span.start + 1 || split >= span.end - 1) {
      throw new UsageError(
        `--holdout ${holdoutText}: must fall inside the scored rows ${iso(time[span.start] as number)} .. ${iso(time[span.end - 1] as number)}`,
      );
    }
  }
  return { start: span.start, split, end: span.end };
}

/**
 * What a threshold search's result depends on besides its own grid: the config keys that make
 * the signals and the trades, and the predictions file (size and modification time). The report
 * uses a search's best cell only while this is unchanged.
 */
export function searchInputs(config: Config, table: ScoredTable, holdout?: string): Record<string, unknown> {
  const st = statSync(table.file);
  const sections = {
    symbol: config.symbol,
    freq: config.freq,
    signal_sets: config.signal_sets,
    simulate_model: config.simulate_model ?? null,
    backtest: config.backtest,
    holdout: holdout ?? null,
  };
  return {
    config_sha256: createHash("sha256").update(canonicalJson(sections)).digest("hex"),
    predictions: { file: table.file, size: st.size, mtime_ms: st.mtimeMs },
  };
}

/** The original's simulate_model: grid of thresholds → backtests → ranked cells, written as JSON and CSV. */
export async function runSimulate(
  config: Config,
  configFile: string,
  opts: SimulateOptions,
): Promise<SimulateRun> {
  const t0 = performance.now();
  const sm = config.simulate_model ?? {};
  if (sm.grid === undefined || Object.keys(sm.grid).length === 0) {
    throw new ConfigError(
      "simulate_model.grid: missing; list the thresholds to search, e.g. buy_signal_threshold: [0.02, 0.05]",
      ["simulate_model.grid: missing"],
    );
  }
  const { index, set, rule } = searchedSignalSet(config);
  const cellsParams = expandGrid(sm.grid, baseParameters(set), sm.buy_sell_equal === true);
  checkRuleParameters(rule, cellsParams);
  const steps = await resolveSignalSets(withParameters(config, index, cellsParams[0] ?? {}), configFile);
  const table = await readScoredTable(config, opts.input);
  const inSample = checkInSample(
    table.provenance,
    table.file,
    config,
    {
      ...(opts.allowInSample !== undefined ? { allowInSample: opts.allowInSample } : {}),
      flag: opts.cli === true,
    },
    opts.log,
  );
  // The generators before the searched rule (smoothen, combine) make its score columns.
  runSignalSets(table.frame, steps.slice(0, index));
  const scores = scoreColumns(steps[index] as SignalStep, table.frame, table.file);

  const time = table.bars.time;
  const { start, split, end } = searchRange(config, table, scores, opts.holdout);
  const span = { start, end };
  const holdoutFrom = split < end ? (opts.holdout ?? sm.holdout ?? undefined) : undefined;
  const options = backtestOptionsOf(config);
  const rankBy: RankMetric = sm.rank_by ?? "profitPctPerMonth";
  const input = { bars: table.bars, rule, scores, options, start, end: split };
  const workers =
    opts.workers ?? gridWorkers(cellsParams.length, split - start, opts.maxWorkers ?? availableParallelism());
  const metrics = await runGrid(input, cellsParams, workers, opts.signal);
  const cells: GridCell[] = cellsParams.map((params, i) => ({ params, metrics: metrics[i] as Metrics }));
  const minTrades = sm.min_trades ?? DEFAULT_MIN_TRADES;
  const ranked = rankCells(cells, rankBy, minTrades);
  const topN = sm.topn_to_store ?? 10;
  const top = ranked.slice(0, Math.max(1, topN));

  let holdout: SimulateRun["holdout"];
  const best = ranked[0] as GridCell;
  if (split < span.end) {
    const n = time.length;
    const signals = thresholdSignals(rule, scores, best.params, {
      buy: new Uint8Array(n),
      sell: new Uint8Array(n),
    });
    const r = runBacktest(table.bars, signals, options, {
      start: split,
      end: span.end,
      collectTrades: false,
    });
    holdout = {
      from: holdoutFrom as string,
      start: iso(time[split] as number),
      end: iso(time[span.end - 1] as number),
      rows: span.end - split,
      params: best.params,
      metrics: r.metrics,
    };
  }

  const outJson = symbolFile(config, "simulation").replace(/\.parquet$/, ".json");
  const outCsv = outJson.replace(/\.json$/, ".csv");
  const run: SimulateRun = {
    input: table.file,
    provenance: table.provenance,
    inSample,
    rule,
    rankBy,
    minTrades,
    options,
    range: {
      start: iso(time[span.start] as number),
      end: iso(time[split - 1] as number),
      rows: split - span.start,
    },
    ...(holdout !== undefined ? { holdout } : {}),
    cells,
    ranked,
    top,
    seconds: (performance.now() - t0) / 1000,
    outputs: { json: outJson, csv: outCsv },
    inputs: searchInputs(config, table, holdoutFrom),
  };
  await writeSimulation(run, config);
  return run;
}

const CSV_METRICS: readonly (keyof Metrics)[] = [
  "profitPctPerMonth",
  "profitPct",
  "profit",
  "trades",
  "winRatePct",
  "profitFactor",
  "maxDrawdownPct",
  "sharpe",
  "sortino",
  "exposurePct",
  "avgHoldBars",
  "feesPaid",
  "buyHoldPct",
];

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return String(v);
  return String(Number.parseFloat(v.toPrecision(8)));
}

/** What the CSV's `predictions` column says: IN-SAMPLE, else how the predictions were made. */
function predictionsLabel(p: PredictionsProvenance): string {
  return p.inSample ? IN_SAMPLE : p.kind;
}

/**
 * CSV of ranked cells (the best topn_to_store): rank, parameters, the metrics, then
 * `predictions` (IN-SAMPLE, or predict-rolling, predict, unknown), so that a row read on its
 * own still says whether its numbers are in-sample.
 */
export function simulationCsv(ranked: readonly GridCell[], provenance: PredictionsProvenance): string {
  const params = [...new Set(ranked.flatMap((c) => Object.keys(c.params)))].sort();
  const lines = [["rank", ...params, ...CSV_METRICS, "predictions"].join(",")];
  const label = predictionsLabel(provenance);
  ranked.forEach((c, i) => {
    lines.push(
      [
        String(i + 1),
        ...params.map((p) => fmt(c.params[p] ?? Number.NaN)),
        ...CSV_METRICS.map((m) => fmt(c.metrics[m] ?? Number.NaN)),
        label,
      ].join(","),
    );
  });
  return `${lines.join("\n")}\n`;
}

async function writeSimulation(run: SimulateRun, config: Config): Promise<void> {
  const json = {
    kind: "simulate",
    input: run.input,
    predictions: run.provenance,
    // every number below is measured on the models' training rows (allowed by allow_in_sample)
    in_sample: run.inSample,
    signal_generator: run.rule,
    rank_by: run.rankBy,
    min_trades: run.minTrades,
    // no cell reached min_trades: the best cell rests on too few trades to tell an edge from luck
    best_below_min_trades: (run.ranked[0]?.metrics.trades ?? 0) < run.minTrades,
    range: run.range,
    options: run.options,
    best: run.ranked[0],
    holdout: run.holdout ?? null,
    top: run.top,
    grid: run.cells,
    symbol: config.symbol,
    freq: config.freq,
    inputs: run.inputs,
  };
  // Infinity (profit factor with no losing trade) is not JSON: write it as a string.
  const text = JSON.stringify(
    json,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v),
    2,
  );
  await writeFileAtomic(run.outputs.json, `${text}\n`);
  await writeFileAtomic(run.outputs.csv, simulationCsv(run.top, run.provenance));
}

/** The warnings a result's own numbers call for: trailing buy and hold, resting on too few trades. */
export function resultWarnings(m: Metrics, minTrades: number): string[] {
  const out: string[] = [];
  if (m.profitPct < m.buyHoldPct) {
    out.push(
      `it trails buy and hold (${m.buyHoldPct.toFixed(2)} %) by ${(m.buyHoldPct - m.profitPct).toFixed(2)} points`,
    );
  }
  if (minTrades > 0 && m.trades < minTrades) {
    out.push(
      `it rests on only ${plural(m.trades, "trade")} (fewer than min_trades ${minTrades}): too few to tell an edge from luck`,
    );
  }
  return out;
}

/** Stdout summary: the top cells, the best cell with what to beware of, and the holdout check; every number marked when in-sample. */
export function formatSimulateRun(run: SimulateRun, show = 10): string {
  const mark = run.inSample ? `${IN_SAMPLE} ` : "";
  const lines = [
    ...(run.inSample
      ? [
          `${IN_SAMPLE}: the predictions were made on the models' training rows (allowed by allow_in_sample); every number below overstates what will trade`,
        ]
      : []),
    `${run.cells.length} cells of ${run.rule} on ${run.range.rows.toLocaleString("en-US")} rows (${run.range.start} .. ${run.range.end}) in ${run.seconds.toFixed(2)} s`,
    `ranked by ${run.rankBy}${run.minTrades > 0 ? `, cells with fewer than ${run.minTrades} trades (min_trades) last` : ""}; fees ${(run.options.takerFee * 100).toFixed(3)} % per side, slippage ${run.options.slippageBps} bps, ${run.options.direction}, fill at ${run.options.fillAt}`,
  ];
  const params = Object.keys(run.ranked[0]?.params ?? {}).sort();
  const header = ["rank", ...params, "%/month", "%profit", "trades", "win%", "maxDD%", "sharpe"];
  lines.push((run.inSample ? [...header, "predictions"] : header).join("\t"));
  run.ranked.slice(0, show).forEach((c, i) => {
    const m = c.metrics;
    // a cell without trades has no result to show: its zeros would read as one
    const shown = (v: string) => (m.trades === 0 ? "-" : v);
    const row = [
      String(i + 1),
      ...params.map((p) => fmt(c.params[p] ?? Number.NaN)),
      shown(m.profitPctPerMonth.toFixed(2)),
      shown(m.profitPct.toFixed(2)),
      String(m.trades),
      shown(m.winRatePct.toFixed(1)),
      shown(m.maxDrawdownPct.toFixed(2)),
      shown(m.sharpe.toFixed(2)),
    ];
    lines.push((run.inSample ? [...row, IN_SAMPLE] : row).join("\t"));
  });
  const best = run.ranked[0];
  if (best !== undefined) {
    const m = best.metrics;
    const p = params.map((k) => `${k}=${fmt(best.params[k] ?? Number.NaN)}`).join(", ");
    lines.push(
      `${mark}best: ${p}: ${m.profitPct.toFixed(2)} % (${m.profitPctPerMonth.toFixed(2)} %/month), ${plural(m.trades, "trade")}, max drawdown ${m.maxDrawdownPct.toFixed(2)} %; buy and hold ${m.buyHoldPct.toFixed(2)} %`,
    );
    for (const w of resultWarnings(m, run.minTrades)) lines.push(`  ${w}`);
    const few = run.cells.filter((c) => c.metrics.trades < run.minTrades).length;
    if (few > 0 && few < run.cells.length) {
      lines.push(
        `  ${few} of ${run.cells.length} cells have fewer than ${run.minTrades} trades and are ranked after the others`,
      );
    }
  }
  if (run.holdout !== undefined) {
    const h = run.holdout.metrics;
    lines.push(
      `${mark}holdout ${run.holdout.start} .. ${run.holdout.end} (${run.holdout.rows.toLocaleString("en-US")} rows) with the best parameters: ` +
        `${h.profitPct.toFixed(2)} % (${h.profitPctPerMonth.toFixed(2)} %/month), ${plural(h.trades, "trade")}, max drawdown ${h.maxDrawdownPct.toFixed(2)} %; buy and hold ${h.buyHoldPct.toFixed(2)} %`,
    );
    for (const w of resultWarnings(h, run.minTrades)) lines.push(`  ${w}`);
  } else {
    lines.push(
      "the best cell is chosen on the same rows it is measured on; check it on later rows with --holdout DATE",
    );
  }
  lines.push(`wrote ${run.outputs.json}`, `wrote ${run.outputs.csv}`);
  return lines.join("\n");
}
