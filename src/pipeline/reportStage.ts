import { existsSync, readFileSync } from "node:fs";
import { checkInSample } from "../backtest/inSample.js";
import { buildReport, type ReportOutcome, type SimulationFile, staleReason } from "../backtest/reportRun.js";
import {
  baseParameters,
  scoreColumns,
  searchedSignalSet,
  searchRange,
  withParameters,
} from "../backtest/search.js";
import { configHash, holdoutOption } from "../config/index.js";
import { DataError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { writeFileAtomic } from "../data/atomic.js";
import { symbolOutputFile } from "../data/paths.js";
import { runSignalSets, type SignalStep } from "../signals/index.js";
import {
  finiteJson,
  type MarketConfig,
  readScoredTable,
  recordedSearchInputs,
  searchInputs,
} from "./backtestStages.js";
import { resolveSignalSets } from "./signalStages.js";

/**
 * `itb report`: one backtest with full trades at the chosen thresholds — the best cell of the
 * last `itb simulate` when its simulation.json exists, else the config's own parameters — written
 * as a self-contained HTML page, a PNG of the equity curve and a JSON of the same numbers
 * (src/backtest/reportRun.ts makes them; this reads the inputs and writes the files).
 */

export interface ReportOptions {
  input?: string;
  /** "best": simulation.json's best cell (default when present); "config": signal_sets' own parameters. */
  params?: "best" | "config";
  log: Logger;
  /** Epoch ms the report is stamped with. */
  now: number;
  /** --allow-in-sample: report on in-sample predictions (see backtest/inSample.ts). */
  allowInSample?: boolean;
  /** The caller is the command, which has the --allow-in-sample flag (named in the refusal). */
  cli?: boolean;
}

export interface ReportRun extends ReportOutcome {
  outputs: { html: string; png: string; json: string };
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

export async function runReport(
  market: MarketConfig,
  configFile: string,
  opts: ReportOptions,
): Promise<ReportRun> {
  const { config } = market;
  const search = market.settings.search;
  const { index, set, rule } = searchedSignalSet(config.signal_sets, search.signalGenerator);
  const simFile = symbolOutputFile(config, "simulation", "json");
  const sim = opts.params === "config" ? undefined : readSimulation(simFile);
  const table = await readScoredTable(config, opts.input);
  const inSample = checkInSample(
    table.provenance,
    table.file,
    { allowed: opts.allowInSample === true || search.allowInSample, flag: opts.cli === true },
    opts.log,
  );
  let fromSim = false;
  if (sim?.best?.params !== undefined) {
    const holdoutFrom = sim.holdout?.from ?? undefined;
    const recorded = { ...sim, inputs: recordedSearchInputs(config, sim.inputs) };
    const stale = staleReason(recorded, searchInputs(config, table, holdoutFrom), rule);
    if (stale === undefined) fromSim = true;
    else {
      opts.log.warn(
        { file: simFile },
        `the threshold search result is out of date (${stale}): reporting the config's own parameters; rerun \`itb simulate\` to report the best cell`,
      );
    }
  }
  const params = fromSim ? (sim?.best?.params as Record<string, number>) : baseParameters(set);
  const steps = await resolveSignalSets(
    { signal_sets: withParameters(config.signal_sets, index, params) },
    configFile,
  );
  const step = steps[index] as SignalStep;
  runSignalSets(table.frame, steps);
  const scores = scoreColumns(step, table.frame, table.file);
  // The rows the search used (data_start/data_end, scored rows), its holdout included (the
  // search result records the split as it was given: --holdout or simulate_model.holdout).
  const holdoutText = fromSim ? (sim?.holdout?.from ?? undefined) : undefined;
  const holdout = holdoutText === undefined ? undefined : holdoutOption(holdoutText);
  const range = searchRange(table.bars.time, scores, search, holdout, table.file);
  const [buyName, sellName] = step.outputs as [string, string];
  const report = buildReport({
    symbol: config.symbol,
    freq: config.freq,
    configHash: configHash(config),
    now: opts.now,
    input: table.file,
    provenance: table.provenance,
    inSample,
    bars: table.bars,
    buy: table.frame.get(buyName),
    sell: table.frame.get(sellName),
    scores,
    scoreNames: step.inputs,
    range,
    rule,
    params,
    search: fromSim && sim !== undefined ? { file: simFile, result: sim } : undefined,
    minTrades: search.minTrades,
    options: market.settings.backtest,
  });
  const outputs = {
    html: symbolOutputFile(config, "report", "html"),
    png: symbolOutputFile(config, "report", "png"),
    json: symbolOutputFile(config, "report", "json"),
  };
  await writeFileAtomic(outputs.json, `${finiteJson(report.json)}\n`);
  await writeFileAtomic(outputs.png, report.png);
  await writeFileAtomic(outputs.html, report.html);
  return { ...report.outcome, outputs };
}
