import { describe, expect, it } from "vitest";
import type { ExitReason, Side, Trade } from "../../src/core/trading.js";
import {
  balanceAnswer,
  COMMANDS,
  dailyAnswer,
  helpAnswer,
  type MarketTrade,
  positionsAnswer,
  profitAnswer,
  signalsAnswer,
  statusAnswer,
  tradesAnswer,
} from "../../src/outputs/telegram/commands.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2024, 4, 7, 12, 0);
const CANDLE = Date.UTC(2024, 4, 7, 11, 59);

function closed(
  market: string,
  side: Side,
  exitTime: number,
  qty: number,
  entryPrice: number,
  exitPrice: number,
  pnl: number,
  exitReason: ExitReason,
): MarketTrade {
  const trade: Trade = {
    side,
    entryIndex: 0,
    entryTime: exitTime - HOUR,
    entryPrice,
    exitIndex: 60,
    exitTime,
    exitPrice,
    qty,
    fees: 0,
    pnl,
    ret: pnl / (qty * entryPrice),
    exitReason,
  };
  return { market, trade };
}

const TRADES: MarketTrade[] = [
  closed("ETHUSDT 1m", "short", NOW - 10 * DAY, 1, 3000, 2970, 29, "take_profit"),
  closed("BTCUSDT 1m", "long", NOW - HOUR, 0.01, 30_000, 30_440, 4.4, "signal"),
  closed("BTCUSDT 1m", "long", NOW - 2 * DAY, 0.01, 30_000, 29_960, -0.4, "stop_loss"),
];

describe("/status", () => {
  it("shows each market's state, candle, lag, position and equity", () => {
    expect(
      statusAnswer([
        {
          market: "BTCUSDT 1m",
          lastCandleTime: CANDLE,
          lagSeconds: 2.54,
          position: { side: "long", quantity: 0.01, entryPrice: 30_000 },
          equity: 1004,
          paused: false,
        },
        { market: "ETH_USDT 1h", paused: true },
      ]),
    ).toBe(
      "*Status*\n" +
        "BTCUSDT 1m: running, last candle 2024-05-07 11:59 UTC (lag 2.5 s), long 0.01 @ 30,000.00, equity 1,004.00\n" +
        "ETH\\_USDT 1h: paused, no candle yet, flat",
    );
    expect(statusAnswer([])).toBe("No markets.");
  });
});

describe("/signals", () => {
  it("shows the latest scores and which signal fired", () => {
    expect(
      signalsAnswer([
        {
          market: "BTCUSDT 1m",
          time: CANDLE,
          scores: { trade_score: 0.01234, high_20_lc: Number.NaN },
          buy: true,
          sell: false,
        },
        { market: "ETHUSDT 1m", time: CANDLE, scores: {}, buy: true, sell: true },
        { market: "XRPUSDT 1m", time: CANDLE, scores: { s: -0.5 }, buy: false, sell: true },
        { market: "ADAUSDT 1m", time: CANDLE, scores: { s: 0 }, buy: false, sell: false },
        { market: "SOLUSDT 1m", scores: {}, buy: false, sell: false },
      ]),
    ).toBe(
      "*Signals*\n" +
        "BTCUSDT 1m, 2024-05-07 11:59 UTC: trade\\_score +0.0123, high\\_20\\_lc n/a → BUY\n" +
        "ETHUSDT 1m, 2024-05-07 11:59 UTC: no scores → BUY and SELL\n" +
        "XRPUSDT 1m, 2024-05-07 11:59 UTC: s -0.5000 → SELL\n" +
        "ADAUSDT 1m, 2024-05-07 11:59 UTC: s +0.0000 → no signal\n" +
        "SOLUSDT 1m: no candle yet",
    );
    expect(signalsAnswer([])).toBe("No markets.");
  });
});

describe("/trades", () => {
  it("lists the last n closed trades, the latest first", () => {
    expect(tradesAnswer(TRADES, 2)).toBe(
      "*Last 2 closed trades*\n" +
        "✅ BTCUSDT 1m: long 0.01 30,000.00 → 30,440.00, +4.40 (+1.47%) after fees, signal, 2024-05-07 11:00 UTC\n" +
        "❌ BTCUSDT 1m: long 0.01 30,000.00 → 29,960.00, -0.40 (-0.13%) after fees, stop loss, 2024-05-05 12:00 UTC",
    );
    const all = tradesAnswer(TRADES);
    expect(all.split("\n")).toHaveLength(4);
    expect(all.split("\n")[0]).toBe("*Last 3 closed trades*");
    expect(all.split("\n")[3]).toBe(
      "✅ ETHUSDT 1m: short 1 3,000.00 → 2,970.00, +29.00 (+0.97%) after fees, take profit, 2024-04-27 12:00 UTC",
    );
    expect(tradesAnswer(TRADES, 1).split("\n")[0]).toBe("*Last closed trade*");
    expect(tradesAnswer([])).toBe("No closed trades yet.");
  });
});

describe("/profit", () => {
  it("sums closed trades per market and in total", () => {
    expect(profitAnswer({ trades: TRADES, now: NOW })).toBe(
      "*Profit, all closed trades*\n" +
        "ETHUSDT 1m: 1 trade (1 won, 0 lost), +29.00 (+0.97%)\n" +
        "BTCUSDT 1m: 2 trades (1 won, 1 lost), +4.00 (+0.67%)\n" +
        "Total: 3 trades (2 won, 1 lost), +33.00 (+0.92%)",
    );
  });

  it("keeps the last days, and shows the markets asked for without trades", () => {
    expect(profitAnswer({ trades: TRADES, now: NOW, days: 7, markets: ["BTCUSDT 1m", "SOLUSDT 1m"] })).toBe(
      "*Profit, last 7 days*\n" +
        "BTCUSDT 1m: 2 trades (1 won, 1 lost), +4.00 (+0.67%)\n" +
        "SOLUSDT 1m: no trades\n" +
        "Total: 2 trades (1 won, 1 lost), +4.00 (+0.67%)",
    );
    expect(profitAnswer({ trades: TRADES, now: NOW, days: 1 })).toBe(
      "*Profit, last 1 day*\nBTCUSDT 1m: 1 trade (1 won, 0 lost), +4.40 (+1.47%)",
    );
    expect(profitAnswer({ trades: [], now: NOW })).toBe("*Profit, all closed trades*\nNo closed trades yet.");
  });
});

describe("/daily", () => {
  it("shows the last 7 UTC days, the latest first", () => {
    expect(dailyAnswer({ trades: TRADES, now: NOW })).toBe(
      "*Daily profit (UTC)*\n" +
        "2024-05-07: 1 trade (1 won, 0 lost), +4.40 (+1.47%)\n" +
        "2024-05-06: no trades\n" +
        "2024-05-05: 1 trade (0 won, 1 lost), -0.40 (-0.13%)\n" +
        "2024-05-04: no trades\n" +
        "2024-05-03: no trades\n" +
        "2024-05-02: no trades\n" +
        "2024-05-01: no trades",
    );
    expect(dailyAnswer({ trades: TRADES, now: NOW, days: 2 }).split("\n")).toHaveLength(3);
  });
});

describe("/balance and /positions", () => {
  it("shows cash, position value and equity with a total", () => {
    expect(
      balanceAnswer([
        { market: "BTCUSDT 1m", cash: 703.6, positionValue: 304.4, equity: 1008 },
        { market: "ETHUSDT 1m", cash: 1000, positionValue: 0, equity: 1000 },
      ]),
    ).toBe(
      "*Balance*\n" +
        "BTCUSDT 1m: cash 703.60, position 304.40, equity 1,008.00\n" +
        "ETHUSDT 1m: cash 1,000.00, position 0.00, equity 1,000.00\n" +
        "Total: cash 1,703.60, position 304.40, equity 2,008.00",
    );
    expect(balanceAnswer([])).toBe("No markets.");
  });

  it("shows open positions with their unrealised profit", () => {
    expect(
      positionsAnswer([
        { market: "BTCUSDT 1m", side: "long", quantity: 0.01, entryPrice: 30_000, price: 30_440 },
        { market: "ETHUSDT 1m", side: "short", quantity: 1, entryPrice: 3000, price: 3030 },
        { market: "SOLUSDT 1m", side: null, quantity: 0, entryPrice: Number.NaN, price: 150 },
      ]),
    ).toBe(
      "*Open positions*\n" +
        "BTCUSDT 1m: long 0.01 @ 30,000.00, now 30,440.00, unrealised +4.40 (+1.47%)\n" +
        "ETHUSDT 1m: short 1 @ 3,000.00, now 3,030.00, unrealised -30.00 (-1.00%)",
    );
    expect(positionsAnswer([])).toBe("No open positions.");
  });
});

describe("/help", () => {
  it("lists the commands, brackets escaped for legacy Markdown", () => {
    expect(helpAnswer()).toBe(
      "*Commands*\n" +
        "/status - Markets: last candle, lag, position, equity, paused or running\n" +
        "/signals - Latest scores and buy/sell signals per market\n" +
        "/trades \\[n] - The last n closed trades (default 10)\n" +
        "/profit \\[days] - Profit of closed trades per market over the last days (default all)\n" +
        "/daily - Trades and profit per day, last 7 days\n" +
        "/balance - Cash, position value and equity per market\n" +
        "/positions - Open positions with unrealised profit\n" +
        "/help - This list",
    );
  });

  it("exports commands Telegram's setMyCommands accepts", () => {
    expect(COMMANDS.map((c) => c.command)).toEqual([
      "status",
      "signals",
      "trades",
      "profit",
      "daily",
      "balance",
      "positions",
      "help",
    ]);
    for (const c of COMMANDS) {
      expect(c.command).toMatch(/^[a-z0-9_]{1,32}$/);
      expect(c.description.length).toBeGreaterThan(0);
      expect(c.description.length).toBeLessThanOrEqual(256);
    }
  });
});
