import { overfitJson, overfitOdds } from "../../backtest/overfit.js";
import { errorMessage, ItbError, UsageError } from "../../core/errors.js";
import {
  type ExperimentRecord,
  ExperimentStore,
  ExperimentStoreError,
  experimentFolder,
  experimentStoreFile,
  type TrialRecord,
  type TrialStatus,
} from "./store.js";

/**
 * Reading the experiment store for `itb experiments`: an experiment with its trials, the
 * numbers its lines and pages show (best value, holdout, overfitting odds), and the errors of
 * an unknown id or a missing store.
 */

/** The overfitting odds of an experiment as shown: from the record, or computed from the trials' series. */
export interface OddsView {
  /** "recorded": the tuner's own (at its end); "computed": from the complete trials' series now (a run not finished); "none". */
  source: "recorded" | "computed" | "none";
  trials: number | null;
  periods: number | null;
  /** What a period is: "day" when the odds were recorded over days (a profit objective's daily returns). */
  unit: string;
  pbo: number | null;
  dsr: number | null;
  /** The reading lines (and the note on the blocks), as `itb simulate` prints them. */
  reading: string[];
}

/** Everything `itb experiments` shows of one experiment. */
export interface ExperimentView {
  experiment: ExperimentRecord;
  /** Experiments folder and this experiment's own folder. */
  folder: string;
  trials: TrialRecord[];
  counts: Record<TrialStatus, number>;
  /** The chosen trial, else the complete trial with the highest value (null without one). */
  best: TrialRecord | null;
  /** The holdout's objective value (null without a holdout). */
  holdoutValue: number | null;
  odds: OddsView;
  /** Seconds from the experiment's creation to its end (or to its last trial while unfinished; null without one). */
  durationS: number | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Opens an experiments folder's store for reading; a missing store is a usage error with the store's message. */
export function openExperimentStore(folder: string): ExperimentStore {
  try {
    return ExperimentStore.open(experimentStoreFile(folder), { readonly: true });
  } catch (err) {
    if (err instanceof ExperimentStoreError) throw new UsageError(err.message);
    throw err;
  }
}

/** The experiments by id; an unknown id is a usage error naming the known ones. */
export function requireExperiments(store: ExperimentStore, ids: readonly string[]): ExperimentRecord[] {
  const all = store.experiments();
  return ids.map((id) => {
    const e = all.find((x) => x.id === id);
    if (e !== undefined) return e;
    const known = all.map((x) => x.id);
    throw new UsageError(
      known.length === 0
        ? `no experiment ${id}: ${store.file} holds no experiments`
        : `no experiment ${id}: the known ones are ${known.join(", ")}`,
    );
  });
}

/** Complete trials by value, best first (ties by trial number). */
export function rankedTrials(trials: readonly TrialRecord[]): TrialRecord[] {
  return trials
    .filter((t) => t.status === "complete" && t.value !== null)
    .sort((a, b) => (b.value as number) - (a.value as number) || a.number - b.number);
}

/** The holdout's objective value: its `value`, else its entry named after the objective. */
export function holdoutValueOf(e: ExperimentRecord): number | null {
  if (e.holdout === null) return null;
  return num(e.holdout.value) ?? num(e.holdout[e.objective]);
}

/** The recorded odds (simulation.json's `overfitting` shape, or close to it). */
function recordedOdds(o: Record<string, unknown>): OddsView {
  const pboField = o.pbo;
  const pbo =
    num(pboField) ??
    (typeof pboField === "object" && pboField !== null
      ? num((pboField as Record<string, unknown>).pbo)
      : null);
  const deflated = o.deflated;
  const dsr =
    num(o.deflated_sharpe) ??
    num(o.dsr) ??
    (typeof deflated === "object" && deflated !== null
      ? num((deflated as Record<string, unknown>).dsr)
      : null);
  const note = typeof o.pbo_note === "string" && o.pbo_note !== "" && pbo !== null ? [o.pbo_note] : [];
  const reading = Array.isArray(o.reading) ? o.reading.filter((r): r is string => typeof r === "string") : [];
  return {
    source: "recorded",
    trials: num(o.trials),
    periods: num(o.periods) ?? num(o.days),
    unit: num(o.days) !== null ? "day" : "period",
    pbo,
    dsr,
    reading: [...note, ...reading],
  };
}

/**
 * The odds from the complete trials' series, for an experiment without recorded odds (still
 * running, interrupted): when at least two complete trials have series of one length, finite.
 */
function computedOdds(
  e: ExperimentRecord,
  trials: readonly TrialRecord[],
  best: TrialRecord | null,
): OddsView | null {
  const withSeries = trials.filter(
    (t) => t.status === "complete" && t.series !== null && t.series.length > 0,
  );
  if (withSeries.length < 2 || best === null) return null;
  const periods = (withSeries[0] as TrialRecord).series?.length ?? 0;
  if (withSeries.some((t) => t.series?.length !== periods || t.series.some((v) => v === null))) return null;
  const selected = withSeries.indexOf(best);
  if (selected < 0) return null;
  const returns = new Float64Array(withSeries.length * periods);
  withSeries.forEach((t, n) => {
    returns.set(t.series as number[], n * periods);
  });
  // the series are daily returns for the profit objective, the folds' values for auc
  const unit = e.objective === "profit" ? "day" : "fold";
  const j = overfitJson(overfitOdds(returns, withSeries.length, periods, selected, { period: unit }));
  return { ...recordedOdds(j as unknown as Record<string, unknown>), source: "computed", unit };
}

const NO_ODDS: OddsView = {
  source: "none",
  trials: null,
  periods: null,
  unit: "period",
  pbo: null,
  dsr: null,
  reading: [],
};

/** Reads one experiment with its trials. */
export function experimentView(store: ExperimentStore, folder: string, e: ExperimentRecord): ExperimentView {
  const trials = store.trials(e.id);
  const counts: Record<TrialStatus, number> = { complete: 0, pruned: 0, failed: 0 };
  for (const t of trials) counts[t.status]++;
  const chosen = e.bestTrial === null ? undefined : trials.find((t) => t.number === e.bestTrial);
  const best = chosen ?? rankedTrials(trials)[0] ?? null;
  const odds = e.overfit !== null ? recordedOdds(e.overfit) : (computedOdds(e, trials, best) ?? NO_ODDS);
  const created = Date.parse(e.created);
  const endIso =
    e.finished ??
    trials.reduce<string | null>((m, t) => (m === null || t.finished > m ? t.finished : m), null);
  const end = endIso === null ? Number.NaN : Date.parse(endIso);
  return {
    experiment: e,
    folder: experimentFolder(folder, e.id),
    trials,
    counts,
    best,
    holdoutValue: holdoutValueOf(e),
    odds,
    durationS: Number.isFinite(end - created) ? (end - created) / 1000 : null,
  };
}

/**
 * The experiments of a folder's store with their trials (those of `ids`, in that order, or all).
 * A store that is not one (an empty or foreign file) is named with what is wrong, not a stack.
 */
export function readExperiments(folder: string, ids?: readonly string[]): ExperimentView[] {
  const store = openExperimentStore(folder);
  try {
    const records = ids === undefined ? store.experiments() : requireExperiments(store, ids);
    return records.map((e) => experimentView(store, folder, e));
  } catch (err) {
    if (err instanceof ItbError) throw err;
    throw new ExperimentStoreError(`${store.file}: cannot read the experiment store: ${errorMessage(err)}`);
  } finally {
    store.close();
  }
}
