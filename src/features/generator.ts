import type { Frame } from "../core/frame.js";

/**
 * A feature generator (`talib`, `itbstats`, or a user's custom one) for one entry of
 * `feature_sets`. It names its inputs and outputs before computing, computes a batch over the
 * whole frame, and — for the live engine and the parity check — a streaming form fed one closed
 * candle at a time.
 *
 * `config` is the set's `config` object. Inputs are the frame's column names after the set's
 * `column_prefix` handling (the runner renames `eth_close` to `close` for a set with prefix
 * `eth`), and outputs are named before `feature_prefix` is added (the runner adds it).
 */
export interface FeatureGenerator {
  /** Input columns read, in the order `stream().next` receives them. */
  inputs(config: GeneratorConfig): string[];
  /** Output column names, in the order `batch` returns them. */
  outputs(config: GeneratorConfig): string[];
  /** Full-length outputs, NaN where undefined. Must not look at rows after the one computed. */
  batch(frame: Frame, config: GeneratorConfig): Float64Array[];
  /** Bars after which the streaming values equal the batch values (the declared warm-up). */
  warmup(config: GeneratorConfig): number;
  /** The streaming twin; absent for generators that can only run in batch. */
  stream?(config: GeneratorConfig): GeneratorStream;
}

/**
 * A generator from a user's module (`"<module>:<export>"`): a FeatureGenerator whose `batch` may
 * return its outputs as a promise (it may read something first). The feature and label stages
 * await it; signal sets and streaming need the synchronous kind.
 */
export interface CustomGenerator extends Omit<FeatureGenerator, "batch"> {
  batch(frame: Frame, config: GeneratorConfig): Float64Array[] | Promise<Float64Array[]>;
}

export interface GeneratorStream {
  /** Next bar's inputs (in `inputs()` order) in, this bar's outputs (in `outputs()` order) out. */
  next(inputs: ArrayLike<number>, out: Float64Array): void;
}

export type GeneratorConfig = Readonly<Record<string, unknown>>;
