import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { runBacktest } from "../../src/backtest/engine.js";
import type { BacktestOptions, Metrics } from "../../src/backtest/types.js";
import { canonicalJson } from "../../src/config/hash.js";
import { computeIndicator, getIndicator } from "../../src/features/indicators/index.js";
import { sampleCandles } from "../helpers/candles.js";
import { ROOT } from "../helpers/paths.js";

/**
 * A backtest on real data whose metrics and trade list are committed. A change in any fill,
 * fee, stop or metric rule shows up here. To accept a deliberate change, regenerate with
 *   ITB_UPDATE_GOLDEN=1 npx vitest run test/backtest/golden.test.ts
 * and explain the difference in the commit.
 */
const FIXTURE = resolve(ROOT, "test/fixtures/backtest-golden.json");
const MONTHS = ["2023-02", "2023-03", "2023-04"];
const OPTIONS: BacktestOptions = {
  direction: "both",
  fillAt: "next_open",
  takerFee: 0.001,
  makerFee: 0.001,
  slippageBps: 2,
  initialCapital: 10_000,
  stake: { mode: "compound", fraction: 1 },
  stopLoss: 0.02,
  takeProfit: 0.03,
  barMs: 60_000,
};

interface Golden {
  source: string;
  signal: string;
  options: BacktestOptions;
  metrics: Record<keyof Metrics, number | string>;
  trades: number;
  tradesSha256: string;
  firstTrades: unknown[];
}

/** JSON has no Infinity; the fixture writes it as a string. */
function encode(m: Metrics): Record<string, number | string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)]));
}

describe("golden backtest on real BTCUSDT 1m candles", () => {
  test("RSI(14) <= 25 buys, >= 75 sells, both directions, SL 2 %, TP 3 %, fees 0.1 %, slippage 2 bps", async () => {
    const f = await sampleCandles(MONTHS);
    const bars = {
      time: f.time,
      open: f.get("open"),
      high: f.get("high"),
      low: f.get("low"),
      close: f.get("close"),
    };
    const [rsi] = computeIndicator(getIndicator("RSI"), [bars.close], { timeperiod: 14 });
    const n = f.length;
    const buy = new Uint8Array(n);
    const sell = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = (rsi as Float64Array)[i] as number; // NaN in the warm-up gives no signal
      buy[i] = v <= 25 ? 1 : 0;
      sell[i] = v >= 75 ? 1 : 0;
    }
    const r = runBacktest(bars, { buy, sell }, OPTIONS);
    const actual: Golden = {
      source: `sample/binance-vision spot BTCUSDT 1m ${MONTHS.join(", ")}`,
      signal: "RSI(close, 14) via computeIndicator: buy when <= 25, sell when >= 75",
      options: OPTIONS,
      metrics: encode(r.metrics),
      trades: r.trades.length,
      tradesSha256: createHash("sha256").update(canonicalJson(r.trades)).digest("hex"),
      firstTrades: r.trades.slice(0, 3),
    };
    if (process.env.ITB_UPDATE_GOLDEN === "1") writeFileSync(FIXTURE, `${JSON.stringify(actual, null, 2)}\n`);
    const expected = JSON.parse(readFileSync(FIXTURE, "utf8")) as Golden;
    expect(actual.options).toEqual(expected.options);
    expect(actual.trades).toBe(expected.trades);
    expect(actual.firstTrades).toEqual(expected.firstTrades);
    expect(actual.metrics).toEqual(expected.metrics);
    expect(actual.tradesSha256).toBe(expected.tradesSha256);
    // the lean mode of the grid search gives the same metrics
    expect(runBacktest(bars, { buy, sell }, OPTIONS, { collectTrades: false }).metrics).toEqual(r.metrics);
  });
});
