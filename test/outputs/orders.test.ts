import { describe, expect, it } from "vitest";
import type { Order, Trade } from "../../src/core/trading.js";
import { orderMessage } from "../../src/outputs/telegram/orders.js";
import { dailySummary } from "../../src/outputs/telegram/summary.js";

function order(over: Partial<Order>): Order {
  return {
    clientOrderId: "itb-BTCUSDT-abc-en",
    symbol: "BTCUSDT",
    side: "buy",
    type: "market",
    quantity: 0.0015,
    reduceOnly: false,
    purpose: "entry",
    decidedAt: 0,
    status: "new",
    filledQuantity: 0,
    averagePrice: Number.NaN,
    fees: 0,
    createdAt: 0,
    updatedAt: 0,
    ...over,
  };
}

const M = "BTCUSDT 1m";

describe("orderMessage", () => {
  it("announces placed orders with their type and price", () => {
    expect(orderMessage(order({}), M)).toBe("📝 BTCUSDT 1m: buy 0.0015 at market placed (entry)");
    expect(
      orderMessage(order({ side: "sell", type: "limit", price: 31_000, purpose: "take_profit" }), M),
    ).toBe("📝 BTCUSDT 1m: sell 0.0015 limit @ 31,000.00 placed (take profit)");
    expect(orderMessage(order({ side: "sell", type: "stop", price: 29_000, purpose: "stop_loss" }), M)).toBe(
      "📝 BTCUSDT 1m: sell 0.0015 stop @ 29,000.00 placed (stop loss)",
    );
    expect(
      orderMessage(
        order({
          side: "sell",
          type: "trailing_stop",
          price: 30_000,
          trailingFraction: 0.02,
          purpose: "trailing_stop",
        }),
        M,
      ),
    ).toBe("📝 BTCUSDT 1m: sell 0.0015 trailing stop 2.00% from 30,000.00 placed (trailing stop)");
    expect(orderMessage(order({ quantity: undefined, quoteQuantity: 100 }), M, { tag: "paper" })).toBe(
      "📝 BTCUSDT 1m: buy for 100.00 at market placed (entry, paper)",
    );
  });

  it("announces fills with the filled quantity, average price and fees", () => {
    const filled = order({ status: "filled", filledQuantity: 0.0015, averagePrice: 30_123.45 });
    expect(orderMessage(filled, M, { tag: "paper" })).toBe(
      "🟢 BTCUSDT 1m: buy 0.0015 @ 30,123.45 filled (entry, paper)",
    );
    expect(orderMessage({ ...filled, fees: 0.0452 }, M)).toBe(
      "🟢 BTCUSDT 1m: buy 0.0015 @ 30,123.45 filled, fees 0.05 (entry)",
    );
    const part = order({
      side: "sell",
      type: "limit",
      price: 30_500,
      purpose: "take_profit",
      status: "partially_filled",
      filledQuantity: 0.001,
      averagePrice: 30_500,
    });
    expect(orderMessage(part, M)).toBe(
      "🟡 BTCUSDT 1m: sell 0.001 of 0.0015 @ 30,500.00 partially filled (take profit)",
    );
  });

  it("announces cancellations and rejections with their reason, escaped", () => {
    const stop = order({ side: "sell", type: "stop", price: 29_000, purpose: "stop_loss" });
    expect(orderMessage({ ...stop, status: "canceled", reason: "oco" }, M)).toBe(
      "⚪ BTCUSDT 1m: sell 0.0015 stop @ 29,000.00 cancelled: oco (stop loss)",
    );
    const tp = order({ side: "sell", type: "limit", price: 31_000, purpose: "take_profit" });
    expect(
      orderMessage(
        { ...tp, status: "canceled", filledQuantity: 0.001, averagePrice: 31_000, reason: "expired" },
        M,
      ),
    ).toBe(
      "⚪ BTCUSDT 1m: sell 0.0015 limit @ 31,000.00 cancelled after 0.001 filled @ 31,000.00: expired (take profit)",
    );
    const exit = order({ side: "sell", purpose: "signal", status: "rejected", reason: "nothing_to_reduce" });
    expect(orderMessage(exit, "BTC_USDT 1m")).toBe(
      "🔴 BTC\\_USDT 1m: sell 0.0015 at market rejected: nothing\\_to\\_reduce (exit on signal)",
    );
    expect(orderMessage({ ...exit, reason: undefined }, M)).toBe(
      "🔴 BTCUSDT 1m: sell 0.0015 at market rejected (exit on signal)",
    );
  });
});

function closed(pnl: number): Trade {
  return {
    side: "long",
    entryIndex: 0,
    entryTime: Date.UTC(2024, 4, 1, 8),
    entryPrice: 30_000,
    exitIndex: 60,
    exitTime: Date.UTC(2024, 4, 1, 9),
    exitPrice: 30_000 + pnl / 0.01,
    qty: 0.01,
    fees: 0,
    pnl,
    ret: pnl / 300,
    exitReason: "signal",
  };
}

describe("dailySummary", () => {
  const day = Date.UTC(2024, 4, 1, 23, 59);
  const btc = {
    market: "BTCUSDT 1m",
    trades: [closed(4.4), closed(-0.4)],
    equity: 1004,
    position: { side: "long" as const, quantity: 0.01, entryPrice: 30_000 },
  };
  const eth = { market: "ETH_USDT 1m", trades: [], equity: 1000, position: null };

  it("sums the day per market and in total", () => {
    expect(dailySummary(day, [btc, eth])).toBe(
      "*Daily summary 2024-05-01 (UTC)*\n" +
        "BTCUSDT 1m: 2 trades (1 won, 1 lost), +4.00 (+0.67%), equity 1,004.00, long 0.01 @ 30,000.00\n" +
        "ETH\\_USDT 1m: no trades, equity 1,000.00, flat\n" +
        "Total: 2 trades (1 won, 1 lost), +4.00 (+0.67%), equity 2,004.00",
    );
  });

  it("has no total line for one market, and says when there are none", () => {
    expect(dailySummary(day, [{ ...btc, trades: [closed(4.4)], position: undefined }])).toBe(
      "*Daily summary 2024-05-01 (UTC)*\nBTCUSDT 1m: 1 trade (1 won, 0 lost), +4.40 (+1.47%), equity 1,004.00, flat",
    );
    expect(dailySummary(day, [])).toBe("*Daily summary 2024-05-01 (UTC)*\nNo markets.");
  });
});
