import type { Frame } from "../core/frame.js";
import type { GeneratorConfig } from "../features/generator.js";

/**
 * A label generator (`highlow`, `highlow2`, `topbot2`) for one entry of `label_sets`. Labels are
 * the only values in itb computed from rows after the one they belong to; they feed training and
 * evaluation, never features or live signals.
 *
 * `config` is the set's `config` object as in the original's configs. Outputs are 1 (true),
 * 0 (false) or NaN where the outcome is not known (the last `horizon` rows, rows whose own price
 * is missing); rows with a NaN label are left out of training.
 */
export interface LabelGenerator {
  /** Output column names, in the order `batch` returns them. */
  outputs(config: GeneratorConfig): string[];
  /** Input columns read. */
  inputs(config: GeneratorConfig): string[];
  /**
   * How many rows after row t its label reads: the rows to purge between a training window and
   * the data after it. `Infinity` when the look-ahead is unbounded (topbot2).
   */
  horizon(config: GeneratorConfig): number;
  /** Full-length outputs. */
  batch(frame: Frame, config: GeneratorConfig): Float64Array[];
}
