import type { BacktestOptions } from "../backtest/types.js";
import { type Config, configFreq } from "../config/index.js";

/** The trading simulator's options from the config's `backtest` section (defaults resolved by the schema). */
export function backtestOptionsOf(config: Config): BacktestOptions {
  const b = config.backtest;
  const options: BacktestOptions = {
    direction: b.direction ?? config.simulate_model?.direction ?? "long",
    fillAt: b.fill_at,
    takerFee: b.taker_fee,
    makerFee: b.maker_fee ?? b.taker_fee,
    slippageBps: b.slippage_bps,
    initialCapital: b.initial_capital,
    stake:
      b.stake_amount !== undefined
        ? { mode: "fixed", amount: b.stake_amount }
        : { mode: "compound", fraction: b.stake_fraction ?? 1 },
    barMs: configFreq(config).ms,
  };
  if (b.stop_loss !== undefined) options.stopLoss = b.stop_loss;
  if (b.take_profit !== undefined) options.takeProfit = b.take_profit;
  if (b.trailing_stop !== undefined) options.trailingStop = b.trailing_stop;
  if (b.filters !== undefined) {
    options.filters = {
      tickSize: b.filters.tick_size,
      stepSize: b.filters.step_size,
      minNotional: b.filters.min_notional,
    };
  }
  return options;
}
