import { createHash } from "node:crypto";
import type { Config } from "../config/index.js";
import { ConfigError, DataError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import type { Logger } from "../core/log.js";
import { isoTime } from "../core/time.js";
import { algorithmFor } from "./algorithms.js";
import { ARTIFACT_FORMAT, ARTIFACT_VERSION, type ModelArtifact, type Scores } from "./artifact.js";
import { classifierScores } from "./metrics.js";
import { applyScaler, fitScaler } from "./scaler.js";

/**
 * Training, pure: frames in, artifacts out. Which models exist follows the original's
 * `train_feature_sets`: each set trains one model per label × algorithm, named
 * `<label>_<algorithm name>`, on the set's features; a set's `labels`, `algorithms` (or
 * `functions`) and `features` (or `columns`) default to the config's `labels`, `algorithms`
 * and `train_features`. A config without train_feature_sets has one implicit set of defaults.
 */

/** The original's separator of the label and the algorithm name in a model (score column) name. */
export const LABEL_ALGO_SEPARATOR = "_";

/** The keys of an algorithm entry that shape the training rows, read from `train` or `params`. */
const TRAINING_KEYS = ["is_scale", "length", "every_nth_row", "shifts"] as const;

export interface ModelSpec {
  /** `<label>_<algorithm name>`: the model's name in the store and its prediction column. */
  name: string;
  label: string;
  features: string[];
  algorithm: {
    name: string;
    algo: string;
    params: Record<string, unknown>;
    train: Record<string, unknown>;
  };
  /** The params the algorithm validates: `params` and `train` without the training keys. */
  modelParams: Record<string, unknown>;
  isScale: boolean;
  /** Train on the last `length` usable rows; 0: no limit of the algorithm's own. */
  length: number;
  /** Keep every n-th usable row, counted back from the latest (which is always kept). */
  everyNthRow: number;
}

type TrainSetsConfig = Pick<Config, "train_feature_sets" | "train_features" | "labels" | "algorithms">;

/** Every model the config trains, validated (algorithms, params, names) before any data is read. */
export function modelSpecs(config: TrainSetsConfig): ModelSpec[] {
  const sets =
    config.train_feature_sets.length > 0
      ? config.train_feature_sets
      : [{ generator: "train_features", config: {} }];
  const implicit = config.train_feature_sets.length === 0;
  const specs: ModelSpec[] = [];
  const seen = new Map<string, string>();
  sets.forEach((set, i) => {
    const where = implicit ? "config" : `train_feature_sets[${i}].config`;
    const c = set.config;
    const features = nonEmptyNames(c.columns, `${where}.columns`) ??
      nonEmptyNames(c.features, `${where}.features`) ?? [...config.train_features];
    const labels = nonEmptyNames(c.labels, `${where}.labels`) ?? [...config.labels];
    const algorithms = algorithmEntries(
      c.functions ?? c.algorithms,
      `${where}.${c.functions ? "functions" : "algorithms"}`,
      config,
      implicit ? "" : `train_feature_sets[${i}]: `,
    );
    if (features.length === 0) throw new ConfigError(`${where}: no features to train on: set train_features`);
    if (labels.length === 0) throw new ConfigError(`${where}: no labels to train for: set labels`);
    if (algorithms.length === 0) throw new ConfigError(`${where}: no algorithms to train: set algorithms`);
    for (const label of labels) {
      for (const [a, aWhere] of algorithms) {
        const name = `${label}${LABEL_ALGO_SEPARATOR}${a.name}`;
        checkModelName(name, aWhere);
        const first = seen.get(name);
        if (first !== undefined) {
          throw new ConfigError(
            `${aWhere}: model ${name} is also trained by ${first}; give the algorithm another name`,
          );
        }
        seen.set(name, aWhere);
        specs.push(specFor(name, label, features, a, aWhere));
      }
    }
  });
  return specs;
}

interface AlgorithmEntry {
  name: string;
  algo: string;
  params: Record<string, unknown>;
  train: Record<string, unknown>;
}

/** A set's algorithms, each with the config path its errors name. */
function algorithmEntries(
  value: unknown,
  where: string,
  config: TrainSetsConfig,
  setPrefix: string,
): [AlgorithmEntry, string][] {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    return config.algorithms.map((a, i) => [
      { name: a.name, algo: a.algo, params: a.params, train: a.train as Record<string, unknown> },
      `${setPrefix}algorithms[${i}]`,
    ]);
  }
  if (!Array.isArray(value))
    throw new ConfigError(`${where}: expected an array of algorithms or algorithm names`);
  return value.map((entry, i): [AlgorithmEntry, string] => {
    const at = `${where}[${i}]`;
    if (typeof entry === "string") {
      const k = config.algorithms.findIndex((a) => a.name === entry);
      const found = config.algorithms[k];
      if (found === undefined) {
        throw new ConfigError(
          `${at}: no algorithm named "${entry}" in algorithms (names: ${config.algorithms.map((a) => a.name).join(", ") || "none"})`,
        );
      }
      return [
        {
          name: found.name,
          algo: found.algo,
          params: found.params,
          train: found.train as Record<string, unknown>,
        },
        `${setPrefix}algorithms[${k}]`,
      ];
    }
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new ConfigError(`${at}: expected an algorithm object or an algorithm name`);
    }
    const o = entry as Record<string, unknown>;
    if (typeof o.name !== "string" || o.name.trim() === "")
      throw new ConfigError(`${at}.name: expected a non-empty string`);
    if (typeof o.algo !== "string") throw new ConfigError(`${at}.algo: expected a string such as "lc"`);
    const params = o.params ?? {};
    const train = o.train ?? {};
    if (typeof params !== "object" || params === null || Array.isArray(params))
      throw new ConfigError(`${at}.params: expected an object`);
    if (typeof train !== "object" || train === null || Array.isArray(train))
      throw new ConfigError(`${at}.train: expected an object`);
    return [
      {
        name: o.name,
        algo: o.algo,
        params: params as Record<string, unknown>,
        train: train as Record<string, unknown>,
      },
      at,
    ];
  });
}

function nonEmptyNames(value: unknown, where: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value === "" ? undefined : [value];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new ConfigError(`${where}: expected an array of column names`);
  }
  return value.length === 0 ? undefined : [...(value as string[])];
}

/** Model names become folder names: no separators, no leading dot, nothing a shell would mangle. */
function checkModelName(name: string, where: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/.test(name)) {
    throw new ConfigError(
      `${where}: model name ${JSON.stringify(name)} (<label>_<algorithm name>) must consist of letters, digits and _ . + -`,
    );
  }
}

function specFor(
  name: string,
  label: string,
  features: string[],
  a: AlgorithmEntry,
  where: string,
): ModelSpec {
  const option = (key: string): unknown => a.train[key] ?? a.params[key];
  const impl = algorithmFor(a.algo, `${where}.algo`);

  const scale = option("is_scale") ?? false;
  if (typeof scale !== "boolean") throw new ConfigError(`${where}.train.is_scale: expected true or false`);
  const lengthValue = option("length") ?? 0;
  if (typeof lengthValue !== "number" || !Number.isInteger(lengthValue) || lengthValue < 0) {
    throw new ConfigError(`${where}.train.length: expected a non-negative integer or null`);
  }
  const nth = option("every_nth_row") ?? 1;
  if (typeof nth !== "number" || !Number.isInteger(nth) || nth < 1) {
    throw new ConfigError(`${where}.train.every_nth_row: expected a positive integer`);
  }
  const shifts = option("shifts");
  if (Array.isArray(shifts) && shifts.length > 0) {
    throw new ConfigError(
      `${where}.train.shifts: shifted feature copies are not supported yet; remove shifts`,
    );
  }
  // Some of the original's versions read the hyperparameters from `train` (objective,
  // num_boost_round, …): keys of `train` other than the training keys are model params too.
  const modelParams: Record<string, unknown> = {};
  for (const source of [a.train, a.params]) {
    for (const [k, v] of Object.entries(source)) {
      if ((TRAINING_KEYS as readonly string[]).includes(k) || v === undefined) continue;
      if (k in modelParams && JSON.stringify(modelParams[k]) !== JSON.stringify(v)) {
        throw new ConfigError(
          `${where}: "${k}" is set in both train (${JSON.stringify(modelParams[k])}) and params (${JSON.stringify(v)})`,
        );
      }
      modelParams[k] = v;
    }
  }
  try {
    impl.params(modelParams);
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new ConfigError(`${where}.params: ${err.message}`, err.issues, { cause: err });
    }
    throw err;
  }
  return {
    name,
    label,
    features: [...features],
    algorithm: { name: a.name, algo: a.algo, params: a.params, train: a.train },
    modelParams,
    isScale: scale,
    length: lengthValue,
    everyNthRow: nth,
  };
}

/** The candidate rows [start, end) of a table. */
export interface RowWindow {
  start: number;
  end: number;
}

export interface TrainLimits {
  /** Rows each label looks ahead. */
  labelHorizon: number;
  /** The config's train_length: at most this many usable rows; 0: all. */
  trainLength: number;
}

/**
 * `itb train`'s window: every row except the last label_horizon, whose labels look past the
 * end of the data (unknown, or computed from a partial window).
 */
export function fullTrainWindow(rows: number, labelHorizon: number): RowWindow {
  return { start: 0, end: Math.max(0, rows - labelHorizon) };
}

/**
 * The rows a model trains on: in the window, with every feature finite and the label known;
 * then the last train_length of them, then the last `length` (the algorithm's), then every
 * n-th counted back from the latest.
 */
export function selectTrainingRows(
  features: readonly Float64Array[],
  label: Float64Array,
  window: RowWindow,
  limits: { trainLength: number; length: number; everyNthRow: number },
): Int32Array {
  const start = Math.max(0, window.start);
  const end = Math.min(label.length, window.end);
  const usable = new Int32Array(Math.max(0, end - start));
  let k = 0;
  for (let i = start; i < end; i++) {
    if (!Number.isFinite(label[i] as number)) continue;
    let ok = true;
    for (const c of features) {
      if (!Number.isFinite(c[i] as number)) {
        ok = false;
        break;
      }
    }
    if (ok) usable[k++] = i;
  }
  let from = 0;
  if (limits.trainLength > 0) from = Math.max(from, k - limits.trainLength);
  if (limits.length > 0) from = Math.max(from, k - limits.length);
  const kept = usable.subarray(from, k);
  const nth = limits.everyNthRow;
  if (nth <= 1) return Int32Array.from(kept);
  const out: number[] = [];
  for (let j = kept.length - 1; j >= 0; j -= nth) out.push(kept[j] as number);
  return Int32Array.from(out.reverse());
}

export function gather(x: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let j = 0; j < rows.length; j++) out[j] = x[rows[j] as number] as number;
  return out;
}

/** SHA-256 over the training rows' times, unscaled feature values and labels, with the names. */
export function dataFingerprint(
  names: readonly string[],
  label: string,
  time: Float64Array,
  columns: readonly Float64Array[],
  y: Float64Array,
): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ features: names, label, rows: y.length }));
  const bytes = (a: Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  h.update(bytes(time));
  for (const c of columns) h.update(bytes(c));
  h.update(bytes(y));
  return `sha256:${h.digest("hex")}`;
}

/** The latest time whose data a training row's label used: the time of row + label_horizon. */
export function labelEndTime(time: Float64Array, row: number, labelHorizon: number): number {
  const at = row + labelHorizon;
  if (at < time.length) return time[at] as number;
  // Past the table's end (not the case for windows built here): extrapolate the grid step.
  const last = time.length - 1;
  const step = last > 0 ? ((time[last] as number) - (time[0] as number)) / last : 0;
  return (time[last] as number) + (at - last) * step;
}

/** Classifier scores with NaN (undefined) written as null, as JSON stores them. */
export function scoresOf(y: Float64Array, score: Float64Array): Scores {
  const s = classifierScores(y, score);
  const v = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    rows: y.length,
    auc: v(s.auc),
    ap: v(s.ap),
    f1: v(s.f1),
    precision: v(s.precision),
    recall: v(s.recall),
  };
}

/** What every artifact records about the run that made it; times and versions are injected. */
export interface TrainContext {
  configHash: string;
  itbVersion: string;
  /** Epoch ms, from the caller's clock. */
  createdAt: number;
  log: Logger;
}

/** A model trained, with its in-sample predictions on the training rows. */
export interface Trained {
  artifact: ModelArtifact;
  rows: Int32Array;
}

/**
 * Trains one model on the usable rows of `window`. A window without usable rows, or with one
 * class only, is a DataError whose action is "skip": that model cannot be trained there, the
 * others can.
 */
export async function trainModel(
  frame: Frame,
  spec: ModelSpec,
  window: RowWindow,
  limits: TrainLimits,
  ctx: TrainContext,
): Promise<Trained> {
  const impl = algorithmFor(spec.algorithm.algo);
  const featureColumns = spec.features.map((f) => frame.get(f));
  const labelColumn = frame.get(spec.label);
  const rows = selectTrainingRows(featureColumns, labelColumn, window, {
    trainLength: limits.trainLength,
    length: spec.length,
    everyNthRow: spec.everyNthRow,
  });
  const time = frame.time;
  const span = () =>
    window.end > window.start && window.start < time.length
      ? `${isoTime(time[Math.max(0, window.start)] as number)} .. ${isoTime(time[Math.min(time.length, window.end) - 1] as number)}`
      : "an empty window";
  if (rows.length === 0) {
    throw new DataError(
      `${spec.name}: no training rows in ${span()}: every row has a NaN feature or label`,
      {},
      { action: "skip" },
    );
  }
  const x = featureColumns.map((c) => gather(c, rows));
  const y = gather(labelColumn, rows);
  let ones = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i] as number;
    if (v === 1) ones++;
    else if (v !== 0)
      throw new DataError(
        `${spec.name}: label ${spec.label} is ${v} at ${isoTime(time[rows[i] as number] as number)}, expected 0 or 1`,
      );
  }
  if (ones === 0 || ones === y.length) {
    throw new DataError(
      `${spec.name}: the label has one class only in ${span()} (${ones} of ${y.length} rows are 1); a classifier needs both`,
      {},
      { action: "skip" },
    );
  }
  const fingerprint = dataFingerprint(spec.features, spec.label, gather(time, rows), x, y);
  const scaler = spec.isScale ? fitScaler(x) : null;
  const xs = scaler ? applyScaler(scaler, x, x) : x; // x is this function's copy: scaled in place
  const resolved = impl.params(spec.modelParams, rows.length);
  const started = performance.now();
  const model = await impl.train(xs, y, resolved, { log: ctx.log });
  const inSample = scoresOf(y, impl.predict(model, xs));
  const firstRow = rows[0] as number;
  const lastRow = rows[rows.length - 1] as number;
  ctx.log.debug(
    { model: spec.name, rows: rows.length, seconds: Math.round(performance.now() - started) / 1000 },
    "model trained",
  );
  const artifact: ModelArtifact = {
    format: ARTIFACT_FORMAT,
    format_version: ARTIFACT_VERSION,
    name: spec.name,
    label: spec.label,
    features: [...spec.features],
    scaler,
    algorithm: {
      name: spec.algorithm.name,
      algo: spec.algorithm.algo,
      params: spec.algorithm.params,
      train: spec.algorithm.train,
      resolved,
    },
    training: {
      rows: rows.length,
      first_row: firstRow,
      last_row: lastRow,
      first_time: isoTime(time[firstRow] as number),
      last_time: isoTime(time[lastRow] as number),
      label_horizon: limits.labelHorizon,
      label_end_time: isoTime(labelEndTime(time, lastRow, limits.labelHorizon)),
      train_length: limits.trainLength,
      length: spec.length,
      every_nth_row: spec.everyNthRow,
      positive_rate: ones / y.length,
      data_fingerprint: fingerprint,
      table_rows: frame.length,
    },
    metrics: { in_sample: inSample, out_of_sample: null },
    config_hash: ctx.configHash,
    itb_version: ctx.itbVersion,
    created_at: isoTime(ctx.createdAt),
    model,
  };
  return { artifact, rows };
}
