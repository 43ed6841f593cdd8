import { TradingError } from "../core/errors.js";
import type { ExecutionPort } from "../core/execution.js";
import type {
  Balances,
  Candle,
  ExecutionEvent,
  FillAt,
  Order,
  OrderIntent,
  Position,
} from "../core/trading.js";
import { SimulatedVenue, type VenueSnapshot } from "./simulatedVenue.js";

/**
 * The execution port over simulated venues, one per symbol: paper trading in the live service
 * (fills from the live candles, with the config's fees, slippage and filters) and the reference
 * adapter of the conformance suite. Orders fill when `onCandle` feeds the candles that follow
 * them, by the venue's rules (simulatedVenue.ts), so paper trades equal the backtest's.
 *
 * Events are delivered synchronously to subscribers, as copies: a consumer may keep them.
 */
export interface SimulatedExecutionOptions {
  fillAt: FillAt;
  takerFee: number;
  makerFee: number;
  slippageBps: number;
  filters?: { tickSize: number; stepSize: number; minNotional: number } | undefined;
  /** Quote balance of each symbol's venue at the start. */
  cash: number;
}

const QUOTES = ["USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY"];

/** The quote and base assets of an exchange symbol ("BTCUSDT" → USDT, BTC). */
export function splitSymbol(symbol: string): { base: string; quote: string } {
  for (const q of QUOTES) {
    if (symbol.length > q.length && symbol.endsWith(q)) return { base: symbol.slice(0, -q.length), quote: q };
  }
  return { base: symbol, quote: "QUOTE" };
}

export class SimulatedExecution implements ExecutionPort {
  private readonly venues = new Map<string, SimulatedVenue>();
  private readonly listeners = new Set<(e: ExecutionEvent) => void>();
  private closed = false;

  constructor(private readonly options: SimulatedExecutionOptions) {}

  /**
   * One closed candle of `symbol`: its open, range and (except under fill_at close) close meet
   * the working orders. Call it before the Trader decides on the candle; under fill_at close,
   * `settleDecisions` afterwards fills the decision at the candle's own close.
   */
  onCandle(symbol: string, c: Candle): void {
    const v = this.venue(symbol);
    v.openBar(c.time, c.open, c.high, c.low, c.close);
    v.rangeBar();
    if (v.fillAt !== "close") v.closeBar();
  }

  /** Under fill_at close: the market orders decided on the last candle fill at its close. */
  settleDecisions(symbol: string): void {
    const v = this.venue(symbol);
    if (v.fillAt === "close") v.closeBar();
  }

  /** The last close `symbol`'s venue has seen (NaN before any). */
  lastClose(symbol: string): number {
    return this.venues.get(symbol)?.lastClose ?? Number.NaN;
  }

  /** The venue state of `symbol`, to save with a processed candle (see SimulatedVenue.snapshot). */
  snapshot(symbol: string): VenueSnapshot {
    return this.venue(symbol).snapshot();
  }

  /** Restores `symbol`'s venue from a snapshot (a restart). */
  restore(symbol: string, s: VenueSnapshot): void {
    this.venue(symbol).restore(s);
  }

  /** The end of a replay: `symbol`'s waiting market orders fill at the last close. */
  settleAtClose(symbol: string): void {
    this.venue(symbol).settleAtClose();
  }

  async submit(intent: OrderIntent): Promise<Order> {
    this.open();
    return { ...this.venue(intent.symbol).submit(intent) };
  }

  async cancel(symbol: string, clientOrderId: string): Promise<Order | undefined> {
    this.open();
    const o = this.venue(symbol).cancel(clientOrderId);
    return o === undefined ? undefined : { ...o };
  }

  async order(symbol: string, clientOrderId: string): Promise<Order | undefined> {
    const o = this.venues.get(symbol)?.order(clientOrderId);
    return o === undefined ? undefined : { ...o };
  }

  async openOrders(symbol?: string): Promise<Order[]> {
    const venues = symbol === undefined ? [...this.venues.values()] : [this.venues.get(symbol)];
    return venues.flatMap((v) => (v === undefined ? [] : v.openOrders().map((o) => ({ ...o }))));
  }

  async position(symbol: string): Promise<Position> {
    return this.venues.get(symbol)?.position() ?? { symbol, side: null, quantity: 0, entryPrice: Number.NaN };
  }

  async balances(): Promise<Balances> {
    const out: Record<string, number> = {};
    for (const v of this.venues.values()) {
      const { base, quote } = splitSymbol(v.symbol);
      const p = v.position();
      out[quote] = (out[quote] ?? 0) + v.quoteBalance;
      out[base] = (out[base] ?? 0) + (p.side === "short" ? -p.quantity : p.quantity);
    }
    return out;
  }

  subscribe(listener: (event: ExecutionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
  }

  private open(): void {
    if (this.closed) throw new TradingError("the simulated execution adapter is closed");
  }

  private venue(symbol: string): SimulatedVenue {
    let v = this.venues.get(symbol);
    if (v === undefined) {
      v = new SimulatedVenue({ ...this.options, symbol }, (e) => this.emit(e));
      this.venues.set(symbol, v);
    }
    return v;
  }

  private emit(e: ExecutionEvent): void {
    const copy: ExecutionEvent =
      e.type === "fill"
        ? { type: "fill", order: { ...e.order }, fill: { ...e.fill } }
        : e.type === "accepted"
          ? { type: "accepted", order: { ...e.order } }
          : { type: e.type, order: { ...e.order }, reason: e.reason };
    for (const l of [...this.listeners]) l(copy);
  }
}
