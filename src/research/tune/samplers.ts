import { normalCdf } from "../../backtest/overfit.js";
import { canonicalJson } from "../../config/index.js";
import { seededRandom } from "../../simulator/rng.js";
import type { Parameter, ParamSpec, ParamValues } from "./space.js";

/**
 * Samplers of a tuning run: random search, and the tree-structured Parzen estimator (TPE;
 * Bergstra, Bardenet, Bengio and Kégl, "Algorithms for hyper-parameter optimization", NIPS 2011).
 * Both are reproducible: trial n draws from its own generator, seeded by (seed, n), so the same
 * seed gives the same parameters for the same history, whatever order threads finish in.
 *
 * Every parameter lives on a line: a float as is (or its logarithm with "log"), an int as a float
 * over [low − 0.5, high + 0.5] rounded to the nearest integer (its logarithm over
 * [ln(low − 0.5), ln(high + 0.5)] with "log"), a choice as the index of its value.
 */

export type SamplerName = "random" | "tpe";

export interface Observation {
  params: ParamValues;
  /** The objective (greater is better); null when the trial failed. */
  value: number | null;
  status: "complete" | "pruned" | "failed";
}

export interface Sampler {
  readonly name: SamplerName;
  /** The parameters of trial `number`, given the trials finished so far. */
  propose(number: number, history: readonly Observation[]): ParamValues;
}

interface Line {
  param: Parameter;
  /** Bounds of the internal value (continuous dimensions). */
  a: number;
  b: number;
  /** Number of values of a choice; 0 for a continuous dimension. */
  choices: number;
}

function lineOf(param: Parameter): Line {
  const s = param.spec;
  if (s.kind === "choice") return { param, a: 0, b: s.values.length - 1, choices: s.values.length };
  const lo = s.kind === "int" ? s.low - 0.5 : s.low;
  const hi = s.kind === "int" ? s.high + 0.5 : s.high;
  return s.log
    ? { param, a: Math.log(lo), b: Math.log(hi), choices: 0 }
    : { param, a: lo, b: hi, choices: 0 };
}

/** The config value of an internal value. */
function configValue(spec: ParamSpec, u: number): unknown {
  if (spec.kind === "choice")
    return spec.values[Math.min(spec.values.length - 1, Math.max(0, Math.round(u)))];
  const x = spec.log ? Math.exp(u) : u;
  if (spec.kind === "int") return Math.min(spec.high, Math.max(spec.low, Math.round(x)));
  return Math.min(spec.high, Math.max(spec.low, x));
}

/** The internal value of a config value (undefined when it is not in the space). */
function internalOf(spec: ParamSpec, v: unknown): number | undefined {
  if (spec.kind === "choice") {
    const key = canonicalJson(v);
    const i = spec.values.findIndex((c) => canonicalJson(c) === key);
    return i < 0 ? undefined : i;
  }
  if (typeof v !== "number" || !Number.isFinite(v)) return undefined;
  if (spec.log) return v > 0 ? Math.log(v) : undefined;
  return v;
}

/** A generator for trial `number`: 32 bits of the seed mixed with the trial number. */
function trialRandom(seed: number, number: number): () => number {
  let h = (seed ^ Math.imul(number + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return seededRandom((h ^ (h >>> 16)) >>> 0);
}

function uniform(lines: readonly Line[], rnd: () => number): ParamValues {
  const out: ParamValues = {};
  for (const l of lines) {
    const u = l.choices > 0 ? Math.floor(rnd() * l.choices) : l.a + rnd() * (l.b - l.a);
    out[l.param.path] = configValue(l.param.spec, u);
  }
  return out;
}

export function randomSampler(parameters: readonly Parameter[], seed: number): Sampler {
  const lines = parameters.map(lineOf);
  return { name: "random", propose: (number) => uniform(lines, trialRandom(seed, number)) };
}

/** A truncated Gaussian mixture over [a, b] (one continuous dimension of l(x) or g(x)). */
interface Parzen {
  mu: Float64Array;
  sigma: Float64Array;
  /** Per component: its weight over its mass inside [a, b] (so the mixture integrates to 1). */
  scale: Float64Array;
  a: number;
  b: number;
}

const LN_SQRT_2PI = 0.9189385332046728;

/**
 * The Parzen estimator of Bergstra et al.: a Gaussian at each observation plus one prior
 * Gaussian at the middle of the range (σ = the range), every weight equal; an observation's σ
 * is the larger distance to its neighbours (the range's ends count as neighbours), clipped to
 * [range / min(100, n + 1), range]. Each component is truncated to the range.
 */
function parzen(points: readonly number[], a: number, b: number): Parzen {
  const range = b - a;
  const nodes = [...points.map((m) => ({ m, prior: false })), { m: (a + b) / 2, prior: true }].sort(
    (x, y) => x.m - y.m,
  );
  const n = nodes.length;
  const mu = Float64Array.from(nodes, (x) => x.m);
  const sigma = new Float64Array(n);
  const minSigma = range / Math.min(100, n + 1);
  for (let i = 0; i < n; i++) {
    const m = mu[i] as number;
    const left = m - (i > 0 ? (mu[i - 1] as number) : a);
    const right = (i < n - 1 ? (mu[i + 1] as number) : b) - m;
    sigma[i] = (nodes[i] as { prior: boolean }).prior
      ? range
      : Math.min(range, Math.max(minSigma, left, right));
  }
  const scale = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = mu[i] as number;
    const s = sigma[i] as number;
    const mass = normalCdf((b - m) / s) - normalCdf((a - m) / s);
    scale[i] = 1 / (n * Math.max(mass, 1e-12));
  }
  return { mu, sigma, scale, a, b };
}

function parzenLogPdf(p: Parzen, x: number): number {
  let sum = 0;
  for (let i = 0; i < p.mu.length; i++) {
    const s = p.sigma[i] as number;
    const z = (x - (p.mu[i] as number)) / s;
    sum += ((p.scale[i] as number) * Math.exp(-0.5 * z * z - LN_SQRT_2PI)) / s;
  }
  return Math.log(sum);
}

function parzenSample(p: Parzen, rnd: () => number): number {
  const k = Math.min(p.mu.length - 1, Math.floor(rnd() * p.mu.length));
  const m = p.mu[k] as number;
  const s = p.sigma[k] as number;
  for (let tries = 0; tries < 100; tries++) {
    // Box–Muller
    const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    const x = m + s * z;
    if (x >= p.a && x <= p.b) return x;
  }
  return Math.min(p.b, Math.max(p.a, m));
}

/** Categorical estimator: each value's count plus one (the prior), normalised. */
function categorical(points: readonly number[], k: number): Float64Array {
  const p = new Float64Array(k).fill(1);
  for (const i of points) p[i] = (p[i] as number) + 1;
  const total = points.length + k;
  for (let i = 0; i < k; i++) p[i] = (p[i] as number) / total;
  return p;
}

function categoricalSample(p: Float64Array, rnd: () => number): number {
  let r = rnd();
  for (let i = 0; i < p.length; i++) {
    r -= p[i] as number;
    if (r < 0) return i;
  }
  return p.length - 1;
}

export interface TpeOptions {
  /** Trials drawn at random before the estimator is used. */
  startup: number;
  /** Share of the finished trials that make the good group l(x). */
  gamma?: number;
  /** Candidates drawn from l(x), of which the largest l(x)/g(x) is taken. */
  candidates?: number;
}

/** The default number of random trials before TPE: a quarter of the trials, 2 to 10. */
export function tpeStartup(trials: number): number {
  return Math.max(2, Math.min(10, Math.ceil(trials / 4)));
}

/**
 * TPE: the first `startup` trials are random; then the complete trials are split into the best
 * ⌈γ·n⌉ (good, γ = 0.25) and the rest, with pruned and failed trials among the bad; each
 * dimension gets a Parzen estimator l(x) of the good and g(x) of the bad (a categorical one for
 * a choice), `candidates` (24) points are drawn from l, and the one with the largest
 * Σ log l(x) − log g(x) over the dimensions is proposed.
 */
export function tpeSampler(parameters: readonly Parameter[], seed: number, opts: TpeOptions): Sampler {
  const lines = parameters.map(lineOf);
  const gamma = opts.gamma ?? 0.25;
  const nCandidates = opts.candidates ?? 24;
  return {
    name: "tpe",
    propose(number, history) {
      const rnd = trialRandom(seed, number);
      const complete = history.filter(
        (h): h is Observation & { value: number } => h.status === "complete" && h.value !== null,
      );
      if (number < opts.startup || complete.length < 2) return uniform(lines, rnd);
      const sorted = [...complete].sort((x, y) => y.value - x.value);
      const nGood = Math.max(1, Math.ceil(gamma * sorted.length));
      const good = sorted.slice(0, nGood);
      const bad = [...sorted.slice(nGood), ...history.filter((h) => h.status !== "complete")];
      const models = lines.map((l) => {
        const pts = (obs: readonly Observation[]) =>
          obs.flatMap((o) => {
            const u = internalOf(l.param.spec, o.params[l.param.path]);
            return u === undefined ? [] : [u];
          });
        return l.choices > 0
          ? { l: categorical(pts(good), l.choices), g: categorical(pts(bad), l.choices) }
          : { l: parzen(pts(good), l.a, l.b), g: parzen(pts(bad), l.a, l.b) };
      });
      let best: number[] | undefined;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < nCandidates; c++) {
        const x: number[] = [];
        let score = 0;
        models.forEach((m) => {
          if (m.l instanceof Float64Array) {
            const k = categoricalSample(m.l, rnd);
            x.push(k);
            score += Math.log(m.l[k] as number) - Math.log((m.g as Float64Array)[k] as number);
          } else {
            const u = parzenSample(m.l, rnd);
            x.push(u);
            score += parzenLogPdf(m.l, u) - parzenLogPdf(m.g as Parzen, u);
          }
        });
        if (score > bestScore) {
          bestScore = score;
          best = x;
        }
      }
      const out: ParamValues = {};
      lines.forEach((l, d) => {
        out[l.param.path] = configValue(l.param.spec, (best as number[])[d] as number);
      });
      return out;
    },
  };
}

export function makeSampler(
  name: SamplerName,
  parameters: readonly Parameter[],
  seed: number,
  trials: number,
): Sampler {
  return name === "random"
    ? randomSampler(parameters, seed)
    : tpeSampler(parameters, seed, { startup: tpeStartup(trials) });
}
