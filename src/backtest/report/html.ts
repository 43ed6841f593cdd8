import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { BacktestResult, Bars, GridCell, Metrics, MonthRow, Trade } from "../types.js";
import {
  aggregateOhlc,
  type Buckets,
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
import {
  escapeHtml,
  exact,
  fmt,
  fmtDuration,
  fmtTime,
  priceDecimals,
  qtyDecimals,
  scriptJson,
} from "./format.js";
import { PAGE_CSS, PAGE_SCRIPT } from "./page.js";

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
  grid?: { xParam: string; yParam: string; cells: GridCell[]; metric: keyof Metrics };
  /** ISO time the report was made (injected; the renderer reads no clock). */
  generatedAt: string;
  configHash?: string;
  /**
   * The scores were predicted on the models' own training rows: the title, the headline and
   * every section are marked IN-SAMPLE, as every number on the page overstates what will trade.
   */
  inSample?: boolean;
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
  };
}

interface MetricSpec {
  label: string;
  decimals: number;
  time?: boolean;
}

/** Row order, labels and decimals of the metrics table; unknown metrics follow with 4 decimals. */
const METRICS: Record<string, MetricSpec> = {
  profitPct: { label: "Profit %", decimals: 2 },
  profit: { label: "Profit (quote)", decimals: 2 },
  profitPctPerMonth: { label: "Profit % per month", decimals: 2 },
  maxDrawdownPct: { label: "Max drawdown %", decimals: 2 },
  buyHoldPct: { label: "Buy & hold %", decimals: 2 },
  buyHoldMaxDrawdownPct: { label: "Buy & hold max drawdown %", decimals: 2 },
  trades: { label: "Trades", decimals: 0 },
  longTrades: { label: "Long trades", decimals: 0 },
  shortTrades: { label: "Short trades", decimals: 0 },
  wins: { label: "Winning trades", decimals: 0 },
  winRatePct: { label: "Win rate %", decimals: 2 },
  profitFactor: { label: "Profit factor", decimals: 3 },
  sharpe: { label: "Sharpe (annualised)", decimals: 3 },
  sortino: { label: "Sortino (annualised)", decimals: 3 },
  exposurePct: { label: "Exposure %", decimals: 2 },
  avgHoldBars: { label: "Mean bars held", decimals: 1 },
  feesPaid: { label: "Fees paid", decimals: 2 },
  rejectedOrders: { label: "Rejected orders", decimals: 0 },
  bars: { label: "Bars", decimals: 0 },
  months: { label: "Months", decimals: 2 },
  firstTime: { label: "First bar (UTC)", decimals: 0, time: true },
  lastTime: { label: "Last bar (UTC)", decimals: 0, time: true },
};

/** Decimals shown for a metric in the tables and the heatmap. */
export function metricDecimals(name: string): number {
  return METRICS[name]?.decimals ?? 4;
}

function signClass(v: number): string {
  return v > 0 ? "num pos" : v < 0 ? "num neg" : "num";
}

function metricsTable(metrics: Metrics): string {
  const m = metrics as unknown as Record<string, unknown>;
  const names = [
    ...Object.keys(METRICS).filter((k) => k in m),
    ...Object.keys(m).filter((k) => !(k in METRICS)),
  ];
  const rows: string[] = [];
  for (const name of names) {
    const v = m[name];
    if (typeof v !== "number") continue;
    const spec = METRICS[name] ?? { label: name, decimals: 4 };
    const text = spec.time ? fmtTime(v) : fmt(v, spec.decimals);
    rows.push(
      `<tr><th>${escapeHtml(spec.label)}</th><td class="num" data-metric="${escapeHtml(name)}" data-value="${exact(v)}" data-decimals="${spec.decimals}">${escapeHtml(text)}</td></tr>`,
    );
  }
  return `<table id="metrics"><tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

function monthlyTable(monthly: readonly MonthRow[]): string {
  const cols: [keyof MonthRow, string, number][] = [
    ["startEquity", "Start equity", 2],
    ["endEquity", "End equity", 2],
    ["returnPct", "Return %", 2],
    ["trades", "Trades", 0],
    ["profit", "Profit", 2],
    ["buyHoldPct", "Buy & hold %", 2],
  ];
  const head = `<tr><th>Month</th>${cols.map(([, l]) => `<th>${l}</th>`).join("")}</tr>`;
  const body = monthly.map((r) => {
    const cells = cols.map(([k, , d]) => {
      const v = r[k] as number;
      const cls = k === "returnPct" || k === "profit" || k === "buyHoldPct" ? signClass(v) : "num";
      return `<td class="${cls}" data-field="${k}" data-value="${exact(v)}">${fmt(v, d)}</td>`;
    });
    return `<tr data-month="${escapeHtml(r.month)}"><th>${escapeHtml(r.month)}</th>${cells.join("")}</tr>`;
  });
  return `<table id="monthly"><thead>${head}</thead><tbody>\n${body.join("\n")}\n</tbody></table>`;
}

function tradesTable(trades: readonly Trade[], total: number): string {
  const head =
    "<tr><th>#</th><th>Side</th><th>Entry (UTC)</th><th>Entry price</th><th>Exit (UTC)</th><th>Exit price</th>" +
    "<th>Qty</th><th>Fees</th><th>PnL</th><th>Return %</th><th>Exit reason</th></tr>";
  const body = trades.map((t, i) => {
    // the return is a fraction in the data and shown in percent
    const num = (field: string, v: number, d: number, cls = "num", scale = 1): string =>
      `<td class="${cls}" data-field="${field}" data-value="${exact(v)}">${fmt(v * scale, d)}</td>`;
    return (
      `<tr data-trade="${i}"><td class="num">${i + 1}</td><td>${escapeHtml(t.side)}</td>` +
      `<td>${fmtTime(t.entryTime)}</td>${num("entryPrice", t.entryPrice, priceDecimals(t.entryPrice))}` +
      `<td>${fmtTime(t.exitTime)}</td>${num("exitPrice", t.exitPrice, priceDecimals(t.exitPrice))}` +
      `${num("qty", t.qty, qtyDecimals(t.qty))}${num("fees", t.fees, 4)}${num("pnl", t.pnl, 2, signClass(t.pnl))}` +
      `${num("ret", t.ret, 2, signClass(t.ret), 100)}` +
      `<td>${escapeHtml(t.exitReason)}</td></tr>`
    );
  });
  const note =
    total > trades.length
      ? `<p class="note" id="trades-note">Showing the first ${trades.length} of ${total} trades.</p>`
      : "";
  return `${note}<table id="trades"><thead>${head}</thead><tbody>\n${body.join("\n")}\n</tbody></table>`;
}

/** Higher is better except for these (drawdowns, costs, refusals). */
const LOWER_IS_BETTER = new Set(["maxDrawdownPct", "buyHoldMaxDrawdownPct", "feesPaid", "rejectedOrders"]);

function heatColour(t: number): string {
  // red (0) → yellow → green (1)
  const hue = Math.round(120 * Math.min(1, Math.max(0, t)));
  return `hsl(${hue}, 70%, 78%)`;
}

function heatmap(grid: NonNullable<ReportInput["grid"]>): string {
  const { xParam, yParam, metric } = grid;
  // optional metrics (absent in a cell) count as NaN
  const val = (c: GridCell): number => c.metrics[metric] ?? Number.NaN;
  const xs = [...new Set(grid.cells.map((c) => c.params[xParam]).filter((v) => v !== undefined))].sort(
    (a, z) => a - z,
  );
  const ys = [...new Set(grid.cells.map((c) => c.params[yParam]).filter((v) => v !== undefined))].sort(
    (a, z) => a - z,
  );
  const at = new Map<string, GridCell>();
  for (const c of grid.cells) {
    const x = c.params[xParam];
    const y = c.params[yParam];
    // with more than two parameters, the best cell of each (x, y) pair is shown
    if (x === undefined || y === undefined) continue;
    const key = `${x}|${y}`;
    const prev = at.get(key);
    if (!prev || better(val(c), val(prev))) at.set(key, c);
  }
  function better(a: number, z: number): boolean {
    if (Number.isNaN(a)) return false;
    if (Number.isNaN(z)) return true;
    return LOWER_IS_BETTER.has(metric) ? a < z : a > z;
  }
  let best: GridCell | undefined;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const c of at.values()) {
    const v = val(c);
    if (!best || better(v, val(best))) best = c;
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const d = metricDecimals(metric);
  const head = `<tr><th>${escapeHtml(yParam)} \\ ${escapeHtml(xParam)}</th>${xs.map((x) => `<th>${exact(x)}</th>`).join("")}</tr>`;
  const rows = ys.map((y) => {
    const cells = xs.map((x) => {
      const c = at.get(`${x}|${y}`);
      if (!c) return `<td data-x="${exact(x)}" data-y="${exact(y)}"></td>`;
      const v = val(c);
      let t = Number.isNaN(v) ? 0 : hi > lo ? (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo) : 1;
      if (LOWER_IS_BETTER.has(metric)) t = 1 - t;
      const isBest = c === best;
      return `<td${isBest ? ' class="best" data-best="true"' : ""} style="background:${heatColour(t)}" data-x="${exact(x)}" data-y="${exact(y)}" data-value="${exact(v)}">${fmt(v, d)}</td>`;
    });
    return `<tr><th>${exact(y)}</th>${cells.join("")}</tr>`;
  });
  const bestText = best
    ? `Best ${escapeHtml(metric)}: ${fmt(val(best), d)} at ${escapeHtml(xParam)} = ${exact(best.params[xParam] ?? Number.NaN)}, ${escapeHtml(yParam)} = ${exact(best.params[yParam] ?? Number.NaN)}.`
    : "No cells.";
  return (
    `<p class="legend" id="heatmap-best">${bestText}</p>` +
    `<table class="heatmap" id="heatmap" data-grid-metric="${escapeHtml(metric)}"><thead>${head}</thead><tbody>\n${rows.join("\n")}\n</tbody></table>`
  );
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
${banner}<p class="legend" id="headline">${inSample ? '<span class="mark">IN-SAMPLE</span> ' : ""}<b>Profit ${fmt(m.profitPct, 2)} %</b>, max drawdown ${fmt(m.maxDrawdownPct, 2)} %, ${m.trades} trades; buy &amp; hold ${fmt(m.buyHoldPct, 2)} %.</p>
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
<div class="tables">
<section>${h2("Metrics")}
${metricsTable(m)}
</section>
<section>${h2("Monthly")}
${monthlyTable(input.result.monthly)}
</section>
</div>
${input.grid ? `${h2(`Threshold search: ${escapeHtml(input.grid.metric)}`)}\n${heatmap(input.grid)}` : ""}
${h2("Trades")}
${tradesTable(data.trades, meta.tradesTotal)}
<script id="report-data" type="application/json">${scriptJson(data)}</script>
<script>${lightweightChartsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
