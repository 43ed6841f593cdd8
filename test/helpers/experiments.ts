import { overfitJson, overfitOdds } from "../../src/backtest/overfit.js";
import type {
  ExperimentStore,
  FoldMetrics,
  NewExperiment,
  TrialRecord,
  TrialStatus,
} from "../../src/research/experiments/store.js";
import { seededRandom } from "../../src/simulator/rng.js";

/**
 * Tuning runs written through the experiment store's API, as `itb tune` records them, from a
 * deterministic toy objective: the value of a trial depends on one parameter only (C, peaked at
 * log10 C = 0.5), plus a fold-to-fold wobble; the other parameters do nothing. Every 13th trial
 * fails; a trial whose first two folds fall below the median of the earlier trials' first two
 * is pruned there (successive halving, rung 0).
 */

/** The seeded generator the records are drawn with (mulberry32), the same on every run. */
export const rng = seededRandom;

export const SPACE = {
  parameters: {
    "algorithms[0].params.C": { type: "float", low: 0.01, high: 100, log: true },
    "algorithms[0].params.max_depth": { type: "int", low: 2, high: 8 },
    "label.horizon": { type: "categorical", choices: [60, 120, 240] },
    train_features: { type: "categorical", choices: ["fast", "slow"] },
  },
};

const FOLDS = 4;
const FOLD_STARTS = ["2023-01-01", "2023-02-01", "2023-03-01", "2023-04-01", "2023-05-01"];

/** The toy objective's noiseless value at C. */
export function toyValue(c: number): number {
  const d = Math.log10(c) - 0.5;
  return 0.5 + 0.08 * Math.exp(-d * d);
}

export interface ToyOptions {
  name?: string | null;
  objective?: "auc" | "profit";
  trials: number;
  seed: number;
  /** Days of the per-trial series (profit objective); auc trials carry their folds' values. */
  days?: number;
  /** "finished" (best chosen, holdout and odds recorded), "interrupted" or "running" (none of them). */
  end?: "finished" | "interrupted" | "running";
  dataFingerprint?: string;
  created?: Date;
}

function params(r: () => number): Record<string, unknown> {
  return {
    "algorithms[0].params.C": Number((10 ** (-2 + 4 * r())).toPrecision(6)),
    "algorithms[0].params.max_depth": 2 + Math.floor(r() * 7),
    "label.horizon": [60, 120, 240][Math.floor(r() * 3)],
    train_features: r() < 0.5 ? "fast" : "slow",
  };
}

/** Writes one toy tuning run into `store`; returns its id. */
export function writeToyExperiment(store: ExperimentStore, o: ToyOptions): string {
  const objective = o.objective ?? "auc";
  const r = rng(o.seed);
  const created = o.created ?? new Date("2026-01-10T09:00:00Z");
  const e: NewExperiment = {
    name: o.name ?? null,
    configFile: "/data/configs/btcusdt-1m.jsonc",
    configHash: `cfg${o.seed}`,
    dataFingerprint: o.dataFingerprint ?? "rows=525600 2023-01-01..2024-01-01 #a1b2c3",
    objective,
    sampler: "tpe",
    seed: o.seed,
    trialsRequested: o.trials + 5,
    space: SPACE,
    settings: { folds: FOLDS, purge: 60, embargo: 60, holdout: "2023-11-01", halving: { eta: 2 } },
  };
  const id = store.createExperiment(e, created).id;
  // every non-failed trial's mean over its first two folds (rung 0 of the halving)
  const rung0: number[] = [];
  let clock = created.getTime();
  const trials: TrialRecord[] = [];
  for (let n = 0; n < o.trials; n++) {
    const p = params(r);
    const base = toyValue(p["algorithms[0].params.C"] as number);
    const scale = objective === "profit" ? 100 : 1;
    const foldValues = Array.from(
      { length: FOLDS },
      () => (base + (r() - 0.5) * 0.01) * scale - (objective === "profit" ? 50 : 0),
    );
    const failed = n % 13 === 12;
    const median = rung0.length > 0 ? [...rung0].sort((a, b) => a - b)[Math.floor(rung0.length / 2)] : 0;
    const firstTwo = ((foldValues[0] as number) + (foldValues[1] as number)) / 2;
    const pruned = !failed && n >= 4 && firstTwo < (median as number);
    if (!failed) rung0.push(firstTwo);
    const evaluated = failed ? 0 : pruned ? 2 : FOLDS;
    const folds: FoldMetrics[] = foldValues.slice(0, evaluated).map((v, f) => ({
      fold: f,
      start: `${FOLD_STARTS[f]}T00:00:00.000Z`,
      end: `${FOLD_STARTS[f + 1]}T00:00:00.000Z`,
      rows: 40_000 + f,
      value: v,
      metrics: (objective === "auc"
        ? { auc_high: v, auc_low: v - 0.01 }
        : { profit: v, trades: 20 + f }) as Record<string, number>,
    }));
    const value = failed ? null : folds.reduce((a, f) => a + (f.value as number), 0) / folds.length;
    const status: TrialStatus = failed ? "failed" : pruned ? "pruned" : "complete";
    const days = o.days ?? 64;
    const series = failed
      ? null
      : objective === "auc"
        ? folds.map((f) => f.value as number)
        : Array.from({ length: days }, () => ((value as number) / days) * 0.01 + (r() - 0.5) * 0.02);
    const durationS = 3 + Math.round(r() * 20);
    const t: TrialRecord = {
      experimentId: id,
      number: n,
      status,
      params: p,
      configHash: `t${o.seed}-${n}`,
      value,
      folds,
      rung: pruned ? 0 : 1,
      started: new Date(clock).toISOString(),
      finished: new Date(clock + durationS * 1000).toISOString(),
      durationS,
      series,
      error: failed ? "training failed: the matrix has no rows with label.horizon's labels" : null,
    };
    clock += durationS * 1000;
    store.addTrial(t);
    trials.push(t);
  }
  const end = o.end ?? "finished";
  if (end === "finished") {
    const complete = trials.filter((t) => t.status === "complete");
    const best = complete.reduce((a, b) => ((b.value as number) > (a.value as number) ? b : a));
    const periods = (complete[0]?.series ?? []).length;
    const returns = new Float64Array(complete.length * periods);
    complete.forEach((t, i) => {
      returns.set(t.series as number[], i * periods);
    });
    const odds = overfitJson(
      overfitOdds(returns, complete.length, periods, complete.indexOf(best), {
        period: "day",
        trial: "trial",
      }),
    );
    store.updateExperiment(id, {
      status: "finished",
      finished: new Date(clock + 30_000).toISOString(),
      bestTrial: best.number,
      holdout: { value: (best.value as number) - (objective === "auc" ? 0.02 : 3), rows: 87_840 },
      overfit: odds as unknown as Record<string, unknown>,
      bestConfig: `/data/BTCUSDT/experiments/${id}/best.jsonc`,
    });
  } else if (end === "interrupted") {
    store.updateExperiment(id, { status: "interrupted" });
  }
  return id;
}
