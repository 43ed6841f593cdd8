/**
 * Parameter importance of a tuning run: for each parameter, the share of the variance of the
 * objective over the complete trials that the parameter's value explains on its own.
 *
 * The measure is the correlation ratio η² = SS_between / SS_total of the objective grouped by
 * the parameter: a categorical parameter (or a numeric one with at most `bins` distinct values)
 * is grouped by value; a numeric one by rank into min(`bins`, ⌊√n⌋) groups of (nearly) equal counts, equal
 * values always in the same group, so that the grouping does not depend on the scale (a log
 * scale gives the same groups). η² of a parameter that does not matter is not 0 but about
 * (k − 1)/(n − 1) by chance alone (k groups, n trials), so the importance reported is the
 * bias-corrected ε² = (SS_between − (k − 1)·MS_within) / SS_total, clamped to [0, 1]: near 1
 * when the parameter decides the objective, near 0 when it does not.
 *
 * It is marginal: each parameter alone, its interactions with others not counted, and a sampler
 * that concentrates trials where it found good values (TPE) correlates the parameters, which
 * can lend one parameter the effect of another. Pure computation on typed arrays.
 */

export interface ImportanceGroup {
  /** The group's value (categorical) or its value range "low..high" (numeric, binned). */
  label: string;
  /** Numeric groups: the smallest and largest value in the group. */
  low: number | null;
  high: number | null;
  count: number;
  /** Mean objective of the group's trials. */
  mean: number;
}

export interface ParameterImportance {
  param: string;
  /** "numeric" (binned by rank), "numeric-values" (few distinct values, one group each) or "categorical". */
  kind: "numeric" | "numeric-values" | "categorical";
  /** Trials with a value for this parameter. */
  trials: number;
  /** η²: the share of the objective's variance between the groups. */
  eta2: number;
  /** ε²: η² corrected for the share groups take by chance, in [0, 1]: the importance. */
  importance: number;
  groups: ImportanceGroup[];
}

/** One complete trial: its parameters and its objective value. */
export interface ImportanceTrial {
  params: Record<string, unknown>;
  value: number;
}

/** Most groups of a numeric parameter (fewer with fewer than 100 trials: ⌊√n⌋). */
const DEFAULT_BINS = 10;

function label(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** `groupOf[i]` for each trial and the groups' labels and ranges. */
interface Grouping {
  groupOf: Int32Array;
  labels: string[];
  low: (number | null)[];
  high: (number | null)[];
  kind: ParameterImportance["kind"];
}

function numericGrouping(x: Float64Array, bins: number): Grouping {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (x[a] as number) - (x[b] as number));
  const distinct = new Set(x).size;
  const groupOf = new Int32Array(n);
  const low: number[] = [];
  const high: number[] = [];
  if (distinct <= bins) {
    let g = -1;
    let last = Number.NaN;
    for (const i of order) {
      const v = x[i] as number;
      if (g < 0 || v !== last) {
        g++;
        low.push(v);
        high.push(v);
        last = v;
      }
      groupOf[i] = g;
    }
    return { groupOf, labels: low.map((v) => String(v)), low, high, kind: "numeric-values" };
  }
  // equal-count groups by rank; a run of equal values stays in the group it starts in
  let g = 0;
  let start = 0;
  for (let r = 0; r < n; r++) {
    const i = order[r] as number;
    const v = x[i] as number;
    const prev = r > 0 ? (x[order[r - 1] as number] as number) : Number.NaN;
    const due = Math.floor(((g + 1) * n) / bins);
    if (r > 0 && r >= due && v !== prev && g < bins - 1) {
      g++;
      start = r;
    }
    if (r === start) {
      low[g] = v;
    }
    high[g] = v;
    groupOf[i] = g;
  }
  const labels = low.map((l, k) => `${l}..${high[k]}`);
  return { groupOf, labels, low, high, kind: "numeric" };
}

function categoricalGrouping(values: readonly unknown[]): Grouping {
  const index = new Map<string, number>();
  const groupOf = new Int32Array(values.length);
  values.forEach((v, i) => {
    const key = label(v);
    let g = index.get(key);
    if (g === undefined) {
      g = index.size;
      index.set(key, g);
    }
    groupOf[i] = g;
  });
  const labels = [...index.keys()];
  return {
    groupOf,
    labels,
    low: labels.map(() => null),
    high: labels.map(() => null),
    kind: "categorical",
  };
}

/** η², ε² and the groups' counts and means of `y` grouped by `groupOf`. */
export function correlationRatio(
  y: Float64Array,
  groupOf: Int32Array,
  groups: number,
): { eta2: number; epsilon2: number; count: Float64Array; mean: Float64Array } {
  const n = y.length;
  const count = new Float64Array(groups);
  const sum = new Float64Array(groups);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const g = groupOf[i] as number;
    count[g] = (count[g] as number) + 1;
    sum[g] = (sum[g] as number) + (y[i] as number);
    total += y[i] as number;
  }
  const mean = new Float64Array(groups);
  for (let g = 0; g < groups; g++)
    mean[g] = (count[g] as number) > 0 ? (sum[g] as number) / (count[g] as number) : 0;
  const grand = total / n;
  let ssTotal = 0;
  let ssWithin = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i] as number;
    ssTotal += (v - grand) * (v - grand);
    const d = v - (mean[groupOf[i] as number] as number);
    ssWithin += d * d;
  }
  if (!(ssTotal > 0) || n < 2) return { eta2: 0, epsilon2: 0, count, mean };
  const ssBetween = Math.max(0, ssTotal - ssWithin);
  const eta2 = Math.min(1, ssBetween / ssTotal);
  const k = groups;
  const msWithin = n > k ? ssWithin / (n - k) : 0;
  const epsilon2 = Math.min(1, Math.max(0, (ssBetween - (k - 1) * msWithin) / ssTotal));
  return { eta2, epsilon2, count, mean };
}

/**
 * The importance of every parameter over `trials` (complete ones, with a finite value), most
 * important first (ties by name). A parameter missing from some trials is measured on the
 * trials that have it; one with a single value (or fewer than 3 trials) gets 0.
 */
export function parameterImportance(
  trials: readonly ImportanceTrial[],
  opts: { bins?: number } = {},
): ParameterImportance[] {
  const bins = opts.bins ?? DEFAULT_BINS;
  const names = [...new Set(trials.flatMap((t) => Object.keys(t.params)))].sort();
  const out: ParameterImportance[] = [];
  for (const param of names) {
    const rows = trials.filter((t) => t.params[param] !== undefined && Number.isFinite(t.value));
    const values = rows.map((t) => t.params[param]);
    const y = Float64Array.from(rows, (t) => t.value);
    const numeric = values.every((v) => typeof v === "number" && Number.isFinite(v));
    // at most √n groups, so that each holds a few trials
    const groups = Math.min(bins, Math.max(2, Math.floor(Math.sqrt(rows.length))));
    const grouping = numeric
      ? numericGrouping(Float64Array.from(values as number[]), groups)
      : categoricalGrouping(values);
    const k = grouping.labels.length;
    const r = correlationRatio(y, grouping.groupOf, k);
    const measured = rows.length >= 3 && k >= 2;
    out.push({
      param,
      kind: grouping.kind,
      trials: rows.length,
      eta2: measured ? r.eta2 : 0,
      importance: measured ? r.epsilon2 : 0,
      groups: grouping.labels.map((l, g) => ({
        label: l,
        low: grouping.low[g] ?? null,
        high: grouping.high[g] ?? null,
        count: r.count[g] as number,
        mean: r.mean[g] as number,
      })),
    });
  }
  return out.sort((a, b) => b.importance - a.importance || a.param.localeCompare(b.param));
}
