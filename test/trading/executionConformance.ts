import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { ExecutionPort } from "../../src/core/execution.js";
import type { Candle, ExecutionEvent, OrderIntent } from "../../src/core/trading.js";

/**
 * The execution port's conformance suite: every adapter (simulated, paper, exchange) must pass
 * it. An adapter comes with a harness that moves its market on by one real candle at a time;
 * the tests never assume when a fill happens beyond "within the next candles", so an exchange
 * that fills market orders at once passes as well as a simulator that fills at the next open.
 */
export interface ConformanceHarness {
  port: ExecutionPort;
  symbol: string;
  /** The quote balance's asset (e.g. USDT) and the base asset. */
  quote: string;
  base: string;
  /** The venue's minimum order value, quote. */
  minNotional: number;
  /** Quantity of the resting limit orders the tests place far from the price (default 0.01). */
  restingQuantity?: number;
  /**
   * Futures: the leverage positions are opened with. A fill then holds notional / leverage of
   * the quote as margin and pays its fee, and no base asset changes hands.
   */
  leverage?: number;
  /** Moves the market on by one candle; resolves with it once the adapter has seen it. */
  next(): Promise<Candle>;
  /** The last candle's close. */
  price(): number;
  close(): Promise<void>;
}

export function executionConformance(name: string, make: () => Promise<ConformanceHarness>): void {
  describe(`execution port conformance: ${name}`, () => {
    let h: ConformanceHarness;
    let events: ExecutionEvent[];
    let unsubscribe: () => void;
    let seq = 0;

    beforeEach(async () => {
      h = await make();
      events = [];
      unsubscribe = h.port.subscribe((e) => events.push(e));
      await h.next();
    });
    afterEach(async () => {
      unsubscribe();
      await h.close();
    });

    const intent = (o: Partial<OrderIntent> & Pick<OrderIntent, "side" | "type">): OrderIntent => ({
      clientOrderId: `conf-${Date.now().toString(36)}-${++seq}`,
      symbol: h.symbol,
      reduceOnly: false,
      purpose: "entry",
      decidedAt: 0,
      ...o,
    });

    /** Moves on candle by candle until `done()` or `limit` candles. */
    async function until(done: () => boolean, limit = 5): Promise<void> {
      for (let i = 0; i < limit && !done(); i++) await h.next();
    }

    const of = (id: string, type?: ExecutionEvent["type"]) =>
      events.filter((e) => e.order.clientOrderId === id && (type === undefined || e.type === type));

    test("a market buy by quote amount fills once, within the next candle, for at most that amount", async () => {
      const o = intent({ side: "buy", type: "market", quoteQuantity: 1000 });
      const placed = await h.port.submit(o);
      expect(placed.clientOrderId).toBe(o.clientOrderId);
      expect(["new", "filled"]).toContain(placed.status);
      await until(() => of(o.clientOrderId, "fill").some((e) => e.type === "fill" && e.fill.final), 1);
      const fills = of(o.clientOrderId, "fill").map((e) => (e.type === "fill" ? e.fill : undefined));
      expect(fills.length).toBeGreaterThan(0);
      expect(fills.at(-1)?.final).toBe(true);
      const qty = fills.reduce((a, f) => a + (f?.quantity ?? 0), 0);
      const spent = fills.reduce((a, f) => a + (f?.quantity ?? 0) * (f?.price ?? 0) + (f?.fee ?? 0), 0);
      expect(spent).toBeLessThanOrEqual(1000 * (1 + 1e-9));
      expect(spent).toBeGreaterThan(900);
      expect(new Set(fills.map((f) => f?.tradeId)).size).toBe(fills.length);
      const done = await h.port.order(h.symbol, o.clientOrderId);
      expect(done?.status).toBe("filled");
      expect(done?.filledQuantity).toBeCloseTo(qty, 12);
      const pos = await h.port.position(h.symbol);
      expect(pos.side).toBe("long");
      expect(pos.quantity).toBeCloseTo(qty, 12);
      expect(await h.port.openOrders(h.symbol)).toEqual([]);
    });

    test("the same client order id submitted twice places one order", async () => {
      const o = intent({ side: "buy", type: "market", quoteQuantity: 500 });
      const first = await h.port.submit(o);
      const second = await h.port.submit({ ...o });
      expect(second.clientOrderId).toBe(first.clientOrderId);
      await until(() => of(o.clientOrderId, "fill").length > 0, 1);
      await h.next();
      expect(of(o.clientOrderId, "accepted").length).toBeLessThanOrEqual(1);
      const fills = of(o.clientOrderId, "fill");
      const qty = fills.reduce((a, e) => a + (e.type === "fill" ? e.fill.quantity : 0), 0);
      expect((await h.port.position(h.symbol)).quantity).toBeCloseTo(qty, 12);
      expect(qty * h.price()).toBeLessThan(500 * 1.05);
    });

    test("a resting limit order is listed, cancelled once; cancelling again or an unknown id changes nothing", async () => {
      const o = intent({
        side: "buy",
        type: "limit",
        quantity: h.restingQuantity ?? 0.01,
        price: Math.round(h.price() * 0.5),
      });
      expect((await h.port.submit(o)).status).toBe("new");
      await h.next();
      expect((await h.port.openOrders(h.symbol)).map((x) => x.clientOrderId)).toEqual([o.clientOrderId]);
      const c = await h.port.cancel(h.symbol, o.clientOrderId);
      expect(c?.status).toBe("canceled");
      expect(of(o.clientOrderId, "canceled")).toHaveLength(1);
      expect((await h.port.cancel(h.symbol, o.clientOrderId))?.status).toBe("canceled");
      expect(of(o.clientOrderId, "canceled")).toHaveLength(1);
      expect(await h.port.cancel(h.symbol, "conf-never-seen")).toBeUndefined();
      expect(await h.port.openOrders(h.symbol)).toEqual([]);
      await h.next();
      expect(of(o.clientOrderId, "fill")).toEqual([]);
    });

    test("a reduce-only order without a position is rejected: nothing_to_reduce", async () => {
      const o = intent({ side: "sell", type: "market", quantity: 0.01, reduceOnly: true, purpose: "signal" });
      const placed = await h.port.submit(o);
      await until(() => of(o.clientOrderId, "rejected").length > 0 || placed.status === "rejected", 1);
      const state = await h.port.order(h.symbol, o.clientOrderId);
      expect(state?.status).toBe("rejected");
      expect(state?.reason).toMatch(/^nothing_to_reduce/);
      expect(of(o.clientOrderId, "fill")).toEqual([]);
      expect((await h.port.position(h.symbol)).side).toBeNull();
    });

    test("an order below the minimum notional is rejected and changes no balance", async () => {
      const before = await h.port.balances();
      const o = intent({ side: "buy", type: "market", quoteQuantity: h.minNotional / 2 });
      await h.port.submit(o);
      await until(() => of(o.clientOrderId, "rejected").length > 0, 1);
      expect((await h.port.order(h.symbol, o.clientOrderId))?.status).toBe("rejected");
      expect(of(o.clientOrderId, "fill")).toEqual([]);
      const after = await h.port.balances();
      expect(after[h.quote] ?? 0).toBe(before[h.quote] ?? 0);
    });

    test("protective orders in one group: the first to fill cancels the other, the position is closed", async () => {
      const entry = intent({ side: "buy", type: "market", quoteQuantity: 1000 });
      await h.port.submit(entry);
      await until(() => of(entry.clientOrderId, "fill").length > 0, 1);
      const qty = (await h.port.position(h.symbol)).quantity;
      const p = h.price();
      const group = entry.clientOrderId;
      const stop = intent({
        side: "sell",
        type: "stop",
        quantity: qty,
        price: p * 0.9995,
        reduceOnly: true,
        purpose: "stop_loss",
        ocoGroup: group,
      });
      const tp = intent({
        side: "sell",
        type: "limit",
        quantity: qty,
        price: p * 1.0005,
        reduceOnly: true,
        purpose: "take_profit",
        ocoGroup: group,
      });
      await h.port.submit(stop);
      await h.port.submit(tp);
      await until(() => of(stop.clientOrderId, "fill").length + of(tp.clientOrderId, "fill").length > 0, 500);
      const filled = [stop, tp].filter((o) => of(o.clientOrderId, "fill").length > 0);
      expect(filled).toHaveLength(1);
      const other = filled[0] === stop ? tp : stop;
      await until(() => of(other.clientOrderId, "canceled").length > 0, 1);
      expect(of(other.clientOrderId, "canceled")).toHaveLength(1);
      expect((await h.port.position(h.symbol)).side).toBeNull();
      expect(await h.port.openOrders(h.symbol)).toEqual([]);
    });

    test("events reach every subscriber once, in order, and none after unsubscribing", async () => {
      const second: ExecutionEvent[] = [];
      const off = h.port.subscribe((e) => second.push(e));
      const a = intent({
        side: "buy",
        type: "limit",
        quantity: h.restingQuantity ?? 0.01,
        price: Math.round(h.price() * 0.5),
      });
      await h.port.submit(a);
      await h.port.cancel(h.symbol, a.clientOrderId);
      off();
      const b = intent({
        side: "buy",
        type: "limit",
        quantity: h.restingQuantity ?? 0.01,
        price: Math.round(h.price() * 0.5),
      });
      await h.port.submit(b);
      await h.port.cancel(h.symbol, b.clientOrderId);
      expect(second.map((e) => [e.type, e.order.clientOrderId])).toEqual([
        ["accepted", a.clientOrderId],
        ["canceled", a.clientOrderId],
      ]);
      expect(of(b.clientOrderId).map((e) => e.type)).toEqual(["accepted", "canceled"]);
    });

    test("balances follow fills: the quote pays notional and fee, the base receives the quantity", async () => {
      const before = await h.port.balances();
      const o = intent({ side: "buy", type: "market", quoteQuantity: 1000 });
      await h.port.submit(o);
      await until(() => of(o.clientOrderId, "fill").length > 0, 1);
      const after = await h.port.balances();
      let paid = 0;
      let got = 0;
      for (const e of of(o.clientOrderId, "fill")) {
        if (e.type !== "fill") continue;
        paid += (e.fill.quantity * e.fill.price) / (h.leverage ?? 1) + e.fill.fee;
        got += e.fill.quantity;
      }
      expect(got).toBeGreaterThan(0);
      expect((before[h.quote] ?? 0) - (after[h.quote] ?? 0)).toBeCloseTo(
        paid,
        h.leverage === undefined ? 6 : 2,
      );
      if (h.leverage === undefined) expect((after[h.base] ?? 0) - (before[h.base] ?? 0)).toBeCloseTo(got, 12);
    });
  });
}
