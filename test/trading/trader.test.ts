import { describe, expect, test } from "vitest";
import { TradingError } from "../../src/core/errors.js";
import type { ExecutionEvent, Fill, Order, OrderIntent, SignalBar, Trade } from "../../src/core/trading.js";
import { Trader, type TraderAction, type TraderOptions } from "../../src/trading/trader.js";

const T0 = Date.UTC(2023, 2, 1);
const MIN = 60_000;

function bar(i: number, signal: "B" | "S" | "X" | "." = ".", close = 100): SignalBar {
  return {
    index: i,
    time: T0 + i * MIN,
    open: close,
    high: close,
    low: close,
    close,
    buy: signal === "B" || signal === "X",
    sell: signal === "S" || signal === "X",
  };
}

function trader(o: Partial<TraderOptions> = {}, trades: Trade[] = []): Trader {
  return new Trader({
    symbol: "BTCUSDT",
    direction: "long",
    stake: { mode: "compound", fraction: 1 },
    cash: 1000,
    onTrade: (t) => trades.push(t),
    ...o,
  });
}

const submits = (a: readonly TraderAction[]): OrderIntent[] =>
  a.flatMap((x) => (x.kind === "submit" ? [x.order] : []));
const cancels = (a: readonly TraderAction[]): string[] =>
  a.flatMap((x) => (x.kind === "cancel" ? [x.clientOrderId] : []));

function asOrder(i: OrderIntent, status: Order["status"] = "filled"): Order {
  return {
    ...i,
    status,
    filledQuantity: 0,
    averagePrice: Number.NaN,
    fees: 0,
    createdAt: i.decidedAt,
    updatedAt: i.decidedAt,
  };
}

function fill(i: OrderIntent, price: number, quantity: number, fee = 0, final = true): ExecutionEvent {
  const f: Fill = {
    clientOrderId: i.clientOrderId,
    symbol: i.symbol,
    side: i.side,
    price,
    quantity,
    fee,
    liquidity: i.type === "limit" ? "maker" : "taker",
    time: i.decidedAt + MIN,
    final,
    tradeId: `${i.clientOrderId}-${price}-${quantity}`,
  };
  return { type: "fill", order: asOrder(i, final ? "filled" : "partially_filled"), fill: f };
}

describe("Trader decisions", () => {
  test("a buy when flat spends the stake as one market order by quote amount, with a deterministic id", () => {
    const t = trader();
    const [entry] = submits(t.onBar(bar(3, "B")));
    expect(entry).toMatchObject({
      clientOrderId: `itb-BTCUSDT-${(T0 + 3 * MIN).toString(36)}-en`,
      symbol: "BTCUSDT",
      side: "buy",
      type: "market",
      quoteQuantity: 1000,
      reduceOnly: false,
      purpose: "entry",
      decidedAt: T0 + 3 * MIN,
    });
    // the same decision by another Trader (a restart) carries the same id
    expect(submits(trader().onBar(bar(3, "B")))[0]?.clientOrderId).toBe(entry?.clientOrderId);
  });

  test("no order on a gap bar, a conflict, a signal the direction forbids, or while an entry is on its way", () => {
    const t = trader();
    expect(t.onBar({ ...bar(0, "B"), close: Number.NaN })).toEqual([]);
    expect(t.onBar(bar(1, "X"))).toEqual([]);
    expect(t.conflicts).toBe(1);
    expect(t.onBar(bar(2, "S"))).toEqual([]); // long only: a sell when flat does nothing
    expect(submits(t.onBar(bar(3, "B")))).toHaveLength(1);
    expect(t.onBar(bar(4, "B"))).toEqual([]); // the entry has not filled yet
  });

  test("a fixed stake is cut to the cash; nothing to spend, no order", () => {
    expect(
      submits(trader({ stake: { mode: "fixed", amount: 5000 } }).onBar(bar(0, "B")))[0]?.quoteQuantity,
    ).toBe(1000);
    expect(trader({ cash: 0 }).onBar(bar(0, "B"))).toEqual([]);
  });

  test("entry fill → protective orders in one group at the entry price's levels; signal exit → cancels and a trade", () => {
    const trades: Trade[] = [];
    const t = trader({ stopLoss: 0.05, takeProfit: 0.1, trailingStop: 0.02 }, trades);
    const [entry] = submits(t.onBar(bar(0, "B")));
    const protective = submits(t.onEvent(fill(entry as OrderIntent, 100, 9.9, 0.1)));
    expect(
      protective.map((o) => [o.type, o.side, o.price, o.trailingFraction, o.quantity, o.purpose]),
    ).toEqual([
      ["stop", "sell", 95, undefined, 9.9, "stop_loss"],
      ["limit", "sell", 110.00000000000001, undefined, 9.9, "take_profit"],
      ["trailing_stop", "sell", 100, 0.02, 9.9, "trailing_stop"],
    ]);
    expect(new Set(protective.map((o) => o.ocoGroup))).toEqual(new Set([entry?.clientOrderId]));
    expect(protective.every((o) => o.reduceOnly)).toBe(true);
    expect(t.state).toMatchObject({
      position: 1,
      quantity: 9.9,
      entryPrice: 100,
      cash: 1000 - (9.9 * 100 + 0.1),
    });

    t.beginBar(5);
    const [exit] = submits(t.onBar(bar(5, "S", 120)));
    expect(exit).toMatchObject({
      side: "sell",
      type: "market",
      quantity: 9.9,
      reduceOnly: true,
      purpose: "signal",
    });
    const after = t.onEvent(fill(exit as OrderIntent, 120, 9.9, 0.2));
    expect(cancels(after).sort()).toEqual(protective.map((o) => o.clientOrderId).sort());
    expect(trades).toEqual([
      {
        side: "long",
        entryIndex: 0,
        entryTime: T0 + MIN,
        entryPrice: 100,
        exitIndex: 5,
        exitTime: T0 + 6 * MIN,
        exitPrice: 120,
        qty: 9.9,
        fees: 0.1 + 0.2,
        pnl: 9.9 * 20 - 0.30000000000000004,
        ret: (9.9 * 20 - 0.30000000000000004) / (9.9 * 100),
        exitReason: "signal",
      },
    ]);
    expect(t.state.position).toBe(0);
  });

  test("a reversal opens the other side only after the exit filled, with the cash it left", () => {
    const t = trader({ direction: "both" });
    const [entry] = submits(t.onBar(bar(0, "B")));
    t.onEvent(fill(entry as OrderIntent, 100, 10));
    const actions = t.onBar(bar(1, "S", 90));
    expect(submits(actions).map((o) => o.purpose)).toEqual(["signal"]);
    expect(t.state.pendingEntry).toBe(-1);
    const next = submits(t.onEvent(fill(submits(actions)[0] as OrderIntent, 90, 10)));
    expect(next).toEqual([expect.objectContaining({ side: "sell", purpose: "entry", quoteQuantity: 900 })]);
  });

  test("a stop that closed the position first: the signal exit still on its way is cancelled, the reversal opens", () => {
    const t = trader({ direction: "both", stopLoss: 0.05 });
    const [entry] = submits(t.onBar(bar(0, "B")));
    const [sl] = submits(t.onEvent(fill(entry as OrderIntent, 100, 10)));
    const [exit] = submits(t.onBar(bar(1, "S", 96)));
    const actions = t.onEvent(fill(sl as OrderIntent, 95, 10));
    expect(cancels(actions)).toEqual([exit?.clientOrderId]);
    expect(submits(actions)).toEqual([
      expect.objectContaining({ side: "sell", purpose: "entry", quoteQuantity: 950 }),
    ]);
  });

  test("partial fills: the entry price is the volume-weighted one, stops wait for the last part", () => {
    const trades: Trade[] = [];
    const t = trader({ stopLoss: 0.1 }, trades);
    const [entry] = submits(t.onBar(bar(0, "B")));
    expect(t.onEvent(fill(entry as OrderIntent, 100, 4, 0, false))).toEqual([]);
    const [sl] = submits(t.onEvent(fill(entry as OrderIntent, 101, 5, 0, true)));
    expect(t.state.quantity).toBe(9);
    expect(t.state.entryPrice).toBeCloseTo((400 + 505) / 9, 12);
    expect(sl).toMatchObject({ quantity: 9, price: ((400 + 505) / 9) * 0.9 });
    t.onEvent(fill(sl as OrderIntent, 90, 3, 0, false));
    expect(trades).toEqual([]);
    t.onEvent(fill(sl as OrderIntent, 91, 6, 0, true));
    expect(trades[0]).toMatchObject({ qty: 9, exitPrice: (270 + 546) / 9, exitReason: "stop_loss" });
  });

  test("a rejected entry leaves the Trader flat with nothing working", () => {
    const t = trader();
    const [entry] = submits(t.onBar(bar(0, "B")));
    t.onEvent({
      type: "rejected",
      order: asOrder(entry as OrderIntent, "rejected"),
      reason: "below_minimum",
    });
    expect(t.state).toMatchObject({ position: 0, workingOrders: [], cash: 1000 });
    expect(submits(t.onBar(bar(1, "B")))).toHaveLength(1);
  });

  test("events of orders it did not place change nothing", () => {
    const t = trader();
    const stray: OrderIntent = {
      clientOrderId: "someone-else",
      symbol: "BTCUSDT",
      side: "buy",
      type: "market",
      quantity: 1,
      reduceOnly: false,
      purpose: "entry",
      decidedAt: T0,
    };
    expect(t.onEvent(fill(stray, 100, 1))).toEqual([]);
    expect(t.state).toMatchObject({ position: 0, cash: 1000 });
  });

  test("seeded with a position (a restart): its stops can be placed again and its exit makes the trade", () => {
    const trades: Trade[] = [];
    const t = trader(
      {
        cash: 10,
        stopLoss: 0.02,
        position: { side: "long", quantity: 2, entryPrice: 500, entryTime: T0, entryIndex: 7, entryFee: 1 },
      },
      trades,
    );
    expect(t.equityAt(510)).toBe(10 + 1020);
    const [sl] = submits(t.protectiveOrders(T0));
    expect(sl).toMatchObject({ type: "stop", side: "sell", quantity: 2, price: 490 });
    t.beginBar(9);
    t.onEvent(fill(sl as OrderIntent, 490, 2, 1));
    expect(trades[0]).toMatchObject({ entryIndex: 7, exitIndex: 9, pnl: -20 - 2, exitReason: "stop_loss" });
    expect(t.cashBalance).toBe(10 + 980 - 1);
  });

  test("flatten cancels what is working, then closes at market", () => {
    const t = trader({ takeProfit: 0.1 });
    const [entry] = submits(t.onBar(bar(0, "B")));
    const [tp] = submits(t.onEvent(fill(entry as OrderIntent, 100, 10)));
    const a = t.flatten(T0 + 9 * MIN, "end");
    expect(a[0]).toEqual({ kind: "cancel", symbol: "BTCUSDT", clientOrderId: tp?.clientOrderId });
    expect(submits(a)).toEqual([expect.objectContaining({ purpose: "end", side: "sell", quantity: 10 })]);
  });

  test("a bad stake or cash is refused with a TradingError", () => {
    expect(() => trader({ stake: { mode: "fixed", amount: 0 } })).toThrow(TradingError);
    expect(() => trader({ cash: Number.NaN })).toThrow(/cash must be a finite number/);
  });
});
