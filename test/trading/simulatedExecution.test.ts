import type { Candle } from "../../src/core/trading.js";
import { SimulatedExecution } from "../../src/trading/simulatedExecution.js";
import { sampleCandles } from "../helpers/candles.js";
import { executionConformance } from "./executionConformance.js";

/** The simulated adapter, fed real BTCUSDT 1m candles from the sample, one per `next`. */
executionConformance("simulated (paper trading, backtest)", async () => {
  const f = await sampleCandles(["2023-03"]);
  const port = new SimulatedExecution({
    fillAt: "next_open",
    takerFee: 0.001,
    makerFee: 0.0005,
    slippageBps: 2,
    filters: { tickSize: 0.01, stepSize: 0.00001, minNotional: 5 },
    cash: 10_000,
  });
  const [open, high, low, close, volume] = ["open", "high", "low", "close", "volume"].map((c) => f.get(c));
  let i = 0;
  let last = Number.NaN;
  return {
    port,
    symbol: "BTCUSDT",
    quote: "USDT",
    base: "BTC",
    minNotional: 5,
    async next(): Promise<Candle> {
      const c: Candle = {
        time: f.time[i] as number,
        open: open?.[i] as number,
        high: high?.[i] as number,
        low: low?.[i] as number,
        close: close?.[i] as number,
        volume: volume?.[i] as number,
      };
      i++;
      port.onCandle("BTCUSDT", c);
      last = c.close;
      return c;
    },
    price: () => last,
    close: () => port.close(),
  };
});
