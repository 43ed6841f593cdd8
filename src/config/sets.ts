import type { z } from "zod";
import { isPlainObject } from "./format.js";
import { generatorConfigSchema } from "./generatorConfigs.js";
import { type GeneratorKind, isKnownGenerator, unknownGeneratorMessage } from "./generators.js";
import { expectedErrorMap } from "./issues.js";
import { ALWAYS, anyObject, known, nonEmptyText, text } from "./primitives.js";

/**
 * The generator lists: feature_sets, label_sets, signal_sets (validated generator names),
 * output_sets and train_feature_sets (any name). Entries are applied in order, each to the
 * table the previous ones produced, as in the original's `generate_feature_set`.
 */

const generatorName = (kind: GeneratorKind) =>
  text().refine((name) => isKnownGenerator(kind, name), {
    error: (issue) => unknownGeneratorMessage(kind, issue.input),
  });

/**
 * Validates the `config` of a built-in generator against its schema (generatorConfigs.ts) and
 * reports the issues under `<set>[i].config`. It runs even when a sibling key is wrong, so that
 * one pass reports everything. Unknown keys are reported by the unknown-key walker, which picks
 * the same schema (see `GENERATOR_SETS`).
 */
function checkGeneratorConfig(kind: GeneratorKind) {
  return (entry: unknown, ctx: z.RefinementCtx): void => {
    if (!isPlainObject(entry)) return;
    // An absent config is checked as empty, so talib without columns is an error, not a no-op.
    const config = entry.config ?? {};
    if (!isPlainObject(config)) return;
    const schema = generatorConfigSchema(kind, entry.generator);
    if (schema === undefined) return;
    const result = schema.safeParse(config, { reportInput: true, error: expectedErrorMap });
    if (result.success) return;
    for (const issue of result.error.issues) {
      ctx.addIssue({
        code: "custom",
        message: issue.message,
        path: ["config", ...issue.path],
        input: issue.input,
      });
    }
  };
}

/** The generator-set schemas and their kind: where the unknown-key walker looks up a config's schema. */
export const GENERATOR_SETS = new Map<z.ZodType, GeneratorKind>();

function generatorSet(kind: GeneratorKind) {
  return known({
    column_prefix: text()
      .default("")
      .describe(
        'Only columns starting with "<column_prefix>_" are passed to the generator, with the prefix removed (e.g. "eth" selects eth_close as close).',
      ),
    generator: generatorName(kind).describe(
      `Generator name: a built-in ${kind} generator or "<module>:<export>".`,
    ),
    feature_prefix: text()
      .default("")
      .describe('Prefix added to the generated columns as "<feature_prefix>_<name>".'),
    config: anyObject().default({}).describe("Generator-specific parameters."),
  }).superRefine(checkGeneratorConfig(kind), ALWAYS);
}

export const FeatureSetSchema = generatorSet("feature").describe(
  "A feature generator applied to the merged table.",
);
export const LabelSetSchema = generatorSet("label").describe(
  "A label generator (looks into the future; training only).",
);
export const SignalSetSchema = generatorSet("signal").describe(
  "A signal generator applied to predictions, in order.",
);
GENERATOR_SETS.set(FeatureSetSchema, "feature");
GENERATOR_SETS.set(LabelSetSchema, "label");
GENERATOR_SETS.set(SignalSetSchema, "signal");
export const OutputSetSchema = known({
  generator: nonEmptyText().describe("Output name (notifier, trader); itb serve checks it."),
  config: anyObject().default({}).describe("Output-specific parameters."),
})
  .superRefine(checkGeneratorConfig("output"), ALWAYS)
  .describe("An output run by the live engine after signals are computed.");
GENERATOR_SETS.set(OutputSetSchema, "output");
export const TrainFeatureSetSchema = known({
  generator: nonEmptyText().describe('Training generator; the original uses "train_features".'),
  config: anyObject()
    .default({})
    .describe("Overrides of train_features, labels and algorithms for this set."),
}).describe("A training set (the original's train_feature_sets).");
