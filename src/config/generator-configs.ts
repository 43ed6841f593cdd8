import { z } from "zod";
import { isPlainObject } from "./format.js";
import { anyObject, expected, finiteNumber, nonEmptyText, open, positiveInt, text } from "./primitives.js";

/**
 * The `config` shapes of the two generators almost every config uses. Other generators'
 * configs stay open objects that their own modules validate. Both shapes are open: a generator
 * may read more keys than these (talib's `args`, for instance).
 */

export const TalibConfigSchema = open({
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
  parameters: anyObject()
    .optional()
    .describe("Post-processing options, e.g. rel_base, rel_func, percentage, log (as in the original)."),
}).describe("Configuration of the talib feature generator.");

export type TalibConfig = z.infer<typeof TalibConfigSchema>;

export const HighLow2ConfigSchema = open({
  columns: z
    .array(text(), expected("three column names: close, high, low"))
    .length(3, expected("three column names: close, high, low"))
    .describe('The close, high and low columns, in this order, e.g. ["close", "high", "low"].'),
  function: z
    .enum(["high", "low"], expected('"high" or "low"'))
    .describe('"high": the price rises by the threshold first; "low": it falls by the threshold first.'),
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

export type HighLow2Config = z.infer<typeof HighLow2ConfigSchema>;
