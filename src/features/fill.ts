/**
 * How feature inputs are filled before indicators see them. TA-Lib's running sums turn one NaN
 * into NaN forever, so gaps must be filled. The original interpolates linearly, which draws the
 * line to the first candle *after* a gap: a value at time t that depends on t+k, i.e. lookahead,
 * and a number the live engine can never reproduce. itb's default holds the last value instead
 * (causal: what the live engine knows at t); `linear` is kept for compatibility and is flagged
 * by `itb lookahead`.
 */
export type FillPolicy = "ffill" | "linear";

const filledCache = new WeakMap<Float64Array, Partial<Record<FillPolicy, Float64Array>>>();

/**
 * `x` with NaN runs filled; leading NaNs stay NaN in both policies. Returns `x` itself when there
 * is nothing to fill, and the same filled array for the same column and policy (the feature
 * sets of one run share their inputs). Callers must treat both as read-only: columns are
 * replaced in a frame, never written in place.
 */
export function fillGaps(x: Float64Array, policy: FillPolicy): Float64Array {
  const cached = filledCache.get(x)?.[policy];
  if (cached) return cached;
  const n = x.length;
  let i = 0;
  while (i < n && Number.isNaN(x[i] as number)) i++;
  while (i < n && !Number.isNaN(x[i] as number)) i++;
  // No NaN after the first value: nothing to fill.
  const out = i >= n ? x : fillCopy(x, policy);
  filledCache.set(x, { ...filledCache.get(x), [policy]: out });
  return out;
}

function fillCopy(x: Float64Array, policy: FillPolicy): Float64Array {
  const out = new Float64Array(x);
  const n = out.length;
  let i = 0;
  while (i < n && Number.isNaN(out[i] as number)) i++;
  let last = i < n ? (out[i] as number) : Number.NaN;
  let lastAt = i;
  for (i = i + 1; i < n; i++) {
    const v = out[i] as number;
    if (!Number.isNaN(v)) {
      if (policy === "linear" && i - lastAt > 1) {
        const span = i - lastAt;
        for (let k = lastAt + 1; k < i; k++) out[k] = last + ((v - last) * (k - lastAt)) / span;
      }
      last = v;
      lastAt = i;
    } else if (policy === "ffill") {
      out[i] = last;
    }
  }
  // Trailing NaNs: pandas' linear interpolation holds the last value too.
  if (policy === "linear") for (let k = lastAt + 1; k < n; k++) out[k] = last;
  return out;
}

/** The streaming twin of `fillGaps(..., "ffill")` for one column. */
export class ForwardFill {
  private last = Number.NaN;
  next(v: number): number {
    if (!Number.isNaN(v)) this.last = v;
    return this.last;
  }
}
