import type { Config, LoadedConfig } from "../../config/index.js";
import type { Logger, ProgressFactory } from "../../core/log.js";

/**
 * The stage graph as data. A stage names what it depends on, which config keys it reads,
 * which files it reads and writes and how to run it; the runner (runner.ts) decides from this
 * alone whether a stage is up to date. Nothing here knows about terminals or processes, so a
 * distributed runner can reuse the same definitions.
 */

/** Choices that are not config keys: where candles come from and which predictions are made. */
export interface PipelineOptions {
  /** `import`: Binance's public archive; `download`: the exchange's REST API through ccxt. */
  source: "import" | "download";
  /** `rolling`: walk-forward predict-rolling; `current`: predict with the models train stored. */
  predict: "rolling" | "current";
  /** The import stage's archive (URL or local folder); default: the config's archive_url. */
  archive?: string;
  /** Threads one market's heavy stages may use (features, predict-rolling, simulate). */
  workers?: number;
  /**
   * Where the download stage connects instead of exchange_url, which stays what its manifest
   * records: the demo's simulator serves the same candles on whichever port it got.
   */
  exchangeUrl?: string;
}

/** What `inputs`, `outputs` and `options` see: the market's resolved config and the run's choices. */
export interface StagePlan {
  config: Config;
  /** The config file; custom generator modules are resolved against its folder. */
  configFile: string;
  options: PipelineOptions;
}

export interface StageContext extends StagePlan {
  loaded: LoadedConfig;
  log: Logger;
  progress: ProgressFactory;
  /** Epoch ms; model artifacts take their creation times from it. */
  clock: { now(): number };
  itbVersion: string;
  signal?: AbortSignal;
  /** Set when the stage runs in an `itb worker`: its heavy work may be split into task jobs. */
  fanOut?: FanOut;
}

/**
 * Splits a stage's heavy work into task jobs on the queue, which every `itb worker` processes
 * (src/pipeline/queue/tasks.ts). A task is a JSON value its kind's handler rebuilds its input
 * from (with the stage's config file, overrides and market); the results come back in the
 * tasks' order.
 */
export interface FanOut {
  /** A threshold grid of more cell × bar steps than this is split, into tasks of about this many. */
  gridSteps: number;
  /** A walk-forward training more rows than this (all steps and models) runs a task per step. */
  rollingRows: number;
  /**
   * Runs the tasks as jobs and waits for them. `key` names the stage's input (its hash): task
   * ids are the stage job's id, the key and the task's index, so a task delivered twice, or
   * enqueued again by a rerun of the stage on the same input, runs and counts once.
   */
  run(kind: "grid" | "rolling", key: string, tasks: readonly unknown[]): Promise<unknown[]>;
}

/** A stage's result, kept in its manifest (JSON values only) and shown when it is skipped later. */
export type StageSummary = Record<string, unknown> & { rows?: number };

export interface StageDef {
  name: string;
  /** One line for `--help` and docs. */
  description: string;
  /** Bump when the stage's computation changes in a way its inputs and config do not show. */
  version: number;
  /**
   * Stages whose outputs this one reads. A name that is not in the selected graph (the
   * alternative not chosen: import vs download, predict-rolling vs predict) is ignored.
   */
  after: readonly string[];
  /** Stages of one group are alternatives; the pipeline runs exactly one of them. */
  group?: "source" | "predict";
  /** Top-level config keys the stage reads; the hash of their canonical JSON is in its manifest. */
  reads: readonly (keyof Config)[];
  /** Run-time choices (not config keys) that change what the stage produces; hashed with `reads`. */
  options?(plan: StagePlan): Record<string, unknown>;
  /** Files the stage reads (absolute paths). */
  inputs(plan: StagePlan): string[];
  /** Files the stage writes (absolute paths); the manifest fingerprints them after the run. */
  outputs(plan: StagePlan): string[];
  /**
   * Folders the stage reads and rewrites as a whole beyond its declared files (the model store:
   * train adds versions and prunes old ones, predict reads the version a pointer names). Not
   * fingerprinted; a shared data folder brings them in before the stage runs and publishes
   * them after it.
   */
  folders?(plan: StagePlan): string[];
  /**
   * The stage's real input is remote (an archive or an exchange): it is skipped only when its
   * config is unchanged, its outputs are unchanged and download_end is a date in the past.
   */
  remote?: boolean;
  /** Undefined when the config asks for this stage; otherwise why it does not apply (reported, not an error). */
  notConfigured?(config: Config): string | undefined;
  run(ctx: StageContext): Promise<StageSummary>;
}
