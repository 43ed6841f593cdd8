import { z } from "zod";
import { isPlainObject } from "./format.js";
import { type GeneratorKind, REL_BASES, REL_FUNCS } from "./generators.js";
import { OUTPUT_CONFIG_SCHEMAS } from "./outputConfigs.js";
import {
  anyObject,
  choice,
  choiceMessage,
  expected,
  finiteNumber,
  flag,
  known,
  nonEmptyText,
  positiveInt,
  text,
} from "./primitives.js";

/**
 * The `config` of every built-in generator: which keys it reads (an unknown key is an error with
 * the closest known key, so `"windws": [14]` cannot silently fall back to a default) and the
 * allowed values of its enumerations. This is the one list of each generator's keys: the
 * generator modules read their key lists and value sets from here. Values that need the
 * generator itself (TA-Lib function names, column counts) are checked when the sets are
 * compiled (src/pipeline/preflight.ts). Custom `"<module>:<export>"` generators validate their
 * own configs.
 */

// ------------------------------------------------------------------------ value sets

/** How talib/itbstats fill gaps in their inputs. */
export const FILL_POLICIES = ["ffill", "linear"] as const;
/** itbstats functions (matched without regard to case, as in the original). */
export const ITBSTATS_FUNCTIONS = [
  "scipy_skew",
  "pandas_skew",
  "scipy_kurtosis",
  "pandas_kurtosis",
  "lsbm",
  "fmax",
  "mean",
  "std",
  "area",
  "slope",
] as const;
/** combine's `combine`: anything but relative and difference is the original's "no_combine". */
export const COMBINE_MODES = ["relative", "difference", "no_combine"] as const;
/** The parameters each threshold rule reads (and simulate_model.grid may search). */
export const THRESHOLD_RULE_PARAMETERS = {
  threshold_rule: ["buy_signal_threshold", "sell_signal_threshold"],
  threshold_rule2: [
    "buy_signal_threshold",
    "buy_signal_threshold_2",
    "sell_signal_threshold",
    "sell_signal_threshold_2",
  ],
} as const;
export type ThresholdRuleName = keyof typeof THRESHOLD_RULE_PARAMETERS;

/**
 * The original's example feature (`common/my_feature_example.py`), which its samples use: the
 * Python name is kept so that those configs run unchanged (itb's port is built in).
 */
export const ORIGINAL_EXAMPLE_FEATURE = "common.my_feature_example:my_feature_example";

// ------------------------------------------------------------------------ shared parts

/** Checked by the generator itself, which names what it expects (column lists, names). */
const own = (what: string) => z.unknown().optional().describe(what);

const relativeParams = {
  rel_base: choice(REL_BASES, [false, null])
    .optional()
    .describe("Compare each window's series with the next, last, prev or first window's."),
  rel_func: choice(REL_FUNCS, [false, null])
    .optional()
    .describe("How a series is compared with its base: diff, rel or rel_diff."),
  percentage: flag().nullable().optional().describe("Multiply the outputs by 100."),
  log: flag().nullable().optional().describe("Natural logarithm of the outputs."),
};

const fill = choice(FILL_POLICIES)
  .optional()
  .describe('Gaps in the inputs: "ffill" (hold the last value, default) or "linear" (looks ahead).');

// ------------------------------------------------------------------------ features

export const TalibConfigSchema = known({
  columns: z
    .union(
      [text(), z.array(text()).min(1), z.record(z.string(), text())],
      expected("a column name, an array of column names or an object mapping TA-Lib inputs to columns"),
    )
    .describe(
      "Input columns: one name, a list (each function runs on each column) or an object mapping TA-Lib input names (real, high, low, close, volume) to columns.",
    ),
  functions: z
    .array(nonEmptyText(), expected("an array of TA-Lib function names"))
    .min(1, expected("at least one TA-Lib function name"))
    .describe('TA-Lib function names, e.g. ["SMA", "LINEARREG_SLOPE", "STDDEV"].'),
  windows: z
    .array(positiveInt(), expected("an array of positive integers"))
    .optional()
    .describe("Window lengths in bars (TA-Lib's timeperiod); one feature per column, function and window."),
  names: z
    .union([text(), z.array(text())], expected("a name or an array of names"))
    .optional()
    .describe("Output feature names; by default <column>_<FUNCTION>_<window>, e.g. close_SMA_5."),
  parameters: known(relativeParams)
    .optional()
    .describe(
      "Post-processing across the windows: rel_base, rel_func, percentage, log (as in the original).",
    ),
  args: anyObject()
    .optional()
    .describe('Other TA-Lib options of the functions, e.g. {"nbdevup": 2} for BBANDS.'),
  fill,
}).describe("Configuration of the talib feature generator.");

export const ItbstatsConfigSchema = known({
  columns: own("Input column(s): a name, a list or an object of names."),
  functions: own(`Functions: ${ITBSTATS_FUNCTIONS.join(", ")} (any case).`).superRefine((v, ctx) => {
    const names = Array.isArray(v) ? v : [v];
    names.forEach((name, i) => {
      if (typeof name !== "string") return; // the generator says what it expects
      if (!(ITBSTATS_FUNCTIONS as readonly string[]).includes(name.toLowerCase())) {
        ctx.addIssue({
          code: "custom",
          path: Array.isArray(v) ? [i] : [],
          message: choiceMessage(ITBSTATS_FUNCTIONS, name),
          input: name,
        });
      }
    });
  }),
  windows: own("Window lengths in bars: a positive integer or a list of them."),
  names: own("Read but not used, as in the original: outputs are named <column>_<function>_<window>."),
  parameters: known({
    ...relativeParams,
    bias: flag().optional().describe("scipy_skew/scipy_kurtosis: the biased estimator (default false)."),
  }).optional(),
  fill,
}).describe("Configuration of the itbstats feature generator.");

export const ExampleFeatureConfigSchema = known({
  columns: nonEmptyText().describe("The input column (one name)."),
  function: choice(["add", "mul"]).describe(
    '"add" or "mul": add the parameter to the column, or multiply by it.',
  ),
  parameter: finiteNumber().describe("The number added or multiplied."),
  names: nonEmptyText().optional().describe("The output column; default <column>_<function>."),
}).describe("Configuration of the original's example feature (common.my_feature_example).");

// ------------------------------------------------------------------------ labels

export const HighLowConfigSchema = known({
  columns: own("The close, high and low columns (default close, high, low)."),
  horizon: own("How many bars ahead the labels look."),
}).describe("Configuration of the highlow label generator.");

export const HighLow2ConfigSchema = known({
  columns: z
    .array(text(), expected("three column names: close, high, low"))
    .length(3, expected("three column names: close, high, low"))
    .describe('The close, high and low columns, in this order, e.g. ["close", "high", "low"].'),
  function: choice(["high", "low"]).describe(
    '"high": the price rises by the threshold first; "low": it falls by the threshold first.',
  ),
  thresholds: z
    .array(finiteNumber(), expected("an array of numbers"))
    .min(1, expected("at least one threshold"))
    .describe("Price moves in percent, e.g. [2.0] for 2%; the sign follows function."),
  tolerance: finiteNumber()
    .min(0, expected("a number ≥ 0"))
    .describe("The opposite move allowed before the threshold is reached, as a fraction of the threshold."),
  horizon: positiveInt().describe("How many bars ahead the label looks."),
  names: z
    .array(text(), expected("an array of label names"))
    .min(1, expected("at least one label name"))
    .describe('One label column name per threshold, e.g. ["high_20"].'),
})
  .superRefine(
    (value, ctx) => {
      // Runs even when other keys failed, so the value is not yet known to be well formed.
      const raw: unknown = value;
      if (!isPlainObject(raw)) return;
      const { names, thresholds } = raw;
      if (Array.isArray(names) && Array.isArray(thresholds) && names.length !== thresholds.length) {
        ctx.addIssue({
          code: "custom",
          path: ["names"],
          message: `expected one name per threshold (${thresholds.length})`,
          input: names,
        });
      }
    },
    { when: () => true },
  )
  .describe("Configuration of the highlow2 label generator.");

export const TopBot2ConfigSchema = known({
  columns: own("The column whose tops or bottoms are labelled (one name)."),
  function: choice(["top", "bot"]).describe('"top": tops of the column; "bot": bottoms.'),
  level: own("The fall (top) or rise (bot) that makes an extremum, as a fraction, e.g. 0.02."),
  tolerances: own("Fractions of level in [0, 1]; one label per tolerance."),
  names: own("One label name per tolerance."),
}).describe("Configuration of the topbot2 label generator.");

// ------------------------------------------------------------------------ signals

export const SmoothenConfigSchema = known({
  columns: own("The score column(s) averaged row by row."),
  names: own("The output column."),
  point_threshold: own("Binarise the mean to 1/0 at this threshold."),
  window: own("Smoothing window: an integer (rolling mean) or a fraction (exponential mean)."),
  ewm: own("With an integer window: exponential instead of rolling mean."),
}).describe("Configuration of the smoothen signal generator.");

export const CombineConfigSchema = known({
  columns: own("Two score columns: up, then down."),
  names: own("The output column."),
  combine: choice(COMBINE_MODES, ["", false, null])
    .optional()
    .describe('"relative", "difference", or "no_combine" (also when absent): the larger score, signed.'),
  coefficient: own("Multiply the score by this (when set and non-zero)."),
  constant: own("Add this to the score (when set and non-zero)."),
}).describe("Configuration of the combine signal generator.");

function thresholdRuleSchema(rule: ThresholdRuleName) {
  const parameters = Object.fromEntries(
    THRESHOLD_RULE_PARAMETERS[rule].map((p) => [p, own("A threshold (number).")]),
  );
  return known({
    columns: own(rule === "threshold_rule" ? "The score column." : "Two score columns."),
    names: own("The buy and sell output columns."),
    parameters: known(parameters)
      .optional()
      .describe("The thresholds (simulate_model.grid may search them)."),
  }).describe(`Configuration of the ${rule} signal generator.`);
}

export const ThresholdRuleConfigSchema = thresholdRuleSchema("threshold_rule");
export const ThresholdRule2ConfigSchema = thresholdRuleSchema("threshold_rule2");

/**
 * The signal_sets entry simulate_model searches: the first whose generator is
 * simulate_model.signal_generator, else the last threshold rule; -1 when there is none.
 */
export function searchedSignalIndex(sets: readonly unknown[], wanted: unknown): number {
  const generator = (i: number): unknown => {
    const s = sets[i];
    return isPlainObject(s) ? s.generator : undefined;
  };
  if (wanted !== undefined && wanted !== null) return sets.findIndex((_, i) => generator(i) === wanted);
  for (let i = sets.length - 1; i >= 0; i--) {
    const g = generator(i);
    if (typeof g === "string" && Object.hasOwn(THRESHOLD_RULE_PARAMETERS, g)) return i;
  }
  return -1;
}

// ------------------------------------------------------------------------ lookup

const SCHEMAS: Record<GeneratorKind, Readonly<Record<string, z.ZodType>>> = {
  feature: {
    talib: TalibConfigSchema,
    itbstats: ItbstatsConfigSchema,
    [ORIGINAL_EXAMPLE_FEATURE]: ExampleFeatureConfigSchema,
  },
  label: { highlow: HighLowConfigSchema, highlow2: HighLow2ConfigSchema, topbot2: TopBot2ConfigSchema },
  signal: {
    smoothen: SmoothenConfigSchema,
    combine: CombineConfigSchema,
    threshold_rule: ThresholdRuleConfigSchema,
    threshold_rule2: ThresholdRule2ConfigSchema,
  },
  output: OUTPUT_CONFIG_SCHEMAS,
};

/** The config schema of a built-in generator; undefined for custom (and not yet ported) ones. */
export function generatorConfigSchema(kind: GeneratorKind, generator: unknown): z.ZodType | undefined {
  if (typeof generator !== "string") return undefined;
  return Object.hasOwn(SCHEMAS[kind], generator) ? SCHEMAS[kind][generator] : undefined;
}

/** The keys a generator's config (or its nested `parameters`) may hold, for the generators' own readers. */
export function configKeys(schema: z.ZodType, nested?: "parameters"): string[] {
  let s: z.ZodType = schema;
  if (nested !== undefined) {
    const obj = s as z.ZodObject;
    s = (obj.shape[nested] as z.ZodOptional<z.ZodObject>).unwrap();
  }
  return Object.keys((s as z.ZodObject).shape);
}
