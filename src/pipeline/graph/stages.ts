import { dirname, isAbsolute, join, resolve } from "node:path";
import { type Config, parseCustomGenerator } from "../../config/index.js";
import { ItbError, interruption } from "../../core/errors.js";
import { gapReportFile, sidecarFile, sourceFile, symbolFile, symbolOutputFile } from "../../data/paths.js";
import { runDownload } from "../../data/runDownload.js";
import { describeStoppedImport, importIncomplete, runImport } from "../../data/runImport.js";
import { runMerge } from "../../data/runMerge.js";
import { modelSpecs } from "../../models/train.js";
import { runSimulate } from "../backtestStages.js";
import { runFeatures, runLabels } from "../featureStages.js";
import { fannedOutGrid } from "../gridFanOut.js";
import { runPredict, runPredictRolling, runTrain } from "../modelStages.js";
import { modelRoot } from "../modelStore.js";
import { runReport } from "../reportStage.js";
import { runSignals } from "../signalStages.js";
import type { StageContext, StageDef, StageSummary } from "./types.js";

/**
 * The batch pipeline's stages, in the order they run:
 *
 *   import | download → merge → features → labels → train → predict-rolling | predict
 *     → signals → simulate → report
 *
 * Each entry is data (name, dependencies, config keys read, input and output files) plus the
 * function that runs it; runner.ts decides from the data alone whether it is up to date.
 * Paths come from the same helpers the stages write with (src/data/paths.ts, modelRoot).
 */

// ------------------------------------------------------------------------------------ files

/** The custom generator modules (paths, not packages) a list of sets loads, as absolute paths. */
function customModules(sets: readonly { generator: string }[], configFile: string): string[] {
  const out: string[] = [];
  for (const s of sets) {
    const custom = parseCustomGenerator(s.generator);
    if (custom === undefined) continue;
    const m = custom.module;
    if (m.startsWith(".") || isAbsolute(m)) out.push(resolve(dirname(configFile), m));
  }
  return [...new Set(out)];
}

const sourceFiles = (c: Config) => c.data_sources.map((ds) => sourceFile(c, ds));
const mergedFile = (c: Config) => symbolFile(c, c.merge_file_name);
const featuresFile = (c: Config) => symbolFile(c, c.feature_file_name);
const featureNamesFile = (c: Config) => sidecarFile(featuresFile(c), "names");
const matrixFile = (c: Config) => symbolFile(c, c.matrix_file_name);
const predictionsFile = (c: Config) => symbolFile(c, c.predict_file_name);
const predictionsMetricsFile = (c: Config) => sidecarFile(predictionsFile(c), "metrics");
const signalsFile = (c: Config) => symbolFile(c, c.signal_file_name);
/** The current-version pointer of every model train stores (predict reads them). */
const currentPointers = (c: Config) => modelSpecs(c).map((s) => join(modelRoot(c), s.name, "current.json"));

// --------------------------------------------------------------------------------- helpers

function modelCtx(ctx: StageContext) {
  return {
    log: ctx.log,
    progress: ctx.progress,
    clock: ctx.clock,
    itbVersion: ctx.itbVersion,
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
  };
}

const round = (x: number | null | undefined, digits = 4): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits;

/** Shared by train, predict and predict-rolling: what the model specs are built from. */
const MODEL_KEYS = [
  "train_feature_sets",
  "train_features",
  "labels",
  "algorithms",
  "label_horizon",
  "train_length",
  "time_column",
] as const satisfies readonly (keyof Config)[];

// ---------------------------------------------------------------------------------- stages

/** What the import and download stages report: rows stored and added, per source and in all. */
function sourceSummary(
  results: readonly { folder: string; rowsTotal: number; rowsAdded: number }[],
): StageSummary {
  return {
    rows: results.reduce((n, r) => n + r.rowsTotal, 0),
    rows_added: results.reduce((n, r) => n + r.rowsAdded, 0),
    sources: results.map((r) => ({ folder: r.folder, rows: r.rowsTotal, added: r.rowsAdded })),
  };
}

const importStage: StageDef = {
  name: "import",
  description: "klines of every data source from Binance's public archive (archive_url or --archive DIR)",
  version: 1,
  after: [],
  group: "source",
  remote: true,
  reads: ["data_sources", "freq", "download_start", "download_end", "archive_url", "time_column"],
  options: (p) => ({ archive: p.options.archive ?? null }),
  inputs: () => [],
  outputs: (p) => sourceFiles(p.config),
  async run(ctx) {
    const results = await runImport(
      ctx.config,
      {
        ...(ctx.options.archive === undefined ? {} : { source: ctx.options.archive }),
        fromOption: "--download-start",
      },
      {
        log: ctx.log,
        progress: ctx.progress,
        now: () => ctx.clock.now(),
        ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      },
    );
    if (importIncomplete(ctx.config, results)) {
      throw interruption(ctx.signal, describeStoppedImport(ctx.config, results));
    }
    return sourceSummary(results);
  },
};

const downloadStage: StageDef = {
  name: "download",
  description: "klines of every data source from the exchange's REST API through ccxt (exchange_url)",
  version: 1,
  after: [],
  group: "source",
  remote: true,
  reads: [
    "data_sources",
    "freq",
    "download_start",
    "download_end",
    "venue",
    "exchange_url",
    "time_column",
    "append_overlap_records",
  ],
  inputs: () => [],
  outputs: (p) => sourceFiles(p.config),
  async run(ctx) {
    const { exchangeUrl } = ctx.options;
    const results = await runDownload(
      ctx.config,
      {},
      {
        log: ctx.log,
        progress: ctx.progress,
        ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
        ...(exchangeUrl === undefined ? {} : { ccxt: { exchangeUrl } }),
      },
    );
    if (results.length < ctx.config.data_sources.length || results.some((r) => r.interrupted)) {
      throw interruption(ctx.signal, "download stopped; the rows fetched are stored");
    }
    return sourceSummary(results);
  },
};

const mergeStage: StageDef = {
  name: "merge",
  description: "every data source onto the regular grid at freq, and the gap report",
  version: 1,
  after: ["import", "download"],
  reads: ["data_sources", "freq", "time_column", "merge_interpolate", "merge_max_gap"],
  inputs: (p) => sourceFiles(p.config),
  outputs: (p) => [mergedFile(p.config), gapReportFile(p.config)],
  async run(ctx) {
    const r = await runMerge(ctx.config, ctx.log);
    return {
      rows: r.report.rows,
      gaps: r.report.sources.reduce((n, s) => n + s.gaps.length, 0),
      missing_bars: r.report.sources.reduce((n, s) => n + s.missingBars, 0),
    };
  },
};

const featuresStage: StageDef = {
  name: "features",
  description: "every feature_sets entry on the merged table",
  version: 1,
  after: ["merge"],
  reads: ["feature_sets", "time_column", "freq"],
  inputs: (p) => [mergedFile(p.config), ...customModules(p.config.feature_sets, p.configFile)],
  outputs: (p) => [featuresFile(p.config), featureNamesFile(p.config)],
  async run(ctx) {
    // --workers bounds the threads of each market, the feature sets' worker included.
    const r = await runFeatures(
      ctx.config,
      ctx.configFile,
      ctx.log,
      ctx.options.workers === undefined ? {} : { threads: ctx.options.workers },
    );
    return { rows: r.rows, features: r.columns.length };
  },
};

const labelsStage: StageDef = {
  name: "labels",
  description: "every label_sets entry on the features table (the training matrix)",
  version: 1,
  after: ["features"],
  reads: ["label_sets", "time_column"],
  inputs: (p) => [featuresFile(p.config), ...customModules(p.config.label_sets, p.configFile)],
  outputs: (p) => [matrixFile(p.config)],
  async run(ctx) {
    const r = await runLabels(ctx.config, ctx.configFile, ctx.log);
    return { rows: r.rows, labels: r.columns.length };
  },
};

const trainStage: StageDef = {
  name: "train",
  description: "one model per label and algorithm on the matrix, stored as a new current version",
  version: 1,
  after: ["labels"],
  reads: MODEL_KEYS,
  inputs: (p) => [matrixFile(p.config)],
  outputs: (p) => currentPointers(p.config),
  folders: (p) => [modelRoot(p.config)],
  async run(ctx) {
    const r = await runTrain(ctx.loaded, modelCtx(ctx), { promote: true });
    if (r.skipped.length > 0) {
      throw new ItbError(
        `model(s) not trained: ${r.skipped.map((s) => `${s.name}: ${s.reason}`).join("; ")}`,
      );
    }
    return {
      rows: r.rows,
      models: r.models.map((m) => `${m.name} v${m.version}`),
      in_sample_auc: Object.fromEntries(
        r.models.map((m) => [m.name, round(m.artifact.metrics.in_sample?.auc ?? null)]),
      ),
    };
  },
};

const predictRollingStage: StageDef = {
  name: "predict-rolling",
  description: "walk-forward predictions (out-of-sample, label horizon purged) and their metrics",
  version: 1,
  after: ["labels"],
  group: "predict",
  reads: [...MODEL_KEYS, "rolling_predict"],
  inputs: (p) => [matrixFile(p.config)],
  outputs: (p) => [predictionsFile(p.config), predictionsMetricsFile(p.config)],
  folders: (p) => [modelRoot(p.config)],
  async run(ctx) {
    const r = await runPredictRolling(ctx.loaded, modelCtx(ctx), {
      ...(ctx.options.workers === undefined ? {} : { workers: ctx.options.workers }),
      // in an itb worker, a large walk-forward runs a task job per step
      ...(ctx.fanOut === undefined ? {} : { fanOut: ctx.fanOut }),
    });
    return {
      rows: r.plan.steps.length * r.plan.predictionSize,
      steps: r.plan.steps.length,
      run: r.run,
      kind: "out-of-sample",
      auc: Object.fromEntries(Object.entries(r.models).map(([n, m]) => [n, round(m.metrics?.auc)])),
    };
  },
};

const predictStage: StageDef = {
  name: "predict",
  description: "the current models on the matrix (metrics on training rows are in-sample)",
  version: 1,
  after: ["labels", "train"],
  group: "predict",
  reads: MODEL_KEYS,
  inputs: (p) => [matrixFile(p.config), ...currentPointers(p.config)],
  outputs: (p) => [predictionsFile(p.config), predictionsMetricsFile(p.config)],
  folders: (p) => [modelRoot(p.config)],
  async run(ctx) {
    const r = await runPredict(ctx.loaded, modelCtx(ctx), { input: "matrix" });
    const models = Object.values(r.models);
    return {
      rows: r.rows,
      kind: models.some((m) => m.in_sample) ? "in-sample" : "out-of-sample",
      auc: Object.fromEntries(Object.entries(r.models).map(([n, m]) => [n, round(m.metrics?.auc)])),
    };
  },
};

const signalsStage: StageDef = {
  name: "signals",
  description: "every signal_sets entry on the predictions (the signals table)",
  version: 1,
  after: ["predict-rolling", "predict"],
  reads: ["signal_sets", "time_column"],
  notConfigured: (c) => (c.signal_sets.length === 0 ? "signal_sets is empty" : undefined),
  inputs: (p) => [predictionsFile(p.config), ...customModules(p.config.signal_sets, p.configFile)],
  outputs: (p) => [signalsFile(p.config)],
  async run(ctx) {
    const r = await runSignals(ctx.config, ctx.configFile, ctx.log);
    return {
      rows: r.rows,
      signals: Object.fromEntries(r.signals.map((s) => [s.column, s.count])),
    };
  },
};

const simulateStage: StageDef = {
  name: "simulate",
  description: "threshold search: a backtest (fees, slippage) per cell of simulate_model.grid",
  // 2: in-sample predictions refused unless allowed, and marked; min_trades
  version: 2,
  after: ["predict-rolling", "predict"],
  reads: ["signal_sets", "simulate_model", "backtest", "freq", "time_column"],
  notConfigured: (c) =>
    c.simulate_model?.grid === undefined || Object.keys(c.simulate_model.grid).length === 0
      ? "simulate_model.grid is not set"
      : undefined,
  inputs: (p) => [
    predictionsFile(p.config),
    predictionsMetricsFile(p.config),
    ...customModules(p.config.signal_sets, p.configFile),
  ],
  outputs: (p) => [
    symbolOutputFile(p.config, "simulation", "json"),
    symbolOutputFile(p.config, "simulation", "csv"),
  ],
  async run(ctx) {
    const r = await runSimulate(ctx.loaded, ctx.configFile, {
      log: ctx.log,
      ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      // an upper bound: a small grid still runs in one thread (see gridWorkers)
      ...(ctx.options.workers === undefined ? {} : { maxWorkers: ctx.options.workers }),
      // in an itb worker, a large grid is split into task jobs for every worker
      ...(ctx.fanOut === undefined ? {} : { evaluate: fannedOutGrid(ctx.fanOut) }),
    });
    const best = r.ranked[0];
    return {
      rows: r.range.rows,
      cells: r.cells.length,
      rank_by: r.rankBy,
      best: best?.params ?? null,
      profit_pct: round(best?.metrics.profitPct, 3),
      profit_pct_per_month: round(best?.metrics.profitPctPerMonth, 3),
      trades: best?.metrics.trades ?? null,
      buy_hold_pct: round(best?.metrics.buyHoldPct, 3),
      min_trades: r.minTrades,
      holdout_profit_pct: round(r.holdout?.metrics.profitPct, 3),
      holdout_trades: r.holdout?.metrics.trades ?? null,
      holdout_buy_hold_pct: round(r.holdout?.metrics.buyHoldPct, 3),
      in_sample: r.inSample,
      // the search's overfitting odds (docs/simulate.md): null when the days are too few
      pbo: round(r.overfit.pbo?.pbo, 3),
      deflated_sharpe: round(r.overfit.deflated?.dsr, 3),
    };
  },
};

const reportStage: StageDef = {
  name: "report",
  description: "one backtest at the best thresholds, as HTML, PNG and JSON",
  // 2: in-sample predictions refused unless allowed, and marked
  version: 2,
  after: ["simulate", "predict-rolling", "predict"],
  reads: ["signal_sets", "simulate_model", "backtest", "freq", "time_column"],
  notConfigured: (c) => (c.signal_sets.length === 0 ? "signal_sets is empty" : undefined),
  inputs: (p) => [
    predictionsFile(p.config),
    predictionsMetricsFile(p.config),
    symbolOutputFile(p.config, "simulation", "json"),
    ...customModules(p.config.signal_sets, p.configFile),
  ],
  outputs: (p) => ["html", "png", "json"].map((ext) => symbolOutputFile(p.config, "report", ext)),
  async run(ctx) {
    const r = await runReport(ctx.loaded, ctx.configFile, { log: ctx.log, now: ctx.clock.now() });
    const m = r.result.metrics;
    return {
      rows: r.range.rows,
      params: r.params,
      params_from: r.paramsFrom,
      profit_pct: round(m.profitPct, 3),
      trades: m.trades,
      in_sample: r.inSample,
    };
  },
};

/** Every stage, in running order (a topological order of `after`). */
export const STAGES: readonly StageDef[] = [
  importStage,
  downloadStage,
  mergeStage,
  featuresStage,
  labelsStage,
  trainStage,
  predictRollingStage,
  predictStage,
  signalsStage,
  simulateStage,
  reportStage,
];

/** The stages of one pipeline: the chosen source and the chosen predictor. */
export function selectGraph(
  stages: readonly StageDef[],
  choice: { source: "import" | "download"; predict: "rolling" | "current" },
): StageDef[] {
  const chosen = {
    source: choice.source,
    predict: choice.predict === "rolling" ? "predict-rolling" : "predict",
  };
  return stages.filter((s) => s.group === undefined || chosen[s.group] === s.name);
}

export type { StageDef };
