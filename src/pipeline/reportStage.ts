import { existsSync, readFileSync } from "node:fs";
import { runBacktest } from "../backtest/engine.js";
import { DEFAULT_MIN_TRADES } from "../backtest/grid.js";
import { plural } from "../backtest/report/format.js";
import { renderReportHtml } from "../backtest/report/html.js";
import { renderEquityPng } from "../backtest/report/png.js";
import type { BacktestResult, Bars, GridCell, Metrics, Signals } from "../backtest/types.js";
import { type Config, configHash } from "../config/index.js";
import { DataError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { writeFileAtomic } from "../data/atomic.js";
import { symbolFile } from "../data/paths.js";
import { runSignalSets, type SignalStep } from "../signals/index.js";
import { backtestOptionsOf } from "./backtestOptions.js";
import {
  baseParameters,
  readScoredTable,
  resultWarnings,
  scoreColumns,
  searchedSignalSet,
  searchInputs,
  searchRange,
  withParameters,
} from "./backtestStages.js";
import { checkInSample, IN_SAMPLE } from "./inSample.js";
import { resolveSignalSets } from "./signalStages.js";

/**
 * `itb report`: one backtest with full trades at the chosen thresholds — the best cell of the
 * last `itb simulate` when its simulation.json exists, else the config's own parameters — written
 * as a self-contained HTML page, a PNG of the equity curve and a JSON of the same numbers.
 */

export interface ReportOptions {
  input?: string;
  /** "best": simulation.json's best cell (default when present); "config": signal_sets' own parameters. */
  params?: "best" | "config";
  log: Logger;
  /** Epoch ms the report is stamped with. */
  now: number;
  /** --allow-in-sample: report on in-sample predictions (see inSample.ts). */
  allowInSample?: boolean;
  /** The caller is the command, which has the --allow-in-sample flag (named in the refusal). */
  cli?: boolean;
}

export interface ReportRun {
  params: Record<string, number>;
  paramsFrom: "simulation" | "config";
  /** Fewer trades than this are too few to tell an edge from luck (as the search ranked). */
  minTrades: number;
  /** The predictions are in-sample (allowed by the opt-in): every number is marked IN-SAMPLE. */
  inSample: boolean;
  result: BacktestResult;
  outputs: { html: string; png: string; json: string };
  range: { start: string; end: string; rows: number };
  /** The search's holdout: from when, and the chosen thresholds' metrics there. */
  holdout?: { start: string; metrics: Metrics };
}

interface SimulationFile {
  best?: GridCell;
  grid?: GridCell[];
  rank_by?: string;
  min_trades?: number;
  signal_generator?: string;
  range?: { start: string; end: string; rows: number };
  holdout?: { from: string; start: string; end: string; rows: number; metrics: Metrics } | null;
  inputs?: Record<string, unknown>;
}

function simulationFile(config: Config): string {
  return symbolFile(config, "simulation").replace(/\.parquet$/, ".json");
}

function readSimulation(file: string): SimulationFile | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as SimulationFile;
  } catch (err) {
    throw new DataError(
      "cannot read the threshold search result; rerun `itb simulate`",
      { file },
      { cause: err },
    );
  }
}

const iso = (t: number) => new Date(t).toISOString().replace(".000Z", "Z");

function sliceBars(b: Bars, start: number, end: number): Bars {
  return {
    time: b.time.subarray(start, end),
    open: b.open.subarray(start, end),
    high: b.high.subarray(start, end),
    low: b.low.subarray(start, end),
    close: b.close.subarray(start, end),
  };
}

/** JSON numbers cannot be Infinity or NaN: such values are written as strings. */
function finiteJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 2);
}

/** Why a search's result no longer fits the config and predictions, or undefined when it does. */
function staleReason(
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

export async function runReport(config: Config, configFile: string, opts: ReportOptions): Promise<ReportRun> {
  const { index, set, rule } = searchedSignalSet(config);
  const simFile = simulationFile(config);
  const sim = opts.params === "config" ? undefined : readSimulation(simFile);
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
  let fromSim = false;
  if (sim?.best?.params !== undefined) {
    const holdoutFrom = sim.holdout?.from ?? undefined;
    const stale = staleReason(sim, searchInputs(config, table, holdoutFrom), rule);
    if (stale === undefined) fromSim = true;
    else {
      opts.log.warn(
        { file: simFile },
        `the threshold search result is out of date (${stale}): reporting the config's own parameters; rerun \`itb simulate\` to report the best cell`,
      );
    }
  }
  const params = fromSim ? (sim?.best?.params as Record<string, number>) : baseParameters(set);
  const steps = await resolveSignalSets(withParameters(config, index, params), configFile);
  const step = steps[index] as SignalStep;
  runSignalSets(table.frame, steps);
  const scores = scoreColumns(step, table.frame, table.file);
  // The rows the search used (data_start/data_end, scored rows), its holdout included.
  const span = searchRange(config, table, scores, fromSim ? (sim?.holdout?.from ?? undefined) : undefined);
  const [buyName, sellName] = step.outputs as [string, string];
  const toSignals = (x: Float64Array) =>
    Uint8Array.from(x.subarray(span.start, span.end), (v) => (v === 1 ? 1 : 0));
  const signals: Signals = {
    buy: toSignals(table.frame.get(buyName)),
    sell: toSignals(table.frame.get(sellName)),
  };
  const bars = sliceBars(table.bars, span.start, span.end);
  const options = backtestOptionsOf(config);
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
  const title = `${config.symbol} ${config.freq} — ${rule} ${Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ")}${chosen}`;
  const gridCells = fromSim ? (sim?.grid ?? []) : [];
  // as the search ranked (an older simulation.json records none: it ranked without a minimum)
  const minTrades = fromSim
    ? (sim?.min_trades ?? 0)
    : (config.simulate_model?.min_trades ?? DEFAULT_MIN_TRADES);
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
          name: step.inputs[0] as string,
          values: (scores[0] as Float64Array).subarray(span.start, span.end),
          ...(params.buy_signal_threshold !== undefined ? { buyThreshold: params.buy_signal_threshold } : {}),
          ...(params.sell_signal_threshold !== undefined
            ? { sellThreshold: params.sell_signal_threshold }
            : {}),
        }
      : undefined;
  const generatedAt = new Date(opts.now).toISOString();
  const html = renderReportHtml({
    title,
    symbol: config.symbol,
    freq: config.freq,
    bars,
    ...(score !== undefined ? { score } : {}),
    result,
    ...(grid !== undefined ? { grid } : {}),
    generatedAt,
    configHash: configHash(config),
    inSample,
    thresholds: fromSim ? "search" : "config",
    minTrades,
    ...(holdoutRun !== undefined && selection !== undefined
      ? { holdout: { start: bars.time[span.split - span.start] as number, result: holdoutRun, selection } }
      : {}),
  });
  const png = renderEquityPng({
    title: `${config.symbol} ${config.freq}`,
    bars,
    result,
    inSample,
    ...(holdoutRun !== undefined
      ? { holdout: { start: bars.time[span.split - span.start] as number, metrics: holdoutRun.metrics } }
      : {}),
  });
  const base = symbolFile(config, "report").replace(/\.parquet$/, "");
  const outputs = { html: `${base}.html`, png: `${base}.png`, json: `${base}.json` };
  const range = {
    start: iso(bars.time[0] as number),
    end: iso(bars.time[bars.time.length - 1] as number),
    rows: bars.time.length,
  };
  const json = {
    kind: "report",
    generated_at: generatedAt,
    symbol: config.symbol,
    freq: config.freq,
    input: table.file,
    predictions: table.provenance,
    // every number below is measured on the models' training rows (allowed by allow_in_sample)
    in_sample: inSample,
    signal_generator: rule,
    params,
    params_from: fromSim ? simFile : "config",
    range,
    // With a holdout, the search's own numbers for the two parts of the range.
    selection:
      fromSim && sim?.best !== undefined ? { range: sim.range ?? null, metrics: sim.best.metrics } : null,
    // the holdout backtested on its own (the search's numbers there, recomputed with its months and trades)
    holdout:
      holdout !== undefined && holdoutRun !== undefined
        ? { ...holdout, metrics: holdoutRun.metrics, monthly: holdoutRun.monthly, trades: holdoutRun.trades }
        : null,
    options,
    metrics: m,
    monthly: result.monthly,
    trades: result.trades,
  };
  await writeFileAtomic(outputs.json, `${finiteJson(json)}\n`);
  await writeFileAtomic(outputs.png, png);
  await writeFileAtomic(outputs.html, html);
  return {
    params,
    paramsFrom: fromSim ? "simulation" : "config",
    minTrades,
    inSample,
    result,
    outputs,
    range,
    ...(holdout !== undefined && holdoutRun !== undefined
      ? { holdout: { start: holdout.start, metrics: holdoutRun.metrics } }
      : {}),
  };
}

export function formatReportRun(run: ReportRun): string {
  const m = run.result.metrics;
  const p = Object.entries(run.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  const mark = run.inSample ? `${IN_SAMPLE} ` : "";
  return [
    ...(run.inSample
      ? [
          `${IN_SAMPLE}: the predictions were made on the models' training rows (allowed by allow_in_sample); every number below overstates what will trade`,
        ]
      : []),
    `${mark}backtest ${run.range.start} .. ${run.range.end} (${run.range.rows.toLocaleString("en-US")} bars) with ${p} (from ${run.paramsFrom})`,
    `${mark}profit ${m.profitPct.toFixed(2)} % (${m.profitPctPerMonth.toFixed(2)} %/month) after ${m.feesPaid.toFixed(2)} fees, ${plural(m.trades, "trade")}, win rate ${m.winRatePct.toFixed(1)} %, max drawdown ${m.maxDrawdownPct.toFixed(2)} %, Sharpe ${m.sharpe.toFixed(2)}; buy and hold ${m.buyHoldPct.toFixed(2)} %`,
    // with a holdout the whole run's first part is in-sample for the thresholds: only the holdout's warnings count
    ...(run.holdout === undefined ? resultWarnings(m, run.minTrades).map((w) => `  ${w}`) : []),
    ...(run.holdout !== undefined
      ? [
          `${mark}holdout from ${run.holdout.start}: ${run.holdout.metrics.profitPct.toFixed(2)} % (${run.holdout.metrics.profitPctPerMonth.toFixed(2)} %/month), ${plural(run.holdout.metrics.trades, "trade")}; buy and hold ${run.holdout.metrics.buyHoldPct.toFixed(2)} % — the thresholds were chosen before it`,
          ...resultWarnings(run.holdout.metrics, run.minTrades).map((w) => `  ${w}`),
        ]
      : []),
    `wrote ${run.outputs.html}`,
    `wrote ${run.outputs.png}`,
    `wrote ${run.outputs.json}`,
  ].join("\n");
}
