import type { Frame } from "../core/frame.js";
import type { GeneratorConfig } from "../features/generator.js";
import { LabelConfig } from "./config.js";
import type { LabelGenerator } from "./types.js";

/**
 * `topbot2`: rows near a significant top (or bottom) of a column.
 *
 * The original's `find_all_extremums`: take the maximum M of an interval (its first occurrence);
 * it is an extremum when, inside the interval, some value on its left and some value on its
 * right are strictly below M − level·|M| (level = `level`, a fraction). The interval is then split
 * at those two level points — [start, left level point] and [right level point, end], the
 * endpoints shared — and each part is searched the same way. Each extremum labels the run of
 * rows around it that stay at or above M − level·tolerance·|M|: the rows strictly between the
 * nearest value below that line on the left and on the right. `"bot"` mirrors it on minima.
 *
 * Config: `columns` (one column name), `function` ("top" or "bot"), `level` (fraction, e.g.
 * 0.02), `tolerances` (fractions of level in [0, 1], one output per tolerance), `names`.
 *
 * The output is 1 or 0, and NaN where the column is NaN (the original: false). A top is known
 * only once the price has fallen by `level` after it, which can be any number of rows later, so
 * the look-ahead is unbounded (`horizon` is Infinity). A tolerance above 1 is refused: its line
 * lies below the level line and the original then fails on a missing index.
 */

/** Argmax (first occurrence) over index ranges: an iterative segment tree, NaN ranking lowest. */
class ArgMax {
  private readonly tree: Int32Array;
  private readonly v: Float64Array;
  private readonly n: number;

  constructor(y: Float64Array) {
    const n = y.length;
    this.n = n;
    this.v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = y[i] as number;
      this.v[i] = Number.isNaN(x) ? Number.NEGATIVE_INFINITY : x;
    }
    this.tree = new Int32Array(2 * n);
    for (let i = 0; i < n; i++) this.tree[n + i] = i;
    for (let i = n - 1; i >= 1; i--)
      this.tree[i] = this.better(this.tree[2 * i] as number, this.tree[2 * i + 1] as number);
  }

  private better(a: number, b: number): number {
    if (a < 0) return b;
    if (b < 0) return a;
    const va = this.v[a] as number;
    const vb = this.v[b] as number;
    if (va > vb) return a;
    if (vb > va) return b;
    return Math.min(a, b);
  }

  /** Index of the first maximum in [lo, hi], or -1 when every value there is NaN. */
  query(lo: number, hi: number): number {
    let res = -1;
    let l = lo + this.n;
    let r = hi + this.n + 1;
    while (l < r) {
      if (l & 1) res = this.better(res, this.tree[l++] as number);
      if (r & 1) res = this.better(res, this.tree[--r] as number);
      l >>= 1;
      r >>= 1;
    }
    return res >= 0 && this.v[res] === Number.NEGATIVE_INFINITY ? -1 : res;
  }
}

/**
 * Labels 1 on the tolerance runs of every extremum of `x` (`isMax`: tops, else bottoms) that
 * clears `levelFrac` on both sides; `tolFrac` is the tolerance as a fraction of the extremum.
 */
export function extremumLabels(
  x: Float64Array,
  isMax: boolean,
  levelFrac: number,
  tolFrac: number,
): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  // Bottoms are tops of −x: negation is exact and sign-symmetric, so every comparison is the same.
  const y = isMax ? x : x.map((v) => -v);
  const argmax = new ArgMax(y);
  const stack: number[] = n > 0 ? [0, n - 1] : [];
  while (stack.length > 0) {
    const hi = stack.pop() as number;
    const lo = stack.pop() as number;
    const e = argmax.query(lo, hi);
    if (e < 0) continue;
    const ev = y[e] as number;
    const levelVal = ev - levelFrac * Math.abs(ev);
    let ll = -1;
    for (let i = e; i >= lo; i--) {
      if ((y[i] as number) < levelVal) {
        ll = i;
        break;
      }
    }
    let rl = -1;
    for (let i = e; i <= hi; i++) {
      if ((y[i] as number) < levelVal) {
        rl = i;
        break;
      }
    }
    if (ll >= 0 && rl >= 0) {
      const tolVal = ev - tolFrac * Math.abs(ev);
      let lt = ll;
      for (let i = e; i >= lo; i--) {
        if ((y[i] as number) < tolVal) {
          lt = i;
          break;
        }
      }
      let rt = rl;
      for (let i = e; i <= hi; i++) {
        if ((y[i] as number) < tolVal) {
          rt = i;
          break;
        }
      }
      out.fill(1, lt + 1, rt);
    }
    if (ll >= 0 && lo < ll) stack.push(lo, ll);
    if (rl >= 0 && rl < hi) stack.push(rl, hi);
  }
  for (let i = 0; i < n; i++) if (Number.isNaN(x[i] as number)) out[i] = Number.NaN;
  return out;
}

interface Plan {
  column: string;
  isMax: boolean;
  level: number;
  tolerances: number[];
  names: string[];
}

function plan(config: GeneratorConfig): Plan {
  const c = new LabelConfig("topbot2", config);
  const raw = config.columns;
  const column = Array.isArray(raw) && raw.length === 1 ? String(raw[0]) : c.string("columns");
  const isMax = c.oneOf("function", ["top", "bot"] as const) === "top";
  const level = Math.abs(c.number("level"));
  if (level === 0) c.fail("level", "a non-zero fraction, e.g. 0.02");
  const tolerances = c.numbers("tolerances", 0);
  if (tolerances.some((t) => t > 1)) c.fail("tolerances", "fractions of level between 0 and 1");
  const names = c.names("names", tolerances.length, "tolerance");
  return { column, isMax, level, tolerances, names };
}

export const topbot2: LabelGenerator = {
  inputs: (config) => [plan(config).column],
  outputs: (config) => plan(config).names,
  horizon: () => Number.POSITIVE_INFINITY,
  batch(frame: Frame, config) {
    const p = plan(config);
    const x = frame.get(p.column);
    return p.tolerances.map((tol) => extremumLabels(x, p.isMax, p.level, p.level * tol));
  },
};
