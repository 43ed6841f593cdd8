import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { errorMessage, ItbError } from "../../core/errors.js";

/**
 * The experiment store: every tuning run (an experiment) and every one of its trials, in one
 * SQLite file per market, `<data_folder>/<symbol>/experiments/experiments.sqlite`, next to the
 * experiments' own folders (`exp-0001/`: the best trial's config, the comparison page).
 *
 * WAL mode: the tuner writes, `itb experiments` and other tuners read and write beside it. A
 * trial is one row, written whole when it ends (complete, pruned or failed), so a tuner killed
 * mid-run leaves every finished trial and nothing half-written; its experiment stays
 * "running" until `markInterrupted` (the next open of the same experiment) or forever, which
 * `itb experiments list` shows as such. JSON columns hold structured values; numbers that are
 * not finite are stored as null.
 */

export type ExperimentStatus = "running" | "finished" | "interrupted" | "failed";
export type TrialStatus = "complete" | "pruned" | "failed";
export type Objective = "auc" | "profit";

export interface ExperimentRecord {
  /** "exp-0001", numbered per store in creation order. */
  id: string;
  name: string | null;
  /** ISO times (UTC). */
  created: string;
  finished: string | null;
  status: ExperimentStatus;
  /** The base config file (absolute path) and its hash (configHash) before any trial's changes. */
  configFile: string;
  configHash: string;
  /** Fingerprint of the data tuned on (rows, first/last time, a hash of the inputs). */
  dataFingerprint: string;
  objective: Objective;
  sampler: string;
  seed: number;
  trialsRequested: number;
  /** The search space as given (parsed SPACE.jsonc). */
  space: unknown;
  /** Everything else that decides the results: folds, holdout, halving, fees, command line. */
  settings: Record<string, unknown>;
  /** Number of the chosen trial, once chosen. */
  bestTrial: number | null;
  /** The chosen trial's score on the holdout period, measured once at the end. */
  holdout: Record<string, unknown> | null;
  /** Overfitting odds over the trials (trials, PBO, deflated Sharpe), with notes. */
  overfit: Record<string, unknown> | null;
  /** Path of the best trial's config, written at the end. */
  bestConfig: string | null;
  /** Why a failed experiment failed. */
  error: string | null;
}

export interface FoldMetrics {
  /** 0-based fold number; folds are in time order. */
  fold: number;
  /** Predicted (test) period of the fold, ISO times, end exclusive. */
  start: string;
  end: string;
  rows: number;
  /** The objective's value on this fold. */
  value: number | null;
  /** Further metrics of the fold (auc per label, profit, trades, sharpe...). */
  metrics: Record<string, number | null>;
}

export interface TrialRecord {
  experimentId: string;
  /** 0-based trial number, in the order trials were proposed. */
  number: number;
  status: TrialStatus;
  /** Parameter values by space path. */
  params: Record<string, unknown>;
  /** Hash of the trial's full config. */
  configHash: string;
  /** The objective (mean over the evaluated folds); null when failed. */
  value: number | null;
  /** The folds evaluated, in order (fewer than all when pruned). */
  folds: FoldMetrics[];
  /** Successive-halving rung reached (0 = the first). */
  rung: number;
  started: string;
  finished: string;
  durationS: number;
  /**
   * The trial's performance per period over the evaluated out-of-sample span, the input to
   * PBO (daily returns for the profit objective; per-fold values for auc). Null when failed.
   */
  series: number[] | null;
  error: string | null;
}

export type NewExperiment = Omit<
  ExperimentRecord,
  "id" | "created" | "finished" | "status" | "bestTrial" | "holdout" | "overfit" | "bestConfig" | "error"
>;

export type ExperimentUpdate = Partial<
  Pick<ExperimentRecord, "finished" | "status" | "bestTrial" | "holdout" | "overfit" | "bestConfig" | "error">
>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS experiments (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT,
  created TEXT NOT NULL,
  finished TEXT,
  status TEXT NOT NULL,
  config_file TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  data_fingerprint TEXT NOT NULL,
  objective TEXT NOT NULL,
  sampler TEXT NOT NULL,
  seed INTEGER NOT NULL,
  trials_requested INTEGER NOT NULL,
  space TEXT NOT NULL,
  settings TEXT NOT NULL,
  best_trial INTEGER,
  holdout TEXT,
  overfit TEXT,
  best_config TEXT,
  error TEXT
);
CREATE TABLE IF NOT EXISTS trials (
  experiment TEXT NOT NULL REFERENCES experiments(id),
  number INTEGER NOT NULL,
  status TEXT NOT NULL,
  params TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  value REAL,
  folds TEXT NOT NULL,
  rung INTEGER NOT NULL,
  started TEXT NOT NULL,
  finished TEXT NOT NULL,
  duration_s REAL NOT NULL,
  series TEXT,
  error TEXT,
  PRIMARY KEY (experiment, number)
);
`;

const SCHEMA_VERSION = 1;

/** `<data_folder>/<symbol>/experiments`: the store's folder for a config's market. */
export function experimentsFolder(dataFolder: string, symbol: string): string {
  return resolve(dataFolder, symbol, "experiments");
}

/** The store's file in an experiments folder. */
export function experimentStoreFile(folder: string): string {
  return join(folder, "experiments.sqlite");
}

/** An experiment's own folder (best config, comparison page). */
export function experimentFolder(folder: string, id: string): string {
  return join(folder, id);
}

/** JSON with non-finite numbers as null (JSON.stringify's rule, stated). */
function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

function parse<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

const finiteOrNull = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);

interface ExperimentRow {
  id: string;
  name: string | null;
  created: string;
  finished: string | null;
  status: string;
  config_file: string;
  config_hash: string;
  data_fingerprint: string;
  objective: string;
  sampler: string;
  seed: number;
  trials_requested: number;
  space: string;
  settings: string;
  best_trial: number | null;
  holdout: string | null;
  overfit: string | null;
  best_config: string | null;
  error: string | null;
}

interface TrialRow {
  experiment: string;
  number: number;
  status: string;
  params: string;
  config_hash: string;
  value: number | null;
  folds: string;
  rung: number;
  started: string;
  finished: string;
  duration_s: number;
  series: string | null;
  error: string | null;
}

function experimentOf(r: ExperimentRow): ExperimentRecord {
  return {
    id: r.id,
    name: r.name,
    created: r.created,
    finished: r.finished,
    status: r.status as ExperimentStatus,
    configFile: r.config_file,
    configHash: r.config_hash,
    dataFingerprint: r.data_fingerprint,
    objective: r.objective as Objective,
    sampler: r.sampler,
    seed: r.seed,
    trialsRequested: r.trials_requested,
    space: parse(r.space),
    settings: parse<Record<string, unknown>>(r.settings) ?? {},
    bestTrial: r.best_trial,
    holdout: parse(r.holdout),
    overfit: parse(r.overfit),
    bestConfig: r.best_config,
    error: r.error,
  };
}

function trialOf(r: TrialRow): TrialRecord {
  return {
    experimentId: r.experiment,
    number: r.number,
    status: r.status as TrialStatus,
    params: parse<Record<string, unknown>>(r.params) ?? {},
    configHash: r.config_hash,
    value: r.value,
    folds: parse<FoldMetrics[]>(r.folds) ?? [],
    rung: r.rung,
    started: r.started,
    finished: r.finished,
    durationS: r.duration_s,
    series: parse<number[]>(r.series),
    error: r.error,
  };
}

export class ExperimentStoreError extends ItbError {}

export interface ExperimentStoreOptions {
  /** Open an existing store for reading only; a missing file is an error. */
  readonly?: boolean;
}

export class ExperimentStore {
  private readonly db: Database.Database;

  private constructor(
    readonly file: string,
    db: Database.Database,
  ) {
    this.db = db;
  }

  /** Opens (creating when missing, unless read-only) the store file. */
  static open(file: string, options: ExperimentStoreOptions = {}): ExperimentStore {
    if (options.readonly && !existsSync(file)) {
      throw new ExperimentStoreError(`no experiments recorded: ${file} does not exist (run itb tune first)`);
    }
    if (!options.readonly) mkdirSync(dirname(file), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(file, {
        readonly: options.readonly === true,
        fileMustExist: options.readonly === true,
      });
      db.pragma("busy_timeout = 10000");
      if (!options.readonly) {
        db.pragma("journal_mode = WAL");
        db.pragma("synchronous = FULL");
        const version = db.pragma("user_version", { simple: true }) as number;
        if (version > SCHEMA_VERSION) {
          db.close();
          throw new ExperimentStoreError(
            `${file}: experiment store version ${version} is newer than this itb's (${SCHEMA_VERSION}); upgrade itb`,
          );
        }
        db.exec(SCHEMA);
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      }
    } catch (err) {
      if (err instanceof ExperimentStoreError) throw err;
      throw new ExperimentStoreError(`${file}: cannot open the experiment store: ${errorMessage(err)}`);
    }
    return new ExperimentStore(file, db);
  }

  /** Records a new experiment, status "running"; returns it with its id. */
  createExperiment(e: NewExperiment, now = new Date()): ExperimentRecord {
    const create = this.db.transaction(() => {
      const seq = this.db
        .prepare("SELECT coalesce(max(seq), 0) + 1 FROM experiments")
        .pluck()
        .get() as number;
      const id = `exp-${String(seq).padStart(4, "0")}`;
      this.db
        .prepare(
          "INSERT INTO experiments (seq, id, name, created, status, config_file, config_hash, data_fingerprint, " +
            "objective, sampler, seed, trials_requested, space, settings) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(
          seq,
          id,
          e.name,
          now.toISOString(),
          e.configFile,
          e.configHash,
          e.dataFingerprint,
          e.objective,
          e.sampler,
          e.seed,
          e.trialsRequested,
          json(e.space),
          json(e.settings),
        );
      return id;
    });
    const id = create.immediate();
    const made = this.experiment(id);
    if (!made) throw new Error("unreachable: experiment just created");
    return made;
  }

  updateExperiment(id: string, patch: ExperimentUpdate): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    const col = (name: string, v: unknown) => {
      sets.push(`${name} = ?`);
      values.push(v);
    };
    if (patch.finished !== undefined) col("finished", patch.finished);
    if (patch.status !== undefined) col("status", patch.status);
    if (patch.bestTrial !== undefined) col("best_trial", patch.bestTrial);
    if (patch.holdout !== undefined) col("holdout", patch.holdout === null ? null : json(patch.holdout));
    if (patch.overfit !== undefined) col("overfit", patch.overfit === null ? null : json(patch.overfit));
    if (patch.bestConfig !== undefined) col("best_config", patch.bestConfig);
    if (patch.error !== undefined) col("error", patch.error);
    if (sets.length === 0) return;
    const r = this.db.prepare(`UPDATE experiments SET ${sets.join(", ")} WHERE id = ?`).run(...values, id);
    if (r.changes === 0) throw new ExperimentStoreError(`${this.file}: no experiment ${id}`);
  }

  /** Records a finished trial (complete, pruned or failed). A trial is written once. */
  addTrial(t: TrialRecord): void {
    try {
      this.db
        .prepare(
          "INSERT INTO trials (experiment, number, status, params, config_hash, value, folds, rung, started, " +
            "finished, duration_s, series, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .run(
          t.experimentId,
          t.number,
          t.status,
          json(t.params),
          t.configHash,
          finiteOrNull(t.value),
          json(t.folds),
          t.rung,
          t.started,
          t.finished,
          t.durationS,
          t.series === null ? null : json(t.series),
          t.error,
        );
    } catch (err) {
      throw new ExperimentStoreError(
        `${this.file}: cannot record trial ${t.number} of ${t.experimentId}: ${errorMessage(err)}`,
      );
    }
  }

  experiment(id: string): ExperimentRecord | undefined {
    const r = this.db.prepare("SELECT * FROM experiments WHERE id = ?").get(id) as ExperimentRow | undefined;
    return r ? experimentOf(r) : undefined;
  }

  /** All experiments, oldest first. */
  experiments(): ExperimentRecord[] {
    return (this.db.prepare("SELECT * FROM experiments ORDER BY seq").all() as ExperimentRow[]).map(
      experimentOf,
    );
  }

  /** An experiment's trials in trial order. */
  trials(id: string): TrialRecord[] {
    return (
      this.db.prepare("SELECT * FROM trials WHERE experiment = ? ORDER BY number").all(id) as TrialRow[]
    ).map(trialOf);
  }

  /** Trial counts by status for each experiment id. */
  trialCounts(): Map<string, Record<TrialStatus, number>> {
    const rows = this.db
      .prepare("SELECT experiment, status, count(*) AS n FROM trials GROUP BY experiment, status")
      .all() as { experiment: string; status: TrialStatus; n: number }[];
    const out = new Map<string, Record<TrialStatus, number>>();
    for (const r of rows) {
      const c = out.get(r.experiment) ?? { complete: 0, pruned: 0, failed: 0 };
      c[r.status] = r.n;
      out.set(r.experiment, c);
    }
    return out;
  }

  close(): void {
    this.db.close();
  }
}
