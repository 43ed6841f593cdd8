import { DataError } from "../core/errors.js";
import { algorithmFor, type ModelBody } from "./algorithms.js";
import type { Scaler } from "./scaler.js";

/**
 * The model artifact: one portable JSON file per trained model that carries its contract —
 * what it needs (feature names in order, the scaler fitted on its training rows), what it
 * predicts (label), how it was made (algorithm and parameters as configured and as resolved,
 * training window, config hash, a SHA-256 fingerprint of the exact training rows, itb version,
 * creation time) and how good it was (metrics, labelled in-sample or out-of-sample). Loading
 * refuses an unknown format version and a caller whose features differ in name or order.
 */

export const ARTIFACT_FORMAT = "itb-model";
/** Bumped on any change a reader of the previous version would misread. */
export const ARTIFACT_VERSION = 1;
const READABLE_VERSIONS: readonly number[] = [1];

/** Classifier scores as the original's compute_scores; null where undefined (one class only). */
export interface Scores {
  rows: number;
  auc: number | null;
  ap: number | null;
  f1: number | null;
  precision: number | null;
  recall: number | null;
}

export interface ArtifactMetrics {
  /** On the training rows themselves: optimistic by construction, never evidence of an edge. */
  in_sample: Scores | null;
  /** On rows after the training information ended (walk-forward steps); null when unknown. */
  out_of_sample: Scores | null;
}

export interface TrainingWindow {
  /** Rows the model was fitted on (after dropping NaN rows, length limits, every_nth_row). */
  rows: number;
  /** First and last training row as indices into the table trained on, and their times. */
  first_row: number;
  last_row: number;
  first_time: string;
  last_time: string;
  /** Rows each label looks ahead; the training used data up to label_end_time. */
  label_horizon: number;
  label_end_time: string;
  /** The length limits applied: config train_length, the algorithm's length, every_nth_row. */
  train_length: number;
  length: number;
  every_nth_row: number;
  /** Share of label 1 among the training rows. */
  positive_rate: number;
  /** `sha256:<hex>` of the training rows' times, feature values (unscaled) and labels. */
  data_fingerprint: string;
  /** Rows of the table the training rows were selected from. */
  table_rows: number;
}

export interface ArtifactAlgorithm {
  /** The config's algorithm name (the model name's suffix) and type. */
  name: string;
  algo: string;
  /** As configured. */
  params: Record<string, unknown>;
  train: Record<string, unknown>;
  /** As the algorithm resolved them (defaults filled, aliases resolved). */
  resolved: object;
}

/** Where a walk-forward step's model sits in its run. */
export interface RollingInfo {
  run: number;
  step: number;
  predict_first_row: number;
  predict_last_row: number;
  predict_first_time: string;
  predict_last_time: string;
}

export interface ModelArtifact {
  format: typeof ARTIFACT_FORMAT;
  format_version: number;
  /** `<label>_<algorithm name>`, the prediction column's name. */
  name: string;
  label: string;
  features: string[];
  scaler: Scaler | null;
  algorithm: ArtifactAlgorithm;
  training: TrainingWindow;
  metrics: ArtifactMetrics;
  config_hash: string;
  itb_version: string;
  created_at: string;
  rolling?: RollingInfo;
  model: ModelBody;
}

/**
 * JSON text of an artifact: the contract pretty-printed for people, the model body (thousands
 * of numbers for gb) on one line at the end. Doubles print in their shortest round-trip form,
 * so a loaded model predicts bit-identically.
 */
export function serializeArtifact(a: ModelArtifact): string {
  const { model, ...contract } = a;
  const head = JSON.stringify(contract, null, 2);
  return `${head.slice(0, -2)},\n  "model": ${JSON.stringify(model)}\n}\n`;
}

/** Parses and validates an artifact's text; `source` (the file) names it in every error. */
export function parseArtifact(text: string, source: string): ModelArtifact {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DataError(
      `not a model artifact: invalid JSON (${(err as Error).message})`,
      { file: source },
      { cause: err },
    );
  }
  return checkArtifact(value, source);
}

/** Validates a parsed artifact (from a file or a worker thread). */
export function checkArtifact(value: unknown, source: string): ModelArtifact {
  const fail = (msg: string): never => {
    throw new DataError(msg, { file: source });
  };
  if (!isObject(value)) return fail("not a model artifact: expected a JSON object");
  if (value.format !== ARTIFACT_FORMAT) {
    fail(
      `not an itb model artifact: "format" is ${JSON.stringify(value.format)}, expected "${ARTIFACT_FORMAT}"`,
    );
  }
  const version = value.format_version;
  if (typeof version !== "number" || !READABLE_VERSIONS.includes(version)) {
    fail(
      `unknown model format version ${JSON.stringify(version)}; this itb reads version ${READABLE_VERSIONS.join(", ")}: ` +
        "upgrade itb to load it, or retrain the model with this itb",
    );
  }
  const str = (o: Record<string, unknown>, key: string, where: string): string => {
    const v = o[key];
    return typeof v === "string" ? v : fail(`${where}${key} is not a string`);
  };
  const int = (o: Record<string, unknown>, key: string, where: string): number => {
    const v = o[key];
    return typeof v === "number" && Number.isInteger(v) ? v : fail(`${where}${key} is not an integer`);
  };
  const obj = (o: Record<string, unknown>, key: string, where: string): Record<string, unknown> => {
    const v = o[key];
    return isObject(v) ? v : fail(`${where}${key} is not an object`);
  };
  str(value, "name", "");
  str(value, "label", "");
  str(value, "config_hash", "");
  str(value, "itb_version", "");
  str(value, "created_at", "");
  const features = value.features;
  if (!Array.isArray(features) || !features.every((f) => typeof f === "string")) {
    fail("features is not an array of names");
  }
  const d = (features as string[]).length;
  const scaler = value.scaler;
  if (scaler !== null) {
    if (!isObject(scaler)) return fail("scaler is neither null nor an object");
    for (const key of ["mean", "scale"]) {
      const arr = scaler[key];
      // A column with no values has mean NaN, which JSON writes as null.
      if (!Array.isArray(arr) || arr.length !== d || !arr.every((v) => v === null || typeof v === "number")) {
        fail(`scaler.${key} is not an array of ${d} numbers`);
      }
    }
    scaler.mean = (scaler.mean as (number | null)[]).map((v) => v ?? Number.NaN);
  }
  const algorithm = obj(value, "algorithm", "");
  str(algorithm, "name", "algorithm.");
  const algo = str(algorithm, "algo", "algorithm.");
  obj(algorithm, "params", "algorithm.");
  obj(algorithm, "train", "algorithm.");
  const training = obj(value, "training", "");
  for (const key of ["rows", "first_row", "last_row", "label_horizon", "table_rows"])
    int(training, key, "training.");
  for (const key of ["first_time", "last_time", "label_end_time", "data_fingerprint"])
    str(training, key, "training.");
  const metrics = obj(value, "metrics", "");
  for (const key of ["in_sample", "out_of_sample"]) {
    const m = metrics[key];
    if (m !== null && m !== undefined && !isObject(m)) fail(`metrics.${key} is neither null nor an object`);
    if (m === undefined) metrics[key] = null;
  }
  let impl: ReturnType<typeof algorithmFor>;
  try {
    impl = algorithmFor(algo, "algorithm.algo");
  } catch (err) {
    throw new DataError(`cannot load the model: ${(err as Error).message}`, { file: source }, { cause: err });
  }
  impl.check(value.model, source);
  return value as unknown as ModelArtifact;
}

/**
 * Refuses a model whose features are not exactly `given` (same names, same order): the error
 * lists what is missing, extra and misordered, and says what to do.
 */
export function checkFeatures(artifact: ModelArtifact, given: readonly string[], source?: string): void {
  const problem = featureMismatch(artifact.features, given);
  if (problem === undefined) return;
  throw new DataError(
    `model ${artifact.name} does not match the features given (model: ${artifact.features.length}, given: ${given.length}):\n` +
      `${problem}\n` +
      "retrain the model with these features, or give it the features it was trained on, in its order",
    source === undefined ? {} : { file: source },
  );
}

/** The differences between the model's features and the given ones, one line each; undefined if none. */
export function featureMismatch(model: readonly string[], given: readonly string[]): string | undefined {
  const inModel = new Set(model);
  const inGiven = new Set(given);
  const missing = model.filter((f) => !inGiven.has(f));
  const extra = given.filter((f) => !inModel.has(f));
  const modelCommon = model.filter((f) => inGiven.has(f));
  const givenCommon = given.filter((f) => inModel.has(f));
  const misordered = modelCommon.flatMap((f, i) =>
    givenCommon[i] === f ? [] : [`${f} (model #${model.indexOf(f) + 1}, given #${given.indexOf(f) + 1})`],
  );
  const duplicated = given.filter((f, i) => given.indexOf(f) !== i);
  const lines: string[] = [];
  if (missing.length > 0) lines.push(`  missing (the model needs them): ${missing.join(", ")}`);
  if (extra.length > 0) lines.push(`  extra (the model was not trained on them): ${extra.join(", ")}`);
  if (misordered.length > 0) lines.push(`  misordered: ${misordered.join(", ")}`);
  if (duplicated.length > 0) lines.push(`  given more than once: ${[...new Set(duplicated)].join(", ")}`);
  return lines.length > 0 ? lines.join("\n") : undefined;
}

/** One section of a diff between two artifacts of a model. */
export interface DiffSection {
  section: "algorithm" | "features" | "training" | "metrics" | "provenance";
  lines: string[];
}

/** What changed from `a` to `b`: parameters, features, training window, metrics, provenance. */
export function diffArtifacts(a: ModelArtifact, b: ModelArtifact): DiffSection[] {
  const out: DiffSection[] = [];
  const add = (section: DiffSection["section"], lines: string[]) => {
    if (lines.length > 0) out.push({ section, lines });
  };
  add("algorithm", [
    ...valueDiff("algo", a.algorithm.algo, b.algorithm.algo),
    ...recordDiff("params.", a.algorithm.params, b.algorithm.params),
    ...recordDiff("train.", a.algorithm.train, b.algorithm.train),
    ...recordDiff(
      "resolved.",
      a.algorithm.resolved as Record<string, unknown>,
      b.algorithm.resolved as Record<string, unknown>,
    ),
    ...valueDiff("scaled", a.scaler !== null, b.scaler !== null),
  ]);
  const fa = new Set(a.features);
  const fb = new Set(b.features);
  const featureLines = [
    ...b.features.filter((f) => !fa.has(f)).map((f) => `+ ${f}`),
    ...a.features.filter((f) => !fb.has(f)).map((f) => `- ${f}`),
  ];
  const common = a.features.filter((f) => fb.has(f));
  const commonB = b.features.filter((f) => fa.has(f));
  if (common.some((f, i) => commonB[i] !== f)) featureLines.push("order changed");
  add("features", featureLines);
  const ta = a.training as unknown as Record<string, unknown>;
  const tb = b.training as unknown as Record<string, unknown>;
  add("training", recordDiff("", ta, tb));
  const metricLines: string[] = [];
  for (const kind of ["in_sample", "out_of_sample"] as const) {
    const ma = a.metrics[kind];
    const mb = b.metrics[kind];
    const label = kind === "in_sample" ? "in-sample" : "out-of-sample";
    if (ma === null && mb === null) continue;
    if (ma === null || mb === null) {
      metricLines.push(`${label}: ${ma === null ? "none" : "present"} → ${mb === null ? "none" : "present"}`);
      continue;
    }
    for (const key of ["rows", "auc", "ap", "f1", "precision", "recall"] as const) {
      const x = ma[key];
      const y = mb[key];
      if (x === y) continue;
      const delta =
        typeof x === "number" && typeof y === "number" && key !== "rows" ? ` (${signed(y - x)})` : "";
      metricLines.push(`${label} ${key}: ${fmt(x)} → ${fmt(y)}${delta}`);
    }
  }
  add("metrics", metricLines);
  add("provenance", [
    ...valueDiff("config_hash", a.config_hash, b.config_hash),
    ...valueDiff("itb_version", a.itb_version, b.itb_version),
    ...valueDiff("created_at", a.created_at, b.created_at),
  ]);
  return out;
}

function valueDiff(key: string, a: unknown, b: unknown): string[] {
  return sameJson(a, b) ? [] : [`${key}: ${fmt(a)} → ${fmt(b)}`];
}

function recordDiff(prefix: string, a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((k) => valueDiff(`${prefix}${k}`, a[k], b[k]));
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function fmt(v: unknown): string {
  if (v === undefined) return "(unset)";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6);
  return JSON.stringify(v);
}

function signed(x: number): string {
  const r = Math.round(x * 1e6) / 1e6;
  return r >= 0 ? `+${r}` : String(r);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
