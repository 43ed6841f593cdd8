import ccxt from "ccxt";
import type { Candle } from "../../src/core/trading.js";
import { BinanceExecution } from "../../src/exchange/ccxt/execution.js";
import {
  ccxtBinanceErrorsByPath,
  ccxtBinanceUrls,
  type Simulator,
  startSimulator,
} from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { executionConformance } from "../trading/executionConformance.js";

/**
 * The exchange adapter against `itb sim` (Binance's signed spot and USD-M futures APIs on
 * loopback, real ccxt clients): the same conformance suite as the simulated adapter. The
 * simulator's clock is stepped one 1m candle at a time; each step hands the adapter the candle
 * that just closed.
 */

const MIN = 60_000;
/** Mid-candle: 2023-03-15 12:00:30 UTC. */
const T0 = Date.UTC(2023, 2, 15, 12, 0, 30);
let accounts = 0;

async function harness(market: "spot" | "um") {
  const futures = market === "um";
  const symbol = futures ? "ETHUSDT" : "BTCUSDT";
  const key = `conf-key-${++accounts}`;
  const secret = `conf-secret-${accounts}`;
  const sim: Simulator = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    preload: true,
    accounts: [{ apiKey: key, apiSecret: secret, balances: { USDT: 10_000 } }],
  });
  const ex = futures
    ? new ccxt.binanceusdm({ apiKey: key, secret, enableRateLimit: false })
    : new ccxt.binance({ apiKey: key, secret, enableRateLimit: false });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  ccxtBinanceErrorsByPath(ex, sim.url);
  const port = new BinanceExecution({
    client: ex,
    market,
    retry: { attempts: 2, baseMs: 1 },
    ...(futures ? { futures: { leverage: 5, marginType: "CROSSED" as const } } : {}),
  });
  await port.start([symbol]);
  const series = sim.data.loaded(market, symbol);
  if (series === undefined) throw new Error(`${symbol} not loaded`);
  const b = series.base;
  let i = 0;
  while ((b.time[i] as number) + MIN <= T0) i++;
  let last = Number.NaN;
  return {
    port,
    symbol,
    quote: "USDT",
    base: futures ? "ETH" : "BTC",
    minNotional: series.spec.minNotional,
    ...(futures ? { restingQuantity: 0.05, leverage: 5 } : {}),
    async next(): Promise<Candle> {
      // the candle in progress closes; the clock stands in the middle of the next one
      const c: Candle = {
        time: b.time[i] as number,
        open: b.open[i] as number,
        high: b.high[i] as number,
        low: b.low[i] as number,
        close: b.close[i] as number,
        volume: b.volume[i] as number,
      };
      i++;
      sim.clock.set(c.time + MIN + 30_000);
      await port.onCandle(symbol, c);
      last = c.close;
      return c;
    },
    price: () => last,
    async close() {
      await port.close();
      await sim.close();
    },
  };
}

executionConformance("exchange (Binance spot through ccxt, against itb sim)", () => harness("spot"));
executionConformance("exchange (Binance USD-M futures through ccxt, against itb sim)", () => harness("um"));
