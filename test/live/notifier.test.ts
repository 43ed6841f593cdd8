import { describe, expect, it } from "vitest";
import type { Trade } from "../../src/core/trading.js";
import type { CandleRecord } from "../../src/live/ledger/types.js";
import { MarketNotifier } from "../../src/live/notify/notifier.js";
import type { NotifyPlan } from "../../src/live/notify/plan.js";

/**
 * One market's notifier: the band survives a restart through its snapshot (no repeated
 * announcement), catch-up candles move the band on silently, trades get the original's two
 * messages, and the daily summary comes once per day at its time, not at the first start.
 */

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2023, 2, 20, 23, 50);
const MARKET = { symbol: "BTCUSDT", freq: "1m" };

const plan = (): NotifyPlan => ({
  telegram: {
    token: "1:x",
    chats: ["7"],
    parseMode: "Markdown",
    tradeMessages: true,
    commands: false,
    queueLimit: 10,
    minIntervalMs: 0,
    timeoutMs: 1000,
  },
  scores: [
    {
      score_column_names: ["trade_score"],
      notify_band_up: true,
      notify_band_dn: true,
      positive_bands: [{ edge: 0.1, sign: "+", text: "BUY" }],
      negative_bands: [{ edge: -0.1, sign: "-", text: "SELL" }],
      score_notification: undefined,
    },
  ],
  diagrams: [],
  webhooks: new Map(),
  dailyAtMinute: 0,
});

function rec(i: number, score: number, extra: Partial<CandleRecord> = {}): CandleRecord {
  const time = T0 + i * MIN;
  return {
    market: MARKET,
    candle: { time, open: 30_000, high: 30_100, low: 29_900, close: 30_050.7, volume: 1 },
    catchUp: false,
    scores: {},
    signals: { trade_score: score },
    buy: false,
    sell: false,
    actions: [],
    orders: [],
    fills: [],
    trades: [],
    equity: { equity: 10_000, cash: 10_000, position: 0, quantity: 0, entryPrice: Number.NaN },
    state: {},
    processedAt: time + MIN,
    latencyMs: 1,
    ...extra,
  };
}

const texts = (n: MarketNotifier, r: CandleRecord) =>
  n.onCandle(r).map((m) => `${m.kind}: ${(m.payload as { text: string }).text}`);

describe("a market's notifier", () => {
  it("keeps its band across a restart and announces only changes", () => {
    const a = new MarketNotifier(plan(), MARKET, "BTCUSDT 1m", MIN);
    expect(texts(a, rec(0, 0.15))).toEqual(["score: + ₿ 30,050 Indicator: +0.15 ↑   BUY 1min"]);
    expect(texts(a, rec(1, 0.2))).toEqual([]);
    // a restart from the snapshot saved with candle 1: still in the band, nothing to say
    const b = new MarketNotifier(plan(), MARKET, "BTCUSDT 1m", MIN, { saved: structuredClone(a.snapshot()) });
    expect(texts(b, rec(2, 0.12))).toEqual([]);
    // without the snapshot, the first call announces again (as the original did on every start)
    const fresh = new MarketNotifier(plan(), MARKET, "BTCUSDT 1m", MIN);
    expect(texts(fresh, rec(2, 0.12))).toHaveLength(1);
    expect(texts(b, rec(3, 0.0))).toEqual(["score: ₿ 30,050 Indicator: +0.00 ↓   1min"]);
  });

  it("moves the band on catch-up candles without announcing them", () => {
    const n = new MarketNotifier(plan(), MARKET, "BTCUSDT 1m", MIN, { saved: { bands: [0], charts: [] } });
    expect(texts(n, rec(0, -0.3, { catchUp: true }))).toEqual([]);
    expect(n.snapshot().bands).toEqual([-1]);
    expect(texts(n, rec(1, -0.3))).toEqual([]);
  });

  it("tells a closed trade with the original's two messages, and the day's summary once, at midnight", () => {
    const trade: Trade = {
      side: "long",
      entryIndex: 0,
      entryTime: T0,
      entryPrice: 30_000,
      exitIndex: 3,
      exitTime: T0 + 3 * MIN,
      exitPrice: 30_300,
      qty: 0.1,
      fees: 6,
      pnl: 24,
      ret: 0.008,
      exitReason: "signal",
    };
    const n = new MarketNotifier(plan(), MARKET, "BTCUSDT 1m", MIN, { saved: { bands: [0], charts: [] } });
    // the first candle sets the day; no summary at a start
    expect(texts(n, rec(0, 0))).toEqual([]);
    expect(texts(n, rec(3, 0, { trades: [trade] }))).toEqual([
      "trade: ⚡💰 *SOLD:  Profit: 0.80% 24.0000₮*",
      "stats: ↗ *LONG transactions stats (4 weeks)*\n🔸sum=0.80% 🔸count=1\n🔸mean=0.8000% 🔸std=nan%\n🔸min=0.8000% 🔸median=0.8000% 🔸max=0.8000%\n",
    ]);
    // 23:59 closes at midnight: the summary of 2023-03-20
    const summary = texts(n, rec(9, 0));
    expect(summary).toHaveLength(1);
    expect(summary[0]).toMatch(/^daily: \*Daily summary 2023-03-20 \(UTC\)\*\nBTCUSDT 1m: 1 trade/);
    expect(texts(n, rec(10, 0))).toEqual([]);
    expect(n.snapshot().day).toBe(Math.floor((T0 + 10 * MIN) / DAY));
  });

  it("tells an entry the risk limits refused, as an order event", () => {
    const n = new MarketNotifier(plan(), MARKET, "BTCUSDT 1m", MIN);
    expect(
      n
        .refusal("max_notional", "notional 10000 is above 100", T0)
        .map((m) => [m.kind, m.keep, (m.payload as { text: string }).text]),
    ).toEqual([
      [
        "order",
        true,
        "⛔ BTCUSDT 1m: entry refused by risk\\_management (max\\_notional): notional 10000 is above 100",
      ],
    ]);
  });
});
