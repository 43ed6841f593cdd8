import { dirname } from "node:path";
import { type Config, parseCustomGenerator } from "../config/index.js";
import { ConfigError, DataError } from "../core/errors.js";
import { Frame } from "../core/frame.js";
import type { Logger } from "../core/log.js";
import { symbolFile } from "../data/paths.js";
import { frameFileInfo, readFrame, writeFrame } from "../data/store/index.js";
import type { CustomGenerator } from "../features/generator.js";
import {
  BUILTIN_SIGNAL_GENERATORS,
  compileSignalSets,
  runSignalSteps,
  type SignalRole,
  type SignalRun,
  type SignalStep,
  signalColumns,
} from "../signals/index.js";
import { loadCustomGenerator } from "./generators.js";

/** Candle columns carried from the predictions into the signals table, first after time. */
const PASS_THROUGH = ["open", "high", "low", "close", "volume"];

export interface SignalCount {
  column: string;
  role: SignalRole;
  /** Rows where the signal is 1. */
  count: number;
}

export interface SignalsRun {
  input: string;
  output: string;
  rows: number;
  /** The columns the signal sets produced, in order. */
  columns: string[];
  sets: SignalRun[];
  /** The buy/sell columns of the threshold rules and how many rows fire. */
  signals: SignalCount[];
}

/**
 * Compiles `signal_sets` (config mistakes are ConfigErrors naming the JSON path), loading the
 * custom `"<module>:<export>"` generators relative to the config file's folder.
 */
export async function resolveSignalSets(
  config: Pick<Config, "signal_sets">,
  configFile: string,
): Promise<SignalStep[]> {
  const custom = new Map<string, CustomGenerator>();
  for (const s of config.signal_sets) {
    const isCustom = !BUILTIN_SIGNAL_GENERATORS.includes(s.generator) && parseCustomGenerator(s.generator);
    if (isCustom && !custom.has(s.generator)) {
      custom.set(s.generator, await loadCustomGenerator(s.generator, dirname(configFile)));
    }
  }
  return compileSignalSets(config.signal_sets, custom);
}

function countOnes(x: Float64Array): number {
  let k = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === 1) k++;
  return k;
}

/**
 * `itb signals`: the predictions table + every `signal_sets` entry, in order → the signals
 * table: the time column, the candle columns present (open, high, low, close, volume), the
 * predictions table's other columns (model scores, labels) and the generated columns. The write
 * is atomic.
 */
export async function runSignals(config: Config, configFile: string, log: Logger): Promise<SignalsRun> {
  if (config.signal_sets.length === 0) {
    const msg =
      'signal_sets: empty, nothing to compute; add e.g. a "combine" and a "threshold_rule" entry (see docs/signals.md)';
    throw new ConfigError(msg, [msg]);
  }
  // The config is checked before the data is read, so a typo fails fast.
  const steps = await resolveSignalSets(config, configFile);
  const input = symbolFile(config, config.predict_file_name);
  if ((await frameFileInfo(input, { timeColumn: config.time_column })) === undefined) {
    throw new DataError("file not found: run itb predict or itb predict-rolling first", { file: input });
  }
  const frame = await readFrame(input, { timeColumn: config.time_column });
  log.info({ file: input, rows: frame.length, columns: frame.columnNames.length }, "predictions read");

  const sets = runSignalSteps(frame, steps);
  for (const s of sets) {
    log.info(
      {
        stage: "signals",
        set: s.index,
        generator: s.generator,
        columns: s.columns,
        seconds: Math.round(s.seconds * 1000) / 1000,
      },
      "generator done",
    );
  }

  const out = new Frame(frame.time);
  for (const c of PASS_THROUGH) if (frame.has(c)) out.set(c, frame.get(c));
  for (const [name, values] of frame.columns()) if (!out.has(name)) out.set(name, values);
  const output = symbolFile(config, config.signal_file_name);
  await writeFrame(output, out, { timeColumn: config.time_column });

  const columns = [...new Set(sets.flatMap((s) => s.columns))];
  const signals = signalColumns(steps).map(({ column, role }) => ({
    column,
    role,
    count: countOnes(frame.get(column)),
  }));
  for (const s of signals) log.info({ column: s.column, role: s.role, rows: s.count }, "signal count");
  log.info({ file: output, rows: frame.length, columns: columns.length }, "signals written");
  return { input, output, rows: frame.length, columns, sets, signals };
}

export function formatSignalsRun(run: SignalsRun): string {
  const rows = run.rows.toLocaleString("en-US");
  const lines = [`${run.sets.length} signal set(s) on ${rows} rows of ${run.input}`];
  for (const s of run.sets) lines.push(`  [${s.index}] ${s.generator}: ${s.columns.join(", ")}`);
  for (const s of run.signals) {
    lines.push(`  ${s.role} ${s.column}: ${s.count.toLocaleString("en-US")} of ${rows} rows`);
  }
  lines.push(`wrote ${run.output}`);
  return lines.join("\n");
}
