import type { Metrics } from "../types.js";
import { escapeHtml, exact, fmt, fmtTime, plural } from "./format.js";

/**
 * The report's headline: one line per part of the run a trader must read separately. With a
 * holdout the thresholds were chosen on the rows before it, so the holdout's line comes first
 * and the selection period's line says it is in-sample for the thresholds; without one the
 * line says whether the thresholds were chosen on the very rows it measures.
 */

export interface HeadlinePart {
  /** Element id: headline-holdout, headline-selection, headline-whole, headline-main. */
  id: string;
  /** What the numbers are (HTML-escaped by the caller's constants; no user text). */
  label: string;
  metrics: Metrics;
}

export interface HeadlineOptions {
  /** Every line is marked IN-SAMPLE (the predictions were in-sample). */
  inSample: boolean;
  /** Fewer trades than this are too few to tell an edge from luck (0: never said). */
  minTrades: number;
}

const MARK = '<span class="mark">IN-SAMPLE</span> ';

/** A number with its exact value, for readers and tests. */
function num(field: string, v: number, decimals: number, suffix = ""): string {
  return `<span class="num" data-field="${field}" data-value="${exact(v)}">${fmt(v, decimals)}${suffix}</span>`;
}

/** The warnings a line's own numbers call for: trailing buy and hold, and too few trades. */
export function lineWarnings(m: Metrics, minTrades: number): string[] {
  const out: string[] = [];
  if (m.profitPct < m.buyHoldPct) {
    out.push(
      `<span class="warn" data-warn="trails-buy-hold">trails buy &amp; hold by ${fmt(m.buyHoldPct - m.profitPct, 2)} points</span>`,
    );
  }
  if (minTrades > 0 && m.trades < minTrades) {
    out.push(
      `<span class="warn" data-warn="few-trades">only ${plural(m.trades, "trade")}: too few to tell an edge from luck (min_trades ${minTrades})</span>`,
    );
  }
  return out;
}

export function headlineLine(part: HeadlinePart, o: HeadlineOptions): string {
  const m = part.metrics;
  const warnings = lineWarnings(m, o.minTrades);
  return (
    `<p class="headline" id="${escapeHtml(part.id)}">${o.inSample ? MARK : ""}${part.label}: ` +
    `<b>profit ${num("profitPct", m.profitPct, 2, " %")}</b>, max drawdown ${num("maxDrawdownPct", m.maxDrawdownPct, 2, " %")}, ` +
    `${plural(m.trades, "trade")}; buy &amp; hold ${num("buyHoldPct", m.buyHoldPct, 2, " %")}` +
    `${warnings.length > 0 ? ` — ${warnings.join("; ")}` : ""}.</p>`
  );
}

/** "2023-03-20 00:00 – 2023-03-31 23:59 UTC" for a run's first and last bar. */
export function period(m: Metrics): string {
  return `${fmtTime(m.firstTime)} – ${fmtTime(m.lastTime)} UTC`;
}

export interface HeadlineInput {
  /** The whole run the charts show. */
  whole: Metrics;
  /** "search": the thresholds are a search's best cell; "config": the config's own. */
  thresholds: "search" | "config";
  /** With a holdout: the holdout run and the search's metrics on the rows before it. */
  holdout?: { metrics: Metrics; selection: Metrics };
}

export function headlineHtml(input: HeadlineInput, o: HeadlineOptions): string {
  const lines: string[] = [];
  if (input.holdout !== undefined) {
    const { metrics, selection } = input.holdout;
    lines.push(
      headlineLine(
        {
          id: "headline-holdout",
          label: `<b>Holdout</b> ${period(metrics)}, thresholds chosen before it`,
          metrics,
        },
        o,
      ),
      headlineLine(
        {
          id: "headline-selection",
          label: `Selection period ${period(selection)}, <b>in-sample for the thresholds</b> (chosen on these rows)`,
          metrics: selection,
        },
        o,
      ),
      headlineLine(
        {
          id: "headline-whole",
          label:
            "Whole range in one run (the charts and the metrics table), its first part in-sample for the thresholds",
          metrics: input.whole,
        },
        o,
      ),
    );
  } else {
    const label =
      input.thresholds === "search"
        ? "Thresholds chosen on these rows, <b>in-sample for the thresholds</b> (check them with a holdout)"
        : "The config's thresholds";
    lines.push(headlineLine({ id: "headline-main", label, metrics: input.whole }, o));
  }
  return `<div id="headline">\n${lines.join("\n")}\n</div>`;
}
