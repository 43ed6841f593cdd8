import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { escapeHtml, scriptJson } from "../../backtest/report/format.js";
import type { ParameterImportance } from "./importance.js";
import { PAGE_CSS, PAGE_SCRIPT } from "./pageScript.js";
import type { ExperimentView, OddsView } from "./read.js";
import type { TrialStatus } from "./store.js";
import {
  compareColumn,
  compareNotes,
  fmtParam,
  fmtSeconds,
  fmtValue,
  importanceOf,
  paramNames,
  sharedParams,
} from "./text.js";

/**
 * The comparison page of `itb experiments show|compare --html`: one self-contained HTML file
 * (ECharts inlined, the data embedded as JSON, nothing loaded from the network) with, for each
 * experiment, the objective over the trials, the folds' spread, the parameters' importance, each
 * parameter against the objective, the overfitting odds and the trials table; with two or more
 * experiments, a comparison table, their running bests on one chart and their best parameters.
 */

/** Quartiles by linear interpolation between order statistics (R's type 7). */
function quantile(sorted: readonly number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  const a = sorted[lo] as number;
  return a + (h - lo) * ((sorted[hi] as number) - a);
}

export interface PageTrial {
  number: number;
  status: TrialStatus;
  value: number | null;
  rung: number;
  durationS: number;
  params: Record<string, unknown>;
  /** The objective on each evaluated fold (null where a fold has none). */
  folds: (number | null)[];
  /** Why a failed trial failed. */
  error: string | null;
}

/** A trial's folds as a box: min, first quartile, median, third quartile, max (over the folds with a value). */
export interface FoldBox {
  trial: number;
  n: number;
  box: [number, number, number, number, number];
}

export interface PageExperiment {
  id: string;
  name: string | null;
  status: string;
  objective: string;
  created: string;
  finished: string | null;
  durationS: number | null;
  sampler: string;
  seed: number;
  trialsRequested: number;
  configFile: string;
  configHash: string;
  dataFingerprint: string;
  counts: Record<TrialStatus, number>;
  bestTrial: number | null;
  bestValue: number | null;
  holdout: number | null;
  odds: OddsView;
  params: string[];
  trials: PageTrial[];
  /** For each trial in trial order, the best complete value up to it (null before the first). */
  runningBest: (number | null)[];
  foldSpread: FoldBox[];
  importance: ParameterImportance[];
}

export interface PageData {
  title: string;
  generatedAt: string;
  experiments: PageExperiment[];
  /** Parameters the best trials of two or more experiments share. */
  sharedParams: string[];
}

export function foldBox(trial: number, folds: readonly (number | null)[]): FoldBox | null {
  const v = folds.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return {
    trial,
    n: v.length,
    box: [v[0] as number, quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75), v[v.length - 1] as number],
  };
}

function pageExperiment(v: ExperimentView): PageExperiment {
  const e = v.experiment;
  const trials: PageTrial[] = v.trials.map((t) => ({
    number: t.number,
    status: t.status,
    value: t.value,
    rung: t.rung,
    durationS: t.durationS,
    params: t.params,
    folds: t.folds.map((f) => f.value),
    error: t.error,
  }));
  let best: number | null = null;
  const runningBest = v.trials.map((t) => {
    if (t.status === "complete" && t.value !== null && (best === null || t.value > best)) best = t.value;
    return best;
  });
  return {
    id: e.id,
    name: e.name,
    status: e.status,
    objective: e.objective,
    created: e.created,
    finished: e.finished,
    durationS: v.durationS,
    sampler: e.sampler,
    seed: e.seed,
    trialsRequested: e.trialsRequested,
    configFile: e.configFile,
    configHash: e.configHash,
    dataFingerprint: e.dataFingerprint,
    counts: v.counts,
    bestTrial: v.best?.number ?? null,
    bestValue: v.best?.value ?? null,
    holdout: v.holdoutValue,
    odds: v.odds,
    params: paramNames(v.trials),
    trials,
    runningBest,
    foldSpread: trials.flatMap((t) => foldBox(t.number, t.folds) ?? []),
    importance: importanceOf(v),
  };
}

/** The page's embedded data (exported for tests and `--json`). */
export function buildPageData(views: readonly ExperimentView[], generatedAt: string): PageData {
  const ids = views.map((v) => v.experiment.id);
  return {
    title: views.length === 1 ? `Experiment ${ids[0]}` : `Experiments ${ids.join(", ")}`,
    generatedAt,
    experiments: views.map(pageExperiment),
    sharedParams: sharedParams(views.map(compareColumn)),
  };
}

let libCache: string | undefined;

/** ECharts' production build (it defines window.echarts). */
function echartsSource(): string {
  if (libCache === undefined) {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve("echarts/package.json"));
    const src = readFileSync(join(dir, "dist", "echarts.min.js"), "utf8");
    if (/<\/script|<!--/i.test(src))
      throw new Error("the ECharts build contains </script> or <!--; cannot inline it");
    libCache = src;
  }
  return libCache;
}

const td = (text: string, cls = "") => `<td${cls === "" ? "" : ` class="${cls}"`}>${escapeHtml(text)}</td>`;

function oddsSection(x: PageExperiment): string {
  const o = x.odds;
  const head =
    o.source === "none"
      ? `<p class="note">None recorded${x.status === "finished" ? "" : ` (the experiment is ${escapeHtml(x.status)})`}, and too few complete trials with comparable series to compute them.</p>`
      : `<p class="note">${o.source === "computed" ? `Computed now from the complete trials' series (the experiment is ${escapeHtml(x.status)}). ` : ""}PBO: the probability of backtest overfitting by combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado and Zhu, 2015): the share of in-sample/out-of-sample splits in which the best trial in sample ends at or below the median out of sample. DSR: the deflated Sharpe ratio of the best trial (Bailey and López de Prado, 2014), the probability that its true Sharpe ratio beats the best expected of this many trials without skill.</p>`;
  const rows: [string, string][] = [
    ["Trials", o.trials === null ? "-" : String(o.trials)],
    ["Periods", o.periods === null ? "-" : String(o.periods)],
    ["PBO", fmtValue(o.pbo, 3)],
    ["DSR", fmtValue(o.dsr, 3)],
  ];
  return `<section class="odds" id="odds-${x.id}"><h3>Overfitting odds</h3>
${head}
<table class="odds-table"><tbody>${rows.map(([k, v]) => `<tr><th>${k}</th>${td(v, "num")}</tr>`).join("")}</tbody></table>
<ul class="odds-reading">${o.reading.map((r) => `<li>${escapeHtml(r)}</li>`).join("")}</ul>
</section>`;
}

/** The trials table: complete trials by value (best first), then pruned, then failed. */
function trialsTable(x: PageExperiment): string {
  const order: Record<TrialStatus, number> = { complete: 0, pruned: 1, failed: 2 };
  const rows = [...x.trials].sort(
    (a, b) =>
      order[a.status] - order[b.status] ||
      (b.value ?? Number.NEGATIVE_INFINITY) - (a.value ?? Number.NEGATIVE_INFINITY) ||
      a.number - b.number,
  );
  const folds = Math.max(0, ...x.trials.map((t) => t.folds.length));
  const head = `<tr><th>Trial</th><th>Status</th><th>Value</th>${Array.from({ length: folds }, (_, i) => `<th>Fold ${i}</th>`).join("")}<th>Rung</th><th>Time</th>${x.params.map((p) => `<th>${escapeHtml(p)}</th>`).join("")}</tr>`;
  const body = rows.map((t) => {
    const cells = [
      td(`#${t.number}`),
      t.error === null
        ? td(t.status, `status-${t.status}`)
        : `<td class="status-${t.status}" title="${escapeHtml(t.error)}">${escapeHtml(t.status)}</td>`,
      `<td class="num" data-value="${t.value === null ? "" : String(t.value)}">${fmtValue(t.value)}</td>`,
      ...Array.from({ length: folds }, (_, i) => td(i < t.folds.length ? fmtValue(t.folds[i]) : "", "num")),
      td(String(t.rung), "num"),
      td(fmtSeconds(t.durationS), "num"),
      ...x.params.map((p) => td(fmtParam(t.params[p]))),
    ];
    const best = t.number === x.bestTrial ? ' class="best"' : "";
    return `<tr data-trial="${t.number}"${best}>${cells.join("")}</tr>`;
  });
  return `<table class="trials" id="trials-${x.id}"><thead>${head}</thead><tbody>
${body.join("\n")}
</tbody></table>`;
}

function summaryTable(x: PageExperiment): string {
  const rows: [string, string][] = [
    ["Status", x.status],
    ["Objective", x.objective],
    ["Created (UTC)", x.created],
    ["Duration", fmtSeconds(x.durationS)],
    ["Sampler, seed", `${x.sampler}, ${x.seed}`],
    [
      "Trials complete / pruned / failed",
      `${x.counts.complete} / ${x.counts.pruned} / ${x.counts.failed} of ${x.trialsRequested}`,
    ],
    ["Best value", x.bestTrial === null ? "-" : `${fmtValue(x.bestValue)} (trial #${x.bestTrial})`],
    ["Holdout", fmtValue(x.holdout)],
    ["Config", `${x.configFile} (${x.configHash})`],
    ["Data", x.dataFingerprint],
  ];
  return `<table class="summary" id="summary-${x.id}"><tbody>${rows.map(([k, v]) => `<tr><th>${k}</th>${td(v)}</tr>`).join("")}</tbody></table>`;
}

function experimentSection(x: PageExperiment): string {
  const id = x.id;
  const title = `${id}${x.name === null ? "" : ` “${x.name}”`}`;
  const params = x.params
    .map(
      (p, i) =>
        `<div class="small"><div class="small-title">${escapeHtml(p)}</div><div class="chart param-chart" id="param-${id}-${i}"></div></div>`,
    )
    .join("");
  return `<section class="experiment" id="exp-${id}">
<h2>${escapeHtml(title)}</h2>
<div class="tables">${summaryTable(x)}${oddsSection(x)}</div>
<h3>Objective over trials</h3>
<p class="note">Each trial a point, coloured by status (a pruned trial's value is its mean over the folds it reached; a failed trial has none and sits on the axis); the line is the best complete value so far; the diamond is the best trial.</p>
<div class="chart" id="objective-${id}"></div>
<h3>Fold spread</h3>
<p class="note">Each trial's objective on its folds: the box spans the quartiles with the median inside, the whiskers the lowest and highest fold; the best trial is drawn in red.</p>
<div class="chart" id="folds-${id}"></div>
<h3>Parameter importance</h3>
<p class="note">For each parameter, the share of the variance of the objective over the complete trials that its value explains on its own: the correlation ratio η² of the objective grouped by the parameter (numeric parameters in up to 10 groups of equal counts by rank, ⌊√n⌋ with fewer than 100 trials; categorical ones by choice), corrected for the share groups take by chance (ε²). Marginal: interactions are not counted, and a sampler that concentrates its trials correlates the parameters.</p>
<div class="chart" id="importance-${id}"></div>
<h3>Parameters against the objective</h3>
<div class="smalls">${params}</div>
<h3>Trials</h3>
${trialsTable(x)}
</section>`;
}

function comparisonSection(data: PageData): string {
  const xs = data.experiments;
  const row = (label: string, f: (x: PageExperiment) => string) =>
    `<tr><th>${escapeHtml(label)}</th>${xs.map((x) => td(f(x))).join("")}</tr>`;
  const rows = [
    row("Name", (x) => x.name ?? "-"),
    row("Status", (x) => x.status),
    row("Objective", (x) => x.objective),
    row("Data", (x) => x.dataFingerprint),
    row("Config hash", (x) => x.configHash),
    row("Best value", (x) => (x.bestTrial === null ? "-" : `${fmtValue(x.bestValue)} (#${x.bestTrial})`)),
    row("Holdout", (x) => fmtValue(x.holdout)),
    row("PBO", (x) => fmtValue(x.odds.pbo, 2)),
    row("DSR", (x) => fmtValue(x.odds.dsr, 2)),
    row(
      "Trials c/p/f",
      (x) => `${x.counts.complete}/${x.counts.pruned}/${x.counts.failed} of ${x.trialsRequested}`,
    ),
    row("Duration", (x) => fmtSeconds(x.durationS)),
  ];
  const best = (x: PageExperiment) => x.trials.find((t) => t.number === x.bestTrial)?.params ?? {};
  const params = data.sharedParams.map(
    (p) => `<tr><th>${escapeHtml(p)}</th>${xs.map((x) => td(fmtParam(best(x)[p]))).join("")}</tr>`,
  );
  const notes = compareNotes(xs);
  return `<section id="comparison"><h2>Comparison</h2>
<table id="compare-table"><thead><tr><th></th>${xs.map((x) => `<th>${escapeHtml(x.id)}</th>`).join("")}</tr></thead><tbody>
${rows.join("\n")}
</tbody></table>
${notes.map((n) => `<p class="note warn">${escapeHtml(n)}</p>`).join("\n")}
${params.length > 0 ? `<h3>Best parameters</h3><table id="compare-params"><thead><tr><th></th>${xs.map((x) => `<th>${escapeHtml(x.id)}</th>`).join("")}</tr></thead><tbody>${params.join("\n")}</tbody></table>` : ""}
<h3>Best value so far</h3>
<div class="chart" id="compare-best"></div>
</section>`;
}

/** The page as one self-contained HTML file. */
export function renderExperimentsHtml(views: readonly ExperimentView[], generatedAt: string): string {
  const data = buildPageData(views, generatedAt);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<h1 id="page-title">${escapeHtml(data.title)}</h1>
<div class="meta"><span>Generated: ${escapeHtml(generatedAt)}</span></div>
<div id="report-error"></div>
${data.experiments.length > 1 ? comparisonSection(data) : ""}
${data.experiments.map(experimentSection).join("\n")}
<p class="note" id="attribution">Charts drawn with Apache ECharts (Apache License 2.0), inlined in this page.</p>
<script id="page-data" type="application/json">${scriptJson(data)}</script>
<script>${echartsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
