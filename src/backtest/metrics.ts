import { nextMonth } from "../core/time.js";
import type { Metrics, MonthRow, Side } from "./types.js";

const DAY_MS = 86_400_000;
/** A year for annualising: 365.25 days (crypto trades every day). */
export const YEAR_MS = 365.25 * DAY_MS;
/** A month for per-month figures: a year / 12 = 30.4375 days. */
export const MONTH_MS = YEAR_MS / 12;

/**
 * Running statistics of one backtest, updated per bar and per trade in O(1) without
 * allocation (a month row is allocated once a month), so that a run that keeps no trade list
 * and no equity array still yields every metric, and the same numbers.
 *
 * The per-bar update (returns, drawdowns, exposure) is done by the engine's bar loop on local
 * copies of these fields, for speed, and written back after the loop; the buy-and-hold fields
 * depend on the prices only and are filled by a separate pass over the closes (engine.ts,
 * `buyHoldPath`). The loop calls `rollMonth` at the first bar of each UTC month (before any fill
 * in that bar, so that a trade closed in the bar counts in the bar's month), with `equity` and
 * `bhLast` set to their values at the previous bar's close, and `firstPrice` at the first bar
 * with prices (the buy-and-hold entry).
 */
export class MetricsAccumulator {
  readonly initialCapital: number;
  readonly barMs: number;

  // Fields that hold fractional numbers are declared NaN, a double, and set in the constructor:
  // V8 then stores them unboxed, while a field first set to a small integer (0, 10000) may be
  // generalised to a boxed representation that allocates on every update of the hot loop.
  bars = 0;
  exposedBars = 0;
  firstTime = Number.NaN;
  lastTime = Number.NaN;
  /** Last marked equity (initial capital before the first bar). */
  equity = Number.NaN;

  // per-bar simple returns of the marked equity
  sumR = Number.NaN;
  sumR2 = Number.NaN;
  sumDown2 = Number.NaN;
  // drawdown of the marked equity: a new maximum is only possible below `ddFloor`
  peak = Number.NaN;
  ddFloor = Number.NaN;
  maxDD = Number.NaN;

  // buy and hold: bought at the first bar's open, marked to each close
  bhFirst = Number.NaN;
  bhLast = Number.NaN;
  bhPeak = Number.NaN;
  bhFloor = Number.NaN;
  bhMaxDD = Number.NaN;

  trades = 0;
  longTrades = 0;
  wins = 0;
  grossProfit = Number.NaN;
  grossLoss = Number.NaN;
  holdBars = 0;
  fees = Number.NaN;
  rejected = 0;
  conflicts = 0;

  private readonly rows: MonthRow[] = [];
  /** Start of the next UTC month: a bar at or after it calls `rollMonth`. */
  nextMonth = Number.NEGATIVE_INFINITY;
  private monthLabel = "";
  private monthStartEq = Number.NaN;
  private monthTrades = 0;
  private monthProfit = Number.NaN;
  private monthBhRef = Number.NaN;

  constructor(initialCapital: number, barMs: number) {
    this.initialCapital = initialCapital;
    this.barMs = barMs;
    this.equity = initialCapital;
    this.sumR = 0;
    this.sumR2 = 0;
    this.sumDown2 = 0;
    this.peak = initialCapital;
    this.ddFloor = initialCapital;
    this.maxDD = 0;
    this.bhMaxDD = 0;
    this.grossProfit = 0;
    this.grossLoss = 0;
    this.fees = 0;
    this.monthStartEq = initialCapital;
    this.monthProfit = 0;
  }

  firstPrice(open: number): void {
    this.bhFirst = open;
    this.bhLast = open;
    this.bhPeak = open;
    this.bhFloor = open;
    if (Number.isNaN(this.monthBhRef)) this.monthBhRef = open;
  }

  trade(side: Side, pnl: number, holdBars: number, fees: number): void {
    this.trades++;
    if (side === "long") this.longTrades++;
    if (pnl > 0) {
      this.wins++;
      this.grossProfit += pnl;
    } else {
      this.grossLoss -= pnl;
    }
    this.holdBars += holdBars;
    this.fees += fees;
    this.monthTrades++;
    this.monthProfit += pnl;
  }

  /** The month table: every closed month and the current one. */
  monthly(): MonthRow[] {
    const out = this.rows.slice();
    if (this.monthLabel !== "") out.push(this.monthRow());
    return out;
  }

  private monthRow(): MonthRow {
    return {
      month: this.monthLabel,
      startEquity: this.monthStartEq,
      endEquity: this.equity,
      returnPct: (this.equity / this.monthStartEq - 1) * 100,
      trades: this.monthTrades,
      profit: this.monthProfit,
      buyHoldPct: (this.bhLast / this.monthBhRef - 1) * 100,
    };
  }

  /** Closes the current month row and opens the one of `time` (the first bar's time starts the run). */
  rollMonth(time: number): void {
    if (this.monthLabel !== "") this.rows.push(this.monthRow());
    else this.firstTime = time;
    const d = new Date(time);
    const y = d.getUTCFullYear();
    const m = d.getUTCMonth();
    this.nextMonth = nextMonth(time);
    this.monthLabel = `${y}-${String(m + 1).padStart(2, "0")}`;
    this.monthStartEq = this.equity;
    this.monthTrades = 0;
    this.monthProfit = 0;
    this.monthBhRef = this.bhLast;
  }
}

/**
 * The run's metrics from its accumulator; formulas in docs/backtest.md. Sharpe uses the sample
 * standard deviation of the per-bar returns, Sortino the downside deviation over all bars,
 * sqrt(mean(min(r, 0)²)); both annualised by sqrt(bars per year), risk-free rate 0.
 */
export function computeMetrics(acc: MetricsAccumulator): Metrics {
  const n = acc.bars;
  const initial = acc.initialCapital;
  const months = n === 0 ? 0 : (acc.lastTime - acc.firstTime + acc.barMs) / MONTH_MS;
  const profitPct = (acc.equity / initial - 1) * 100;
  const annual = Math.sqrt(YEAR_MS / acc.barMs);
  const mean = n === 0 ? 0 : acc.sumR / n;
  const variance = n > 1 ? (acc.sumR2 - acc.sumR * mean) / (n - 1) : 0;
  const sd = variance > 0 ? Math.sqrt(variance) : 0;
  const down = n === 0 ? 0 : Math.sqrt(acc.sumDown2 / n);
  return {
    bars: n,
    firstTime: acc.firstTime,
    lastTime: acc.lastTime,
    months,
    trades: acc.trades,
    longTrades: acc.longTrades,
    shortTrades: acc.trades - acc.longTrades,
    wins: acc.wins,
    winRatePct: acc.trades === 0 ? 0 : (acc.wins / acc.trades) * 100,
    profit: acc.equity - initial,
    profitPct,
    profitPctPerMonth: months > 0 ? profitPct / months : 0,
    profitFactor:
      acc.grossProfit === 0
        ? 0
        : acc.grossLoss === 0
          ? Number.POSITIVE_INFINITY
          : acc.grossProfit / acc.grossLoss,
    maxDrawdownPct: acc.maxDD * 100,
    sharpe: sd > 0 ? (mean / sd) * annual : 0,
    sortino: down > 0 ? (mean / down) * annual : mean > 0 ? Number.POSITIVE_INFINITY : 0,
    exposurePct: n === 0 ? 0 : (acc.exposedBars / n) * 100,
    avgHoldBars: acc.trades === 0 ? 0 : acc.holdBars / acc.trades,
    feesPaid: acc.fees,
    rejectedOrders: acc.rejected,
    conflicts: acc.conflicts,
    buyHoldPct: Number.isNaN(acc.bhFirst) ? 0 : (acc.bhLast / acc.bhFirst - 1) * 100,
    buyHoldMaxDrawdownPct: acc.bhMaxDD * 100,
  };
}
