import { createHash } from "node:crypto";
import { dirname } from "node:path";
import { dayStarts, runEngine } from "../../backtest/engine.js";
import type { Bars } from "../../backtest/types.js";
import { canonicalJson, type LoadedConfig, type RollingSettings } from "../../config/index.js";
import { ConfigError } from "../../core/errors.js";
import { Frame } from "../../core/frame.js";
import type { Logger } from "../../core/log.js";
import { isoTime } from "../../core/time.js";
import { runSets } from "../../features/featureSets.js";
import { rocAuc } from "../../models/metrics.js";
import { planRolling, type RollingPlan, type RollingStep, runRollingStep } from "../../models/rolling.js";
import { type ModelSpec, modelSpecs } from "../../models/train.js";
import { resolveFeatureSets, resolveLabelSets } from "../../pipeline/generators.js";
import { resolveSignalSets } from "../../pipeline/signalStages.js";
import { runSignalSteps, type SignalStep, signalColumns } from "../../signals/index.js";
import type { FoldMetrics, Objective } from "../experiments/store.js";

/**
 * One trial's evaluation, pure of files and threads: the trial's features and labels computed
 * on the merged table (kept in memory by the hash of its feature_sets and label_sets, so trials
 * that change only model parameters or thresholds do not recompute them), its models trained
 * and scored fold by fold on purged walk-forward folds, and, for the chosen trial only, on the
 * holdout.
 *
 * Folds: the tuning period is every row before the holdout, less the last label_horizon rows
 * (their labels look into the holdout). It is cut into K + 1 equal blocks; the last K are
 * predicted in turn, each by models trained on the rows before it with the label horizon
 * purged (models/rolling.ts planRolling: last training row ≤ first predicted row −
 * label_horizon − 1); train_length applies.
 */

/** The tuning period's walk-forward: K folds over rows [0, holdoutRow − labelHorizon). */
export function foldPlan(
  time: Float64Array,
  holdoutRow: number,
  folds: number,
  limits: { labelHorizon: number; trainLength: number },
): RollingPlan {
  const end = holdoutRow - limits.labelHorizon;
  const size = Math.floor(end / (folds + 1));
  if (size < 1) {
    throw new ConfigError(
      `--folds ${folds}: the tuning period (${Math.max(0, end)} rows before the holdout, less label_horizon ${limits.labelHorizon}) is too short for ${folds + 1} blocks`,
    );
  }
  const firstPredicted = end - folds * size;
  if (firstPredicted - limits.labelHorizon < 1) {
    throw new ConfigError(
      `--folds ${folds}: the first fold predicts from row ${firstPredicted} and label_horizon ${limits.labelHorizon} purges every row before it, so it has nothing to train on; use fewer folds or a later holdout`,
    );
  }
  const rp: RollingSettings = {
    dataStart: { row: 0 },
    dataEnd: { row: end },
    predictionStart: undefined,
    predictionSize: size,
    predictionSteps: folds,
  };
  try {
    return planRolling(time, rp, limits);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`--folds ${folds}: ${err.message}`);
    throw err;
  }
}

/** The holdout's one step: trained on the rows before it (label horizon purged), predicts [holdoutRow, end). */
export function holdoutPlan(
  time: Float64Array,
  holdoutRow: number,
  limits: { labelHorizon: number; trainLength: number },
): RollingPlan {
  const rp: RollingSettings = {
    dataStart: { row: 0 },
    dataEnd: undefined,
    predictionStart: { row: holdoutRow },
    predictionSize: time.length - holdoutRow,
    predictionSteps: 1,
  };
  try {
    return planRolling(time, rp, limits);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`--holdout: ${err.message}`);
    throw err;
  }
}

/** A trial made ready: its table (features, labels), models, plan and, for profit, its signal steps. */
export interface PreparedTrial {
  loaded: LoadedConfig;
  frame: Frame;
  specs: ModelSpec[];
  plan: RollingPlan;
  signals: { steps: SignalStep[]; buy: string; sell: string } | undefined;
  /** Out-of-sample predictions so far, one column per model over the whole table (NaN elsewhere). */
  predictions: Map<string, Float64Array>;
}

export interface FoldResult {
  metrics: FoldMetrics;
  /** The fold's share of the trial's series: AUC of each half of the fold (auc), daily returns (profit). */
  series: number[];
}

export interface EvaluatorOptions {
  objective: Objective;
  folds: number;
  holdoutRow: number;
  configFile: string;
  log: Logger;
  itbVersion: string;
  createdAt: number;
  /** gb's threads per model when the config sets none (a worker thread's share of the cores). */
  modelThreads?: number;
}

const CACHE_ENTRIES = 3;

/** gb's own thread-count keys (LightGBM's spellings). */
const GB_THREAD_KEYS = ["num_threads", "num_thread", "nthread", "nthreads", "n_jobs"];

const CANDLES = ["open", "high", "low", "close", "volume"];

export class TrialEvaluator {
  private readonly cache = new Map<string, Promise<Frame>>();
  /** Feature/label computations done and reused (for the summary and the tests). */
  readonly cacheStats = { computed: 0, reused: 0 };

  constructor(
    readonly merged: Frame,
    readonly opts: EvaluatorOptions,
  ) {}

  /** The trial's table: the merged table with its feature and label columns (cached). */
  private table(loaded: LoadedConfig): Promise<Frame> {
    const { config } = loaded;
    const key = createHash("sha256")
      .update(canonicalJson({ feature_sets: config.feature_sets, label_sets: config.label_sets }))
      .digest("hex");
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cacheStats.reused++;
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    this.cacheStats.computed++;
    const made = (async () => {
      const base = dirname(this.opts.configFile);
      const frame = new Frame(this.merged.time, this.merged.columns());
      await runSets(frame, await resolveFeatureSets(config.feature_sets, base));
      await runSets(frame, await resolveLabelSets(config.label_sets, base));
      return frame;
    })();
    // A failed computation is not kept.
    made.catch(() => this.cache.delete(key));
    this.cache.set(key, made);
    while (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    return made;
  }

  async prepare(loaded: LoadedConfig, plan?: RollingPlan): Promise<PreparedTrial> {
    const { config } = loaded;
    const threads = this.opts.modelThreads;
    const specs = modelSpecs(config).map((s) =>
      threads === undefined ||
      s.algorithm.algo !== "gb" ||
      GB_THREAD_KEYS.some((k) => s.modelParams[k] !== undefined)
        ? s
        : { ...s, modelParams: { ...s.modelParams, num_threads: threads } },
    );
    let signals: PreparedTrial["signals"];
    if (this.opts.objective === "profit") {
      const steps = await resolveSignalSets(config, this.opts.configFile);
      const cols = signalColumns(steps);
      const buy = cols.find((c) => c.role === "buy")?.column;
      const sell = cols.find((c) => c.role === "sell")?.column;
      if (buy === undefined || sell === undefined) {
        throw new ConfigError(
          "signal_sets: the profit objective trades the buy and sell columns of a threshold rule; the config's signal_sets make none",
        );
      }
      signals = { steps, buy, sell };
    }
    const frame = await this.table(loaded);
    for (const s of specs) {
      for (const c of [...s.features, s.label]) {
        if (!frame.has(c)) {
          throw new ConfigError(
            `${s.name}: column "${c}" is made by no feature or label set of the trial's config`,
          );
        }
      }
    }
    const limits = { labelHorizon: config.label_horizon, trainLength: config.train_length };
    return {
      loaded,
      frame,
      specs,
      plan: plan ?? foldPlan(frame.time, this.opts.holdoutRow, this.opts.folds, limits),
      signals,
      predictions: new Map(specs.map((s) => [s.name, new Float64Array(frame.length).fill(Number.NaN)])),
    };
  }

  /** Trains and scores fold `k` of the trial's plan. */
  async fold(t: PreparedTrial, k: number): Promise<FoldResult> {
    const step = t.plan.steps[k] as RollingStep;
    const result = await runRollingStep(t.frame, t.plan, step, t.specs, {
      configHash: t.loaded.hash,
      itbVersion: this.opts.itbVersion,
      createdAt: this.opts.createdAt,
      log: this.opts.log,
      run: 0,
    });
    for (const m of result.models)
      (t.predictions.get(m.name) as Float64Array).set(m.predictions, step.predictStart);
    const base: Omit<FoldMetrics, "value" | "metrics"> = {
      fold: k,
      start: isoTime(t.frame.time[step.predictStart] as number),
      end: isoTime(endTime(t.frame.time, step.predictEnd)),
      rows: step.predictEnd - step.predictStart,
    };
    const metrics: Record<string, number | null> = {};
    const aucs: number[] = [];
    const mid = step.predictStart + Math.floor((step.predictEnd - step.predictStart) / 2);
    const halves = [
      [step.predictStart, mid],
      [mid, step.predictEnd],
    ] as const;
    const halfAucs = halves.map(() => [] as number[]);
    for (const s of t.specs) {
      const label = t.frame.get(s.label);
      const pred = t.predictions.get(s.name) as Float64Array;
      const auc = aucOn(label, pred, step.predictStart, step.predictEnd);
      metrics[`auc_${s.name}`] = finite(auc);
      if (Number.isFinite(auc)) aucs.push(auc);
      halves.forEach(([a, b], h) => {
        const v = aucOn(label, pred, a, b);
        if (Number.isFinite(v)) (halfAucs[h] as number[]).push(v);
      });
    }
    const meanAuc = aucs.length === t.specs.length ? mean(aucs) : Number.NaN;
    metrics.auc = finite(meanAuc);
    if (this.opts.objective === "auc") {
      return {
        metrics: { ...base, value: finite(meanAuc), metrics },
        series: halfAucs.map((h) => (h.length === t.specs.length ? mean(h) : Number.NaN)),
      };
    }
    const trade = this.trade(t, step.predictStart, step.predictEnd);
    Object.assign(metrics, trade.metrics);
    return { metrics: { ...base, value: trade.metrics.profit_pct ?? null, metrics }, series: trade.days };
  }

  /**
   * The trial's signal sets on its predictions from the first fold to this one's end, the
   * rows [start, end) backtested with the config's costs (fees, slippage), flat at the start:
   * the fold's metrics and its returns per UTC day.
   */
  private trade(t: PreparedTrial, start: number, end: number) {
    const signals = t.signals as NonNullable<PreparedTrial["signals"]>;
    const from = t.plan.predictionStart;
    const time = t.frame.time.subarray(from, end);
    const f = new Frame(time);
    for (const c of CANDLES) if (this.merged.has(c)) f.set(c, this.merged.get(c).subarray(from, end));
    for (const [name, p] of t.predictions) f.set(name, p.subarray(from, end));
    runSignalSteps(f, signals.steps);
    const bars: Bars = {
      time,
      open: f.get("open"),
      high: f.get("high"),
      low: f.get("low"),
      close: f.get("close"),
    };
    const ones = (x: Float64Array) => Uint8Array.from(x, (v) => (v === 1 ? 1 : 0));
    const s = start - from;
    const e = end - from;
    const starts = dayStarts(time, s, e);
    const days = e > s ? starts.length + 1 : 0;
    const dayEnds = { starts, equity: new Float64Array(days) };
    const options = t.loaded.settings.backtest;
    const m = runEngine(bars, { buy: ones(f.get(signals.buy)), sell: ones(f.get(signals.sell)) }, options, {
      start: s,
      end: e,
      collectTrades: false,
      ...(days > 0 ? { days: dayEnds } : {}),
    }).metrics;
    const returns: number[] = [];
    let prev = options.initialCapital;
    for (let d = 0; d < days; d++) {
      const eq = dayEnds.equity[d] as number;
      returns.push(prev > 0 ? eq / prev - 1 : 0);
      prev = eq;
    }
    return {
      metrics: {
        profit_pct: finite(m.profitPct),
        trades: m.trades,
        win_rate_pct: finite(m.winRatePct),
        max_drawdown_pct: finite(m.maxDrawdownPct),
        sharpe: finite(m.sharpe),
        fees_paid: finite(m.feesPaid),
        buy_hold_pct: finite(m.buyHoldPct),
      } as Record<string, number | null>,
      days: returns,
    };
  }
}

/** The trial's value from its folds so far: mean AUC, or compound profit % (each fold traded from flat). */
export function objectiveSoFar(objective: Objective, values: readonly (number | null)[]): number {
  if (values.length === 0 || values.some((v) => v === null || !Number.isFinite(v))) return Number.NaN;
  const v = values as number[];
  if (objective === "auc") return mean(v);
  let g = 1;
  for (const p of v) g *= 1 + p / 100;
  return (g - 1) * 100;
}

function aucOn(label: Float64Array, pred: Float64Array, start: number, end: number): number {
  const y: number[] = [];
  const s: number[] = [];
  for (let i = start; i < end; i++) {
    const l = label[i] as number;
    const p = pred[i] as number;
    if (Number.isFinite(l) && Number.isFinite(p)) {
      y.push(l);
      s.push(p);
    }
  }
  return rocAuc(y, s);
}

function mean(x: readonly number[]): number {
  let s = 0;
  for (const v of x) s += v;
  return x.length > 0 ? s / x.length : Number.NaN;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** The exclusive end time of rows ending at `end`: the next row's time, or the last plus one step. */
function endTime(time: Float64Array, end: number): number {
  if (end < time.length) return time[end] as number;
  const n = time.length;
  return n >= 2 ? (time[n - 1] as number) * 2 - (time[n - 2] as number) : (time[n - 1] as number);
}

/** SHA-256 of the merged table (names, times, values), with its size and span. */
export function tableFingerprint(frame: Frame): string {
  const h = createHash("sha256");
  const bytes = (a: Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  h.update(JSON.stringify(frame.columnNames));
  h.update(bytes(frame.time));
  for (const [, c] of frame.columns()) h.update(bytes(c));
  const n = frame.length;
  const span =
    n > 0 ? `${isoTime(frame.time[0] as number)}..${isoTime(frame.time[n - 1] as number)}` : "empty";
  return `rows=${n} ${span} sha256:${h.digest("hex").slice(0, 16)}`;
}
