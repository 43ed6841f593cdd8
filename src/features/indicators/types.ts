/**
 * The indicator contract. Every TA-Lib function itb ports is one `Indicator`: a batch kernel over
 * Float64Array and a streaming twin that updates per bar, both producing TA-Lib's numbers and
 * TA-Lib's first valid index (`lookback`).
 *
 * Kernels see inputs whose first element is finite (the registry strips leading NaNs the way
 * Python's talib wrapper does, see `computeIndicator`), and return full-length outputs with NaN
 * in the first `lookback(opts)` positions.
 */

/** Input series names, as Python's talib names them. */
export type InputName = "real" | "real0" | "real1" | "open" | "high" | "low" | "close" | "volume";

export interface OptionSpec {
  /** Python talib's keyword (`timeperiod`, `nbdevup`, `fastperiod`, `matype`, `acceleration`). */
  readonly name: string;
  readonly kind: "int" | "real" | "matype";
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export type Options = Readonly<Record<string, number>>;

export interface IndicatorStream {
  /**
   * Feeds the next bar (values in the indicator's `inputs` order) and writes this bar's outputs
   * into `out` (length = outputs.length): NaN until the warm-up is over, then the batch value.
   */
  next(values: ArrayLike<number>, out: Float64Array): void;
}

export interface Indicator {
  /** TA-Lib's name, upper case: `SMA`, `BBANDS`, `LINEARREG_SLOPE`. */
  readonly name: string;
  readonly inputs: readonly InputName[];
  readonly options: readonly OptionSpec[];
  /** Python talib's output names: `["real"]`, `["upperband", "middleband", "lowerband"]`. */
  readonly outputs: readonly string[];
  /**
   * True when the outputs are row indices (MAXINDEX, MININDEX): they count from the start of
   * the whole series, so rows skipped as leading NaN are added back, as Python's talib does.
   */
  readonly indexOutputs?: boolean;
  /** TA-Lib's `TA_<NAME>_Lookback`: index of the first valid output for a NaN-free input. */
  lookback(opts: Options): number;
  batch(inputs: readonly Float64Array[], opts: Options): Float64Array[];
  stream(opts: Options): IndicatorStream;
}
