/**
 * Values of one threshold-grid axis, as configs write them: a number, a list of numbers,
 * `{start, stop, step}` (stop excluded, like numpy's arange), or the original's strings
 * `"np.arange(start, stop, step)"`, `"np.linspace(start, stop, num)"` (also `numpy.`, `arange`
 * without prefix, and a bracketed list `"[0.1, 0.2]"`). Strings are parsed, never evaluated.
 */

/** Rounds away binary noise (0.1 + 0.2) so 0.30000000000000004 is printed and compared as 0.3. */
function clean(x: number): number {
  return Number.parseFloat(x.toPrecision(12));
}

/**
 * numpy's arange: ceil((stop − start) / step) values, so np.arange(0.1, 0.4, 0.1) has 4 (0.4
 * included by rounding), and the original's strings give the original's grids. `exclusive` (the
 * {start, stop, step} form) tolerates that rounding so stop is never included.
 */
function arange(start: number, stop: number, step: number, exclusive = false): number[] | string {
  if (step === 0) return "step must not be 0";
  const q = (stop - start) / step;
  const n = Math.ceil(exclusive ? q - 1e-9 : q);
  if (!Number.isFinite(n)) return "start, stop and step must be finite";
  if (n > 100_000) return `${n} values; at most 100000 per axis`;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(clean(start + i * step));
  return out;
}

function linspace(start: number, stop: number, num: number, endpoint = true): number[] | string {
  if (!Number.isInteger(num) || num < 0) return "num must be a non-negative integer";
  if (num > 100_000) return `${num} values; at most 100000 per axis`;
  if (num === 1) return [clean(start)];
  const div = endpoint ? num - 1 : num;
  const step = (stop - start) / div;
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(clean(i === num - 1 && endpoint ? stop : start + i * step));
  return out;
}

const NUMBER = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`;
const CALL = /^(?:(?:np|numpy)\.)?(arange|linspace)\(\s*(.*?)\s*\)$/;
const NUMBER_ONLY = new RegExp(`^${NUMBER}$`);

function parseArgs(text: string): { args: number[]; kwargs: Record<string, number | boolean> } | string {
  const args: number[] = [];
  const kwargs: Record<string, number | boolean> = {};
  if (text.trim() === "") return { args, kwargs };
  for (const raw of text.split(",")) {
    const part = raw.trim();
    const eq = part.indexOf("=");
    if (eq > 0) {
      const key = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (value === "True" || value === "False") kwargs[key] = value === "True";
      else if (NUMBER_ONLY.test(value)) kwargs[key] = Number(value);
      else return `cannot read argument "${part}"`;
    } else if (NUMBER_ONLY.test(part)) {
      if (Object.keys(kwargs).length > 0) return "positional argument after a keyword argument";
      args.push(Number(part));
    } else return `cannot read argument "${part}" (only numbers are accepted)`;
  }
  return { args, kwargs };
}

function parseString(text: string): number[] | string {
  const s = text.trim();
  if (NUMBER_ONLY.test(s)) return [Number(s)];
  if (s.startsWith("[") && s.endsWith("]")) {
    const inner = s.slice(1, -1).trim();
    if (inner === "") return [];
    const out: number[] = [];
    for (const part of inner.split(",")) {
      const p = part.trim();
      if (!NUMBER_ONLY.test(p)) return `cannot read "${p}" in the list (only numbers are accepted)`;
      out.push(Number(p));
    }
    return out;
  }
  const m = CALL.exec(s);
  if (m === null) {
    return 'expected a number, a list, {start, stop, step}, "np.arange(start, stop, step)" or "np.linspace(start, stop, num)"';
  }
  const fn = m[1] as "arange" | "linspace";
  const parsed = parseArgs(m[2] ?? "");
  if (typeof parsed === "string") return `${fn}: ${parsed}`;
  const { args, kwargs } = parsed;
  const get = (i: number, name: string, fallback?: number): number | undefined => {
    const k = kwargs[name];
    if (typeof k === "number") return k;
    return args[i] ?? fallback;
  };
  if (fn === "arange") {
    for (const k of Object.keys(kwargs)) {
      if (!["start", "stop", "step"].includes(k)) return `arange: unknown argument "${k}"`;
    }
    // numpy: arange(stop), arange(start, stop), arange(start, stop, step)
    if (args.length === 1 && kwargs.stop === undefined) return arange(0, args[0] as number, 1);
    const start = get(0, "start", 0) as number;
    const stop = get(1, "stop");
    const step = get(2, "step", 1) as number;
    if (stop === undefined) return "arange: stop is missing";
    const r = arange(start, stop, step);
    return typeof r === "string" ? `arange: ${r}` : r;
  }
  for (const k of Object.keys(kwargs)) {
    if (!["start", "stop", "num", "endpoint"].includes(k)) return `linspace: unknown argument "${k}"`;
  }
  const start = get(0, "start");
  const stop = get(1, "stop");
  const num = get(2, "num", 50) as number;
  if (start === undefined || stop === undefined) return "linspace: start and stop are required";
  const endpoint = kwargs.endpoint === undefined ? true : kwargs.endpoint === true;
  const r = linspace(start, stop, num, endpoint);
  return typeof r === "string" ? `linspace: ${r}` : r;
}

/** The axis's values, or a message saying what is wrong with it. */
export function gridAxisValues(axis: unknown): number[] | string {
  if (typeof axis === "number") return Number.isFinite(axis) ? [axis] : "expected a finite number";
  if (typeof axis === "string") return parseString(axis);
  if (Array.isArray(axis)) {
    const out: number[] = [];
    for (let i = 0; i < axis.length; i++) {
      const v = axis[i];
      if (typeof v !== "number" || !Number.isFinite(v))
        return `item ${i}: expected a number, found ${JSON.stringify(v)}`;
      out.push(v);
    }
    return out;
  }
  if (axis !== null && typeof axis === "object") {
    const o = axis as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => !["start", "stop", "step"].includes(k));
    if (extra.length > 0) return `unknown key(s) ${extra.join(", ")}; expected {start, stop, step}`;
    const { start, stop, step } = o;
    if (typeof start !== "number" || typeof stop !== "number" || typeof step !== "number") {
      return "expected numbers for start, stop and step";
    }
    return arange(start, stop, step, true);
  }
  return 'expected a number, a list, {start, stop, step}, "np.arange(start, stop, step)" or "np.linspace(start, stop, num)"';
}
