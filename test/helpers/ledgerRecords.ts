import type { ExecutionPort } from "../../src/core/execution.js";
import type { Frame } from "../../src/core/frame.js";
import type { Candle, Fill, Order, Trade } from "../../src/core/trading.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import type { CandleRecord, LedgerTable, MarketKey } from "../../src/live/ledger/types.js";
import { TradingSession } from "../../src/live/session.js";
import { SimulatedExecution } from "../../src/trading/simulatedExecution.js";
import { Trader, type TraderAction } from "../../src/trading/trader.js";

/**
 * Ledger records as the live service makes them: the bundled sample's real BTCUSDT 1m candles
 * (March 2023) through the Trader and the simulated execution adapter (a TradingSession), with
 * scores and signals computed from the candles (momentum over 5, 10, 20 and 60 bars; a buy when
 * the 10-bar momentum crosses above +0.1 %, a sell below −0.1 %), a 0.2 % stop-loss and a 1.5 %
 * take-profit. Every record holds what that candle produced: the Trader's actions, the orders
 * whose state changed, the fills, the trades closed, the equity and the Trader's state. Candles
 * listed in `halts` are replaced by a halt's missing candle (NaN prices and volume).
 */

export const SAMPLE_SYMBOL = "BTCUSDT";
export const MARKET: MarketKey = { symbol: SAMPLE_SYMBOL, freq: "1m" };

let candles: Promise<Frame> | undefined;

export function sampleMarch(sample: string): Promise<Frame> {
  candles ??= loadArchiveMonths(sample, SAMPLE_SYMBOL, "spot", "1m", ["2023-03"]);
  return candles;
}

export interface RecordOptions {
  /** Candles (rows of the sample) to turn into records, from its first. */
  count: number;
  /** Rows that are halts: NaN prices and volume. */
  halts?: readonly number[];
  /** Records before this row are catch-up candles. */
  catchUpUntil?: number;
}

/** A port that remembers the Trader's actions as it passes them on. */
function recordingPort(port: SimulatedExecution, actions: TraderAction[]): ExecutionPort {
  return {
    submit: (o) => {
      actions.push({ kind: "submit", order: o });
      return port.submit(o);
    },
    cancel: (symbol, id) => {
      actions.push({ kind: "cancel", symbol, clientOrderId: id });
      return port.cancel(symbol, id);
    },
    order: (s, id) => port.order(s, id),
    openOrders: (s) => port.openOrders(s),
    position: (s) => port.position(s),
    balances: () => port.balances(),
    subscribe: (l) => port.subscribe(l),
    close: () => port.close(),
  };
}

export async function sampleRecords(sample: string, opts: RecordOptions): Promise<CandleRecord[]> {
  const frame = await sampleMarch(sample);
  const cols = ["open", "high", "low", "close", "volume"].map((c) => frame.get(c));
  const halts = new Set(opts.halts ?? []);
  const sim = new SimulatedExecution({
    fillAt: "next_open",
    takerFee: 0.001,
    makerFee: 0.001,
    slippageBps: 0,
    cash: 1000,
  });
  const actions: TraderAction[] = [];
  let trades: Trade[] = [];
  const trader = new Trader({
    symbol: SAMPLE_SYMBOL,
    direction: "both",
    stake: { mode: "compound", fraction: 1 },
    stopLoss: 0.002,
    takeProfit: 0.015,
    cash: 1000,
    onTrade: (t) => trades.push(t),
  });
  let orders = new Map<string, Order>();
  let fills: Fill[] = [];
  const session = new TradingSession(trader, recordingPort(sim, actions), (e) => {
    orders.set(e.order.clientOrderId, { ...e.order });
    if (e.type === "fill") fills.push({ ...e.fill });
  });
  const closes: number[] = [];
  const records: CandleRecord[] = [];
  let lastClose = Number.NaN;
  let prevMomentum = 0;
  for (let i = 0; i < opts.count; i++) {
    const [open, high, low, close, volume] = cols.map((c) => (halts.has(i) ? Number.NaN : (c[i] as number)));
    const candle: Candle = {
      time: frame.time[i] as number,
      open: open as number,
      high: high as number,
      low: low as number,
      close: close as number,
      volume: volume as number,
    };
    if (!Number.isNaN(candle.close)) closes.push(candle.close);
    const momentum = (n: number) =>
      closes.length > n ? (closes.at(-1) as number) / (closes.at(-1 - n) as number) - 1 : Number.NaN;
    const scores = {
      mom_5: momentum(5),
      mom_10: momentum(10),
      mom_20: momentum(20),
      mom_60: momentum(60),
    };
    const score = Number.isNaN(scores.mom_10) ? 0 : scores.mom_10;
    const buy = !halts.has(i) && score > 0.001 && prevMomentum <= 0.001;
    const sell = !halts.has(i) && score < -0.001 && prevMomentum >= -0.001;
    prevMomentum = score;
    const signals = {
      trade_score: score * 100,
      trade_score_smooth: Number.isNaN(scores.mom_20) ? Number.NaN : (score + scores.mom_20) * 50,
      buy_score: Math.max(0, score * 100),
      sell_score: Math.max(0, -score * 100),
      buy_signal_column: buy ? 1 : 0,
      sell_signal_column: sell ? 1 : 0,
    };

    actions.length = 0;
    orders = new Map();
    fills = [];
    trades = [];
    trader.beginBar(i);
    sim.onCandle(SAMPLE_SYMBOL, candle);
    await session.settled();
    await session.decide({ index: i, ...candle, buy, sell });
    if (!Number.isNaN(candle.close)) lastClose = candle.close;
    const st = trader.state;
    records.push({
      market: MARKET,
      candle,
      catchUp: i < (opts.catchUpUntil ?? 0),
      scores,
      signals,
      buy,
      sell,
      actions: [...actions],
      orders: [...orders.values()],
      fills,
      trades,
      equity: {
        equity: trader.position === 0 ? trader.cashBalance : trader.equityAt(lastClose),
        cash: st.cash,
        position: st.position,
        quantity: st.quantity,
        entryPrice: st.entryPrice,
      },
      state: { trader: st, index: i, lastClose },
      processedAt: candle.time + 60_000 + 150 + (i % 13),
      latencyMs: 0.25 + (i % 7) * 0.125,
    });
  }
  session.close();
  return records;
}

/** A table's rows as objects by column name (for comparisons that name what they check). */
export function rowObjects(table: LedgerTable): Record<string, number | string | null>[] {
  return table.rows.map((r) => Object.fromEntries(table.columns.map((c, j) => [c, r[j] ?? null])));
}

/**
 * The tables a ledger holding `records` must return, built from the records by the rules of
 * docs/ledger.md: an order's row is its last state (and the candle that recorded it), a fill
 * is kept with the first candle that delivered it.
 */
export function expectedTables(records: readonly CandleRecord[]) {
  const m = (r: CandleRecord) => ({ timestamp: r.candle.time, symbol: r.market.symbol, freq: r.market.freq });
  const num = (v: number | undefined) => (v === undefined ? Number.NaN : v);
  const str = (v: string | undefined) => (v === undefined ? null : v);
  const signals = records.map((r) => ({
    ...m(r),
    open: r.candle.open,
    high: r.candle.high,
    low: r.candle.low,
    close: r.candle.close,
    volume: r.candle.volume,
    ...r.scores,
    ...r.signals,
    buy: r.buy ? 1 : 0,
    sell: r.sell ? 1 : 0,
    catch_up: r.catchUp ? 1 : 0,
    processed_at: r.processedAt,
    latency_ms: r.latencyMs,
  }));
  const intent = (o: Partial<Order>) => ({
    side: str(o.side),
    type: str(o.type),
    quantity: num(o.quantity),
    quote_quantity: num(o.quoteQuantity),
    price: num(o.price),
    trailing_fraction: num(o.trailingFraction),
    reduce_only: o.reduceOnly === undefined ? Number.NaN : o.reduceOnly ? 1 : 0,
    oco_group: str(o.ocoGroup),
    purpose: str(o.purpose),
    decided_at: num(o.decidedAt),
  });
  const decisions = records.flatMap((r) =>
    r.actions.map((a, seq) => ({
      ...m(r),
      seq,
      kind: a.kind,
      client_order_id: a.kind === "submit" ? a.order.clientOrderId : a.clientOrderId,
      ...intent(a.kind === "submit" ? a.order : {}),
    })),
  );
  const orders = new Map<string, Record<string, unknown>>();
  const fills = new Map<string, Record<string, unknown>>();
  for (const r of records) {
    for (const o of r.orders) {
      orders.set(o.clientOrderId, {
        ...m(r),
        client_order_id: o.clientOrderId,
        ...intent(o),
        status: o.status,
        exchange_order_id: str(o.exchangeOrderId),
        filled_quantity: o.filledQuantity,
        average_price: o.averagePrice,
        fees: o.fees,
        reason: str(o.reason),
        created_at: o.createdAt,
        updated_at: o.updatedAt,
      });
    }
    for (const f of r.fills) {
      if (fills.has(f.tradeId)) continue;
      fills.set(f.tradeId, {
        ...m(r),
        trade_id: f.tradeId,
        client_order_id: f.clientOrderId,
        side: f.side,
        price: f.price,
        quantity: f.quantity,
        fee: f.fee,
        liquidity: f.liquidity,
        time: f.time,
        final: f.final ? 1 : 0,
      });
    }
  }
  const byCandle = (a: Record<string, unknown>, b: Record<string, unknown>, keys: string[]) => {
    for (const k of ["timestamp", ...keys]) {
      const x = a[k] as number | string;
      const y = b[k] as number | string;
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return 0;
  };
  const trades = records.flatMap((r) =>
    r.trades.map((t) => ({
      ...m(r),
      side: t.side,
      entry_index: t.entryIndex,
      entry_time: t.entryTime,
      entry_price: t.entryPrice,
      exit_index: t.exitIndex,
      exit_time: t.exitTime,
      exit_price: t.exitPrice,
      qty: t.qty,
      fees: t.fees,
      pnl: t.pnl,
      ret: t.ret,
      exit_reason: t.exitReason,
    })),
  );
  const equity = records.map((r) => ({
    ...m(r),
    equity: r.equity.equity,
    cash: r.equity.cash,
    position: r.equity.position,
    quantity: r.equity.quantity,
    entry_price: r.equity.entryPrice,
  }));
  return {
    signals,
    decisions,
    orders: [...orders.values()].sort((a, b) => byCandle(a, b, ["created_at", "client_order_id"])),
    fills: [...fills.values()].sort((a, b) => byCandle(a, b, ["time", "trade_id"])),
    trades,
    equity,
  };
}
