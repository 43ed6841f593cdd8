import { ItbError } from "../core/errors.js";
import type { BacktestOptions } from "./types.js";

/** Backtest inputs or options that cannot be simulated (mismatched lengths, negative fees...). */
export class BacktestError extends ItbError {}

/** The default options: long only, next-bar open fills, 0.1 % fees, no slippage, all-in compounding. */
export function defaultBacktestOptions(barMs: number): BacktestOptions {
  return {
    direction: "long",
    fillAt: "next_open",
    takerFee: 0.001,
    makerFee: 0.001,
    slippageBps: 0,
    initialCapital: 10_000,
    stake: { mode: "compound", fraction: 1 },
    barMs,
  };
}

function positive(v: number | undefined, name: string): void {
  if (v !== undefined && !(v > 0 && Number.isFinite(v))) {
    throw new BacktestError(`backtest option ${name} must be a positive number, found ${v}`);
  }
}

function nonNegative(v: number, name: string): void {
  if (!(v >= 0 && Number.isFinite(v))) {
    throw new BacktestError(`backtest option ${name} must be a number >= 0, found ${v}`);
  }
}

export function validateOptions(o: BacktestOptions): void {
  if (!["long", "short", "both"].includes(o.direction)) {
    throw new BacktestError(`backtest option direction must be long, short or both, found ${o.direction}`);
  }
  if (!["next_open", "next_close", "close"].includes(o.fillAt)) {
    throw new BacktestError(
      `backtest option fillAt must be next_open, next_close or close, found ${o.fillAt}`,
    );
  }
  nonNegative(o.takerFee, "takerFee");
  // a negative maker fee is a rebate (down to −1 %, as the config allows)
  if (!(Number.isFinite(o.makerFee) && o.makerFee >= -0.01)) {
    throw new BacktestError(`backtest option makerFee must be a number from -0.01, found ${o.makerFee}`);
  }
  nonNegative(o.slippageBps, "slippageBps");
  positive(o.initialCapital, "initialCapital");
  positive(o.barMs, "barMs");
  positive(o.stake.mode === "fixed" ? o.stake.amount : o.stake.fraction, `stake.${o.stake.mode}`);
  positive(o.stopLoss, "stopLoss");
  positive(o.takeProfit, "takeProfit");
  positive(o.trailingStop, "trailingStop");
  if (o.filters) {
    nonNegative(o.filters.tickSize, "filters.tickSize");
    nonNegative(o.filters.stepSize, "filters.stepSize");
    nonNegative(o.filters.minNotional, "filters.minNotional");
  }
}
