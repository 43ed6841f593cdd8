import { nextMonth } from "../core/time.js";
import { computeMetrics, MetricsAccumulator } from "./metrics.js";
import { BacktestError, validateOptions } from "./options.js";
import {
  type Broker,
  emptyFill,
  type Fill,
  LIMIT,
  MARKET,
  type OrderKind,
  SimBroker,
  STOP,
} from "./orders.js";
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
import type {
  BacktestOptions,
  BacktestResult,
  Bars,
  ExitReason,
  Metrics,
  MonthRow,
  Side,
  Signals,
  Trade,
} from "./types.js";

const LONG_ONLY = 0;
const SHORT_ONLY = 1;
const NEXT_OPEN = 0;
const NEXT_CLOSE = 1;
const AT_CLOSE = 2;
const NO_ROWS = new Float64Array(0);
const NO_SIGNALS = new Uint8Array(0);
const NO_DAYS = new Int32Array(0);
const DAY_MS = 86_400_000;

/**
 * The threshold search's engine: the trading rules of the Trader and the simulated venue
 * (src/trading) fused into one loop over typed columns, for the thousands of runs of a search.
 * It gives the same trades, equity and metrics as `runBacktest`, which drives the Trader, bit
 * for bit (test/backtest/traderEquivalence.test.ts); a rule changed in one must change in the
 * other. Orders go to the `Broker` (one call per order). Semantics are in docs/backtest.md.
 *
 * Speed: the per-bar work runs in one loop in which no number crosses a function call (V8
 * boxes a double passed to a call it does not inline, which would allocate several objects per
 * bar); helpers called per bar take only row indexes and read the columns themselves.
 *
 * Where nothing can happen for a stretch of rows (flat with no signal that could open a position,
 * or in a position with no signal that could close it and no stop touched), the loop takes a
 * fast path (stretches.ts) that does exactly the per-bar arithmetic that remains (none when
 * flat); the buy-and-hold statistics, which do not depend on the signals, come from a separate
 * pass over the closes (`buyHoldPath`). Results are bit-identical to the plain per-bar path
 * (tested).
 */
export class Engine {
  readonly options: BacktestOptions;
  /** Closed trades, in order; empty when the engine was created with collectTrades false. */
  readonly trades: Trade[] = [];

  private readonly broker: Broker;
  private readonly acc: MetricsAccumulator;
  private readonly fill: Fill = emptyFill();
  private readonly collect: boolean = true;
  private readonly dir: number = 0;
  private readonly fillMode: number = 0;
  // Fields holding fractions start as NaN (a double) so that V8 stores them unboxed; see
  // metrics.ts. Fields without an initialiser would start as undefined and stay boxed.
  private readonly stopLossFraction: number = Number.NaN;
  private readonly takeProfitFraction: number = Number.NaN;
  private readonly trailingFraction: number = Number.NaN;
  private readonly fixedStake: boolean = false;
  private readonly stakeValue: number = Number.NaN;
  /** The fast paths over stretches where nothing can happen (false: every bar the plain way). */
  private readonly fast: boolean = true;
  /** The metric state handed to the fast paths (slots EQ_PREV...). */
  private readonly state = new Float64Array(STATE_SLOTS);

  // the columns the loop reads
  private cTime: Float64Array = NO_ROWS;
  private cOpen: Float64Array = NO_ROWS;
  private cHigh: Float64Array = NO_ROWS;
  private cLow: Float64Array = NO_ROWS;
  private cClose: Float64Array = NO_ROWS;
  private cBuy: Uint8Array = NO_SIGNALS;
  private cSell: Uint8Array = NO_SIGNALS;
  /** The signal columns as 32-bit words for the flat scan, null when not 4-byte aligned. */
  private cBuyW: Uint32Array | null = null;
  private cSellW: Uint32Array | null = null;
  private cash = Number.NaN;
  private lastClose = Number.NaN;
  private started = false;
  /** Signal of the previous bar awaiting its fill (next_* modes): +1 buy, −1 sell, 0 none. */
  private pending = 0;
  /** +1 long, −1 short, 0 flat. */
  private pos = 0;
  private qty = Number.NaN;
  private entryPx = Number.NaN;
  private entryFee = Number.NaN;
  private entryIndex = -1;
  private entryTime = Number.NaN;
  private slLevel = Number.NaN;
  private tpLevel = Number.NaN;
  private trailLevel = Number.NaN;
  /** The tighter of the stop-loss and trailing-stop levels. */
  private stopLevel = Number.NaN;
  /** Highest high (long) or lowest low (short) since entry, for the trailing stop. */
  private best = Number.NaN;

  /**
   * `fastPaths: false` (for tests) sends every bar through the plain per-bar path; the results
   * are the same.
   */
  constructor(
    options: BacktestOptions,
    opts: { broker?: Broker; collectTrades?: boolean; fastPaths?: boolean } = {},
  ) {
    validateOptions(options);
    this.options = options;
    this.broker = opts.broker ?? new SimBroker(options);
    this.collect = opts.collectTrades ?? true;
    this.fast = opts.fastPaths ?? true;
    this.acc = new MetricsAccumulator(options.initialCapital, options.barMs);
    this.dir = options.direction === "long" ? LONG_ONLY : options.direction === "short" ? SHORT_ONLY : 2;
    this.fillMode =
      options.fillAt === "next_open" ? NEXT_OPEN : options.fillAt === "next_close" ? NEXT_CLOSE : AT_CLOSE;
    this.stopLossFraction = options.stopLoss ?? 0;
    this.takeProfitFraction = options.takeProfit ?? 0;
    this.trailingFraction = options.trailingStop ?? 0;
    this.fixedStake = options.stake.mode === "fixed";
    this.stakeValue = options.stake.mode === "fixed" ? options.stake.amount : options.stake.fraction;
    this.cash = options.initialCapital;
    this.qty = 0;
  }

  metrics(): Metrics {
    return computeMetrics(this.acc);
  }

  monthly(): MonthRow[] {
    return this.acc.monthly();
  }

  /**
   * Rows [start, end) of the columns, the last of them final (an open position is closed at its
   * close). `equity`, when not null, receives the close equity of row start + k at index k.
   * `buyHold`, optional, is `buyHoldPath(bars, start, end)` computed beforehand (a grid shares
   * one across its cells); it is used only by an engine that has not run yet, else recomputed.
   */
  runRows(
    bars: Bars,
    signals: Signals,
    start: number,
    end: number,
    equity: Float64Array | null,
    buyHold: BuyHoldPath | null = null,
    days: DayEnds | null = null,
  ): void {
    this.cTime = bars.time;
    this.cOpen = bars.open;
    this.cHigh = bars.high;
    this.cLow = bars.low;
    this.cClose = bars.close;
    this.cBuy = signals.buy;
    this.cSell = signals.sell;
    this.cBuyW = words(signals.buy);
    this.cSellW = words(signals.sell);
    if (end > start) this.loop(start, end, end - 1, equity, start, buyHold, days);
  }

  /**
   * The bar loop; `last` is the final row (an open position closes at its close), or −1.
   *
   * The position and the running metrics live in locals: a field holding a double is a pointer
   * to a box, and the loop touches some twenty of them per bar. The fields stay the truth for
   * the position (the locals are reloaded after every call that may trade); the metric locals
   * are the truth during the loop and are written back to the accumulator after it.
   */
  private loop(
    from: number,
    to: number,
    last: number,
    equity: Float64Array | null,
    eqStart: number,
    shared: BuyHoldPath | null,
    days: DayEnds | null = null,
  ): void {
    const times = this.cTime;
    const highs = this.cHigh;
    const lows = this.cLow;
    const closes = this.cClose;
    const buys = this.cBuy;
    const sells = this.cSell;
    const acc = this.acc;
    const mode = this.fillMode;
    const dir = this.dir;
    const stopsOn = this.stopLossFraction > 0 || this.takeProfitFraction > 0 || this.trailingFraction > 0;
    const fast = this.fast;
    // the fast paths stop before the final row (it closes the position)
    const limit = last >= 0 ? last : to;
    let pending = this.pending;
    let lastClose = this.lastClose;
    let pos = this.pos;
    let qty = this.qty;
    let cash = this.cash;
    let stop = this.stopLevel;
    let takeProfit = this.tpLevel;
    let best = this.best;
    // Buy and hold does not depend on the signals: a pass over the closes gives its final state,
    // the first bar with prices and, for each month start (found by binary search on the time
    // column: the loop is bound by memory bandwidth), the last close before it.
    const fresh = !this.started && acc.nextMonth === Number.NEGATIVE_INFINITY && Number.isNaN(acc.bhLast);
    const buyHold =
      shared !== null &&
      fresh &&
      shared.time === times &&
      shared.open === this.cOpen &&
      shared.close === closes &&
      shared.start === from &&
      shared.end === to
        ? shared
        : buyHoldPass(times, this.cOpen, closes, from, to, acc, this.started);
    const rolls = buyHold.rolls;
    const rollLast = buyHold.rollLast;
    let rollIndex = 0;
    let nextRoll = rolls.length > 0 ? (rolls[0] as number) : to;
    let firstRow = buyHold.firstRow;
    // the day ends asked for (a grid's cells): the equity before each of `days.starts`
    const dayStarts = days === null ? NO_DAYS : days.starts;
    const dayEquity = days === null ? NO_ROWS : days.equity;
    let dayIndex = 0;
    let nextDay = dayStarts.length > 0 ? (dayStarts[0] as number) : to;
    /** The next row that rolls the month or the day, or is the buy-and-hold entry. */
    let nextEvent = Math.min(firstRow >= 0 ? firstRow : to, nextRoll, nextDay);
    let prevEquity = acc.equity;
    let sumR = acc.sumR;
    let sumR2 = acc.sumR2;
    let sumDown2 = acc.sumDown2;
    let peak = acc.peak;
    let ddFloor = acc.ddFloor;
    let maxDD = acc.maxDD;
    let exposed = 0;
    for (let k = from; k < to; k++) {
      if (k === nextEvent) {
        if (k === nextRoll) {
          acc.equity = prevEquity;
          acc.bhLast = rollLast[rollIndex] as number;
          acc.rollMonth(times[k] as number);
          rollIndex++;
          nextRoll = rollIndex < rolls.length ? (rolls[rollIndex] as number) : to;
        }
        if (k === firstRow) {
          acc.firstPrice(this.cOpen[k] as number);
          firstRow = -1;
        }
        if (k === nextDay) {
          dayEquity[dayIndex] = prevEquity;
          dayIndex++;
          nextDay = dayIndex < dayStarts.length ? (dayStarts[dayIndex] as number) : to;
        }
        nextEvent = Math.min(firstRow > k ? firstRow : to, nextRoll, nextDay);
      }
      if (fast) {
        // Rows [k, j) where nothing can happen, up to the next event or the final row.
        const bound = Math.min(nextEvent, limit);
        let j = k;
        if (pos === 0) {
          // Flat, and no signal that could open a position: the equity stays the cash (no
          // return, no drawdown, not exposed). A bar with both signals stops the stretch (a
          // conflict, counted by the plain path).
          if (
            cash === prevEquity &&
            (dir === LONG_ONLY ? pending !== 1 : dir === SHORT_ONLY ? pending !== -1 : pending === 0)
          ) {
            if (dir === LONG_ONLY) j = nextSignal(buys, this.cBuyW, k, bound);
            else if (dir === SHORT_ONLY) j = nextSignal(sells, this.cSellW, k, bound);
            else j = nextSignal2(buys, this.cBuyW, sells, this.cSellW, k, bound);
            if (j > k) {
              if (equity !== null) equity.fill(cash, k - eqStart, j - eqStart);
              // the last bar with prices sets the close and, under next_*, the pending signal
              for (let q = j - 1; q >= k; q--) {
                const close = closes[q] as number;
                if (!Number.isNaN(close)) {
                  lastClose = close;
                  if (mode !== AT_CLOSE) {
                    pending =
                      dir === LONG_ONLY
                        ? sells[q] !== 0
                          ? -1
                          : 0
                        : dir === SHORT_ONLY
                          ? buys[q] !== 0
                            ? 1
                            : 0
                          : 0;
                  }
                  break;
                }
              }
            }
          }
        } else if (pending === 0 || pending === pos) {
          // In a position, no signal against it and no stop touched: only the marked equity moves.
          const against = pos === 1 ? sells : buys;
          const along = pos === 1 ? buys : sells;
          const state = this.state;
          state[EQ_PREV] = prevEquity;
          state[SUM_R] = sumR;
          state[SUM_R2] = sumR2;
          state[SUM_DOWN2] = sumDown2;
          state[PEAK] = peak;
          state[DD_FLOOR] = ddFloor;
          state[MAX_DD] = maxDD;
          state[CASH] = cash;
          const signedQty = pos * qty;
          state[SIGNED_QTY] = signedQty;
          if (stopsOn) {
            state[STOP_LEVEL] = stop;
            state[TAKE_PROFIT] = takeProfit;
            state[BEST] = best;
            j = holdRowsStops(state, closes, highs, lows, against, pos === 1, j, bound);
          } else {
            j = holdRows(state, closes, against, j, bound);
          }
          // the same marked equity, kept apart from the hot loop
          if (equity !== null)
            for (let q = k; q < j; q++) equity[q - eqStart] = cash + signedQty * (closes[q] as number);
          prevEquity = state[EQ_PREV] as number;
          sumR = state[SUM_R] as number;
          sumR2 = state[SUM_R2] as number;
          sumDown2 = state[SUM_DOWN2] as number;
          peak = state[PEAK] as number;
          ddFloor = state[DD_FLOOR] as number;
          maxDD = state[MAX_DD] as number;
          if (j > k) {
            exposed += j - k;
            lastClose = closes[j - 1] as number;
            if (mode !== AT_CLOSE) pending = along[j - 1] !== 0 ? pos : 0;
          }
        }
        if (j > k) {
          k = j - 1;
          continue;
        }
      }
      const close = closes[k] as number;
      let marked: number;
      if (Number.isNaN(close)) {
        // A bar without a close (a gap on the grid): nothing trades, a pending signal waits for
        // the next bar with prices, the equity is carried.
        if (pos !== 0) {
          exposed++;
          if (k === last) {
            this.exit(k, lastClose, MARKET, "end");
            pos = 0;
            cash = this.cash;
          }
        }
        marked = pos === 0 ? cash : cash + pos * qty * lastClose;
      } else {
        let signal = 0;
        if (buys[k] !== 0) {
          if (sells[k] !== 0) acc.conflicts++;
          else signal = 1;
        } else if (sells[k] !== 0) {
          signal = -1;
        }
        let traded = false;
        if (mode === NEXT_OPEN) {
          if (pending !== 0) {
            // A stop the open gaps through fills before the signal's market order. The signal
            // was decided at the previous close against the position then (`pos`): one in that
            // position's direction sent no order, so a gap stop is not followed by a re-entry.
            const decided = pos;
            if (pos !== 0 && stopsOn) this.checkStops(k, true);
            if (pending !== decided && pending !== this.pos)
              this.act(pending, k, this.cOpen[k] as number, true);
            traded = true;
          }
          pending = signal;
        } else {
          const executed = mode === NEXT_CLOSE ? pending : signal;
          if (mode === NEXT_CLOSE) pending = signal;
          if (pos !== 0 && stopsOn) {
            const high = highs[k] as number;
            const low = lows[k] as number;
            if (
              pos === 1
                ? low <= stop || high >= takeProfit || high > best
                : high >= stop || low <= takeProfit || low < best
            ) {
              this.checkStops(k, false);
              traded = true;
            }
          }
          // The position the signal was decided against: under next_close the one held at the
          // previous close (`pos`, before this bar's stops), under close the one at this close.
          const decided = mode === NEXT_CLOSE ? pos : this.pos;
          if (executed !== 0 && executed !== decided && executed !== this.pos) {
            this.act(executed, k, close, k !== last);
            traded = true;
          }
        }
        if (traded) {
          pos = this.pos;
          qty = this.qty;
          cash = this.cash;
          stop = this.stopLevel;
          takeProfit = this.tpLevel;
          best = this.best;
        }
        if (mode === NEXT_OPEN && pos !== 0 && stopsOn) {
          // the position held into this bar, or opened at its open, meets the bar's range
          const high = highs[k] as number;
          const low = lows[k] as number;
          if (
            pos === 1
              ? low <= stop || high >= takeProfit || high > best
              : high >= stop || low <= takeProfit || low < best
          ) {
            this.checkStops(k, false);
            pos = this.pos;
            qty = this.qty;
            cash = this.cash;
            stop = this.stopLevel;
            best = this.best;
          }
        }
        if (pos !== 0) {
          exposed++;
          if (k === last) {
            this.exit(k, close, MARKET, "end");
            pos = 0;
            cash = this.cash;
          }
        }
        lastClose = close;
        marked = cash + pos * qty * close;
      }
      if (marked !== prevEquity) {
        const ret = marked / prevEquity - 1;
        sumR += ret;
        sumR2 += ret * ret;
        // min(ret, 0) without a branch (the sign of ret is a coin flip, and V8 compiles
        // Math.min and ?: to branches): exact, since ret − |ret| is 2 ret or 0
        const down = (ret - Math.abs(ret)) * 0.5;
        sumDown2 += down * down;
        prevEquity = marked;
        if (marked > peak) {
          peak = marked;
          ddFloor = marked * (1 - maxDD);
        } else if (marked < ddFloor) {
          maxDD = 1 - marked / peak;
          ddFloor = marked;
        }
      }
      if (equity !== null) equity[k - eqStart] = marked;
    }
    if (days !== null) dayEquity[dayStarts.length] = prevEquity;
    this.pending = pending;
    this.started = buyHold.started;
    this.lastClose = lastClose;
    acc.bars += to - from;
    acc.exposedBars += exposed;
    if (to > from) acc.lastTime = times[to - 1] as number;
    acc.equity = prevEquity;
    acc.sumR = sumR;
    acc.sumR2 = sumR2;
    acc.sumDown2 = sumDown2;
    acc.peak = peak;
    acc.ddFloor = ddFloor;
    acc.maxDD = maxDD;
    acc.bhLast = buyHold.last;
    acc.bhPeak = buyHold.peak;
    acc.bhFloor = buyHold.floor;
    acc.bhMaxDD = buyHold.maxDD;
  }

  /** Executes a signal (+1 buy, −1 sell) with a market order at `price` (row k's open or close). */
  private act(signal: number, k: number, price: number, allowEntry: boolean): void {
    const held = this.pos;
    if (held === signal) return; // no pyramiding
    if (held !== 0) this.exit(k, price, MARKET, "signal");
    if (allowEntry && this.dir !== (signal === 1 ? SHORT_ONLY : LONG_ONLY)) this.enter(signal, k, price);
  }

  private enter(side: number, k: number, ref: number): void {
    const equity = this.cash; // flat here, so cash is the equity
    const stake = this.fixedStake ? Math.min(this.stakeValue, equity) : this.stakeValue * equity;
    if (!(stake > 0)) return;
    const fill = this.fill;
    if (!this.broker.entry(side === 1 ? 1 : -1, MARKET, ref, stake, fill)) {
      this.acc.rejected++;
      return;
    }
    const price = fill.price;
    this.pos = side;
    this.qty = fill.qty;
    this.entryPx = price;
    this.entryFee = fill.fee;
    this.entryIndex = k;
    this.entryTime = this.cTime[k] as number;
    this.cash -= side * fill.qty * price + fill.fee;
    // without a trailing stop `best` is never beaten, so the loop never calls checkStops for it
    this.best = this.trailingFraction > 0 ? price : side * Number.POSITIVE_INFINITY;
    if (side === 1) {
      this.slLevel =
        this.stopLossFraction > 0 ? price * (1 - this.stopLossFraction) : Number.NEGATIVE_INFINITY;
      this.tpLevel =
        this.takeProfitFraction > 0 ? price * (1 + this.takeProfitFraction) : Number.POSITIVE_INFINITY;
      this.trailLevel =
        this.trailingFraction > 0 ? price * (1 - this.trailingFraction) : Number.NEGATIVE_INFINITY;
      this.stopLevel = Math.max(this.slLevel, this.trailLevel);
    } else {
      this.slLevel =
        this.stopLossFraction > 0 ? price * (1 + this.stopLossFraction) : Number.POSITIVE_INFINITY;
      this.tpLevel =
        this.takeProfitFraction > 0 ? price * (1 - this.takeProfitFraction) : Number.NEGATIVE_INFINITY;
      this.trailLevel =
        this.trailingFraction > 0 ? price * (1 + this.trailingFraction) : Number.POSITIVE_INFINITY;
      this.stopLevel = Math.min(this.slLevel, this.trailLevel);
    }
  }

  /**
   * Stop-loss, trailing stop and take-profit against row k (or only its open, `atOpen`), as
   * resting orders meet a bar: first the open (a stop it gaps through fills at the open, a
   * take-profit it opens beyond fills at its level), then the range, where the stop is assumed
   * hit first when both are touched; the trail moves with the bar's extreme only after the check.
   */
  private checkStops(k: number, atOpen: boolean): void {
    const open = this.cOpen[k] as number;
    const high = this.cHigh[k] as number;
    const low = this.cLow[k] as number;
    const stop = this.stopLevel;
    if (this.pos === 1) {
      if (open <= stop) {
        this.exit(k, open, STOP, this.trailLevel > this.slLevel ? "trailing_stop" : "stop_loss");
      } else if (open >= this.tpLevel) {
        this.exit(k, this.tpLevel, LIMIT, "take_profit");
      } else if (atOpen) {
        // only the open: the range comes after the orders filled at it
      } else if (low <= stop) {
        this.exit(k, stop, STOP, this.trailLevel > this.slLevel ? "trailing_stop" : "stop_loss");
      } else if (high >= this.tpLevel) {
        this.exit(k, this.tpLevel, LIMIT, "take_profit");
      } else if (high > this.best) {
        this.best = high;
        if (this.trailingFraction > 0) {
          this.trailLevel = high * (1 - this.trailingFraction);
          if (this.trailLevel > this.stopLevel) this.stopLevel = this.trailLevel;
        }
      }
    } else {
      if (open >= stop) {
        this.exit(k, open, STOP, this.trailLevel < this.slLevel ? "trailing_stop" : "stop_loss");
      } else if (open <= this.tpLevel) {
        this.exit(k, this.tpLevel, LIMIT, "take_profit");
      } else if (atOpen) {
        // as above
      } else if (high >= stop) {
        this.exit(k, stop, STOP, this.trailLevel < this.slLevel ? "trailing_stop" : "stop_loss");
      } else if (low <= this.tpLevel) {
        this.exit(k, this.tpLevel, LIMIT, "take_profit");
      } else if (low < this.best) {
        this.best = low;
        if (this.trailingFraction > 0) {
          this.trailLevel = low * (1 + this.trailingFraction);
          if (this.trailLevel < this.stopLevel) this.stopLevel = this.trailLevel;
        }
      }
    }
  }

  private exit(k: number, ref: number, kind: OrderKind, reason: ExitReason): void {
    const pos = this.pos;
    const qty = this.qty;
    const fill = this.fill;
    this.broker.exit(pos === 1 ? -1 : 1, kind, ref, qty, fill);
    const price = fill.price;
    this.cash += pos * qty * price - fill.fee;
    const fees = this.entryFee + fill.fee;
    const pnl = pos * qty * (price - this.entryPx) - fees;
    const side: Side = pos === 1 ? "long" : "short";
    const index = k;
    this.acc.trade(side, pnl, index - this.entryIndex, fees);
    if (this.collect) {
      this.trades.push({
        side,
        entryIndex: this.entryIndex,
        entryTime: this.entryTime,
        entryPrice: this.entryPx,
        exitIndex: index,
        exitTime: this.cTime[k] as number,
        exitPrice: price,
        qty,
        fees,
        pnl,
        ret: pnl / (qty * this.entryPx),
        exitReason: reason,
      });
    }
    this.pos = 0;
    this.qty = 0;
  }
}

/**
 * The buy-and-hold statistics of a row range: they depend on the prices only, so a threshold
 * search computes them once (`buyHoldPath`) and passes them to every cell's run
 * (`RunOptions.buyHold`). Opaque to callers.
 */
export interface BuyHoldPath {
  readonly time: Float64Array;
  readonly open: Float64Array;
  readonly close: Float64Array;
  readonly start: number;
  readonly end: number;
  /** Rows where a UTC month starts (the run's first row too, from a fresh engine). */
  readonly rolls: readonly number[];
  /** The last close before each of `rolls` (NaN before the first bar with prices). */
  readonly rollLast: readonly number[];
  /** The first row with a close, where buy and hold enters at the open; −1 if none (or before the range). */
  readonly firstRow: number;
  // the state after the range
  readonly started: boolean;
  readonly last: number;
  readonly peak: number;
  readonly floor: number;
  readonly maxDD: number;
}

/** The buy-and-hold pass over rows [start, end) of the bars, as a fresh engine starts it. */
export function buyHoldPath(bars: Bars, start: number, end: number): BuyHoldPath {
  return buyHoldPass(bars.time, bars.open, bars.close, start, end, new MetricsAccumulator(1, 1), false);
}

/**
 * Buy and hold over rows [from, to), continuing the accumulator's state (its month and its
 * buy-and-hold fields): bought at the open of the first bar with a close, marked to every close.
 * The drawdown update is the per-bar one (a new maximum only below `floor`); NaN closes change
 * nothing, as in the bar loop.
 */
function buyHoldPass(
  times: Float64Array,
  opens: Float64Array,
  closes: Float64Array,
  from: number,
  to: number,
  acc: MetricsAccumulator,
  startedBefore: boolean,
): BuyHoldPath {
  let started = startedBefore;
  let last = acc.bhLast;
  let peak = acc.bhPeak;
  let floor = acc.bhFloor;
  let maxDD = acc.bhMaxDD;
  let firstRow = -1;
  const rolls: number[] = [];
  const rollLast: number[] = [];
  const drawdown = new Float64Array(3);
  let k = from;
  let roll = firstRowAtOrAfter(times, acc.nextMonth, from, to);
  for (;;) {
    // the rows [k, roll) of one month
    if (!started) {
      while (k < roll && Number.isNaN(closes[k] as number)) k++;
      if (k < roll) {
        started = true;
        firstRow = k;
        const open = opens[k] as number;
        last = open;
        peak = open;
        floor = open;
      }
    }
    if (started) {
      drawdown[0] = peak;
      drawdown[1] = floor;
      drawdown[2] = maxDD;
      drawdownOfCloses(closes, k, roll, drawdown);
      peak = drawdown[0] as number;
      floor = drawdown[1] as number;
      maxDD = drawdown[2] as number;
      for (let q = roll - 1; q >= k; q--) {
        const close = closes[q] as number;
        if (!Number.isNaN(close)) {
          last = close;
          break;
        }
      }
    }
    if (roll >= to) break;
    rolls.push(roll);
    rollLast.push(last);
    k = roll;
    roll = firstRowAtOrAfter(times, nextMonth(times[roll] as number), roll + 1, to);
  }
  return {
    time: times,
    open: opens,
    close: closes,
    start: from,
    end: to,
    rolls,
    rollLast,
    firstRow,
    started,
    last,
    peak,
    floor,
    maxDD,
  };
}

/**
 * The UTC day ends of a run, for per-day returns (a grid's cells; see `dayStarts`): `equity[i]`
 * receives the marked equity at the close of the row before `starts[i]`, and
 * `equity[starts.length]` the final equity (after the last row's close of the position).
 */
export interface DayEnds {
  starts: Int32Array;
  equity: Float64Array;
}

/** Rows of [start, end) that begin a new UTC day (the range's first row not included), by binary search on the time column. */
export function dayStarts(time: Float64Array, start: number, end: number): Int32Array {
  const out: number[] = [];
  if (end <= start) return new Int32Array(0);
  let k = start;
  for (;;) {
    const next = (Math.floor((time[k] as number) / DAY_MS) + 1) * DAY_MS;
    k = firstRowAtOrAfter(time, next, k + 1, end);
    if (k >= end) break;
    out.push(k);
  }
  return Int32Array.from(out);
}

export interface RunOptions {
  /** First row (inclusive); default 0. */
  start?: number;
  /** Last row (exclusive); default all rows. */
  end?: number;
  /**
   * Keep the trade list and the equity curve (default true). False is the lean mode of the
   * threshold search: the same metrics and month table, `trades` empty and `equity` of length 0.
   */
  collectTrades?: boolean;
  /** `buyHoldPath(bars, start, end)`, shared by runs on the same bars and range (the grid's cells). */
  buyHold?: BuyHoldPath;
  /** Collects the equity at each UTC day end (per-day returns of a grid's cells). */
  days?: DayEnds;
}

/**
 * The threshold search's run of one cell: the signals over rows [start, end) of the bars,
 * usually lean (no trade list, no equity curve). `equity[k]` is the equity at the close of row
 * start + k. `runBacktest` (traderRun.ts) gives the same numbers through the Trader.
 */
export function runEngine(
  bars: Bars,
  signals: Signals,
  options: BacktestOptions,
  opts: RunOptions = {},
): BacktestResult {
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
  const engine = new Engine(options, { collectTrades: collect });
  const equity = new Float64Array(collect ? end - start : 0);
  if (opts.days !== undefined) {
    const d = opts.days;
    if (
      d.equity.length !== d.starts.length + 1 ||
      (d.starts.length > 0 &&
        !((d.starts[0] as number) > start && (d.starts[d.starts.length - 1] as number) < end))
    )
      throw new BacktestError(
        `backtest day ends: ${d.starts.length} day starts within rows (${start}, ${end}) need ${d.starts.length + 1} equity slots, got ${d.equity.length}`,
      );
  }
  engine.runRows(bars, signals, start, end, collect ? equity : null, opts.buyHold ?? null, opts.days ?? null);
  return {
    options,
    trades: engine.trades,
    equity,
    metrics: engine.metrics(),
    monthly: engine.monthly(),
  };
}

export { defaultBacktestOptions } from "./options.js";
export { runBacktest } from "./traderRun.js";
