import { mkdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { overfitJson, overfitOdds, pbo } from "../../backtest/overfit.js";
import {
  type ConfigOverrides,
  type HoldoutSplit,
  type LoadedConfig,
  loadConfig,
} from "../../config/index.js";
import { errorMessage, InterruptedError, UsageError } from "../../core/errors.js";
import type { Frame } from "../../core/frame.js";
import type { Logger } from "../../core/log.js";
import { isoTime } from "../../core/time.js";
import { writeFileAtomic } from "../../data/atomic.js";
import { symbolFile } from "../../data/paths.js";
import { readInput } from "../../data/store/index.js";
import type { QueueTarget } from "../../pipeline/queue/queue.js";
import {
  type ExperimentRecord,
  ExperimentStore,
  experimentFolder,
  experimentStoreFile,
  experimentsFolder,
  type Objective,
  type TrialRecord,
} from "../experiments/store.js";
import { holdoutPlan, TrialEvaluator, tableFingerprint } from "./evaluate.js";
import { Halving } from "./halving.js";
import { makeSampler, type Observation, type SamplerName } from "./samplers.js";
import { loadSpace, resolveSpace, type Space } from "./space.js";
import { runThreads, threadsAvailable } from "./threads.js";
import { runTrial, type TrialContext, type TrialOutcome, trialConfig } from "./trial.js";

/**
 * `itb tune`: proposes trials (parameters of the config from the search space), evaluates each
 * on purged walk-forward folds of the tuning period, records every trial in the experiment
 * store, and at the end scores the chosen trial once on the holdout, computes the overfitting
 * odds of the run and writes the chosen trial's config (best.jsonc).
 */

export interface TuneOptions {
  configFile: string;
  spaceFile: string;
  overrides?: ConfigOverrides;
  trials: number;
  objective: Objective;
  sampler: SamplerName;
  seed: number;
  folds: number;
  /** Start of the holdout; undefined: the config's simulate_model.holdout, else the last 20 % of rows. */
  holdout?: HoldoutSplit;
  /** Trials at once on worker threads (default: the cores); 1: in this thread. */
  threads?: number;
  /** Trials as task jobs for `itb worker`s on this queue (at most `threads` in flight). */
  queue?: QueueTarget;
  /** Successive halving's η; 0: off. */
  halving: number;
  name?: string;
  /** The command line, recorded with the experiment. */
  command?: string[];
  log: Logger;
  itbVersion: string;
  signal?: AbortSignal;
  /** Called as each trial ends, before the next starts. */
  onTrial?: (t: TrialRecord, total: number) => void;
  /** Checks the base config before anything is read (the CLI refuses a shared data folder). */
  checkConfig?: (loaded: LoadedConfig) => void;
  /** Called once the experiment is recorded. */
  onStart?: (e: ExperimentRecord) => void;
  now?: () => Date;
}

export interface HoldoutScore {
  start: string;
  rows: number;
  value: number | null;
  metrics: Record<string, number | null>;
  /** The chosen trial's folds: mean and standard deviation of their values. */
  folds_mean: number | null;
  folds_std: number | null;
  /** The holdout is below the folds' mean by more than two of their standard deviations. */
  drop: boolean;
}

export interface TuneResult {
  experiment: ExperimentRecord;
  trials: TrialRecord[];
  best: TrialRecord | null;
  bestConfig: string | null;
  storeFile: string;
  interrupted: boolean;
  cache: { computed: number; reused: number };
}

/** Fraction of the rows held out when neither --holdout nor simulate_model.holdout says where. */
const DEFAULT_HOLDOUT_SHARE = 0.2;

function mean(x: readonly number[]): number {
  return x.reduce((s, v) => s + v, 0) / x.length;
}

function std(x: readonly number[]): number {
  if (x.length < 2) return 0;
  const m = mean(x);
  return Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / (x.length - 1));
}

/** The holdout's first row: --holdout, else simulate_model.holdout, else the last 20 % of rows. */
function holdoutRowOf(
  frame: Frame,
  loaded: LoadedConfig,
  holdout: HoldoutSplit | undefined,
): { row: number; source: string } {
  const split = holdout ?? loaded.settings.search.holdout;
  const n = frame.length;
  if (split === undefined)
    return { row: Math.floor(n * (1 - DEFAULT_HOLDOUT_SHARE)), source: "last 20 % of rows" };
  const row = frame.lowerBound(split.time);
  const where = holdout !== undefined ? "--holdout" : "simulate_model.holdout";
  if (row >= n || row <= 0) {
    const span = `${isoTime(frame.time[0] as number)} .. ${isoTime(frame.time[n - 1] as number)}`;
    throw new UsageError(`${where} ${split.text}: not inside the merged table (${span})`);
  }
  return { row, source: `${where} ${split.text}` };
}

export async function runTune(opts: TuneOptions): Promise<TuneResult> {
  const now = opts.now ?? (() => new Date());
  const overrides = opts.overrides ?? {};
  const configFile = resolve(opts.configFile);
  const base = loadConfig(configFile, overrides);
  const baseText = readFileSync(configFile, "utf8");
  opts.checkConfig?.(base);
  const space: Space = loadSpace(opts.spaceFile);
  const paths = resolveSpace(space, baseText, opts.configFile);
  const { config } = base;
  const merged = await readInput(
    symbolFile(config, config.merge_file_name),
    { timeColumn: config.time_column },
    "`itb merge`",
  );
  const holdout = holdoutRowOf(merged, base, opts.holdout);
  const evaluatorOptions = {
    objective: opts.objective,
    folds: opts.folds,
    holdoutRow: holdout.row,
    configFile,
    itbVersion: opts.itbVersion,
    createdAt: now().getTime(),
  };
  const evaluator = new TrialEvaluator(merged, { ...evaluatorOptions, log: opts.log });
  // Worker threads need the compiled worker (absent under vitest, which runs the sources).
  const threads = threadsAvailable()
    ? Math.max(1, Math.min(opts.threads ?? availableParallelism(), opts.trials))
    : 1;
  // The base config's folds are checked before anything is recorded (a trial may change label_horizon).
  const basePlan = (await evaluator.prepare(base)).plan;
  const halving = new Halving(opts.halving, opts.folds);
  const trialCtx: TrialContext = {
    baseText,
    paths,
    configFile,
    overrides,
    objective: opts.objective,
    evaluator,
  };
  const sampler = makeSampler(opts.sampler, space.parameters, opts.seed, opts.trials);

  const folder = experimentsFolder(config.data_folder, config.symbol);
  const storeFile = experimentStoreFile(folder);
  const store = ExperimentStore.open(storeFile);
  let experimentId = "";
  try {
    const experiment = store.createExperiment(
      {
        name: opts.name ?? null,
        configFile,
        configHash: base.hash,
        dataFingerprint: tableFingerprint(merged),
        objective: opts.objective,
        sampler: opts.sampler,
        seed: opts.seed,
        trialsRequested: opts.trials,
        space: space.raw,
        settings: {
          space_file: resolve(opts.spaceFile),
          folds: opts.folds,
          fold_rows: basePlan.predictionSize,
          tuning_rows: [
            isoTime(merged.time[0] as number),
            isoTime(merged.time[basePlan.dataEnd - 1] as number),
          ],
          holdout: isoTime(merged.time[holdout.row] as number),
          holdout_source: holdout.source,
          halving: opts.halving,
          rungs: halving.rungs,
          threads: opts.queue === undefined ? threads : null,
          queue: opts.queue === undefined ? null : { prefix: opts.queue.prefix },
          backtest: opts.objective === "profit" ? base.settings.backtest : undefined,
          objective_value:
            opts.objective === "auc"
              ? "mean ROC AUC over folds and models"
              : "compound profit % over the folds, each fold traded from flat with the config's backtest costs",
          command: opts.command ?? null,
        },
      },
      now(),
    );
    experimentId = experiment.id;
    opts.onStart?.(experiment);
    const trials: TrialRecord[] = [];
    const history: Observation[] = [];
    let interrupted = false;
    let proposed = 0;
    const next = () => {
      if (opts.signal?.aborted || proposed >= opts.trials) return undefined;
      const number = proposed++;
      return { number, params: sampler.propose(number, history) };
    };
    const finished = (o: TrialOutcome) => {
      const t = withId(o);
      store.addTrial(t);
      trials.push(t);
      history.push({ params: t.params, value: t.value, status: t.status });
      opts.onTrial?.(t, opts.trials);
    };
    const judge = (done: number, value: number) => halving.report(done, value);
    if (opts.queue !== undefined) {
      // BullMQ loads only for a queued run.
      const { runOnQueue, runKey } = await import("./queue.js");
      await runOnQueue({
        target: opts.queue,
        slots: Math.max(1, Math.min(opts.threads ?? availableParallelism(), opts.trials)),
        run: runKey(storeFile, experiment.id),
        configFile,
        overrides,
        market: { symbol: config.symbol, freq: config.freq },
        spaceFile: resolve(opts.spaceFile),
        objective: opts.objective,
        folds: opts.folds,
        holdoutRow: holdout.row,
        dataFingerprint: experiment.dataFingerprint,
        itbVersion: opts.itbVersion,
        createdAt: evaluatorOptions.createdAt,
        halving,
        log: opts.log,
        next,
        finished,
      });
      trials.sort((a, b) => a.number - b.number);
    } else if (threads > 1) {
      await runThreads({
        threads,
        merged,
        data: {
          baseText,
          paths: [...paths],
          overrides,
          evaluator: {
            ...evaluatorOptions,
            modelThreads: Math.max(1, Math.floor(availableParallelism() / threads)),
          },
          rungs: halving.rungs,
        },
        next,
        judge,
        finished,
      });
      trials.sort((a, b) => a.number - b.number);
    } else {
      for (let t = next(); t !== undefined; t = next()) {
        finished(await runTrial(trialCtx, t.number, t.params, judge, halving.rungs));
      }
    }
    if (opts.signal?.aborted) interrupted = true;

    const complete = trials.filter((t) => t.status === "complete" && t.value !== null);
    const best = complete.reduce<TrialRecord | null>(
      (b, t) => (b === null || (t.value as number) > (b.value as number) ? t : b),
      null,
    );
    if (interrupted) {
      store.updateExperiment(experiment.id, {
        status: "interrupted",
        finished: now().toISOString(),
        bestTrial: best?.number ?? null,
      });
      return done(experiment.id, trials, best, null, true);
    }
    if (best === null) {
      const error = `no trial completed (${trials.filter((t) => t.status === "failed").length} failed, ${trials.filter((t) => t.status === "pruned").length} pruned)`;
      store.updateExperiment(experiment.id, { status: "failed", finished: now().toISOString(), error });
      return done(experiment.id, trials, null, null, false);
    }

    const chosen = await trialConfig(trialCtx, best.params);
    const holdoutScore = await scoreHoldout(chosen.loaded, best);
    const overfit = overfitOf(trials, best);
    const out = experimentFolder(folder, experiment.id);
    mkdirSync(out, { recursive: true });
    const bestFile = join(out, "best.jsonc");
    const header =
      `// itb tune: ${experiment.id}, trial ${best.number} of ${trials.length} (${opts.objective} ${best.value}),` +
      ` chosen on ${opts.folds} walk-forward folds; holdout from ${holdoutScore.start}: ${holdoutScore.value}\n` +
      `// base config: ${configFile}; store: ${storeFile}\n`;
    await writeFileAtomic(bestFile, header + chosen.text);
    store.updateExperiment(experiment.id, {
      status: "finished",
      finished: now().toISOString(),
      bestTrial: best.number,
      holdout: holdoutScore as unknown as Record<string, unknown>,
      overfit,
      bestConfig: bestFile,
    });
    return done(experiment.id, trials, best, bestFile, false);
  } catch (err) {
    if (experimentId !== "") {
      const interrupted = err instanceof InterruptedError;
      store.updateExperiment(experimentId, {
        status: interrupted ? "interrupted" : "failed",
        finished: now().toISOString(),
        ...(interrupted ? {} : { error: errorMessage(err) }),
      });
    }
    throw err;
  } finally {
    store.close();
  }

  function done(
    id: string,
    trials: TrialRecord[],
    best: TrialRecord | null,
    bestConfig: string | null,
    interrupted: boolean,
  ): TuneResult {
    return {
      experiment: store.experiment(id) as ExperimentRecord,
      trials,
      best,
      bestConfig,
      storeFile,
      interrupted,
      cache: { ...evaluator.cacheStats },
    };
  }

  function withId(t: TrialOutcome): TrialRecord {
    return { ...t, experimentId };
  }

  async function scoreHoldout(loaded: LoadedConfig, best: TrialRecord): Promise<HoldoutScore> {
    const plan = holdoutPlan(merged.time, holdout.row, {
      labelHorizon: loaded.config.label_horizon,
      trainLength: loaded.config.train_length,
    });
    const prepared = await evaluator.prepare(loaded, plan);
    const f = await evaluator.fold(prepared, 0);
    const values = best.folds.map((x) => x.value).filter((v): v is number => v !== null);
    const m = values.length > 0 ? mean(values) : null;
    const s = values.length > 0 ? std(values) : null;
    const v = f.metrics.value;
    return {
      start: f.metrics.start,
      rows: f.metrics.rows,
      value: v,
      metrics: f.metrics.metrics,
      folds_mean: m,
      folds_std: s,
      drop: v !== null && m !== null && s !== null && v < m - 2 * s,
    };
  }

  function overfitOf(trials: readonly TrialRecord[], best: TrialRecord): Record<string, unknown> {
    const complete = trials.filter((t) => t.status === "complete" && t.series !== null);
    const periods = best.series?.length ?? 0;
    const same = complete.filter((t) => (t.series as number[]).length === periods);
    const selected = same.indexOf(best);
    const notCounted = trials.length - same.length;
    const note =
      notCounted > 0
        ? `${same.length} complete trial(s) counted; ${notCounted} pruned or failed trial(s) are not (their series are shorter or absent)`
        : "";
    const returns = new Float64Array(same.length * periods);
    same.forEach((t, n) => {
      (t.series as number[]).forEach((v, i) => {
        returns[n * periods + i] = Number.isFinite(v) ? v : 0;
      });
    });
    if (opts.objective === "profit") {
      const odds = overfitJson(
        overfitOdds(returns, same.length, periods, selected, { trial: "trial", period: "day" }),
      );
      return { ...odds, trials_run: trials.length, note };
    }
    // auc: the series are the AUC of each half fold; CSCV's blocks are the folds (two halves each),
    // ranked by the Sharpe ratio of AUC − 0.5. No deflated Sharpe ratio: there are no returns.
    const K = opts.folds;
    let pboValue: number | null = null;
    let pboNote = "";
    let combinations: number | null = null;
    if (same.length < 2) pboNote = "no PBO: fewer than 2 complete trials";
    else if (K < 4 || K % 2 !== 0)
      pboNote = `no PBO: CSCV needs an even number of folds, 4 at least (--folds ${K})`;
    else {
      for (let i = 0; i < returns.length; i++) returns[i] = (returns[i] as number) - 0.5;
      const r = pbo({ periods, trials: same.length, values: returns, byTrial: true }, K);
      pboValue = r.pbo;
      combinations = r.combinations;
    }
    const reading =
      pboValue === null
        ? pboNote
        : pboValue > 0.5
          ? `PBO ${pboValue.toFixed(2)}: the best trial on half the folds is more likely than not to be at or below the median on the other half (${combinations} splits)`
          : `PBO ${pboValue.toFixed(2)}: the best trial on half the folds ends above the median on the other half in ${((1 - pboValue) * 100).toFixed(0)}% of ${combinations} splits`;
    return {
      trials: same.length,
      trials_run: trials.length,
      periods,
      pbo: pboValue,
      pbo_blocks: pboValue === null ? null : K,
      pbo_combinations: combinations,
      pbo_note: pboNote,
      deflated_sharpe: null,
      reading: [reading, "no deflated Sharpe ratio: the auc objective has no returns"],
      note,
    };
  }
}
