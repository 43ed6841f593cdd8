import type { Config } from "../config/index.js";
import { DataError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import type { Logger, ProgressFactory } from "../core/log.js";
import { symbolFile } from "../data/paths.js";
import { frameFileInfo, readFrame } from "../data/store/index.js";
import type { Scores } from "../models/artifact.js";
import type { ModelStore } from "./modelStore.js";

/** What the model stages (train, predict, predict-rolling) share: their context, input and output helpers. */

export interface ModelStageContext {
  log: Logger;
  progress?: ProgressFactory;
  /** Epoch ms; every artifact's creation time and the store's pointers come from it. */
  clock: { now(): number };
  itbVersion: string;
  /** Aborting stops train after the model in flight and predict-rolling at once (workers terminated). */
  signal?: AbortSignal;
}

/** Keeps the newest `models_keep` versions and walk-forward runs (the current ones always); 0 keeps all. */
export async function pruneStore(store: ModelStore, keep: number, log: Logger): Promise<void> {
  if (keep <= 0) return;
  const r = await store.prune(keep);
  if (r.versions.length + r.runs.length === 0) return;
  log.info(
    {
      versions: r.versions.map((v) => `${v.name} v${v.version}`),
      runs: r.runs.map((x) => x.run),
      bytes: r.bytes,
      models_keep: keep,
    },
    `removed ${r.versions.length} old model version(s) and ${r.runs.length} old walk-forward run(s)`,
  );
}

export interface Loaded {
  config: Config;
  hash: string;
}

/** The original's out_columns: kept next to the predictions for the later stages. */
export const PASS_THROUGH = ["open", "high", "low", "close", "volume", "close_time"];

export function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

export async function readTable(
  config: Config,
  name: string,
  required: readonly string[],
  optional: readonly string[],
  hint: string,
): Promise<{ file: string; frame: Frame }> {
  const file = symbolFile(config, name);
  const info = await frameFileInfo(file, { timeColumn: config.time_column });
  if (info === undefined) throw new DataError(`file not found: ${hint}`, { file });
  const present = new Set(info.columns);
  const missing = unique(required).filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new DataError(`missing column(s) ${missing.join(", ")}; ${hint}`, { file });
  }
  const columns = unique([...required, ...optional.filter((c) => present.has(c))]);
  const frame = await readFrame(file, { timeColumn: config.time_column, columns });
  return { file, frame };
}

export function roundScores(s: Scores | null): string {
  if (s === null) return "n/a";
  const f = (v: number | null) => (v === null ? "n/a" : v.toFixed(3));
  return `auc ${f(s.auc)}  ap ${f(s.ap)}  f1 ${f(s.f1)}  precision ${f(s.precision)}  recall ${f(s.recall)}`;
}
