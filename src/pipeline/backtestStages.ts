import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isAbsolute } from "node:path";
import { barsOf } from "../backtest/bars.js";
import type { GridEvaluation, GridInput } from "../backtest/grid.js";
import { gridWorkers } from "../backtest/gridThreads.js";
import { checkInSample, type PredictionsProvenance } from "../backtest/inSample.js";
import { overfitJson } from "../backtest/overfit.js";
import {
  planSearch,
  runSearch,
  type SearchOutcome,
  type SearchPlan,
  type SearchRange,
  scoreColumns,
  searchRange,
  withParameters,
} from "../backtest/search.js";
import { simulationCsv } from "../backtest/searchText.js";
import type { Bars } from "../backtest/types.js";
import { type Config, canonicalJson, type HoldoutSplit, type Settings } from "../config/index.js";
import { DataError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import type { Logger } from "../core/log.js";
import { writeFileAtomic } from "../data/atomic.js";
import { sidecarFile, symbolFile, symbolOutputFile } from "../data/paths.js";
import { frameFileInfo, readFrame } from "../data/store/index.js";
import { runSignalSets, type SignalStep } from "../signals/index.js";
import { storedPath } from "./graph/manifest.js";
import { resolveSignalSets } from "./signalStages.js";

/**
 * `itb simulate` (threshold search) and the backtest behind `itb report`: the files around the
 * search of src/backtest/search.ts. Both read the predictions table, run the config's
 * signal_sets on it and trade the signals with the same engine and options.
 */

/** The config as a stage takes it: the file's values (paths, signal sets) and its typed sections. */
export interface MarketConfig {
  config: Config;
  settings: Settings;
}

const BAR_COLUMNS = ["open", "high", "low", "close"] as const;

export interface ScoredTable {
  file: string;
  frame: Frame;
  bars: Bars;
  /** Where the predictions came from ("predict-rolling", "predict" or unknown) and whether any row was in-sample. */
  provenance: PredictionsProvenance;
}

function readProvenance(file: string): ScoredTable["provenance"] {
  const metricsFile = sidecarFile(file, "metrics");
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

export interface SimulateOptions {
  input?: string;
  /** Optimise before this time, report after it (`--holdout`). Overrides simulate_model.holdout. */
  holdout?: HoldoutSplit;
  /** Worker threads for the grid, as asked (`--workers`). */
  workers?: number;
  /** At most this many; a grid too small to gain from threads runs in one (see gridWorkers). */
  maxWorkers?: number;
  /** --allow-in-sample: search in-sample predictions (see backtest/inSample.ts). */
  allowInSample?: boolean;
  /** The caller is the command, which has the --allow-in-sample flag (named in the refusal). */
  cli?: boolean;
  log: Logger;
  /** Aborting terminates the grid's worker threads; nothing is written. */
  signal?: AbortSignal;
  /**
   * Backtests the grid elsewhere (an `itb worker` fans a large grid out as task jobs), or
   * returns undefined to use the worker threads. `inputs`: what the result depends on (see
   * searchInputs), to name the task jobs by.
   */
  evaluate?: (
    grid: GridInput,
    cells: readonly Record<string, number>[],
    inputs: Record<string, unknown>,
  ) => Promise<GridEvaluation | undefined>;
}

export interface SimulateRun extends SearchOutcome {
  input: string;
  provenance: PredictionsProvenance;
  /** The predictions are in-sample (allowed by the opt-in): every number is marked IN-SAMPLE. */
  inSample: boolean;
  /** What the result depends on besides the grid (see searchInputs). */
  inputs: Record<string, unknown>;
  seconds: number;
  outputs: { json: string; csv: string };
}

/**
 * What a threshold search's result depends on besides its own grid: the config keys that make
 * the signals and the trades, and the predictions file (size and modification time; its path
 * relative to the data folder, as the manifests store it, so that the search still counts on
 * another machine's copy of a shared data folder, or after the folder moved). The report uses
 * a search's best cell only while this is unchanged.
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
    predictions: { file: storedPath(config, table.file), size: st.size, mtime_ms: st.mtimeMs },
  };
}

/** A search result's recorded inputs in the form searchInputs gives now (results written before recorded an absolute path). */
export function recordedSearchInputs(
  config: Config,
  recorded: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  const predictions = recorded?.predictions as { file?: unknown } | undefined;
  const file = predictions?.file;
  if (typeof file !== "string" || !isAbsolute(file)) return recorded;
  return { ...recorded, predictions: { ...predictions, file: storedPath(config, file) } };
}

/** What a threshold search runs on, read from the files: the plan, the scored table, the score columns and the rows. */
export interface PreparedSearch {
  plan: SearchPlan;
  table: ScoredTable;
  inSample: boolean;
  scores: Float64Array[];
  holdout: HoldoutSplit | undefined;
  range: SearchRange;
}

/**
 * Reads what the search runs on: the predictions, the signal sets before the searched rule run
 * on them, the searched rule's score columns and the rows. A fanned-out grid task (gridFanOut.ts)
 * rebuilds its input with it from the same files and config.
 */
export async function prepareSearch(
  market: MarketConfig,
  configFile: string,
  opts: Pick<SimulateOptions, "input" | "holdout" | "allowInSample" | "cli" | "log">,
): Promise<PreparedSearch> {
  const { config } = market;
  const search = market.settings.search;
  const plan = planSearch(config.signal_sets, search);
  const steps = await resolveSignalSets(
    { signal_sets: withParameters(config.signal_sets, plan.index, plan.cells[0] ?? {}) },
    configFile,
  );
  const table = await readScoredTable(config, opts.input);
  const inSample = checkInSample(
    table.provenance,
    table.file,
    { allowed: opts.allowInSample === true || search.allowInSample, flag: opts.cli === true },
    opts.log,
  );
  // The generators before the searched rule (smoothen, combine) make its score columns.
  runSignalSets(table.frame, steps.slice(0, plan.index));
  const scores = scoreColumns(steps[plan.index] as SignalStep, table.frame, table.file);
  // --holdout wins over simulate_model.holdout; searchRange puts the split inside the scored rows
  const holdout = opts.holdout ?? search.holdout;
  const range = searchRange(table.bars.time, scores, search, holdout, table.file);
  return { plan, table, inSample, scores, holdout, range };
}

/** The original's simulate_model: grid of thresholds → backtests → ranked cells, written as JSON and CSV. */
export async function runSimulate(
  market: MarketConfig,
  configFile: string,
  opts: SimulateOptions,
): Promise<SimulateRun> {
  const t0 = performance.now();
  const { config } = market;
  const search = market.settings.search;
  const { plan, table, inSample, scores, holdout, range } = await prepareSearch(market, configFile, opts);
  const inputs = searchInputs(config, table, holdout?.text);
  const evaluate = opts.evaluate;
  const outcome = await runSearch({
    bars: table.bars,
    plan,
    scores,
    range,
    search,
    holdout,
    options: market.settings.backtest,
    workers:
      opts.workers ??
      gridWorkers(plan.cells.length, range.split - range.start, opts.maxWorkers ?? availableParallelism()),
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    ...(evaluate === undefined ? {} : { evaluate: (grid, cells) => evaluate(grid, cells, inputs) }),
  });
  const run: SimulateRun = {
    input: table.file,
    provenance: table.provenance,
    inSample,
    ...outcome,
    seconds: (performance.now() - t0) / 1000,
    outputs: {
      json: symbolOutputFile(config, "simulation", "json"),
      csv: symbolOutputFile(config, "simulation", "csv"),
    },
    inputs,
  };
  await writeSimulation(run, config);
  return run;
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
    // the grid's overfitting odds on the optimised rows' days (docs/simulate.md)
    overfitting: overfitJson(run.overfit),
    grid: run.cells,
    symbol: config.symbol,
    freq: config.freq,
    inputs: run.inputs,
  };
  await writeFileAtomic(run.outputs.json, `${finiteJson(json)}\n`);
  await writeFileAtomic(run.outputs.csv, simulationCsv(run.top, run.provenance));
}

/** JSON with Infinity and NaN (a profit factor with no losing trade), which JSON cannot hold, written as strings. */
export function finiteJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 2);
}
