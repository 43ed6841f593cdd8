import { ConfigError } from "../../core/errors.js";

/**
 * Parameters of `nn`, named as the original's nn algorithm names them: `layers` (hidden layer
 * widths), `learning_rate`, `n_epochs`, `bs` (batch size) and `es` (the keyword arguments of
 * Keras's EarlyStopping). `activation`, `l2` and `seed` are itb's: the original hard-codes a
 * sigmoid activation, leaves its L2 kernel regulariser commented out, and is not seeded.
 */
export interface NnParams {
  /** Hidden layer widths; empty: one layer of max(1, ⌊features / 4⌋) units, as the original. */
  layers: number[];
  activation: "relu" | "sigmoid" | "tanh";
  learning_rate: number;
  n_epochs: number;
  bs: number;
  /**
   * Early stopping, or null for none. The monitored value is the loss on the last
   * `monitor_fraction` of the rows (held out of training, as Keras's validation_split), or the
   * training loss averaged over the epoch's batches (Keras's "loss") when it is 0.
   */
  es: { patience: number; min_delta: number; monitor_fraction: number } | null;
  /** Keras's kernel_regularizer=l2(l2): l2·Σw² over every kernel (not the biases) added to the loss. */
  l2: number;
  seed: number;
}

/**
 * The original's early stopping defaults (monitor "loss", min_delta 1e-5, patience 5), applied
 * even when the config has no `es`, as the original does.
 */
export const NN_ES_DEFAULTS = { patience: 5, min_delta: 0.00001, monitor_fraction: 0 } as const;
/** The held-out tail when `es.monitor` is "val_loss" and no `monitor_fraction` is given. */
export const NN_DEFAULT_VALIDATION_FRACTION = 0.1;

/**
 * Values used when a key is absent. The original passes None to Keras (which then fails or
 * falls back to fit's 1 epoch of batches of 32); these are instead the values of the original's
 * reference nn model (learning_rate 0.001, batch 1024, "20 for production" epochs).
 */
export const NN_DEFAULTS: Readonly<NnParams> = {
  layers: [],
  activation: "sigmoid",
  learning_rate: 0.001,
  n_epochs: 20,
  bs: 1024,
  es: NN_ES_DEFAULTS,
  l2: 0,
  seed: 0,
};

const KNOWN_PARAMS = [
  "layers",
  "activation",
  "learning_rate",
  "n_epochs",
  "bs",
  "es",
  "l2",
  "seed",
  "is_scale",
  "is_regression",
] as const;

const KNOWN_ES = [
  "monitor",
  "min_delta",
  "patience",
  "mode",
  "verbose",
  "restore_best_weights",
  "monitor_fraction",
] as const;

const ACTIVATIONS = ["relu", "sigmoid", "tanh"] as const;

function describe(v: unknown): string {
  return v === undefined ? "undefined" : JSON.stringify(v);
}

/**
 * Parses nn's params as the original writes them (its `params` and `train` entries merged:
 * layers, learning_rate, n_epochs, bs, es). `is_scale` is read by the caller; `is_regression`
 * is accepted when false (itb's nn is a classifier). Unknown keys, also inside `es`, and bad
 * values throw one ConfigError listing every problem.
 */
export function nnParams(params: Record<string, unknown>): NnParams {
  const issues: string[] = [];
  for (const k of Object.keys(params)) {
    if (!(KNOWN_PARAMS as readonly string[]).includes(k)) {
      issues.push(`unknown key "${k}" (known: ${KNOWN_PARAMS.join(", ")})`);
    }
  }

  const number = (
    obj: Record<string, unknown>,
    key: string,
    fallback: number,
    ok: (v: number) => boolean,
    what: string,
    path = key,
  ): number => {
    const v = obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) {
      issues.push(`"${path}" must be ${what}, got ${describe(v)}`);
      return fallback;
    }
    return v;
  };
  const positiveInt = (v: number): boolean => Number.isInteger(v) && v > 0;

  let layers: number[] = [];
  const ly = params.layers;
  if (typeof ly === "number") {
    if (positiveInt(ly)) layers = [ly];
    else issues.push(`"layers" must be a positive integer or a list of them, got ${describe(ly)}`);
  } else if (Array.isArray(ly)) {
    if (ly.every((v) => typeof v === "number" && positiveInt(v))) layers = ly.slice() as number[];
    else issues.push(`"layers" must be a list of positive integers, got ${describe(ly)}`);
  } else if (ly !== undefined && ly !== null) {
    issues.push(`"layers" must be a positive integer or a list of them, got ${describe(ly)}`);
  }

  let activation: NnParams["activation"] = NN_DEFAULTS.activation;
  const act = params.activation;
  if (typeof act === "string" && (ACTIVATIONS as readonly string[]).includes(act)) {
    activation = act as NnParams["activation"];
  } else if (act !== undefined) {
    issues.push(`"activation" must be one of ${ACTIVATIONS.join(", ")}, got ${describe(act)}`);
  }

  const learning_rate = number(
    params,
    "learning_rate",
    NN_DEFAULTS.learning_rate,
    (v) => v > 0,
    "a positive number",
  );
  const n_epochs = number(params, "n_epochs", NN_DEFAULTS.n_epochs, positiveInt, "a positive integer");
  const bs = number(params, "bs", NN_DEFAULTS.bs, positiveInt, "a positive integer");
  const l2 = number(params, "l2", NN_DEFAULTS.l2, (v) => v >= 0, "a number ≥ 0");
  const seed = number(params, "seed", NN_DEFAULTS.seed, Number.isSafeInteger, "an integer");

  let es: NnParams["es"] = { ...NN_ES_DEFAULTS };
  const e = params.es;
  if (e === null || e === false) es = null;
  else if (typeof e === "object" && !Array.isArray(e)) {
    es = esParams(e as Record<string, unknown>, issues, number);
  } else if (e !== undefined) {
    issues.push(`"es" must be an object of early stopping settings, or null for none, got ${describe(e)}`);
  }

  const sc = params.is_scale;
  if (sc !== undefined && typeof sc !== "boolean") {
    issues.push(`"is_scale" must be true or false, got ${describe(sc)}`);
  }
  const reg = params.is_regression;
  if (reg !== undefined && reg !== false) {
    issues.push(`"is_regression" must be false (nn is a binary classifier here), got ${describe(reg)}`);
  }

  if (issues.length > 0) {
    throw new ConfigError(`nn params are invalid:\n${issues.map((s) => `  ${s}`).join("\n")}`, issues);
  }
  return { layers, activation, learning_rate, n_epochs, bs, es, l2, seed };
}

/** Keras's EarlyStopping keywords (as the original passes them) plus itb's monitor_fraction. */
function esParams(
  e: Record<string, unknown>,
  issues: string[],
  number: (
    obj: Record<string, unknown>,
    key: string,
    fallback: number,
    ok: (v: number) => boolean,
    what: string,
    path?: string,
  ) => number,
): NonNullable<NnParams["es"]> {
  for (const k of Object.keys(e)) {
    if (!(KNOWN_ES as readonly string[]).includes(k)) {
      issues.push(`unknown key "es.${k}" (known: ${KNOWN_ES.join(", ")})`);
    }
  }
  const patience = number(
    e,
    "patience",
    NN_ES_DEFAULTS.patience,
    (v) => Number.isInteger(v) && v >= 0,
    "an integer ≥ 0",
    "es.patience",
  );
  const min_delta = Math.abs(
    number(e, "min_delta", NN_ES_DEFAULTS.min_delta, () => true, "a number", "es.min_delta"),
  );
  const monitor = e.monitor;
  const given = e.monitor_fraction;
  let monitor_fraction: number = NN_ES_DEFAULTS.monitor_fraction;
  if (monitor === "val_loss") {
    monitor_fraction = number(
      e,
      "monitor_fraction",
      NN_DEFAULT_VALIDATION_FRACTION,
      (v) => v > 0 && v < 1,
      'a number in (0, 1) with monitor "val_loss"',
      "es.monitor_fraction",
    );
  } else if (monitor === "loss") {
    if (given !== undefined && given !== 0) {
      issues.push(
        `"es.monitor_fraction" must be 0 or absent with monitor "loss" (the training loss), got ${describe(given)}; use monitor "val_loss" to hold out a tail`,
      );
    }
  } else if (monitor === undefined) {
    monitor_fraction = number(
      e,
      "monitor_fraction",
      NN_ES_DEFAULTS.monitor_fraction,
      (v) => v >= 0 && v < 1,
      "a number in [0, 1)",
      "es.monitor_fraction",
    );
  } else {
    issues.push(`"es.monitor" must be "loss" or "val_loss", got ${describe(monitor)}`);
  }
  const mode = e.mode;
  if (mode !== undefined && mode !== "auto" && mode !== "min") {
    issues.push(`"es.mode" must be "auto" or "min" (a loss is minimised), got ${describe(mode)}`);
  }
  const restore = e.restore_best_weights;
  if (restore !== undefined && restore !== true) {
    issues.push(
      `"es.restore_best_weights" must be true or absent (itb always keeps the best epoch's weights), got ${describe(restore)}`,
    );
  }
  return { patience, min_delta, monitor_fraction };
}
