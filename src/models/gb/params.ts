import { ConfigError } from "../../core/errors.js";
import type { BinMethod } from "./binning.js";

/**
 * Training parameters of the gradient-boosted trees, named as LightGBM names them. `gbParams`
 * resolves LightGBM's and scikit-learn's aliases, fills LightGBM's defaults and refuses unknown
 * keys, so a config written for the original (which calls LightGBM) trains the same model here.
 */
export interface GbParams {
  objective: "binary" | "regression";
  num_boost_round: number;
  learning_rate: number;
  num_leaves: number;
  /** -1: no limit. */
  max_depth: number;
  min_data_in_leaf: number;
  min_sum_hessian_in_leaf: number;
  lambda_l1: number;
  lambda_l2: number;
  min_gain_to_split: number;
  feature_fraction: number;
  bagging_fraction: number;
  bagging_freq: number;
  is_unbalance: boolean;
  max_bin: number;
  seed: number;
  /** 0: off. */
  early_stopping_round: number;
  /** Tail of the training rows held out for early stopping when early_stopping_round > 0. */
  validation_fraction: number;
  /** 0: one per available core. */
  num_threads: number;
  /**
   * LightGBM's `use_quantized_grad`: gradients and hessians are stochastically rounded to a few
   * hundred levels and packed into one number, so a histogram update is one addition instead of
   * two. Optional so that literal GbParams objects written before it existed stay valid; absent
   * means true for the binary objective (regression always trains on exact gradients).
   */
  use_quantized_grad?: boolean;
  /** LightGBM's boost_from_average: start from the label mean's log-odds (binary) or mean (regression). Default true. */
  boost_from_average?: boolean;
  /** LightGBM's bin_construct_sample_cnt: rows sampled to find bin bounds. Default 200000. */
  bin_construct_sample_cnt?: number;
  /**
   * Where bin bounds fall (binning.ts): "greedy", LightGBM's scheme (cuts halfway between
   * distinct values, frequent values in bins of their own), or "quantile", cut values at exact
   * rank quantiles of the data with "x < cut", the candidate splits the XGBoost paper describes.
   * No LightGBM counterpart. Default "greedy".
   */
  bin_method?: BinMethod;
}

export const GB_DEFAULTS: Readonly<GbParams> = {
  objective: "regression",
  num_boost_round: 100,
  learning_rate: 0.1,
  num_leaves: 31,
  max_depth: -1,
  min_data_in_leaf: 20,
  min_sum_hessian_in_leaf: 1e-3,
  lambda_l1: 0,
  lambda_l2: 0,
  min_gain_to_split: 0,
  feature_fraction: 1,
  bagging_fraction: 1,
  bagging_freq: 0,
  is_unbalance: false,
  max_bin: 255,
  seed: 0,
  early_stopping_round: 0,
  validation_fraction: 0.1,
  num_threads: 0,
};

type Key = keyof GbParams;

/** Accepted spellings → canonical name (LightGBM's alias table plus scikit-learn/XGBoost names). */
const ALIASES: Record<string, Key> = {};
function alias(key: Key, ...names: string[]): void {
  ALIASES[key] = key;
  for (const n of names) ALIASES[n] = key;
}
alias("objective", "objective_type", "app", "application", "loss");
alias(
  "num_boost_round",
  "num_iterations",
  "num_iteration",
  "n_iter",
  "num_tree",
  "num_trees",
  "num_round",
  "num_rounds",
  "nrounds",
  "n_estimators",
  "max_iter",
);
alias("learning_rate", "shrinkage_rate", "eta");
alias("num_leaves", "num_leaf", "max_leaves", "max_leaf", "max_leaf_nodes");
alias("max_depth");
alias("min_data_in_leaf", "min_data_per_leaf", "min_data", "min_child_samples", "min_samples_leaf");
alias(
  "min_sum_hessian_in_leaf",
  "min_sum_hessian_per_leaf",
  "min_sum_hessian",
  "min_hessian",
  "min_child_weight",
);
alias("lambda_l1", "reg_alpha", "l1_regularization");
alias("lambda_l2", "reg_lambda", "lambda", "l2_regularization");
alias("min_gain_to_split", "min_split_gain");
alias("feature_fraction", "sub_feature", "colsample_bytree");
alias("bagging_fraction", "sub_row", "subsample", "bagging");
alias("bagging_freq", "subsample_freq");
alias("is_unbalance", "unbalance", "unbalanced_sets");
alias("max_bin", "max_bins");
alias("seed", "random_seed", "random_state");
alias("early_stopping_round", "early_stopping_rounds", "early_stopping", "n_iter_no_change");
alias("validation_fraction");
alias("num_threads", "num_thread", "nthread", "nthreads", "n_jobs");
alias("use_quantized_grad");
alias("boost_from_average");
alias("bin_construct_sample_cnt", "subsample_for_bin");
alias("bin_method");

/** Keys LightGBM configs commonly carry that do not change the model: accepted and ignored. */
const IGNORED = new Set(["verbose", "verbosity"]);

const OBJECTIVES: Record<string, GbParams["objective"]> = {
  binary: "binary",
  cross_entropy: "binary",
  xentropy: "binary",
  "binary:logistic": "binary",
  regression: "regression",
  regression_l2: "regression",
  l2: "regression",
  mean_squared_error: "regression",
  mse: "regression",
  l2_root: "regression",
  root_mean_squared_error: "regression",
  rmse: "regression",
  "reg:squarederror": "regression",
};

/** Accepted names, for error messages: canonical names first, then aliases. */
export function acceptedGbParamNames(): string[] {
  const canonical = Object.keys(GB_DEFAULTS).concat(
    "use_quantized_grad",
    "boost_from_average",
    "bin_construct_sample_cnt",
    "bin_method",
  );
  const aliases = Object.keys(ALIASES).filter((k) => !canonical.includes(k));
  return [...canonical, ...aliases.sort(), ...IGNORED, "boosting", "boosting_type"];
}

export function gbParams(params: Record<string, unknown>): GbParams {
  const out: GbParams = { ...GB_DEFAULTS };
  const issues: string[] = [];
  const unknown: string[] = [];
  const seen = new Map<Key, string>();
  for (const [name, value] of Object.entries(params)) {
    if (IGNORED.has(name)) continue;
    if (name === "boosting" || name === "boosting_type") {
      if (value !== "gbdt" && value !== "gbrt" && value !== undefined && value !== null) {
        issues.push(`${name}: only "gbdt" is supported, got ${JSON.stringify(value)}`);
      }
      continue;
    }
    const key = ALIASES[name];
    if (key === undefined) {
      unknown.push(name);
      continue;
    }
    const prev = seen.get(key);
    if (prev !== undefined) {
      issues.push(`${name}: ${prev} already sets ${key}`);
      continue;
    }
    seen.set(key, name);
    if (value === undefined || value === null) continue; // explicit null: keep the default
    const problem = assign(out, key, value);
    if (problem) issues.push(`${name}: ${problem}`);
  }
  if (unknown.length > 0) {
    issues.unshift(
      `unknown gb parameter${unknown.length > 1 ? "s" : ""} ${unknown.map((u) => `"${u}"`).join(", ")}; accepted: ${acceptedGbParamNames().join(", ")}`,
    );
  }
  if (issues.length > 0) {
    throw new ConfigError(`invalid gb parameters: ${issues.join("; ")}`, issues);
  }
  return out;
}

function num(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

function assign(out: GbParams, key: Key, value: unknown): string | undefined {
  if (key === "objective") {
    const o = typeof value === "string" ? OBJECTIVES[value] : undefined;
    if (o === undefined)
      return `expected one of ${Object.keys(OBJECTIVES).join(", ")}, got ${JSON.stringify(value)}`;
    out.objective = o;
    return undefined;
  }
  if (key === "bin_method") {
    if (value !== "greedy" && value !== "quantile")
      return `expected "greedy" or "quantile", got ${JSON.stringify(value)}`;
    out.bin_method = value;
    return undefined;
  }
  if (key === "is_unbalance" || key === "use_quantized_grad" || key === "boost_from_average") {
    const b =
      value === true || value === "true" ? true : value === false || value === "false" ? false : undefined;
    if (b === undefined) return `expected true or false, got ${JSON.stringify(value)}`;
    out[key] = b;
    return undefined;
  }
  const x = num(value);
  if (x === undefined || Number.isNaN(x)) return `expected a number, got ${JSON.stringify(value)}`;
  const int = (lo: number, hi = Number.MAX_SAFE_INTEGER): string | undefined =>
    Number.isInteger(x) && x >= lo && x <= hi ? undefined : `expected an integer in [${lo}, ${hi}], got ${x}`;
  const range = (lo: number, hi: number, loOpen: boolean): string | undefined =>
    (loOpen ? x > lo : x >= lo) && x <= hi
      ? undefined
      : `expected a number in ${loOpen ? "(" : "["}${lo}, ${hi}], got ${x}`;
  let problem: string | undefined;
  switch (key) {
    case "num_boost_round":
      problem = int(1);
      break;
    case "learning_rate":
      problem = range(0, Number.MAX_VALUE, true);
      break;
    case "num_leaves":
      problem = int(2, 131_072);
      break;
    case "max_depth":
      // LightGBM: any value <= 0 means no limit.
      problem = Number.isInteger(x) ? undefined : `expected an integer, got ${x}`;
      if (!problem && x <= 0) {
        out.max_depth = -1;
        return undefined;
      }
      break;
    case "min_data_in_leaf":
    case "bagging_freq":
    case "early_stopping_round":
      problem = int(0);
      break;
    case "num_threads":
      problem = int(0, 256);
      break;
    case "bin_construct_sample_cnt":
      problem = int(1);
      break;
    case "min_sum_hessian_in_leaf":
    case "lambda_l1":
    case "lambda_l2":
    case "min_gain_to_split":
      problem = range(0, Number.MAX_VALUE, false);
      break;
    case "feature_fraction":
    case "bagging_fraction":
      problem = range(0, 1, true);
      break;
    case "validation_fraction":
      problem = x >= 0 && x < 1 ? undefined : `expected a number in [0, 1), got ${x}`;
      break;
    case "max_bin":
      // Bins are bytes, and one byte value is the missing-value bin.
      problem = int(2, 255);
      break;
    case "seed":
      problem = Number.isInteger(x) ? undefined : `expected an integer, got ${x}`;
      break;
  }
  if (problem) return problem;
  (out as unknown as Record<string, number>)[key] = x;
  return undefined;
}
