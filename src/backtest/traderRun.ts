import type { Direction, ExecutionEvent, SignalBar } from "../core/trading.js";
import { SimulatedVenue } from "../trading/simulatedVenue.js";
import { Trader, type TraderAction } from "../trading/trader.js";
import { BacktestObserver } from "./observer.js";
import { BacktestError, validateOptions } from "./options.js";
import {
  BEST,
  CASH,
  DD_FLOOR,
  drawdownOfCloses,
  EQ_PREV,
  firstRowAtOrAfter,
  holdRows,
  holdRowsStops,
  MAX_DD,
  nextSignal,
  nextSignal2,
  PEAK,
  SIGNED_QTY,
  STATE_SLOTS,
  STOP_LEVEL,
  SUM_DOWN2,
  SUM_R,
  SUM_R2,
  TAKE_PROFIT,
  words,
} from "./stretches.js";
import type { BacktestOptions, BacktestResult, Bars, Signals } from "./types.js";

export interface BacktestRunOptions {
  /** First row (inclusive); default 0. */
  start?: number;
  /** Last row (exclusive); default all rows. */
  end?: number;
  /** Keep the trade list and the equity curve (default true); false gives the same metrics. */
  collectTrades?: boolean;
  /** The market's name in the orders (default "BACKTEST"). */
  symbol?: string;
  /** false: every bar through the Trader and the venue (the same results; for tests). */
  fastPaths?: boolean;
}

/**
 * A backtest as the live service trades: the Trader decides on each closed bar, the simulated
 * venue fills its orders from the following candles, the observer keeps the metrics.
 *
 * Per bar: the venue's open and range phases (resting orders, and market orders under
 * next_open), the close phase (market orders under next_close), the Trader's decision on the
 * bar's signals, and under `close` the close phase after it (the decision fills at its own
 * close). On the last bar of the range no entry is opened, except at its open under next_open,
 * and what is still open is closed at the close (exit reason "end").
 *
 * Stretches of bars where neither the Trader nor the venue can act (flat without a signal that
 * could open a position; in a position without a signal against it and without a resting
 * order reached) are run by the shared stretch kernels, which do the per-bar bookkeeping that
 * remains; `fastPaths: false` sends every bar through the Trader and the venue. Both give the
 * same results bit for bit, and equal the threshold search's engine (tested).
 */
export function runBacktest(
  bars: Bars,
  signals: Signals,
  options: BacktestOptions,
  opts: BacktestRunOptions = {},
): BacktestResult {
  validateOptions(options);
  const n = bars.time.length;
  const columns = [
    ["open", bars.open],
    ["high", bars.high],
    ["low", bars.low],
    ["close", bars.close],
    ["buy", signals.buy],
    ["sell", signals.sell],
  ] as const;
  for (const [name, a] of columns) {
    if (a.length !== n) throw new BacktestError(`backtest input ${name} has ${a.length} rows, time has ${n}`);
  }
  const start = opts.start ?? 0;
  const end = opts.end ?? n;
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= n)) {
    throw new BacktestError(`backtest range [${start}, ${end}) is not within the ${n} rows`);
  }
  const collect = opts.collectTrades ?? true;
  const run = new TraderBacktest(bars, signals, options, opts.symbol ?? "BACKTEST", collect);
  const equity = new Float64Array(collect ? end - start : 0);
  run.rows(start, end, collect ? equity : null, opts.fastPaths ?? true);
  return {
    options,
    trades: run.observer.trades,
    equity,
    metrics: run.observer.metrics(run.trader.conflicts),
    monthly: run.observer.monthly(),
  };
}

class TraderBacktest {
  readonly observer: BacktestObserver;
  readonly trader: Trader;
  private readonly venue: SimulatedVenue;
  private readonly bar: SignalBar = {
    index: 0,
    time: 0,
    open: 0,
    high: 0,
    low: 0,
    close: 0,
    buy: false,
    sell: false,
  };
  private readonly atClose: boolean;
  /** Which signal can open a position from flat: buy (long only), sell (short only), either. */
  private readonly direction: Direction;
  private readonly state = new Float64Array(STATE_SLOTS);
  private readonly levels = new Float64Array(3);
  private readonly drawdown = new Float64Array(3);

  constructor(
    private readonly bars: Bars,
    private readonly signals: Signals,
    options: BacktestOptions,
    symbol: string,
    collect: boolean,
  ) {
    this.observer = new BacktestObserver(options.initialCapital, options.barMs, collect);
    const observer = this.observer;
    this.trader = new Trader({
      symbol,
      direction: options.direction,
      stake: options.stake,
      stopLoss: options.stopLoss,
      takeProfit: options.takeProfit,
      trailingStop: options.trailingStop,
      cash: options.initialCapital,
      onTrade: (trade) => observer.trade(trade),
    });
    const onEvent = (event: ExecutionEvent): void => {
      if (event.type === "rejected" && event.order.purpose === "entry") observer.rejected();
      this.apply(this.trader.onEvent(event));
    };
    this.venue = new SimulatedVenue(
      {
        symbol,
        fillAt: options.fillAt,
        takerFee: options.takerFee,
        makerFee: options.makerFee,
        slippageBps: options.slippageBps,
        filters: options.filters,
        cash: options.initialCapital,
      },
      onEvent,
    );
    this.atClose = options.fillAt === "close";
    this.direction = options.direction;
  }

  private apply(actions: readonly TraderAction[]): void {
    for (const a of actions) {
      if (a.kind === "submit") this.venue.submit(a.order);
      else this.venue.cancel(a.clientOrderId);
    }
  }

  /** Rows [start, end), the last one final; `equity[k - start]` receives row k's marked equity. */
  rows(start: number, end: number, equity: Float64Array | null, fast: boolean): void {
    const { time: times, close: closes } = this.bars;
    const { buy: buys, sell: sells } = this.signals;
    const buyWords = words(buys);
    const sellWords = words(sells);
    const acc = this.observer.acc;
    const trader = this.trader;
    const venue = this.venue;
    const last = end - 1;
    /** The next row at which the observer rolls a month (it is then run the plain way). */
    let nextRoll = -1;
    for (let k = start; k < end; k++) {
      if (fast && k !== last && this.observer.buyHoldStarted) {
        if (k > nextRoll) nextRoll = firstRowAtOrAfter(times, acc.nextMonth, k, end);
        const bound = Math.min(nextRoll, last);
        let j = k;
        const pos = trader.position;
        if (!venue.hasMarketOrders && !trader.hasPendingEntry) {
          if (pos === 0 && venue.restingCount === 0 && trader.cashBalance === acc.equity) {
            // flat, and no signal that could open a position before `bound`
            if (this.direction === "long") j = nextSignal(buys, buyWords, k, bound);
            else if (this.direction === "short") j = nextSignal(sells, sellWords, k, bound);
            else j = nextSignal2(buys, buyWords, sells, sellWords, k, bound);
            if (j > k) {
              const cash = trader.cashBalance;
              if (equity !== null) equity.fill(cash, k - start, j - start);
              this.skipRows(k, j, false);
            }
          } else if (pos !== 0) {
            // in a position: until a signal against it, a resting order reached, or a gap
            const state = this.state;
            state[EQ_PREV] = acc.equity;
            state[SUM_R] = acc.sumR;
            state[SUM_R2] = acc.sumR2;
            state[SUM_DOWN2] = acc.sumDown2;
            state[PEAK] = acc.peak;
            state[DD_FLOOR] = acc.ddFloor;
            state[MAX_DD] = acc.maxDD;
            const cash = trader.cashBalance;
            const signedQty = pos * trader.quantity;
            state[CASH] = cash;
            state[SIGNED_QTY] = signedQty;
            const against = pos === 1 ? sells : buys;
            if (venue.restingCount > 0) {
              venue.restingLevels(pos, this.levels);
              state[STOP_LEVEL] = this.levels[0] as number;
              state[TAKE_PROFIT] = this.levels[1] as number;
              state[BEST] = this.levels[2] as number;
              j = holdRowsStops(state, closes, this.bars.high, this.bars.low, against, pos === 1, k, bound);
            } else {
              j = holdRows(state, closes, against, k, bound);
            }
            if (j > k) {
              acc.equity = state[EQ_PREV] as number;
              acc.sumR = state[SUM_R] as number;
              acc.sumR2 = state[SUM_R2] as number;
              acc.sumDown2 = state[SUM_DOWN2] as number;
              acc.peak = state[PEAK] as number;
              acc.ddFloor = state[DD_FLOOR] as number;
              acc.maxDD = state[MAX_DD] as number;
              if (equity !== null)
                for (let q = k; q < j; q++) equity[q - start] = cash + signedQty * (closes[q] as number);
              this.skipRows(k, j, true);
            }
          }
        }
        if (j > k) {
          k = j - 1;
          continue;
        }
      }
      const marked = this.plainRow(k, k === last);
      if (equity !== null) equity[k - start] = marked;
    }
  }

  /** The bookkeeping of rows [from, to) where nothing trades (their equity already accounted for). */
  private skipRows(from: number, to: number, exposed: boolean): void {
    const closes = this.bars.close;
    const observer = this.observer;
    const drawdown = this.drawdown;
    observer.buyHoldState(drawdown);
    drawdownOfCloses(closes, from, to, drawdown);
    let lastClose = Number.NaN;
    for (let q = to - 1; q >= from; q--) {
      const close = closes[q] as number;
      if (!Number.isNaN(close)) {
        lastClose = close;
        break;
      }
    }
    observer.skipped(to - from, this.bars.time[to - 1] as number, exposed, drawdown, lastClose);
    if (!Number.isNaN(lastClose)) this.venue.lastClose = lastClose;
  }

  /** One row through the venue's phases and the Trader; returns its marked equity. */
  private plainRow(k: number, last: boolean): number {
    const { time: times, open: opens, high: highs, low: lows, close: closes } = this.bars;
    const trader = this.trader;
    const venue = this.venue;
    const time = times[k] as number;
    const open = opens[k] as number;
    const close = closes[k] as number;
    this.observer.beginBar(time, open, close);
    trader.beginBar(k);
    venue.openBar(time, open, highs[k] as number, lows[k] as number, close);
    if (last) this.apply(trader.stopEntries());
    venue.rangeBar();
    if (!this.atClose) venue.closeBar();
    const bar = this.bar;
    bar.index = k;
    bar.time = time;
    bar.open = open;
    bar.high = highs[k] as number;
    bar.low = lows[k] as number;
    bar.close = close;
    bar.buy = this.signals.buy[k] !== 0;
    bar.sell = this.signals.sell[k] !== 0;
    this.apply(trader.onBar(bar));
    if (this.atClose) venue.closeBar();
    const exposed = trader.position !== 0;
    if (last) {
      this.apply(trader.flatten(time, "end"));
      venue.settleAtClose();
    }
    const marked =
      trader.position === 0
        ? trader.cashBalance
        : trader.equityAt(Number.isNaN(close) ? venue.lastClose : close);
    this.observer.endBar(time, close, marked, exposed);
    return marked;
  }
}
