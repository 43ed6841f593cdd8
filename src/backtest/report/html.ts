import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { lowerBound } from "../../core/frame.js";
import type { OverfitJson } from "../overfit.js";
import type { BacktestResult, Bars, GridCell, Metrics, MonthRow, Trade } from "../types.js";
import {
  aggregateOhlc,
  type Buckets,
  bucketOf,
  buyHoldEquity,
  type ChartMarker,
  chartValues,
  chooseBuckets,
  drawdownPct,
  inferBarMs,
  lastPerBucket,
  minPerBucket,
  tradeMarkers,
} from "./data.js";
import { escapeHtml, fmtDuration, fmtTime, scriptJson } from "./format.js";
import { headlineHtml } from "./headline.js";
import { type HeatmapGrid, heatmap } from "./heatmap.js";
import { PAGE_CSS, PAGE_SCRIPT } from "./page.js";
import { metricsTable, monthlyTable, overfitSection, tradesTable } from "./tables.js";

export { metricDecimals } from "./tables.js";

/** Everything `itb report` shows about one run. */
export interface ReportInput {
  title: string;
  symbol: string;
  freq: string;
  /** The bars the run was simulated on (the same rows as `result.equity`). */
  bars: Bars;
  /** The signal score with its thresholds, drawn under the candles. */
  score?: { name: string; values: Float64Array; buyThreshold?: number; sellThreshold?: number };
  result: BacktestResult;
  /** A threshold search over two parameters, shown as a heatmap of `metric`. */
  grid?: HeatmapGrid;
  /** ISO time the report was made (injected; the renderer reads no clock). */
  generatedAt: string;
  configHash?: string;
  /**
   * The scores were predicted on the models' own training rows: the title, the headline and
   * every section are marked IN-SAMPLE, as every number on the page overstates what will trade.
   */
  inSample?: boolean;
  /** "search": the thresholds are a threshold search's best cell; "config" (default): the config's own. */
  thresholds?: "search" | "config";
  /**
   * The search's holdout: the thresholds were chosen on the rows before `start` (epoch ms) and
   * `result` is the holdout backtested on its own (from the initial capital); `selection` is the
   * search's own metrics on the rows before it. The page gives the holdout its own headline and
   * section and marks its start on every chart.
   */
  holdout?: { start: number; result: BacktestResult; selection: Metrics };
  /** Fewer trades than this are too few to tell an edge from luck; the headline says so. Default 0. */
  minTrades?: number;
  /** The threshold search's overfitting odds (its number of cells, PBO, deflated Sharpe ratio). */
  overfit?: OverfitJson;
}

export interface ReportHtmlOptions {
  /** At most this many candles are drawn; more bars are aggregated into time buckets. Default 15,000. */
  maxCandles?: number;
  /** At most this many trade markers (two per trade) are drawn. Default 4,000. */
  maxMarkers?: number;
  /** The trades table lists the first this many trades. Default 500. */
  maxTrades?: number;
}

export const REPORT_DEFAULTS = { maxCandles: 15_000, maxMarkers: 4_000, maxTrades: 500 } as const;

/** Markers carry a text label only when there are few enough to read. */
const MARKER_TEXT_LIMIT = 60;

/**
 * The data embedded in the page as JSON (`<script id="report-data" type="application/json">`).
 * Metrics, months and trades are the result's own numbers; chart series are per bucket.
 * Non-finite numbers appear as the strings "Infinity", "-Infinity", "NaN".
 */
export interface ReportData {
  meta: {
    title: string;
    symbol: string;
    freq: string;
    generatedAt: string;
    configHash: string | null;
    barMs: number;
    /** 0 = candles not aggregated. */
    bucketMs: number;
    sourceBars: number;
    displayCandles: number;
    markersTotal: number;
    markersShown: number;
    tradesTotal: number;
    tradesShown: number;
    initialCapital: number;
    /** The predictions were in-sample (see ReportInput.inSample). */
    inSample: boolean;
  };
  /** Seconds (UTC) per candle; OHLC with null for an empty bucket. */
  candles: {
    time: number[];
    open: (number | null)[];
    high: (number | null)[];
    low: (number | null)[];
    close: (number | null)[];
  };
  score: {
    name: string;
    values: (number | null)[];
    buyThreshold: number | null;
    sellThreshold: number | null;
  } | null;
  /** Equity and buy-and-hold at each bucket's last bar; drawdown (%) is each bucket's worst bar. */
  equity: (number | null)[];
  buyHold: (number | null)[];
  drawdown: (number | null)[];
  markers: ChartMarker[];
  metrics: Metrics;
  monthly: MonthRow[];
  trades: Trade[];
  grid: { xParam: string; yParam: string; metric: string; cells: GridCell[] } | null;
  /** The holdout's first bar (ms) and the chart time (s) of the bucket holding it, where the charts draw a line. */
  holdout: { start: number; time: number } | null;
}

/** Builds the embedded data (exported for tests and for a JSON export of the same numbers). */
export function buildReportData(input: ReportInput, options: ReportHtmlOptions = {}): ReportData {
  const maxCandles = options.maxCandles ?? REPORT_DEFAULTS.maxCandles;
  const maxMarkers = options.maxMarkers ?? REPORT_DEFAULTS.maxMarkers;
  const maxTrades = options.maxTrades ?? REPORT_DEFAULTS.maxTrades;
  const { bars, result } = input;
  const n = bars.time.length;
  if (result.equity.length !== n) {
    throw new RangeError(`result.equity has ${result.equity.length} values but there are ${n} bars`);
  }
  if (input.score && input.score.values.length !== n) {
    throw new RangeError(
      `score "${input.score.name}" has ${input.score.values.length} values but there are ${n} bars`,
    );
  }
  const barMs = result.options.barMs > 0 ? result.options.barMs : inferBarMs(bars.time);
  const b: Buckets = chooseBuckets(bars.time, maxCandles, barMs);
  const ohlc = aggregateOhlc(bars, b);
  const times = Array.from(b.time, (t) => Math.floor(t / 1000));
  const { markers, total } = tradeMarkers(
    result.trades,
    b,
    maxMarkers,
    result.trades.length * 2 <= MARKER_TEXT_LIMIT,
  );
  const trades = result.trades.slice(0, maxTrades);
  return {
    meta: {
      title: input.title,
      symbol: input.symbol,
      freq: input.freq,
      generatedAt: input.generatedAt,
      configHash: input.configHash ?? null,
      barMs,
      bucketMs: b.bucketMs,
      sourceBars: n,
      displayCandles: times.length,
      markersTotal: total,
      markersShown: markers.length,
      tradesTotal: result.trades.length,
      tradesShown: trades.length,
      initialCapital: result.options.initialCapital,
      inSample: input.inSample === true,
    },
    candles: {
      time: times,
      // candle prices are data values: kept exactly (17 significant digits is a no-op)
      open: chartValues(ohlc.open, 17),
      high: chartValues(ohlc.high, 17),
      low: chartValues(ohlc.low, 17),
      close: chartValues(ohlc.close, 17),
    },
    score: input.score
      ? {
          name: input.score.name,
          values: chartValues(lastPerBucket(input.score.values, b)),
          buyThreshold: input.score.buyThreshold ?? null,
          sellThreshold: input.score.sellThreshold ?? null,
        }
      : null,
    equity: chartValues(lastPerBucket(result.equity, b)),
    buyHold: chartValues(lastPerBucket(buyHoldEquity(bars, result.options.initialCapital), b)),
    drawdown: chartValues(minPerBucket(drawdownPct(result.equity, result.options.initialCapital), b)),
    markers,
    metrics: result.metrics,
    monthly: result.monthly,
    trades,
    grid: input.grid
      ? {
          xParam: input.grid.xParam,
          yParam: input.grid.yParam,
          metric: input.grid.metric,
          cells: input.grid.cells,
        }
      : null,
    holdout: input.holdout
      ? {
          start: input.holdout.start,
          time: Math.floor(
            (b.time[bucketOf(b, lowerBound(bars.time, input.holdout.start))] as number) / 1000,
          ),
        }
      : null,
  };
}

let libCache: string | undefined;

/** The lightweight-charts standalone production build (it defines window.LightweightCharts). */
export function lightweightChartsSource(): string {
  if (libCache === undefined) {
    const require = createRequire(import.meta.url);
    // the package's exports map hides dist/, so locate it through package.json
    const dir = dirname(require.resolve("lightweight-charts/package.json"));
    const src = readFileSync(join(dir, "dist", "lightweight-charts.standalone.production.js"), "utf8");
    if (/<\/script/i.test(src))
      throw new Error("lightweight-charts build contains </script>; cannot inline it");
    libCache = src;
  }
  return libCache;
}

/**
 * The report as one self-contained HTML page: no external URL is loaded when it is viewed (the
 * chart library is inlined and the data embedded as JSON). Every string from the input is
 * escaped. Tables carry each number's exact value in `data-value`.
 */
export function renderReportHtml(input: ReportInput, options: ReportHtmlOptions = {}): string {
  const data = buildReportData(input, options);
  const { meta } = data;
  const title = escapeHtml(input.title);
  const m = input.result.metrics;
  const metaItems = [
    `<span>Symbol: <b id="meta-symbol">${escapeHtml(input.symbol)}</b></span>`,
    `<span>Frequency: <b id="meta-freq">${escapeHtml(input.freq)}</b></span>`,
    `<span>Period: ${fmtTime(m.firstTime)} – ${fmtTime(m.lastTime)} UTC</span>`,
    `<span>Generated: ${escapeHtml(input.generatedAt)}</span>`,
  ];
  if (input.configHash) metaItems.push(`<span>Config: <code>${escapeHtml(input.configHash)}</code></span>`);
  const notes: string[] = [];
  if (meta.bucketMs > 0) {
    notes.push(
      `<p class="note" id="candles-note">Charts show ${meta.displayCandles} candles of ${fmtDuration(meta.bucketMs)} aggregated from ${meta.sourceBars} bars; equity and score are each bucket's last value, drawdown its worst bar.</p>`,
    );
  }
  if (meta.markersShown < meta.markersTotal) {
    notes.push(
      `<p class="note" id="markers-note">Markers shown for the first ${meta.markersShown} of ${meta.markersTotal} fills.</p>`,
    );
  }
  const legend = (items: [string, string][]): string =>
    `<div class="legend">${items.map(([c, l]) => `<i style="background:${c}"></i>${escapeHtml(l)}`).join("")}</div>`;
  const scoreLegend: [string, string][] = input.score
    ? [["#6a4fb3", `${input.score.name} (lower pane)`]]
    : [];
  const inSample = input.inSample === true;
  // every section heading says IN-SAMPLE when the predictions were
  const mark = inSample ? ' <span class="mark">IN-SAMPLE</span>' : "";
  const h2 = (text: string): string => `<h2>${text}${mark}</h2>`;
  const headline = headlineHtml(
    {
      whole: m,
      thresholds: input.thresholds ?? "config",
      ...(input.holdout
        ? { holdout: { metrics: input.holdout.result.metrics, selection: input.holdout.selection } }
        : {}),
    },
    { inSample, minTrades: input.minTrades ?? 0 },
  );
  const holdoutSection = input.holdout
    ? `<section id="holdout">${h2(`Holdout from ${fmtTime(input.holdout.start)} UTC`)}
<p class="note">The thresholds were chosen on the rows before this time (a dashed line on the charts). These rows are backtested here on their own, from the initial capital: the numbers to judge the thresholds by. The charts and the whole-range table run through both parts in one go.</p>
<div class="tables">
<section><h3>Metrics</h3>
${metricsTable(input.holdout.result.metrics, "holdout-metrics")}
</section>
<section><h3>Monthly</h3>
${monthlyTable(input.holdout.result.monthly, "holdout-monthly")}
</section>
</div>
</section>
`
    : "";
  const banner = inSample
    ? '<p class="in-sample" id="in-sample-banner">IN-SAMPLE: the scores were predicted on the rows the models were trained on. Every number on this page overstates what these thresholds will trade; make walk-forward predictions (itb predict-rolling) for an honest test.</p>\n'
    : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${inSample ? "IN-SAMPLE: " : ""}${title}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<h1><span id="report-title">${title}</span>${mark}</h1>
<div class="meta">${metaItems.join("")}</div>
${banner}${headline}
<div id="report-error"></div>
${h2("Price and trades")}
${notes.join("\n")}
${legend([["#1b9e4b", "buy"], ["#d63b3b", "sell"], ...scoreLegend])}
<div class="chart" id="chart-price"></div>
${h2("Equity")}
${legend([
  ["#1f6fd1", "strategy equity"],
  ["#9aa3ad", "buy & hold"],
  ["#d63b3b", "drawdown % (lower pane)"],
])}
<div class="chart" id="chart-equity"></div>
${holdoutSection}<div class="tables">
<section>${h2(input.holdout ? "Metrics: whole range" : "Metrics")}
${metricsTable(m)}
</section>
<section>${h2("Monthly")}
${monthlyTable(input.result.monthly)}
</section>
</div>
${input.grid ? `${h2(`Threshold search: ${escapeHtml(input.grid.metric)}`)}\n${heatmap(input.grid)}` : ""}
${input.overfit ? overfitSection(input.overfit, h2("Overfitting odds of the threshold search")) : ""}
${h2("Trades")}
${tradesTable(data.trades, meta.tradesTotal)}
<p class="note" id="attribution">Charts drawn with <a href="https://www.tradingview.com/">TradingView</a> Lightweight Charts™, Copyright (c) TradingView, Inc. (Apache License 2.0), inlined in this page.</p>
<script id="report-data" type="application/json">${scriptJson(data)}</script>
<script>${lightweightChartsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
