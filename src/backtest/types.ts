/**
 * The trading simulator's contract, shared by the engine, the threshold search and the reports.
 * Prices and quantities are plain numbers in quote/base units; fees and stops are fractions
 * (0.001 = 0.1 %); slippage is in basis points.
 */

import type { BacktestOptions, Trade } from "../core/trading.js";

export type {
  BacktestOptions,
  ExitReason,
  Side,
  Trade,
} from "../core/trading.js";

/** Candles as columns; all arrays have the same length, time ascending (bar open time, ms). */
export interface Bars {
  time: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
}

/** Buy/sell signals per bar: 1 = signal, 0 = none (NaN scores give 0). */
export interface Signals {
  buy: Uint8Array;
  sell: Uint8Array;
}

export interface MonthRow {
  /** "2023-03". */
  month: string;
  startEquity: number;
  endEquity: number;
  /** Percent change of equity over the month. */
  returnPct: number;
  /** Trades closed in the month. */
  trades: number;
  /** Net profit of trades closed in the month, in quote. */
  profit: number;
  /** Buy-and-hold percent change over the month. */
  buyHoldPct: number;
}

export interface Metrics {
  bars: number;
  firstTime: number;
  lastTime: number;
  months: number;
  trades: number;
  longTrades: number;
  shortTrades: number;
  wins: number;
  /** Percent of trades with pnl > 0. */
  winRatePct: number;
  /** Net profit in quote (final equity − initial capital). */
  profit: number;
  /** Compounded: (final equity / initial − 1) × 100. */
  profitPct: number;
  profitPctPerMonth: number;
  /** Gross profit / gross loss; Infinity with no losing trade, 0 with no winning trade. */
  profitFactor: number;
  /** Largest peak-to-trough fall of the bar-by-bar equity, percent (positive number). */
  maxDrawdownPct: number;
  sharpe: number;
  sortino: number;
  /** Percent of bars with an open position. */
  exposurePct: number;
  /** Mean bars held per trade. */
  avgHoldBars: number;
  feesPaid: number;
  /** Orders refused by the exchange filters (below min notional or zero quantity). */
  rejectedOrders: number;
  /** Bars with both a buy and a sell signal; such bars are ignored. Set by every engine run. */
  conflicts?: number;
  buyHoldPct: number;
  buyHoldMaxDrawdownPct: number;
}

export interface BacktestResult {
  options: BacktestOptions;
  trades: Trade[];
  /** Equity marked to each bar's close, same length as the bars. */
  equity: Float64Array;
  metrics: Metrics;
  monthly: MonthRow[];
}

/** One cell of a threshold search: the parameters tried and the backtest's metrics. */
export interface GridCell {
  params: Record<string, number>;
  metrics: Metrics;
}
