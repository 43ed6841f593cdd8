import type { JSONPath } from "jsonc-parser";
import { type ConfigOverrides, type LoadedConfig, parseConfigText } from "../../config/index.js";
import { errorMessage, InterruptedError, ItbError } from "../../core/errors.js";
import { configuredStages, preflight } from "../../pipeline/preflight.js";
import type { FoldMetrics, Objective, TrialRecord } from "../experiments/store.js";
import { objectiveSoFar, type TrialEvaluator } from "./evaluate.js";
import { applyParams, type ParamValues } from "./space.js";

/** What every trial of a run shares, in the main thread or in a worker thread. */
export interface TrialContext {
  baseText: string;
  paths: ReadonlyMap<string, JSONPath>;
  configFile: string;
  overrides: ConfigOverrides;
  objective: Objective;
  evaluator: TrialEvaluator;
}

/** A trial's record before its experiment's id is set. */
export type TrialOutcome = Omit<TrialRecord, "experimentId">;

/**
 * Asked after the folds of each halving rung: true to go on, false to stop the trial (pruned).
 * `done`: folds evaluated so far; `value`: the objective over them.
 */
export type Judge = (done: number, value: number) => boolean | Promise<boolean>;

/** The trial's config: the base text with the values applied, checked as `itb config check` checks it. */
export async function trialConfig(
  ctx: Pick<TrialContext, "baseText" | "paths" | "configFile" | "overrides">,
  params: ParamValues,
): Promise<{ text: string; loaded: LoadedConfig }> {
  const text = applyParams(ctx.baseText, ctx.paths, params);
  const loaded = parseConfigText(text, ctx.configFile, ctx.overrides);
  await preflight(loaded.config, ctx.configFile, configuredStages(loaded.config));
  return { text, loaded };
}

/**
 * Runs one trial: its config made and checked (a config error fails the trial with that
 * error), then its folds one by one, judged at each rung. Errors of itb (a model that cannot be
 * trained, a missing column) fail the trial; anything else is a bug and is thrown.
 */
export async function runTrial(
  ctx: TrialContext,
  number: number,
  params: ParamValues,
  judge: Judge,
  rungs: readonly number[],
): Promise<TrialOutcome> {
  const started = new Date();
  const t0 = performance.now();
  const record = (
    status: TrialRecord["status"],
    fields: Partial<TrialOutcome> & Pick<TrialOutcome, "configHash">,
  ): TrialOutcome => ({
    number,
    status,
    params,
    value: null,
    folds: [],
    rung: 0,
    started: started.toISOString(),
    finished: new Date().toISOString(),
    durationS: (performance.now() - t0) / 1000,
    series: null,
    error: null,
    ...fields,
  });
  let loaded: LoadedConfig;
  try {
    loaded = (await trialConfig(ctx, params)).loaded;
  } catch (err) {
    if (!(err instanceof ItbError)) throw err;
    return record("failed", { configHash: "", error: errorMessage(err) });
  }
  const folds: FoldMetrics[] = [];
  const series: number[] = [];
  let rung = 0;
  const soFar = () =>
    objectiveSoFar(
      ctx.objective,
      folds.map((x) => x.value),
    );
  try {
    const prepared = await ctx.evaluator.prepare(loaded);
    for (let k = 0; k < prepared.plan.steps.length; k++) {
      const f = await ctx.evaluator.fold(prepared, k);
      folds.push(f.metrics);
      series.push(...f.series);
      if (f.metrics.value === null) {
        // The trial's value cannot be a number any more: no use running its other folds.
        return record("failed", {
          configHash: loaded.hash,
          folds,
          rung,
          series,
          error: noScore(k, f.metrics.metrics),
        });
      }
      if (rungs.includes(k + 1)) {
        const value = soFar();
        if (!(await judge(k + 1, value))) {
          return record("pruned", { configHash: loaded.hash, value, folds, rung, series });
        }
        rung++;
      }
    }
    const value = soFar();
    return record("complete", { configHash: loaded.hash, value, folds, rung, series });
  } catch (err) {
    if (!(err instanceof ItbError) || err instanceof InterruptedError) throw err;
    return record("failed", { configHash: loaded.hash, folds, rung, error: errorMessage(err) });
  }
}

/** Why fold k has no value: the models without an AUC there (not trained, or one class in the fold). */
function noScore(k: number, metrics: Record<string, number | null>): string {
  const missing = Object.entries(metrics)
    .filter(([name, v]) => name.startsWith("auc_") && v === null)
    .map(([name]) => name.slice(4));
  const which = missing.length > 0 ? `no AUC for ${missing.join(", ")}` : "no profit";
  return `fold ${k} has no score (${which}: a model that could not be trained, or a label with one class only in the fold)`;
}
