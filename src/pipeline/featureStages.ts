import { dirname } from "node:path";
import type { Config } from "../config/index.js";
import type { Frame } from "../core/frame.js";
import type { Logger } from "../core/log.js";
import { sidecarFile, symbolFile } from "../data/paths.js";
import { readInput, writeFileAtomic, writeFrame } from "../data/store/index.js";
import { countNaN, type RunOptions, runSets, type SetRun } from "../features/featureSets.js";
import { startPrefaultThread } from "../features/indicators/arena.js";
import { resolveFeatureSets, resolveLabelSets } from "./generators.js";

export interface StageRun {
  input: string;
  output: string;
  rows: number;
  columns: string[];
  sets: SetRun[];
}

/** Per column its NaN count (warm-up rows, gaps), then per generator its time. */
function logSets(log: Logger, stage: string, sets: readonly SetRun[], frame: Frame): void {
  for (const s of sets) {
    for (const c of s.columns) {
      log.info({ stage, generator: s.name, column: c, nans: countNaN(frame.get(c)) }, "column");
    }
    log.info(
      { stage, generator: s.name, columns: s.columns.length, seconds: Math.round(s.seconds * 1000) / 1000 },
      "generator done",
    );
  }
}

/**
 * `itb features`: the merged table + every `feature_sets` entry → `features` and its name list.
 * `opts.threads`: threads the sets may use (by default a worker joins for large tables).
 */
export async function runFeatures(
  config: Config,
  configFile: string,
  log: Logger,
  opts: RunOptions = {},
): Promise<StageRun> {
  const input = symbolFile(config, config.merge_file_name);
  // The run's prefault thread boots while the table is read.
  if (opts.threads !== 1) startPrefaultThread();
  const frame = await readInput(input, { timeColumn: config.time_column }, "`itb merge`");
  const sets = await resolveFeatureSets(config.feature_sets, dirname(configFile));
  const runs = await runSets(frame, sets, opts);
  logSets(log, "features", runs, frame);
  const output = symbolFile(config, config.feature_file_name);
  await writeFrame(output, frame, { timeColumn: config.time_column });
  const columns = runs.flatMap((r) => r.columns);
  await writeFileAtomic(
    sidecarFile(output, "names"),
    `${JSON.stringify({ features: columns, sets: runs.map((r) => ({ generator: r.name, columns: r.columns })) }, null, 2)}\n`,
  );
  log.info({ file: output, rows: frame.length, features: columns.length }, "features written");
  return { input, output, rows: frame.length, columns, sets: runs };
}

/** `itb labels`: `features` + every `label_sets` entry → `matrix` (training only). */
export async function runLabels(config: Config, configFile: string, log: Logger): Promise<StageRun> {
  const input = symbolFile(config, config.feature_file_name);
  const frame = await readInput(input, { timeColumn: config.time_column }, "`itb features`");
  const sets = await resolveLabelSets(config.label_sets, dirname(configFile));
  const runs = await runSets(frame, sets);
  logSets(log, "labels", runs, frame);
  const output = symbolFile(config, config.matrix_file_name);
  await writeFrame(output, frame, { timeColumn: config.time_column });
  const columns = runs.flatMap((r) => r.columns);
  log.info({ file: output, rows: frame.length, labels: columns.length }, "matrix written");
  return { input, output, rows: frame.length, columns, sets: runs };
}
