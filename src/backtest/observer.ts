import type { Trade } from "../core/trading.js";
import { computeMetrics, MetricsAccumulator } from "./metrics.js";
import type { Metrics, MonthRow } from "./types.js";

/**
 * The backtest's bookkeeping beside a Trader: per bar the marked equity (returns, drawdown,
 * exposure), the month rows and buy and hold; per trade the trade statistics. The live loop
 * leaves it out. Every update is the arithmetic of the threshold search's engine, in the same
 * order, so both give the same metrics bit for bit (tested).
 *
 * Per bar, in order: `beginBar` (before any fill of the bar: a month that starts at it rolls,
 * so a trade closed in the bar counts in the bar's month), the bar's `trade`s and `rejected`
 * orders, then `endBar` with the equity at its close.
 */
export class BacktestObserver {
  readonly acc: MetricsAccumulator;
  readonly trades: Trade[] = [];
  private readonly collect: boolean;
  private bhStarted = false;
  private bhLast = Number.NaN;
  private bhPeak = Number.NaN;
  private bhFloor = Number.NaN;
  private bhMaxDD = 0;

  constructor(initialCapital: number, barMs: number, collectTrades: boolean) {
    this.acc = new MetricsAccumulator(initialCapital, barMs);
    this.collect = collectTrades;
  }

  beginBar(time: number, open: number, close: number): void {
    const acc = this.acc;
    if (time >= acc.nextMonth) {
      acc.bhLast = this.bhLast;
      acc.rollMonth(time);
    }
    if (!this.bhStarted && !Number.isNaN(close)) {
      this.bhStarted = true;
      acc.firstPrice(open);
      this.bhLast = open;
      this.bhPeak = open;
      this.bhFloor = open;
    }
  }

  trade(t: Trade): void {
    this.acc.trade(t.side, t.pnl, t.exitIndex - t.entryIndex, t.fees);
    if (this.collect) this.trades.push(t);
  }

  rejected(): void {
    this.acc.rejected++;
  }

  /** The bar's close (NaN in a gap), the equity marked to it, and whether a position was open. */
  endBar(time: number, close: number, equity: number, exposed: boolean): void {
    const acc = this.acc;
    acc.bars++;
    if (exposed) acc.exposedBars++;
    acc.lastTime = time;
    if (this.bhStarted && !Number.isNaN(close)) {
      if (close > this.bhPeak) {
        this.bhPeak = close;
        this.bhFloor = close * (1 - this.bhMaxDD);
      } else if (close < this.bhFloor) {
        this.bhMaxDD = 1 - close / this.bhPeak;
        this.bhFloor = close;
      }
      this.bhLast = close;
    }
    const e = equity;
    const prev = acc.equity;
    if (e !== prev) {
      const r = e / prev - 1;
      acc.sumR += r;
      acc.sumR2 += r * r;
      const down = (r - Math.abs(r)) * 0.5;
      acc.sumDown2 += down * down;
      acc.equity = e;
      if (e > acc.peak) {
        acc.peak = e;
        acc.ddFloor = e * (1 - acc.maxDD);
      } else if (e < acc.ddFloor) {
        acc.maxDD = 1 - e / acc.peak;
        acc.ddFloor = e;
      }
    }
  }

  /** Buy and hold has entered (the first bar with prices was seen). */
  get buyHoldStarted(): boolean {
    return this.bhStarted;
  }

  /** Buy and hold's running drawdown as [peak, floor, maxDD], for the stretch kernels. */
  buyHoldState(dd: Float64Array): void {
    dd[0] = this.bhPeak;
    dd[1] = this.bhFloor;
    dd[2] = this.bhMaxDD;
  }

  /**
   * `count` bars run by a stretch kernel, which updated the equity statistics in `acc` itself:
   * the bar counts, buy and hold's drawdown `dd` after them and its last close (NaN if none).
   */
  skipped(count: number, lastTime: number, exposed: boolean, dd: Float64Array, lastClose: number): void {
    const acc = this.acc;
    acc.bars += count;
    if (exposed) acc.exposedBars += count;
    acc.lastTime = lastTime;
    this.bhPeak = dd[0] as number;
    this.bhFloor = dd[1] as number;
    this.bhMaxDD = dd[2] as number;
    if (!Number.isNaN(lastClose)) this.bhLast = lastClose;
  }

  /** The run's metrics; `conflicts` are the Trader's (bars with both signals). */
  metrics(conflicts: number): Metrics {
    this.syncBuyHold();
    this.acc.conflicts = conflicts;
    return computeMetrics(this.acc);
  }

  monthly(): MonthRow[] {
    this.syncBuyHold();
    return this.acc.monthly();
  }

  private syncBuyHold(): void {
    const acc = this.acc;
    acc.bhLast = this.bhLast;
    acc.bhPeak = this.bhPeak;
    acc.bhFloor = this.bhFloor;
    acc.bhMaxDD = this.bhMaxDD;
  }
}
