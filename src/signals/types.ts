/**
 * A signal generator compiled from one `signal_sets` entry. Names here are the generator's own
 * (before `column_prefix`/`feature_prefix` are applied by the runner). `batch` computes whole
 * columns; `stream` returns the O(1) per-row twin that the live engine feeds one closed bar at a
 * time. Both produce the same numbers bit for bit: they share the arithmetic (see the tests).
 */
export interface SignalGenerator {
  /** Input columns, in the order `batch` and `SignalKernel.next` receive them. */
  readonly inputs: readonly string[];
  /** Output columns, in the order they are returned. */
  readonly outputs: readonly string[];
  /** Per output: "buy"/"sell" for 0/1 trade-signal columns, undefined for scores. */
  readonly roles: readonly (SignalRole | undefined)[];
  batch(inputs: readonly Float64Array[], time: Float64Array): Float64Array[];
  stream(): SignalKernel;
}

export type SignalRole = "buy" | "sell";

/** One row in (inputs in `inputs` order), that row's outputs out. Keeps whatever state it needs. */
export interface SignalKernel {
  next(inputs: ArrayLike<number>, out: Float64Array): void;
}

/** A compiled `signal_sets[index]` entry with the frame's column names (prefixes applied). */
export interface SignalStep {
  index: number;
  /** `signal_sets[<index>]`, for messages. */
  path: string;
  /** The generator name as written in the config. */
  generator: string;
  /** Frame columns read (`column_prefix` applied). */
  inputs: string[];
  /** Frame columns written (`feature_prefix` applied). */
  outputs: string[];
  roles: (SignalRole | undefined)[];
  kernel: SignalGenerator;
}
