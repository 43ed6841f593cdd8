import { formatDuration } from "../../core/time.js";
import { type ParameterImportance, parameterImportance } from "./importance.js";
import { type ExperimentView, rankedTrials } from "./read.js";
import type { TrialRecord } from "./store.js";

/**
 * The lines `itb experiments list|show|compare` print, and their JSON. Values of the objective
 * are shown with 4 decimals; `-` stands for a number that does not exist (no holdout, no PBO).
 */

/** An objective value, PBO or DSR: 4 decimals, "-" for none. */
export function fmtValue(v: number | null | undefined, decimals = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(decimals);
}

/** A metric: whole numbers as they are (rows, trades), others with 4 decimals. */
export function fmtMetric(v: number | null | undefined): string {
  return typeof v === "number" && Number.isInteger(v) ? String(v) : fmtValue(v);
}

/** "2026-12-06 17:37" from an ISO time. */
const minute = (iso: string): string => iso.slice(0, 16).replace("T", " ");

/** A duration as "45s", "3m 12s", "2h 05m", "1d 4h". */
export function fmtSeconds(seconds: number | null): string {
  return seconds === null ? "-" : formatDuration(Math.round(seconds));
}

/** A parameter value as text: strings bare, numbers as they are, anything else as JSON. */
export function fmtParam(v: unknown): string {
  if (v === undefined) return "-";
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(Number(v.toPrecision(6)));
  return JSON.stringify(v);
}

/** Columns separated by two spaces, padded to their widest cell (the last one not padded). */
export function columns(
  rows: readonly (readonly string[])[],
  rightAligned: ReadonlySet<number> = new Set(),
): string[] {
  const n = Math.max(0, ...rows.map((r) => r.length));
  const widths = Array.from({ length: n }, (_, j) => Math.max(...rows.map((r) => [...(r[j] ?? "")].length)));
  return rows.map((r) =>
    r
      .map((c, j) => {
        const pad = " ".repeat((widths[j] as number) - [...c].length);
        if (rightAligned.has(j)) return pad + c;
        return j === r.length - 1 ? c : c + pad;
      })
      .join("  ")
      .trimEnd(),
  );
}

/** The fold values of a trial: min..max over the evaluated folds with a value. */
function foldRange(t: TrialRecord): string {
  const v = t.folds.map((f) => f.value).filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return "-";
  return `${fmtValue(Math.min(...v))}..${fmtValue(Math.max(...v))}`;
}

const countsText = (v: ExperimentView): string =>
  `${v.counts.complete}/${v.counts.pruned}/${v.counts.failed}`;

/** One experiment's line of `itb experiments list` (and its JSON). */
export interface ListRow {
  id: string;
  name: string | null;
  created: string;
  status: string;
  objective: string;
  trials: { requested: number; complete: number; pruned: number; failed: number };
  best_trial: number | null;
  best_value: number | null;
  holdout: number | null;
  pbo: number | null;
  dsr: number | null;
}

export function listRow(v: ExperimentView): ListRow {
  const e = v.experiment;
  return {
    id: e.id,
    name: e.name,
    created: e.created,
    status: e.status,
    objective: e.objective,
    trials: { requested: e.trialsRequested, ...v.counts },
    best_trial: v.best?.number ?? null,
    best_value: v.best?.value ?? null,
    holdout: v.holdoutValue,
    pbo: v.odds.pbo,
    dsr: v.odds.dsr,
  };
}

export function formatList(views: readonly ExperimentView[], store: string): string {
  if (views.length === 0) return `no experiments in ${store}`;
  const header = [
    "id",
    "name",
    "created UTC",
    "status",
    "objective",
    "trials c/p/f",
    "best",
    "holdout",
    "PBO",
  ];
  const rows = views.map((v) => {
    const e = v.experiment;
    return [
      e.id,
      e.name ?? "-",
      minute(e.created),
      e.status,
      e.objective,
      `${countsText(v)} of ${e.trialsRequested}`,
      v.best === null ? "-" : `${fmtValue(v.best.value)} (#${v.best.number})`,
      fmtValue(v.holdoutValue),
      fmtValue(v.odds.pbo, 2),
    ];
  });
  return columns([header, ...rows]).join("\n");
}

/** The odds' lines, as `itb simulate` prints them. */
export function oddsLines(v: ExperimentView): string[] {
  const o = v.odds;
  if (o.source === "none") {
    return [
      `overfitting odds: none recorded${v.experiment.status === "finished" ? "" : ` (the experiment is ${v.experiment.status})`}, and too few complete trials with comparable series to compute them`,
    ];
  }
  const what =
    o.source === "computed"
      ? `overfitting odds, computed now from the complete trials' series (the experiment is ${v.experiment.status})`
      : "overfitting odds of the tuning";
  const size =
    o.trials === null
      ? ""
      : `: ${o.trials} trials${o.periods === null ? "" : ` over ${o.periods} ${o.unit}s`}`;
  return [`${what}${size}`, ...o.reading.map((r) => `  ${r}`)];
}

/** The parameters of the search space: `space.parameters`' entries when it has them. */
function spaceLines(space: unknown): string[] {
  const params =
    typeof space === "object" && space !== null && "parameters" in space
      ? (space as { parameters: unknown }).parameters
      : undefined;
  if (typeof params === "object" && params !== null && !Array.isArray(params)) {
    return Object.entries(params).map(([k, d]) => `  ${k}: ${JSON.stringify(d)}`);
  }
  return [`  ${JSON.stringify(space)}`];
}

function trialsTable(trials: readonly TrialRecord[], params: readonly string[]): string[] {
  const header = ["trial", "status", "value", "folds min..max", "rung", "time", ...params];
  const rows = trials.map((t) => [
    `#${t.number}`,
    t.status,
    fmtValue(t.value),
    foldRange(t),
    String(t.rung),
    fmtSeconds(t.durationS),
    ...params.map((p) => fmtParam(t.params[p])),
  ]);
  return columns([header, ...rows], new Set([2, 4, 5])).map((l) => `  ${l}`);
}

/** The parameters the trials set, in the order they first appear. */
export function paramNames(trials: readonly TrialRecord[]): string[] {
  return [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
}

/** The importance over an experiment's complete trials. */
export function importanceOf(v: ExperimentView): ParameterImportance[] {
  return parameterImportance(
    rankedTrials(v.trials).map((t) => ({ params: t.params, value: t.value as number })),
  );
}

export function formatShow(v: ExperimentView, opts: { top: number; all: boolean }): string {
  const e = v.experiment;
  const lines: string[] = [];
  lines.push(
    `${e.id}${e.name === null ? "" : ` "${e.name}"`}: ${e.status}, objective ${e.objective}, created ${minute(e.created)} UTC${v.durationS === null ? "" : `, ${e.finished === null ? "ran for" : "took"} ${fmtSeconds(v.durationS)}`}`,
  );
  if (e.error !== null) lines.push(`  error: ${e.error}`);
  lines.push(`config ${e.configFile} (hash ${e.configHash})`);
  lines.push(`data ${e.dataFingerprint}`);
  lines.push(
    `sampler ${e.sampler}, seed ${e.seed}, ${e.trialsRequested} trials requested: ${v.counts.complete} complete, ${v.counts.pruned} pruned, ${v.counts.failed} failed`,
  );
  const settings = Object.entries(e.settings);
  if (settings.length > 0) {
    lines.push("settings:");
    for (const [k, s] of settings) lines.push(`  ${k}: ${JSON.stringify(s)}`);
  }
  lines.push("space:", ...spaceLines(e.space));
  const b = v.best;
  if (b === null) lines.push("best trial: none (no complete trial)");
  else {
    lines.push(
      `best trial #${b.number}${e.bestTrial === b.number ? "" : " (highest value so far; none chosen yet)"}: ${fmtValue(b.value)} over ${b.folds.length} fold(s), rung ${b.rung}`,
    );
    for (const [k, p] of Object.entries(b.params)) lines.push(`  ${k} = ${fmtParam(p)}`);
    const foldRows = b.folds.map((f) => [
      `fold ${f.fold}`,
      `${minute(f.start)} .. ${minute(f.end)}`,
      `${f.rows} rows`,
      fmtValue(f.value),
      Object.entries(f.metrics)
        .map(([k, m]) => `${k}=${fmtMetric(m)}`)
        .join(" "),
    ]);
    if (foldRows.length > 0) lines.push(...columns(foldRows, new Set([2, 3])).map((l) => `  ${l}`));
  }
  if (e.holdout === null) lines.push("holdout: none");
  else {
    const rest = Object.entries(e.holdout)
      .filter(([k]) => k !== "value")
      .map(([k, h]) => `${k}=${typeof h === "number" ? fmtMetric(h) : JSON.stringify(h)}`)
      .join(", ");
    lines.push(`holdout: ${fmtValue(v.holdoutValue)}${rest === "" ? "" : ` (${rest})`}`);
  }
  if (e.bestConfig !== null) lines.push(`best config: ${e.bestConfig}`);
  lines.push(...oddsLines(v));
  const imp = importanceOf(v);
  if (imp.length > 0 && v.counts.complete >= 3) {
    lines.push(
      `parameter importance over ${v.counts.complete} complete trials (ε²: share of the objective's variance each explains alone):`,
    );
    lines.push(
      ...columns(
        imp.map((p) => [`  ${p.param}`, fmtValue(p.importance, 2)]),
        new Set([1]),
      ),
    );
  }
  const ranked = rankedTrials(v.trials);
  const params = paramNames(v.trials);
  if (opts.all) {
    lines.push(`all ${v.trials.length} trials:`, ...trialsTable(v.trials, params));
  } else if (ranked.length > 0) {
    const top = ranked.slice(0, opts.top);
    lines.push(
      `top ${top.length} of ${ranked.length} complete trials by value:`,
      ...trialsTable(top, params),
    );
  }
  const failed = v.trials.filter((t) => t.status === "failed");
  if (failed.length > 0) {
    lines.push(`${failed.length} failed trial(s):`);
    for (const t of failed.slice(0, opts.all ? failed.length : 5))
      lines.push(`  #${t.number}: ${t.error ?? "no error recorded"}`);
    if (!opts.all && failed.length > 5)
      lines.push(`  ... and ${failed.length - 5} more (--trials lists them all)`);
  }
  return lines.join("\n");
}

/** One experiment's column of `itb experiments compare`. */
export interface CompareColumn {
  id: string;
  name: string | null;
  status: string;
  objective: string;
  data_fingerprint: string;
  config_hash: string;
  best_trial: number | null;
  best_value: number | null;
  holdout: number | null;
  pbo: number | null;
  dsr: number | null;
  trials: { requested: number; complete: number; pruned: number; failed: number };
  duration_s: number | null;
  best_params: Record<string, unknown>;
}

export function compareColumn(v: ExperimentView): CompareColumn {
  const e = v.experiment;
  return {
    id: e.id,
    name: e.name,
    status: e.status,
    objective: e.objective,
    data_fingerprint: e.dataFingerprint,
    config_hash: e.configHash,
    best_trial: v.best?.number ?? null,
    best_value: v.best?.value ?? null,
    holdout: v.holdoutValue,
    pbo: v.odds.pbo,
    dsr: v.odds.dsr,
    trials: { requested: e.trialsRequested, ...v.counts },
    duration_s: v.durationS,
    best_params: v.best?.params ?? {},
  };
}

/** What makes experiments' values not comparable: a different objective, different data. */
export function compareNotes(xs: readonly { objective: string; dataFingerprint: string }[]): string[] {
  const notes: string[] = [];
  const distinct = (f: (x: { objective: string; dataFingerprint: string }) => string) =>
    new Set(xs.map(f)).size > 1;
  if (distinct((x) => x.objective)) notes.push("the objectives differ: their values do not compare");
  if (distinct((x) => x.dataFingerprint))
    notes.push("the data differ: the values were measured on different rows");
  return notes;
}

/** Parameters set by the best trials of at least two of the experiments. */
export function sharedParams(cols: readonly CompareColumn[]): string[] {
  const seen = new Map<string, number>();
  for (const c of cols) for (const p of Object.keys(c.best_params)) seen.set(p, (seen.get(p) ?? 0) + 1);
  return [...seen].filter(([, n]) => n >= 2).map(([p]) => p);
}

export function formatCompare(views: readonly ExperimentView[]): string {
  const cols = views.map(compareColumn);
  const row = (label: string, f: (c: CompareColumn) => string) => [label, ...cols.map(f)];
  const rows = [
    row("", (c) => c.id),
    row("name", (c) => c.name ?? "-"),
    row("status", (c) => c.status),
    row("objective", (c) => c.objective),
    row("data", (c) => c.data_fingerprint),
    row("config hash", (c) => c.config_hash),
    row("best value", (c) => (c.best_trial === null ? "-" : `${fmtValue(c.best_value)} (#${c.best_trial})`)),
    row("holdout", (c) => fmtValue(c.holdout)),
    row("PBO", (c) => fmtValue(c.pbo, 2)),
    row("DSR", (c) => fmtValue(c.dsr, 2)),
    row(
      "trials c/p/f",
      (c) => `${c.trials.complete}/${c.trials.pruned}/${c.trials.failed} of ${c.trials.requested}`,
    ),
    row("duration", (c) => fmtSeconds(c.duration_s)),
  ];
  const lines = columns(rows);
  const notes: string[] = [];
  const distinct = (f: (c: CompareColumn) => string) => new Set(cols.map(f)).size > 1;
  if (distinct((c) => c.objective)) notes.push("the objectives differ: their values do not compare");
  if (distinct((c) => c.data_fingerprint))
    notes.push("the data differ: the values were measured on different rows");
  const shared = sharedParams(cols);
  if (shared.length > 0) {
    lines.push("best parameters:");
    lines.push(...columns(shared.map((p) => [`  ${p}`, ...cols.map((c) => fmtParam(c.best_params[p]))])));
  }
  return [...lines, ...notes.map((n) => `note: ${n}`)].join("\n");
}

/** One experiment's top trials side by side, parameter by parameter. */
export function formatCompareTrials(v: ExperimentView, top: number): string {
  const ranked = rankedTrials(v.trials).slice(0, top);
  if (ranked.length === 0) return `${v.experiment.id}: no complete trial to compare`;
  const params = paramNames(ranked);
  const imp = new Map(importanceOf(v).map((p) => [p.param, p.importance]));
  const rows = [
    ["", ...ranked.map((t) => `#${t.number}`)],
    ["value", ...ranked.map((t) => fmtValue(t.value))],
    ["folds min..max", ...ranked.map(foldRange)],
    ["rung", ...ranked.map((t) => String(t.rung))],
    ...params.map((p) => [
      imp.has(p) ? `${p} (importance ${fmtValue(imp.get(p), 2)})` : p,
      ...ranked.map((t) => fmtParam(t.params[p])),
    ]),
  ];
  return [
    `${v.experiment.id}: top ${ranked.length} of ${v.counts.complete} complete trials by value`,
    ...columns(rows),
  ].join("\n");
}
