import { IN_SAMPLE, type PredictionsProvenance } from "./inSample.js";
import { plural } from "./report/format.js";
import type { ReportOutcome } from "./reportRun.js";
import type { SearchOutcome } from "./search.js";
import type { GridCell, Metrics } from "./types.js";

/**
 * The threshold search's and the report's text: the CSV of ranked cells, the warnings a
 * result's numbers call for, and the summaries `itb simulate` and `itb report` print.
 */

const CSV_METRICS: readonly (keyof Metrics)[] = [
  "profitPctPerMonth",
  "profitPct",
  "profit",
  "trades",
  "winRatePct",
  "profitFactor",
  "maxDrawdownPct",
  "sharpe",
  "sortino",
  "exposurePct",
  "avgHoldBars",
  "feesPaid",
  "buyHoldPct",
];

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return String(v);
  return String(Number.parseFloat(v.toPrecision(8)));
}

/** What the CSV's `predictions` column says: IN-SAMPLE, else how the predictions were made. */
function predictionsLabel(p: PredictionsProvenance): string {
  return p.inSample ? IN_SAMPLE : p.kind;
}

/**
 * CSV of ranked cells (the best topn_to_store): rank, parameters, the metrics, then
 * `predictions` (IN-SAMPLE, or predict-rolling, predict, unknown), so that a row read on its
 * own still says whether its numbers are in-sample.
 */
export function simulationCsv(ranked: readonly GridCell[], provenance: PredictionsProvenance): string {
  const params = [...new Set(ranked.flatMap((c) => Object.keys(c.params)))].sort();
  const lines = [["rank", ...params, ...CSV_METRICS, "predictions"].join(",")];
  const label = predictionsLabel(provenance);
  ranked.forEach((c, i) => {
    lines.push(
      [
        String(i + 1),
        ...params.map((p) => fmt(c.params[p] ?? Number.NaN)),
        ...CSV_METRICS.map((m) => fmt(c.metrics[m] ?? Number.NaN)),
        label,
      ].join(","),
    );
  });
  return `${lines.join("\n")}\n`;
}

/** The warnings a result's own numbers call for: trailing buy and hold, resting on too few trades. */
export function resultWarnings(m: Metrics, minTrades: number): string[] {
  const out: string[] = [];
  if (m.profitPct < m.buyHoldPct) {
    out.push(
      `it trails buy and hold (${m.buyHoldPct.toFixed(2)} %) by ${(m.buyHoldPct - m.profitPct).toFixed(2)} points`,
    );
  }
  if (minTrades > 0 && m.trades < minTrades) {
    out.push(
      `it rests on only ${plural(m.trades, "trade")} (fewer than min_trades ${minTrades}): too few to tell an edge from luck`,
    );
  }
  return out;
}

/** What the simulate summary shows: the search's outcome, its marking, its time and the files written. */
export interface SimulateSummary extends SearchOutcome {
  inSample: boolean;
  seconds: number;
  outputs: { json: string; csv: string };
}

/** Stdout summary: the top cells, the best cell with what to beware of, and the holdout check; every number marked when in-sample. */
export function formatSimulateRun(run: SimulateSummary, show = 10): string {
  const mark = run.inSample ? `${IN_SAMPLE} ` : "";
  const lines = [
    ...(run.inSample
      ? [
          `${IN_SAMPLE}: the predictions were made on the models' training rows (allowed by allow_in_sample); every number below overstates what will trade`,
        ]
      : []),
    `${run.cells.length} cells of ${run.rule} on ${run.range.rows.toLocaleString("en-US")} rows (${run.range.start} .. ${run.range.end}) in ${run.seconds.toFixed(2)} s`,
    `ranked by ${run.rankBy}${run.minTrades > 0 ? `, cells with fewer than ${run.minTrades} trades (min_trades) last` : ""}; fees ${(run.options.takerFee * 100).toFixed(3)} % per side, slippage ${run.options.slippageBps} bps, ${run.options.direction}, fill at ${run.options.fillAt}`,
  ];
  const params = Object.keys(run.ranked[0]?.params ?? {}).sort();
  const header = ["rank", ...params, "%/month", "%profit", "trades", "win%", "maxDD%", "sharpe"];
  lines.push((run.inSample ? [...header, "predictions"] : header).join("\t"));
  run.ranked.slice(0, show).forEach((c, i) => {
    const m = c.metrics;
    // a cell without trades has no result to show: its zeros would read as one
    const shown = (v: string) => (m.trades === 0 ? "-" : v);
    const row = [
      String(i + 1),
      ...params.map((p) => fmt(c.params[p] ?? Number.NaN)),
      shown(m.profitPctPerMonth.toFixed(2)),
      shown(m.profitPct.toFixed(2)),
      String(m.trades),
      shown(m.winRatePct.toFixed(1)),
      shown(m.maxDrawdownPct.toFixed(2)),
      shown(m.sharpe.toFixed(2)),
    ];
    lines.push((run.inSample ? [...row, IN_SAMPLE] : row).join("\t"));
  });
  const best = run.ranked[0];
  if (best !== undefined) {
    const m = best.metrics;
    const p = params.map((k) => `${k}=${fmt(best.params[k] ?? Number.NaN)}`).join(", ");
    lines.push(
      `${mark}best: ${p}: ${m.profitPct.toFixed(2)} % (${m.profitPctPerMonth.toFixed(2)} %/month), ${plural(m.trades, "trade")}, max drawdown ${m.maxDrawdownPct.toFixed(2)} %; buy and hold ${m.buyHoldPct.toFixed(2)} %`,
    );
    for (const w of resultWarnings(m, run.minTrades)) lines.push(`  ${w}`);
    const few = run.cells.filter((c) => c.metrics.trades < run.minTrades).length;
    if (few > 0 && few < run.cells.length) {
      lines.push(
        `  ${few} of ${run.cells.length} cells have fewer than ${run.minTrades} trades and are ranked after the others`,
      );
    }
  }
  if (run.holdout !== undefined) {
    const h = run.holdout.metrics;
    lines.push(
      `${mark}holdout ${run.holdout.start} .. ${run.holdout.end} (${run.holdout.rows.toLocaleString("en-US")} rows) with the best parameters: ` +
        `${h.profitPct.toFixed(2)} % (${h.profitPctPerMonth.toFixed(2)} %/month), ${plural(h.trades, "trade")}, max drawdown ${h.maxDrawdownPct.toFixed(2)} %; buy and hold ${h.buyHoldPct.toFixed(2)} %`,
    );
    for (const w of resultWarnings(h, run.minTrades)) lines.push(`  ${w}`);
  } else {
    lines.push(
      "the best cell is chosen on the same rows it is measured on; check it on later rows with --holdout DATE",
    );
  }
  const o = run.overfit;
  lines.push(
    `${mark}overfitting odds of the search: ${plural(o.trials, "cell")} (trials) over ${plural(o.periods, "day")}`,
  );
  if (o.pbo !== null && o.pboNote !== "") lines.push(`  ${o.pboNote}`);
  for (const r of o.reading) lines.push(`  ${r}`);
  lines.push(`wrote ${run.outputs.json}`, `wrote ${run.outputs.csv}`);
  return lines.join("\n");
}

/** Stdout summary of `itb report`: the run, its holdout, what to beware of, the files written. */
export function formatReportRun(
  run: ReportOutcome & { outputs: { html: string; png: string; json: string } },
): string {
  const m = run.result.metrics;
  const p = Object.entries(run.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  const mark = run.inSample ? `${IN_SAMPLE} ` : "";
  return [
    ...(run.inSample
      ? [
          `${IN_SAMPLE}: the predictions were made on the models' training rows (allowed by allow_in_sample); every number below overstates what will trade`,
        ]
      : []),
    `${mark}backtest ${run.range.start} .. ${run.range.end} (${run.range.rows.toLocaleString("en-US")} bars) with ${p} (from ${run.paramsFrom})`,
    `${mark}profit ${m.profitPct.toFixed(2)} % (${m.profitPctPerMonth.toFixed(2)} %/month) after ${m.feesPaid.toFixed(2)} fees, ${plural(m.trades, "trade")}, win rate ${m.winRatePct.toFixed(1)} %, max drawdown ${m.maxDrawdownPct.toFixed(2)} %, Sharpe ${m.sharpe.toFixed(2)}; buy and hold ${m.buyHoldPct.toFixed(2)} %`,
    // with a holdout the whole run's first part is in-sample for the thresholds: only the holdout's warnings count
    ...(run.holdout === undefined ? resultWarnings(m, run.minTrades).map((w) => `  ${w}`) : []),
    ...(run.holdout !== undefined
      ? [
          `${mark}holdout from ${run.holdout.start}: ${run.holdout.metrics.profitPct.toFixed(2)} % (${run.holdout.metrics.profitPctPerMonth.toFixed(2)} %/month), ${plural(run.holdout.metrics.trades, "trade")}; buy and hold ${run.holdout.metrics.buyHoldPct.toFixed(2)} % — the thresholds were chosen before it`,
          ...resultWarnings(run.holdout.metrics, run.minTrades).map((w) => `  ${w}`),
        ]
      : []),
    `wrote ${run.outputs.html}`,
    `wrote ${run.outputs.png}`,
    `wrote ${run.outputs.json}`,
  ].join("\n");
}
