import { describe, expect, it } from "vitest";
import type { ExitReason, Side, Trade } from "../../src/core/trading.js";
import { closedTradeLine, tradeProfitMessage, tradeStatsMessage } from "../../src/outputs/telegram/trades.js";

const DAY = 86_400_000;
const NOW = Date.UTC(2024, 4, 29, 12, 0);

function trade(
  side: Side,
  exitTime: number,
  ret: number,
  over: Partial<Trade> & { exitReason?: ExitReason } = {},
): Trade {
  return {
    side,
    entryIndex: 0,
    entryTime: exitTime - 3_600_000,
    entryPrice: 100,
    exitIndex: 60,
    exitTime,
    exitPrice: 100,
    qty: 1,
    fees: 0,
    pnl: 100 * ret,
    ret,
    exitReason: "signal",
    ...over,
  };
}

// Longs closed within the 4 weeks up to NOW: +1.25 %, −0.40 %, +2.00 %, +0.10 %, and +0.30 %
// exactly 28 days before; one older long and one short that the long stats leave out.
const HISTORY: Trade[] = [
  trade("long", NOW - 29 * DAY, 0.5),
  trade("long", NOW - 28 * DAY, 0.003),
  trade("long", NOW - 20 * DAY, 0.0125),
  trade("short", NOW - 15 * DAY, -0.01),
  trade("long", NOW - 10 * DAY, -0.004),
  trade("long", NOW - 2 * DAY, 0.02),
  trade("long", NOW, 0.001),
];

describe("the original's trade messages", () => {
  it("announces a closed long as SOLD and a closed short as BOUGHT, after fees", () => {
    expect(tradeProfitMessage(trade("long", NOW, 0.0125, { pnl: 12.3456789 }))).toBe(
      "⚡💰 *SOLD:  Profit: 1.25% 12.3457₮*",
    );
    expect(tradeProfitMessage(trade("short", NOW, -0.004, { pnl: -4.5 }))).toBe(
      "⚡💰 *BOUGHT:  Profit: -0.40% -4.5000₮*",
    );
  });

  it("describes the side's percentage returns over the last 4 weeks like pandas", () => {
    // count 5, sum 3.25, mean 0.65, sample std √(3.71 / 4) = 0.9631, median 0.30.
    expect(tradeStatsMessage("long", HISTORY, NOW)).toBe(
      "↗ *LONG transactions stats (4 weeks)*\n" +
        "🔸sum=3.25% 🔸count=5\n" +
        "🔸mean=0.6500% 🔸std=0.9631%\n" +
        "🔸min=-0.4000% 🔸median=0.3000% 🔸max=2.0000%\n",
    );
    // An even count: the median halfway between the middle two (0.10 and 1.25).
    const recent = HISTORY.filter((t) => t.exitTime > NOW - 25 * DAY);
    expect(tradeStatsMessage("long", recent, NOW)).toBe(
      "↗ *LONG transactions stats (4 weeks)*\n" +
        "🔸sum=2.95% 🔸count=4\n" +
        "🔸mean=0.7375% 🔸std=1.0889%\n" +
        "🔸min=-0.4000% 🔸median=0.6750% 🔸max=2.0000%\n",
    );
  });

  it("prints nan where pandas has no value (std of one trade, everything of none)", () => {
    expect(tradeStatsMessage("short", HISTORY, NOW)).toBe(
      "↘ *SHORT transactions stats (4 weeks)*\n" +
        "🔸sum=-1.00% 🔸count=1\n" +
        "🔸mean=-1.0000% 🔸std=nan%\n" +
        "🔸min=-1.0000% 🔸median=-1.0000% 🔸max=-1.0000%\n",
    );
    expect(tradeStatsMessage("short", HISTORY, NOW + 60 * DAY)).toBe(
      "↘ *SHORT transactions stats (4 weeks)*\n" +
        "🔸sum=nan% 🔸count=0\n" +
        "🔸mean=nan% 🔸std=nan%\n" +
        "🔸min=nan% 🔸median=nan% 🔸max=nan%\n",
    );
  });
});

describe("closedTradeLine", () => {
  it("states side, quantity, prices, profit after fees and the exit reason", () => {
    const win = trade("long", NOW, 4.4 / 300, { qty: 0.01, entryPrice: 30_000, exitPrice: 30_500, pnl: 4.4 });
    expect(closedTradeLine("BTCUSDT 1m", win)).toBe(
      "✅ BTCUSDT 1m: long 0.01 30,000.00 → 30,500.00, +4.40 (+1.47%) after fees, signal",
    );
    const loss = trade("short", NOW, -0.1335 / 2.469, {
      qty: 2,
      entryPrice: 1.2345,
      exitPrice: 1.3,
      pnl: -0.1335,
      exitReason: "stop_loss",
    });
    expect(closedTradeLine("BTC_USDT 1m", loss)).toBe(
      "❌ BTC\\_USDT 1m: short 2 1.2345 → 1.30, -0.13 (-5.41%) after fees, stop loss",
    );
  });
});
