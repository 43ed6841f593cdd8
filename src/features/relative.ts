import { REL_BASES as BASES, REL_FUNCS as FUNCS } from "../config/generators.js";
import { ConfigError } from "../core/errors.js";

/**
 * The original's `parameters` post-processing of one function's outputs across its windows
 * (`_convert_to_relative` in common/gen_features.py, then `np.log`):
 *
 * - `rel_base` picks the base each window's series is compared with: `"next"` (the next window's
 *   series; the last series stays as it is), `"last"` (the last series; it stays as it is),
 *   `"prev"` (the previous window's; the first stays), `"first"` (the first series; it stays).
 *   The original compared `"first"` with the *last* series — a slip; itb uses the first.
 *   The base is always the unconverted series.
 * - `rel_func`: `"diff"` a − b, `"rel"` a / b, `"rel_diff"` (a − b) / b.
 * - `percentage`: every output is multiplied by 100 — the unchanged base series too, and also
 *   without `rel_base` — exactly as the original does.
 * - `log`: the natural logarithm of the final value (after the relative step and percentage), as
 *   the original's `np.log(out)`; a negative value gives NaN, zero gives −Infinity.
 */
export type RelBase = (typeof BASES)[number];
export type RelFunc = (typeof FUNCS)[number];

export interface RelativeParams {
  rel_base?: RelBase | false | null | undefined;
  rel_func?: RelFunc | false | null | undefined;
  percentage?: boolean | undefined;
  log?: boolean | undefined;
}

const REL_BASES: readonly string[] = BASES;
const REL_FUNCS: readonly string[] = FUNCS;

/** A `parameters` value that the post-processing cannot use. */
function bad(where: string, key: string, expected: string, found: unknown): ConfigError {
  return new ConfigError(`${where}: parameters.${key} must be ${expected}, found ${JSON.stringify(found)}`);
}

/**
 * Reads `rel_base`, `rel_func`, `percentage` and `log` from a set's `parameters` object (other
 * keys are left to the generator). `where` names the generator in error messages.
 */
export function parseRelativeParams(parameters: unknown, where: string): RelativeParams {
  if (parameters === undefined || parameters === null) return {};
  if (typeof parameters !== "object" || Array.isArray(parameters)) {
    throw new ConfigError(`${where}: parameters must be an object, found ${JSON.stringify(parameters)}`);
  }
  const p = parameters as Record<string, unknown>;
  const out: RelativeParams = {};
  const base = p.rel_base;
  if (base !== undefined && base !== null && base !== false) {
    if (typeof base !== "string" || !REL_BASES.includes(base)) {
      throw bad(where, "rel_base", `one of ${REL_BASES.map((s) => `"${s}"`).join(", ")}`, base);
    }
    out.rel_base = base as RelBase;
  }
  const func = p.rel_func;
  if (func !== undefined && func !== null && func !== false) {
    if (typeof func !== "string" || !REL_FUNCS.includes(func)) {
      throw bad(where, "rel_func", `one of ${REL_FUNCS.map((s) => `"${s}"`).join(", ")}`, func);
    }
    out.rel_func = func as RelFunc;
  }
  if (out.rel_base && !out.rel_func) {
    throw bad(
      where,
      "rel_func",
      `one of ${REL_FUNCS.map((s) => `"${s}"`).join(", ")} when rel_base is set`,
      func,
    );
  }
  for (const key of ["percentage", "log"] as const) {
    const v = p[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "boolean") throw bad(where, key, "true or false", v);
    out[key] = v;
  }
  return out;
}

/** Index of the base series for series `i` of `size`, or -1 when series `i` stays as it is. */
function baseIndex(base: RelativeParams["rel_base"], i: number, size: number): number {
  if (!base) return -1;
  switch (base) {
    case "next":
      return i === size - 1 ? -1 : i + 1;
    case "last":
      return i === size - 1 ? -1 : size - 1;
    case "prev":
      return i === 0 ? -1 : i - 1;
    case "first":
      return i === 0 ? -1 : 0;
    default:
      throw new ConfigError(
        `unknown rel_base ${JSON.stringify(base)}; expected one of ${REL_BASES.join(", ")}`,
      );
  }
}

type Combine = (a: number, b: number) => number;

function combiner(func: RelativeParams["rel_func"]): Combine {
  switch (func) {
    case "rel":
      return (a, b) => a / b;
    case "diff":
      return (a, b) => a - b;
    case "rel_diff":
      return (a, b) => (a - b) / b;
    default:
      throw new ConfigError(
        `rel_base needs rel_func set to one of ${REL_FUNCS.join(", ")}, found ${JSON.stringify(func)}`,
      );
  }
}

/**
 * Applies the post-processing to one function's outputs, one series per window in window order.
 * Returns new arrays; the inputs are not changed.
 */
export function applyRelative(series: readonly Float64Array[], params: RelativeParams): Float64Array[] {
  const size = series.length;
  const scale = params.percentage ? 100.0 : 1;
  const log = params.log === true;
  let combine: Combine | undefined;
  return series.map((s, i) => {
    const b = baseIndex(params.rel_base, i, size);
    const out = new Float64Array(s.length);
    if (b < 0) {
      for (let t = 0; t < s.length; t++) out[t] = (s[t] as number) * scale;
    } else {
      combine ??= combiner(params.rel_func);
      const base = series[b] as Float64Array;
      for (let t = 0; t < s.length; t++) out[t] = combine(s[t] as number, base[t] as number) * scale;
    }
    if (log) for (let t = 0; t < out.length; t++) out[t] = Math.log(out[t] as number);
    return out;
  });
}

/**
 * The same post-processing for one bar (the streaming form): `values[j]` is window j's output,
 * `out[j]` receives the processed value. `out` may be `values` itself only when no rel_base is set.
 */
export function applyRelativeRow(values: ArrayLike<number>, params: RelativeParams, out: Float64Array): void {
  const size = values.length;
  const scale = params.percentage ? 100.0 : 1;
  const combine = params.rel_base && size > 1 ? combiner(params.rel_func) : undefined;
  for (let i = 0; i < size; i++) {
    const b = baseIndex(params.rel_base, i, size);
    const v = values[i] as number;
    let r = b < 0 || combine === undefined ? v : combine(v, values[b] as number);
    r *= scale;
    out[i] = params.log === true ? Math.log(r) : r;
  }
}
