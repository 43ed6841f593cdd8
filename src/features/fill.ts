import { arenaColumn, currentArena } from "./indicators/arena.js";

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
  // In the feature run's arena when there is one, where the wasm kernels read it in place. Cached
  // for that run only: a cached view would keep the whole arena (every output of the run) alive
  // as long as the input column lives, and later runs on the same columns would read it from an
  // arena not theirs.
  const gaps = hasGaps(x);
  const inArena = gaps ? arenaColumn(x.length) : undefined;
  const out = !gaps ? x : fillInto(x, policy, inArena ?? new Float64Array(x.length));
  if (inArena !== undefined) {
    currentArena()?.onClose(() => {
      const entry = filledCache.get(x);
      if (entry?.[policy] === inArena) delete entry[policy];
    });
  }
  filledCache.set(x, { ...filledCache.get(x), [policy]: out });
  return out;
}

/**
 * `fillGaps` in shared memory, for a worker thread to read, in two steps so that the worker can
 * be handed the column before it is written: `column` is the filled column's shared memory, and
 * `fill()` writes it (the filled values, or a copy of `x` when there is nothing to fill) and
 * makes it the cached filled column, so that this thread's `fillGaps` calls return it too: one
 * fill per column and run, whichever thread reads it. Nothing is left to do when the cached
 * filled column is already shared.
 */
export function fillGapsShared(x: Float64Array, policy: FillPolicy): { column: Float64Array; fill(): void } {
  const cached = filledCache.get(x)?.[policy];
  if (cached && cached.buffer instanceof SharedArrayBuffer) return { column: cached, fill() {} };
  const out = new Float64Array(new SharedArrayBuffer(x.byteLength));
  return {
    column: out,
    fill() {
      if (cached && cached !== x) out.set(cached);
      else if (hasGaps(x)) fillInto(x, policy, out);
      else out.set(x);
      filledCache.set(x, { ...filledCache.get(x), [policy]: out });
    },
  };
}

/** True when a NaN follows the first number (leading NaNs stay in both policies). */
function hasGaps(x: Float64Array): boolean {
  return nextNaN(x, nextNumber(x, 0)) < x.length;
}

/**
 * Writes `x` filled by `policy` into `out` (same length) and returns `out`. Gaps are rare, so the
 * column is copied whole and only the NaN runs are visited: the scan between them holds no
 * number across rows (a loop that carried the last value boxed it on the heap, row by row,
 * until V8 optimised it).
 */
function fillInto(x: Float64Array, policy: FillPolicy, out: Float64Array): Float64Array {
  out.set(x);
  const n = out.length;
  let i = nextNumber(out, 0);
  while (i < n) {
    const gap = nextNaN(out, i);
    if (gap >= n) break;
    const end = nextNumber(out, gap);
    const lastAt = gap - 1;
    const last = out[lastAt] as number;
    if (end < n && policy === "linear") {
      const v = out[end] as number;
      const span = end - lastAt;
      for (let k = gap; k < end; k++) out[k] = last + ((v - last) * (k - lastAt)) / span;
    } else {
      // ffill, and linear's trailing NaNs: pandas' linear interpolation holds the last value too.
      out.fill(last, gap, end);
    }
    i = end;
  }
  return out;
}

/** The first position from `i` on holding a number (n if none). */
function nextNumber(x: Float64Array, i: number): number {
  return scan(x, i, false);
}

/** The first position from `i` on holding NaN (n if none). */
function nextNaN(x: Float64Array, i: number): number {
  return scan(x, i, true);
}

/**
 * The first position from `i` on where NaN-ness is `nan`, a chunk of rows per call of a small
 * function: a run can be a whole column long, and one loop over it would run unoptimised until V8
 * replaced it on the stack (1.5 ms per column, cold).
 */
function scan(x: Float64Array, i: number, nan: boolean): number {
  const n = x.length;
  while (i < n) {
    const end = Math.min(n, i + SCAN_CHUNK);
    const at = nan ? firstNaN(x, i, end) : firstNumber(x, i, end);
    if (at < end) return at;
    i = end;
  }
  return n;
}

const SCAN_CHUNK = 4096;

function firstNaN(x: Float64Array, i: number, end: number): number {
  while (i < end && !Number.isNaN(x[i] as number)) i++;
  return i;
}

function firstNumber(x: Float64Array, i: number, end: number): number {
  while (i < end && Number.isNaN(x[i] as number)) i++;
  return i;
}

/** The streaming twin of `fillGaps(..., "ffill")` for one column. */
export class ForwardFill {
  private last = Number.NaN;
  next(v: number): number {
    if (!Number.isNaN(v)) this.last = v;
    return this.last;
  }
}
