import type { Command } from "commander";
import { holdoutOption } from "../../config/index.js";
import { interruption, UsageError } from "../../core/errors.js";
import { parseQueueUrl } from "../../pipeline/queue/queue.js";
import type { TrialRecord } from "../../research/experiments/store.js";
import { runTune, type TuneResult } from "../../research/tune/run.js";
import { shortParams } from "../../research/tune/space.js";
import type { TuneCliOptions } from "../commands/tune.js";
import { contextOf, requireLocalData } from "../context.js";
import { catchInterrupts } from "../interrupts.js";
import { oneOf } from "../options.js";
import { VERSION } from "../version.js";

/** An integer option's value; anything else is a usage error naming the option. */
function integer(v: string | undefined, fallback: number, option: string, min: number): number {
  if (v === undefined) return fallback;
  if (!/^\s*\d+\s*$/.test(v) || Number(v) < min) {
    throw new UsageError(`${option} must be an integer ≥ ${min}, got "${v}"`);
  }
  return Number(v);
}

function num(v: number | null, digits = 4): string {
  return v === null || !Number.isFinite(v) ? "n/a" : v.toFixed(digits);
}

/** One line per trial, as it ends. */
export function trialLine(t: TrialRecord, total: number, objective: string): string {
  const n = String(t.number).padStart(String(total - 1).length);
  const status =
    t.status === "pruned"
      ? `pruned after ${t.folds.length} fold(s)`
      : t.status === "failed"
        ? "failed"
        : "complete";
  const value = t.value === null ? "" : `${objective} ${num(t.value)}  `;
  const err = t.error === null ? "" : `: ${t.error.split("\n").join(" ")}`;
  return `trial ${n}  ${value}${status}  ${t.durationS.toFixed(1)} s  ${shortParams(t.params)}${err}`;
}

function summary(r: TuneResult): string {
  const e = r.experiment;
  const count = (s: string) => r.trials.filter((t) => t.status === s).length;
  const lines = [
    `experiment ${e.id}: ${r.trials.length} trial(s) (${count("complete")} complete, ${count("pruned")} pruned, ${count("failed")} failed), ` +
      `objective ${e.objective}, sampler ${e.sampler}, seed ${e.seed}, ${String(e.settings.folds)} folds${r.interrupted ? ", INTERRUPTED" : ""}`,
  ];
  const b = r.best;
  if (b === null) {
    lines.push(r.interrupted ? "no trial completed before the interrupt" : `no best trial: ${e.error ?? ""}`);
  } else {
    const values = b.folds.map((f) => f.value).filter((v): v is number => v !== null);
    const m = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, values.length - 1));
    lines.push(
      `best: trial ${b.number}  ${e.objective} ${num(b.value)}  (fold values ${num(m)} ± ${num(sd)} over ${values.length} fold(s))`,
      `  params: ${Object.entries(b.params)
        .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
        .join(", ")}`,
    );
  }
  const h = e.holdout as {
    start: string;
    rows: number;
    value: number | null;
    folds_mean: number | null;
    drop: boolean;
  } | null;
  if (h !== null) {
    lines.push(
      `holdout from ${h.start} (${h.rows.toLocaleString("en-US")} rows, scored once): ${e.objective} ${num(h.value)} ` +
        `beside the folds' mean ${num(h.folds_mean)}${h.drop ? "  -- a drop of more than two standard deviations of the folds: the choice may be overfit" : ""}`,
    );
  }
  const o = e.overfit as { trials: number; reading: string[]; note?: string } | null;
  if (o !== null) {
    lines.push(`overfitting odds of the run: ${o.trials} complete trial(s)`);
    for (const l of o.reading) lines.push(`  ${l}`);
    if (o.note) lines.push(`  ${o.note}`);
  }
  if (r.bestConfig !== null) lines.push(`best config: ${r.bestConfig}`);
  lines.push(`store: ${r.storeFile}`);
  return lines.join("\n");
}

/** `itb tune`. */
export async function tuneAction(opts: TuneCliOptions, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const objective = oneOf(opts.objective, ["auc", "profit"] as const, "--objective") ?? "auc";
  const sampler = oneOf(opts.sampler, ["tpe", "random"] as const, "--sampler") ?? "tpe";
  const trials = integer(opts.trials, 20, "--trials", 1);
  const folds = integer(opts.folds, 4, "--folds", 1);
  const halving = integer(opts.halving, 3, "--halving", 0);
  const seed = integer(opts.seed, 0, "--seed", 0);
  const threads = opts.threads === undefined ? undefined : integer(opts.threads, 1, "--threads", 1);
  if (halving === 1) throw new UsageError('--halving must be 0 (off) or an integer ≥ 2, got "1"');
  const holdout = opts.holdout !== undefined ? holdoutOption(opts.holdout) : undefined;
  const config = opts.config as string;
  const interrupts = catchInterrupts(ctx.log, "finishing the trial in flight, starting no new one");
  try {
    const result = await runTune({
      configFile: config,
      spaceFile: opts.space as string,
      overrides: {
        ...(opts.symbol ? { symbol: opts.symbol } : {}),
        ...(opts.freq ? { freq: opts.freq } : {}),
      },
      trials,
      objective,
      sampler,
      seed,
      folds,
      halving,
      ...(threads !== undefined ? { threads } : {}),
      ...(opts.queue !== undefined
        ? { queue: { url: parseQueueUrl(opts.queue), prefix: opts.queuePrefix } }
        : {}),
      ...(holdout !== undefined ? { holdout } : {}),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      command: process.argv.slice(2),
      log: ctx.log,
      itbVersion: VERSION,
      signal: interrupts.signal,
      checkConfig: (loaded) => requireLocalData(loaded),
      onStart: (e) => {
        if (!opts.json)
          process.stdout.write(
            `experiment ${e.id}: ${trials} trial(s), objective ${objective}, sampler ${sampler}\n`,
          );
      },
      onTrial: (t, total) => {
        if (!opts.json) process.stdout.write(`${trialLine(t, total, objective)}\n`);
      },
    });
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ experiment: result.experiment, best_config: result.bestConfig, store: result.storeFile, interrupted: result.interrupted, trials: result.trials }, null, 2)}\n`
        : `${summary(result)}\n`,
    );
    if (!result.interrupted && interrupts.signal.aborted) {
      throw interruption(
        interrupts.signal,
        `tuning had finished (${result.experiment.id}); its results are complete`,
      );
    }
    if (result.interrupted) {
      throw interruption(
        interrupts.signal,
        `tuning stopped after ${result.trials.length} trial(s); ${result.experiment.id} is marked interrupted, its finished trials are kept`,
      );
    }
  } finally {
    interrupts.dispose();
  }
}
