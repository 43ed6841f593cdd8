import { ConfigError, DataError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { checkGbModel, type GbModel, type GbParams, gbParams, predictGb, trainGb } from "./gb/index.js";
import { type LcModel, type LcParams, lcParams, predictLc, trainLc } from "./lc.js";
import { modelToNet } from "./nn/network.js";
import { type NnModel, type NnParams, nnParams, predictNn, trainNn } from "./nn.js";

/**
 * The algorithm registry: what `algorithms[].algo` may name. Each entry validates its `params`
 * (returning them resolved, as stored in the artifact), trains on cleaned, optionally scaled
 * columns, predicts class-1 probabilities, and checks a model body read back from JSON. A model
 * body is plain JSON (numbers and arrays), so an artifact is portable and loads without code
 * generation or pickling.
 */

export const SUPPORTED_ALGOS = ["lc", "gb", "nn"] as const;
/** Algorithms of the original that itb does not implement (yet). */
const NOT_YET: Record<string, string> = { svc: "support vector classifier" };

/** A trained model as stored in an artifact: `kind` is the algo, the rest is the algorithm's own. */
export type ModelBody = { kind: string } & object;

export interface AlgorithmTrainOptions {
  log: Logger;
}

export interface Algorithm {
  readonly algo: string;
  readonly description: string;
  /**
   * Validates the configured params (the training keys is_scale, length and every_nth_row
   * already removed) and returns them resolved. `rows` is the training row count, which some
   * of the original's defaults depend on (gb's min_data_in_leaf); undefined when validating a
   * config before any data is read.
   */
  params(params: Record<string, unknown>, rows?: number): object;
  train(
    columns: readonly Float64Array[],
    y: Float64Array,
    params: object,
    opts: AlgorithmTrainOptions,
  ): ModelBody | Promise<ModelBody>;
  /** Probability of class 1 per row; the caller passes only rows without NaN features. */
  predict(model: ModelBody, columns: readonly Float64Array[]): Float64Array;
  /** Checks a body read from JSON; throws DataError naming `source` and the fault. */
  check(model: unknown, source: string): ModelBody;
}

/** Typed definition, erased to Algorithm for the registry. */
interface Spec<P extends object, M extends ModelBody> {
  algo: string;
  description: string;
  params(params: Record<string, unknown>, rows?: number): P;
  train(
    columns: readonly Float64Array[],
    y: Float64Array,
    params: P,
    opts: AlgorithmTrainOptions,
  ): M | Promise<M>;
  predict(model: M, columns: readonly Float64Array[]): Float64Array;
  check(model: unknown, source: string): M;
}

function define<P extends object, M extends ModelBody>(spec: Spec<P, M>): Algorithm {
  return spec as unknown as Algorithm;
}

// ---------------------------------------------------------------------------------------- lc

function checkLcModel(m: unknown, source: string): LcModel {
  const fail = (msg: string): never => {
    throw new DataError(`${source}: lc model ${msg}`);
  };
  if (typeof m !== "object" || m === null) return fail("is not an object");
  const o = m as Record<string, unknown>;
  if (o.kind !== "lc") fail(`kind is ${JSON.stringify(o.kind)}, expected "lc"`);
  if (!Array.isArray(o.coef) || !o.coef.every((v) => typeof v === "number" && Number.isFinite(v))) {
    fail("coef is not an array of finite numbers");
  }
  if (typeof o.intercept !== "number" || !Number.isFinite(o.intercept))
    fail("intercept is not a finite number");
  if (typeof o.iterations !== "number") fail("iterations is not a number");
  if (typeof o.converged !== "boolean") fail("converged is not true or false");
  return m as LcModel;
}

const lc = define<LcParams, LcModel>({
  algo: "lc",
  description: "logistic regression (L2, scikit-learn's LogisticRegression)",
  params: (p) => lcParams(p),
  train: (columns, y, params) => trainLc(columns, y, params),
  predict: (model, columns) => predictLc(model, columns),
  check: checkLcModel,
});

// ---------------------------------------------------------------------------------------- gb

/**
 * The original's train_gb passes LightGBM a few fixed values that its configs never write:
 * num_leaves 32, is_unbalance true and min_data_in_leaf = 1 % of the training rows. A config
 * written for the original therefore gets them here too, unless it sets them (in any spelling
 * LightGBM accepts). Without an objective the model is a binary classifier (the labels are).
 */
const GB_ORIGINAL_KEYS: Record<string, readonly string[]> = {
  objective: ["objective", "objective_type", "app", "application", "loss"],
  num_leaves: ["num_leaves", "num_leaf", "max_leaves", "max_leaf", "max_leaf_nodes"],
  is_unbalance: ["is_unbalance", "unbalance", "unbalanced_sets"],
  min_data_in_leaf: [
    "min_data_in_leaf",
    "min_data_per_leaf",
    "min_data",
    "min_child_samples",
    "min_samples_leaf",
  ],
};

function withOriginalGbDefaults(
  params: Record<string, unknown>,
  rows: number | undefined,
): Record<string, unknown> {
  const given = (key: string) => (GB_ORIGINAL_KEYS[key] ?? []).some((k) => params[k] !== undefined);
  const out: Record<string, unknown> = { ...params };
  if (!given("objective")) out.objective = "binary";
  if (!given("num_leaves")) out.num_leaves = 32;
  if (!given("is_unbalance")) out.is_unbalance = true;
  if (!given("min_data_in_leaf") && rows !== undefined) out.min_data_in_leaf = Math.floor(0.01 * rows);
  return out;
}

const gb = define<GbParams, GbModel>({
  algo: "gb",
  description: "gradient-boosted trees (LightGBM-compatible parameters)",
  params: (p, rows) => gbParams(withOriginalGbDefaults(p, rows)),
  train: (columns, y, params, opts) => trainGb(columns, y, params, { log: opts.log }),
  predict: (model, columns) => predictGb(model, columns),
  check: (m, source) => checkGbModel(m, `${source}: gb model`),
});

// ---------------------------------------------------------------------------------------- nn

/** Checks a stored nn body: plain numbers in the shapes its layers imply (modelToNet's checks). */
function checkNnModel(m: unknown, source: string): NnModel {
  const fail = (msg: string): never => {
    throw new DataError(`${source}: nn model ${msg}`);
  };
  if (typeof m !== "object" || m === null) return fail("is not an object");
  const o = m as Record<string, unknown>;
  const numbers = (v: unknown) =>
    Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x));
  if (!numbers(o.layers)) fail("layers is not an array of numbers");
  if (typeof o.activation !== "string") fail("activation is not a string");
  for (const key of ["weights", "biases"]) {
    const v = o[key];
    if (!Array.isArray(v) || !v.every(numbers)) fail(`${key} is not an array of arrays of finite numbers`);
  }
  try {
    modelToNet(m as NnModel);
  } catch (err) {
    throw new DataError(`${source}: ${(err as Error).message}`, {}, { cause: err });
  }
  return m as NnModel;
}

const nn = define<NnParams, NnModel>({
  algo: "nn",
  description: "multilayer perceptron (the original's Keras classifier)",
  params: (p) => nnParams(p),
  train: (columns, y, params) => trainNn(columns, y, params),
  predict: (model, columns) => predictNn(model, columns),
  check: checkNnModel,
});

// ---------------------------------------------------------------------------------- registry

const REGISTRY: Record<string, Algorithm> = { lc, gb, nn };

/** The algorithm for `algo`, or a ConfigError saying what is supported. */
export function algorithmFor(algo: string, where = "algorithms"): Algorithm {
  const found = Object.hasOwn(REGISTRY, algo) ? REGISTRY[algo] : undefined;
  if (found) return found;
  const supported = SUPPORTED_ALGOS.join(", ");
  const notYet = Object.hasOwn(NOT_YET, algo) ? NOT_YET[algo] : undefined;
  if (notYet !== undefined) {
    throw new ConfigError(
      `${where}: algo "${algo}" (${notYet}) is not supported yet; supported: ${supported}`,
    );
  }
  throw new ConfigError(`${where}: unknown algo ${JSON.stringify(algo)}; supported: ${supported}`);
}
