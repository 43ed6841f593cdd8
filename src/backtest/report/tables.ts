import type { OverfitJson } from "../overfit.js";
import type { Metrics, MonthRow, Trade } from "../types.js";
import { escapeHtml, exact, fmt, fmtTime, priceDecimals, qtyDecimals } from "./format.js";

/**
 * The report's tables, rendered on the server from the result's own numbers: every number cell
 * carries its exact value in `data-value` (String(v) round-trips every double).
 */

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
  conflicts: { label: "Bars with both signals (ignored)", decimals: 0 },
  bars: { label: "Bars", decimals: 0 },
  months: { label: "Months", decimals: 2 },
  firstTime: { label: "First bar (UTC)", decimals: 0, time: true },
  lastTime: { label: "Last bar (UTC)", decimals: 0, time: true },
};

/** Decimals shown for a metric in the tables and the heatmap. */
export function metricDecimals(name: string): number {
  return METRICS[name]?.decimals ?? 4;
}

export function signClass(v: number): string {
  return v > 0 ? "num pos" : v < 0 ? "num neg" : "num";
}

export function metricsTable(metrics: Metrics, id = "metrics"): string {
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
  return `<table id="${id}"><tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

export function monthlyTable(monthly: readonly MonthRow[], id = "monthly"): string {
  const cols: [keyof MonthRow, string, number][] = [
    ["startEquity", "Start equity", 2],
    ["endEquity", "End equity", 2],
    ["returnPct", "Return % (marked to market)", 2],
    ["trades", "Trades closed", 0],
    ["profit", "Realised profit", 2],
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
  // the two columns measure different things and disagree while a position is open at a month's end
  const note =
    '<p class="note monthly-note">Return %: equity marked to each close, open positions included. ' +
    "Realised profit: the trades closed in the month, after fees. They differ when a position is open across a month's end.</p>";
  return `<table id="${id}"><thead>${head}</thead><tbody>\n${body.join("\n")}\n</tbody></table>${note}`;
}

export function tradesTable(trades: readonly Trade[], total: number): string {
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

/** The threshold search's overfitting odds (simulation.json's `overfitting`): a table and the readings. */
export function overfitSection(o: OverfitJson, heading: string): string {
  // a result file writes NaN and ±Infinity as strings
  const num = (v: number | string | null, decimals: number) =>
    v === null ? "-" : escapeHtml(typeof v === "number" ? fmt(v, decimals) : String(v));
  const rows: [string, string][] = [
    ["Trials (cells)", String(o.trials)],
    ["Days (returns per cell)", String(o.days)],
    [
      "PBO (probability of backtest overfitting)",
      o.pbo === null ? "-" : `${num(o.pbo, 3)} (${o.pbo_blocks} blocks, ${o.pbo_combinations} splits)`,
    ],
    ["Median logit λ of the in-sample best", num(o.logit?.median ?? null, 3)],
    ["Deflated Sharpe ratio of the best cell", num(o.deflated_sharpe, 3)],
    ["Best cell's Sharpe ratio per day", num(o.sharpe_per_day, 4)],
    ["Expected maximum Sharpe per day without skill (SR0)", num(o.expected_max_sharpe_per_day, 4)],
  ];
  const notes = [...(o.pbo !== null && o.pbo_note !== "" ? [o.pbo_note] : []), ...o.reading];
  return `<section id="overfit">${heading}
<p class="note">How much the search's choice may owe to luck, from every cell's return per UTC day on the rows the thresholds were chosen on. PBO: combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado and Zhu, 2015), the share of in-sample/out-of-sample splits in which the best cell by in-sample Sharpe ratio ends at or below the out-of-sample median. Deflated Sharpe ratio (Bailey and López de Prado, 2014): the probability that the best cell's true Sharpe ratio beats the best expected of this many cells without skill.</p>
<table id="overfit-table"><tbody>
${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td class="num">${v}</td></tr>`).join("\n")}
</tbody></table>
<ul id="overfit-reading">${notes.map((r) => `<li>${escapeHtml(r)}</li>`).join("")}</ul>
</section>`;
}
