import { AsyncLocalStorage } from "node:async_hooks";
import type { Exchange } from "ccxt";
import { ItbError, NetworkError, TradingError } from "../../core/errors.js";
import type { ExecutionPort } from "../../core/execution.js";
import type { Market } from "../../core/klines.js";
import { type Logger, silentLogger } from "../../core/log.js";
import type {
  Balances,
  Candle,
  ExecutionEvent,
  Fill,
  Order,
  OrderIntent,
  OrderStatus,
  Position,
} from "../../core/trading.js";
import {
  decimalText,
  fitLimitPrice,
  fitQuantity,
  fitStopPrice,
  type OrderRules,
  orderRulesOf,
  ruleBreach,
} from "../orderRules.js";
import { mapExchangeError, type ResponseInfo } from "./errors.js";
import {
  DEFAULT_RETRY,
  ExchangeRequestError,
  type RetryPolicy,
  realSleep,
  type Sleep,
  withRetry,
} from "./retry.js";
import { openUserStream, type UserStream } from "./userStream.js";

/**
 * The execution port on Binance (spot and USD-M futures) through ccxt's signed REST calls:
 * the adapter of shadow-free exchange trading, passing the same conformance suite as the
 * simulated one (test/trading/executionConformance.ts).
 *
 * Never a second order for one decision:
 * - The client order id is the Trader's (derived from market, candle and purpose) and is sent
 *   as `newClientOrderId`; submitting an id the adapter knows returns that order.
 * - When a submission's outcome is unknown (timeout, 5xx, dropped connection, 429/418), the
 *   order is looked up by its client id before anything is sent again; the exchange's
 *   Retry-After is waited out.
 * - An order decided before `inDoubtBefore` (a candle that closed before this process
 *   started, so an earlier run may have sent it before it died) is looked up first too.
 *
 * Fills are learnt from the order's reply (Binance's FULL response), then by polling the
 * orders still working (`sync`, at every candle and every `pollMs`); each fill carries the
 * exchange's trade id and is delivered once. On spot, the commission Binance takes in the
 * bought asset is reported the way the Trader counts: the fill's quantity is what the account
 * received and its fee the commission's value in quote, so quantity × price + fee is what the
 * quote balance paid.
 *
 * Stops and trailing stops are held by the adapter and sent as market orders (reduce-only on
 * futures) when a closed candle reaches their trigger; a one-cancels-the-others group is kept
 * by cancelling the rest of the group when one of its orders fills or triggers. Spot has no
 * reduce-only flag: a reduce-only sell is cut to the base balance the account holds, and refused
 * (`nothing_to_reduce`) when it holds none.
 */

export interface BinanceExecutionOptions {
  /** A ccxt `binance` (spot) or `binanceusdm` (futures) client with the API key and secret. */
  client: Exchange;
  market: Market;
  log?: Logger;
  /** Orders decided before this time (epoch ms) are looked up by client id before being sent. */
  inDoubtBefore?: number;
  retry?: Partial<RetryPolicy>;
  sleep?: Sleep;
  random?: () => number;
  signal?: AbortSignal;
  /** Local clock for times the exchange does not report (default Date.now). */
  now?: () => number;
  /** Futures: the fee assumed when an entry by quote amount is turned into a quantity (default 0.0005). */
  takerFee?: number;
  /** Futures: the leverage and margin type each symbol is set to at start (one-way position mode is required). */
  futures?: { leverage: number; marginType: "ISOLATED" | "CROSSED" };
  /**
   * Futures: stop-losses go to the exchange as STOP_MARKET conditional orders (Binance's algo
   * order service), reduce-only, instead of being held here (default true).
   */
  nativeStops?: boolean;
}

/** What the adapter knows of one order (saved with each candle so a restart resumes it). */
interface Tracked {
  order: Order;
  /** Held by the adapter until its trigger (stop, trailing stop); false once sent. */
  armed: boolean;
  /** Trailing stop: the best price since it was placed. */
  best: number;
  /** Trade ids already delivered. */
  trades: string[];
  /** Base quantity of those trades as the exchange counts it (before commissions). */
  gross: number;
  /** Sent by an earlier run, perhaps: look it up before sending. */
  inDoubt: boolean;
  /** A conditional order of the exchange's algo service (a native futures stop). */
  algo?: boolean;
}

export interface ExchangeExecutionSnapshot {
  version: 1;
  orders: Tracked[];
}

type Raw = Record<string, unknown>;
type Api = Record<string, (params?: Raw) => Promise<unknown>>;

const FINAL: ReadonlySet<OrderStatus> = new Set(["filled", "canceled", "rejected"]);
/** Finished orders kept for idempotency (a retried submission returns the order). */
const KEEP_FINISHED = 500;

const STATUS: Record<string, OrderStatus> = {
  NEW: "new",
  PARTIALLY_FILLED: "partially_filled",
  FILLED: "filled",
  CANCELED: "canceled",
  PENDING_CANCEL: "new",
  EXPIRED: "canceled",
  EXPIRED_IN_MATCH: "canceled",
  REJECTED: "rejected",
};

const n = (v: unknown): number => (v === undefined || v === null || v === "" ? Number.NaN : Number(v));

/** Binance's `{"code":-2010,"msg":"..."}` in a ccxt error message. */
function binanceCode(err: unknown): { code: number; msg: string } | undefined {
  for (let e: unknown = err, d = 0; e instanceof Error && d < 4; e = e.cause, d++) {
    const m = /"code"\s*:\s*(-?\d+)\s*,\s*"msg"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(e.message);
    if (m) return { code: Number(m[1]), msg: m[2] ?? "" };
  }
  return undefined;
}

/** ccxt's class names of an error, along its prototype chain. */
function ccxtClasses(err: unknown): Set<string> {
  const names = new Set<string>();
  for (
    let p = err instanceof Error ? Object.getPrototypeOf(err) : null;
    p && p !== Error.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    const name = (p as { constructor?: { name?: string } }).constructor?.name;
    if (name) names.add(name);
  }
  return names;
}

/**
 * Exchange answers that mean "this order was refused", as the reason the Trader, the ledger and
 * the notifications get. ccxt keeps Binance's code for some answers and only the text for
 * others (it matches "Account has insufficient balance..." by text), so both are read.
 */
function rejection(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const c = binanceCode(err);
  const msg = c?.msg ?? err.message.replace(/^\S+ /, "");
  const kinds = ccxtClasses(err);
  if (
    kinds.has("InsufficientFunds") ||
    c?.code === -2019 ||
    /insufficient balance|margin is insufficient/i.test(msg)
  ) {
    return `insufficient_balance: ${msg}`;
  }
  if (c?.code === -2022 || /ReduceOnly Order is rejected/i.test(msg)) return `nothing_to_reduce: ${msg}`;
  if (c?.code === -4164 || /NOTIONAL/.test(msg)) return `min_notional: ${msg}`;
  if (kinds.has("InvalidOrder") || c?.code === -1013 || c?.code === -2010 || /Filter failure/i.test(msg)) {
    return `filter: ${msg}`;
  }
  return undefined;
}

export class BinanceExecution implements ExecutionPort {
  private readonly ex: Exchange;
  private readonly api: Api;
  private readonly futures: boolean;
  private readonly log: Logger;
  private readonly policy: RetryPolicy;
  private readonly sleep: Sleep;
  private readonly now: () => number;
  private readonly inDoubtBefore: number;
  private readonly takerFee: number;
  private readonly orders = new Map<string, Tracked>();
  private readonly rules = new Map<string, OrderRules>();
  private readonly lastPrice = new Map<string, number>();
  private readonly listeners = new Set<(e: ExecutionEvent) => void>();
  /** Each symbol's calls run one after another, in call order. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly responseSlot = new AsyncLocalStorage<{ response?: ResponseInfo }>();
  private poller: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: BinanceExecutionOptions) {
    this.ex = opts.client;
    this.api = opts.client as unknown as Api;
    this.futures = opts.market === "um";
    this.log = opts.log ?? silentLogger;
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
    this.sleep = opts.sleep ?? realSleep;
    this.now = opts.now ?? Date.now;
    this.inDoubtBefore = opts.inDoubtBefore ?? Number.NEGATIVE_INFINITY;
    this.takerFee = opts.takerFee ?? 0.0005;
    const onRest = this.ex.onRestResponse.bind(this.ex);
    this.ex.onRestResponse = (status, statusText, url, method, headers, body, reqHeaders, reqBody) => {
      const slot = this.responseSlot.getStore();
      if (slot !== undefined)
        slot.response = { status: Number(status), headers: (headers ?? {}) as ResponseInfo["headers"] };
      return onRest(status, statusText, url, method, headers, body, reqHeaders, reqBody);
    };
  }

  // ---- the port ----

  submit(intent: OrderIntent): Promise<Order> {
    return this.serial(intent.symbol, () => this.doSubmit(intent));
  }

  cancel(symbol: string, clientOrderId: string): Promise<Order | undefined> {
    return this.serial(symbol, () => this.doCancel(symbol, clientOrderId, "canceled by the trader"));
  }

  async order(symbol: string, clientOrderId: string): Promise<Order | undefined> {
    const t = this.orders.get(clientOrderId);
    return t === undefined || t.order.symbol !== symbol ? undefined : { ...t.order };
  }

  async openOrders(symbol?: string): Promise<Order[]> {
    return [...this.orders.values()]
      .filter((t) => !FINAL.has(t.order.status) && (symbol === undefined || t.order.symbol === symbol))
      .map((t) => ({ ...t.order }));
  }

  async position(symbol: string): Promise<Position> {
    const r = await this.rulesOf(symbol);
    if (this.futures) {
      const rows = (await this.call(`position ${symbol}`, symbol, () =>
        this.api.fapiPrivateV2GetPositionRisk?.({ symbol }),
      )) as Raw[];
      const row = (Array.isArray(rows) ? rows : []).find(
        (x) => x.symbol === symbol && (x.positionSide === undefined || x.positionSide === "BOTH"),
      );
      const amt = n(row?.positionAmt);
      if (!(Math.abs(amt) > 0)) return { symbol, side: null, quantity: 0, entryPrice: Number.NaN };
      return {
        symbol,
        side: amt > 0 ? "long" : "short",
        quantity: Math.abs(amt),
        entryPrice: n(row?.entryPrice),
      };
    }
    const b = await this.accountBalances();
    const held = (b.get(r.baseAsset)?.free ?? 0) + (b.get(r.baseAsset)?.locked ?? 0);
    // less than one lot step cannot be sold: dust, not a position
    return held >= Math.max(r.stepSize, r.minQty, Number.MIN_VALUE)
      ? { symbol, side: "long", quantity: held, entryPrice: Number.NaN }
      : { symbol, side: null, quantity: 0, entryPrice: Number.NaN };
  }

  async balances(): Promise<Balances> {
    const out: Record<string, number> = {};
    for (const [asset, b] of await this.accountBalances()) out[asset] = b.free;
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
    if (this.poller !== undefined) clearInterval(this.poller);
    await Promise.allSettled([...this.queues.values()]);
    this.listeners.clear();
    await this.ex.close();
    // ccxt keeps an undici keep-alive pool that `close()` leaves open
    const dispatcher = (this.ex as unknown as { fetchDispatcher?: { close(): Promise<void> } })
      .fetchDispatcher;
    await dispatcher?.close().catch(() => undefined);
  }

  // ---- beyond the port: the live service's hooks ----

  /** Loads the symbols' rules and checks the keys (a signed read): wrong keys fail here, once. */
  async start(symbols: readonly string[]): Promise<void> {
    await this.call("server time", undefined, () => this.syncClock());
    for (const s of symbols) await this.rulesOf(s);
    await this.accountBalances();
    if (this.futures) await this.setUpFutures(symbols);
  }

  /**
   * Futures account settings: one-way position mode (a hedge-mode account halts: its positions
   * have two sides the Trader does not model), then each symbol's leverage and margin type
   * ("no need to change" answers are fine).
   */
  private async setUpFutures(symbols: readonly string[]): Promise<void> {
    const mode = (await this.call("position mode", undefined, () =>
      this.api.fapiPrivateGetPositionSideDual?.(),
    )) as Raw;
    if (mode.dualSidePosition === true || mode.dualSidePosition === "true") {
      throw new TradingError(
        "the futures account is in hedge mode (dual side positions); itb trades one-way: switch the account to one-way mode (Preferences → Position Mode) with no positions open",
      );
    }
    const f = this.opts.futures;
    if (f === undefined) return;
    for (const symbol of symbols) {
      await this.call(`leverage ${symbol}`, symbol, () =>
        this.api.fapiPrivatePostLeverage?.({ symbol, leverage: f.leverage }),
      );
      try {
        await this.call(`margin type ${symbol}`, symbol, () =>
          this.api.fapiPrivatePostMarginType?.({ symbol, marginType: f.marginType }),
        );
      } catch (err) {
        // -4046 "No need to change margin type."
        if (binanceCode(err)?.code !== -4046 && !/No need to change margin type/i.test(String(err)))
          throw err;
      }
    }
  }

  /**
   * A closed candle of `symbol`: held stops whose trigger it reached are sent, then the
   * orders still working are polled for fills. Call it before the Trader decides on the candle.
   */
  onCandle(symbol: string, c: Candle): Promise<void> {
    return this.serial(symbol, async () => {
      if (Number.isFinite(c.close)) this.lastPrice.set(symbol, c.close);
      for (const t of [...this.orders.values()]) {
        if (t.order.symbol !== symbol || !t.armed || FINAL.has(t.order.status)) continue;
        if (this.triggered(t, c)) await this.fire(t);
      }
      await this.poll(symbol);
    });
  }

  /** Polls the working orders of `symbol` (all symbols when omitted) for fills and state changes. */
  sync(symbol?: string): Promise<void> {
    const symbols =
      symbol === undefined ? [...new Set([...this.orders.values()].map((t) => t.order.symbol))] : [symbol];
    return Promise.all(symbols.map((s) => this.serial(s, () => this.poll(s)))).then(() => undefined);
  }

  /**
   * Follows the account's user-data stream at `wsBase` (the WebSocket base; the listen key is
   * appended): each order event makes the adapter poll that symbol's orders at once, and each
   * (re)connection polls them all. Polling every `pollEvery` goes on beside it, so a stream that
   * is down only slows the news of a fill.
   */
  listen(wsBase: string, signal: AbortSignal): UserStream {
    return openUserStream({
      wsBase,
      createKey: async () => {
        const r = (await this.call("listen key", undefined, () =>
          this.futures ? this.api.fapiPrivatePostListenKey?.() : this.spotListenKey("POST"),
        )) as Raw;
        return String(r.listenKey);
      },
      keepAlive: async (listenKey) => {
        await this.call("listen key keep-alive", undefined, () =>
          this.futures ? this.api.fapiPrivatePutListenKey?.() : this.spotListenKey("PUT", listenKey),
        );
      },
      onEvent: (symbol) => {
        const known = [...this.orders.values()].some((t) => t.order.symbol === symbol);
        if (symbol === undefined || !known) return;
        this.sync(symbol).catch((err: unknown) =>
          this.log.warn(
            { symbol, err: err instanceof Error ? err.message : String(err) },
            "order poll failed",
          ),
        );
      },
      onOpen: () => {
        this.sync().catch((err: unknown) =>
          this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "order poll failed"),
        );
      },
      log: this.log,
      signal,
    });
  }

  /**
   * Spot's listen key (`/api/v3/userDataStream`, the API key alone, no signature): not in
   * ccxt's implicit API, so sent by hand to ccxt's REST base.
   */
  private async spotListenKey(method: "POST" | "PUT", listenKey?: string): Promise<Raw> {
    const api = (this.ex.urls as { api?: Record<string, unknown> }).api ?? {};
    const base = String(api.public ?? api.private ?? "").replace(/\/+$/, "");
    const query = listenKey === undefined ? "" : `?listenKey=${encodeURIComponent(listenKey)}`;
    const res = await fetch(`${base}/userDataStream${query}`, {
      method,
      headers: { "X-MBX-APIKEY": String(this.ex.apiKey) },
    });
    const body = (await res.json().catch(() => ({}))) as Raw;
    if (!res.ok) {
      throw new NetworkError(`listen key: HTTP ${res.status} ${JSON.stringify(body).slice(0, 200)}`, {
        status: res.status,
        action: res.status >= 500 || res.status === 429 ? "retry" : "halt",
      });
    }
    return body;
  }

  /** Polls every `ms` while orders are working (the fallback of a user-data stream). */
  pollEvery(ms: number): void {
    if (this.poller !== undefined) clearInterval(this.poller);
    this.poller = setInterval(() => {
      if ([...this.orders.values()].some((t) => !t.armed && !FINAL.has(t.order.status))) {
        this.sync().catch((err: unknown) =>
          this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "order poll failed"),
        );
      }
    }, ms);
    this.poller.unref();
  }

  /** What to save with a candle so that a restart resumes the orders. */
  snapshot(symbol: string): ExchangeExecutionSnapshot {
    return {
      version: 1,
      orders: [...this.orders.values()]
        .filter((t) => t.order.symbol === symbol)
        .map((t) => ({ ...t, order: { ...t.order }, trades: [...t.trades] })),
    };
  }

  /**
   * Restores what `snapshot` saved and asks the exchange about every order that was working:
   * fills and cancellations that happened while the service was down are delivered as events.
   */
  async restore(symbol: string, s: ExchangeExecutionSnapshot): Promise<void> {
    if (s.version !== 1) throw new TradingError(`unknown exchange execution snapshot version ${s.version}`);
    for (const t of s.orders) {
      // anything not finished may have changed, or been sent just before the process died
      this.orders.set(t.order.clientOrderId, { ...t, inDoubt: t.inDoubt || !FINAL.has(t.order.status) });
    }
    await this.serial(symbol, async () => {
      // a held stop the earlier run may have fired after its last record: sent under its id
      for (const t of [...this.orders.values()]) {
        if (t.order.symbol !== symbol || !t.armed || FINAL.has(t.order.status)) continue;
        const found = await this.lookup(symbol, t.order.clientOrderId);
        if (found === undefined) continue;
        this.log.info(
          { symbol, clientOrderId: t.order.clientOrderId },
          "a held stop was sent before the restart",
        );
        t.armed = false;
        t.inDoubt = false;
        t.order = { ...t.order, type: "market", price: undefined };
        await this.absorb(t, found);
      }
      await this.poll(symbol);
    });
  }

  /**
   * The exchange's open orders of `symbol` that this adapter does not know (start-up
   * reconciliation: someone else's, or an earlier run's the ledger lost).
   */
  async unknownOpenOrders(symbol: string): Promise<{ clientOrderId: string; side: string; type: string }[]> {
    const rows = (await this.call(`open orders ${symbol}`, symbol, () =>
      this.futures
        ? this.api.fapiPrivateGetOpenOrders?.({ symbol })
        : this.api.privateGetOpenOrders?.({ symbol }),
    )) as Raw[];
    return rows
      .filter((r) => !this.orders.has(String(r.clientOrderId)))
      .map((r) => ({ clientOrderId: String(r.clientOrderId), side: String(r.side), type: String(r.type) }));
  }

  /** The exchange's time as the signing clock estimates it (ms). */
  serverNow(): number {
    return this.ex.milliseconds() - Number((this.ex.options as Raw).timeDifference ?? 0);
  }

  /** USD-M futures (positions both ways, reduce-only orders) rather than spot. */
  get isFutures(): boolean {
    return this.futures;
  }

  /** The smallest quantity step of `symbol`. */
  async lotStep(symbol: string): Promise<number> {
    const r = await this.rulesOf(symbol);
    return Math.max(r.stepSize, r.minQty);
  }

  /**
   * Closes a futures position the Trader does not hold (reconciliation's `cancel` policy): a
   * reduce-only market order for `held` (signed: long > 0), with client id `clientOrderId`.
   */
  async closePosition(symbol: string, held: number, clientOrderId: string): Promise<void> {
    await this.submit({
      clientOrderId,
      symbol,
      side: held > 0 ? "sell" : "buy",
      type: "market",
      quantity: Math.abs(held),
      reduceOnly: true,
      purpose: "manual",
      decidedAt: this.now(),
    });
  }

  /**
   * Orders of `symbol` since `since` whose client id starts with `prefix` (this market's own
   * ids) that the adapter does not track: sent by a run that died before recording them. Each
   * is taken over: tracked, its fills delivered as events (accepted, fill, ...), and cancelled
   * when still working (the Trader places its own orders for the position). Returns the base
   * quantity they bought (+) or sold (−), net of commissions, and their average price.
   */
  async adoptOwnOrders(
    symbol: string,
    prefix: string,
    since: number,
  ): Promise<{ ids: string[]; net: number; averagePrice: number; lastFill: number }> {
    // Binance answers at most 24 hours of orders from startTime
    const params = { symbol, startTime: Math.max(since, this.serverNow() - 23 * 3_600_000), limit: 1000 };
    const rows = (await this.call(`orders of ${symbol} since ${since}`, symbol, () =>
      this.futures ? this.api.fapiPrivateGetAllOrders?.(params) : this.api.privateGetAllOrders?.(params),
    )) as Raw[];
    const out = { ids: [] as string[], net: 0, averagePrice: Number.NaN, lastFill: Number.NaN };
    let notional = 0;
    let gross = 0;
    for (const r of rows) {
      const id = String(r.clientOrderId);
      if (!id.startsWith(prefix) || this.orders.has(id)) continue;
      await this.serial(symbol, async () => {
        const o = this.newOrder(
          {
            clientOrderId: id,
            symbol,
            side: r.side === "SELL" ? "sell" : "buy",
            type: r.type === "LIMIT" ? "limit" : "market",
            ...(n(r.price) > 0 ? { price: n(r.price) } : {}),
            quantity: n(r.origQty),
            reduceOnly: r.reduceOnly === true,
            purpose: "manual",
            decidedAt: n(r.time),
          },
          "new",
        );
        const t = this.track(o, false);
        this.emit({ type: "accepted", order: { ...o, exchangeOrderId: String(r.orderId) } });
        await this.absorb(t, r);
        if (!FINAL.has(t.order.status)) await this.doCancel(symbol, id, "an earlier run's order, taken over");
        const sign = t.order.side === "buy" ? 1 : -1;
        out.net += sign * t.order.filledQuantity;
        if (t.order.filledQuantity > 0) {
          notional += t.order.filledQuantity * t.order.averagePrice;
          gross += t.order.filledQuantity;
          out.lastFill = t.order.updatedAt;
        }
      });
      out.ids.push(id);
    }
    if (gross > 0) out.averagePrice = notional / gross;
    return out;
  }

  /** Cancels an order the adapter does not track (reconciliation's `cancel` policy). */
  async cancelForeign(symbol: string, clientOrderId: string): Promise<void> {
    await this.call(`cancel ${clientOrderId}`, symbol, () =>
      this.futures
        ? this.api.fapiPrivateDeleteOrder?.({ symbol, origClientOrderId: clientOrderId })
        : this.api.privateDeleteOrder?.({ symbol, origClientOrderId: clientOrderId }),
    );
  }

  // ---- internals ----

  private serial<T>(symbol: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new TradingError("the exchange execution adapter is closed"));
    const prev = this.queues.get(symbol) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.queues.set(symbol, tail);
    return next;
  }

  private emit(e: ExecutionEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  private async rulesOf(symbol: string): Promise<OrderRules> {
    const known = this.rules.get(symbol);
    if (known !== undefined) return known;
    const info = (await this.call(`exchange info ${symbol}`, symbol, () =>
      this.futures ? this.api.fapiPublicGetExchangeInfo?.() : this.api.publicGetExchangeInfo?.({ symbol }),
    )) as { symbols?: Raw[] };
    const entry = info.symbols?.find((s) => s.symbol === symbol);
    if (entry === undefined) {
      throw new NetworkError(`${symbol}: the exchange does not know this symbol`, { action: "halt" });
    }
    const r = orderRulesOf(entry);
    this.rules.set(symbol, r);
    return r;
  }

  private async accountBalances(): Promise<Map<string, { free: number; locked: number }>> {
    const out = new Map<string, { free: number; locked: number }>();
    if (this.futures) {
      const rows = (await this.call("balance", undefined, () =>
        this.api.fapiPrivateV2GetBalance?.(),
      )) as Raw[];
      for (const r of rows) {
        const free = n(r.availableBalance);
        out.set(String(r.asset), { free, locked: Math.max(0, n(r.balance) - free) });
      }
      return out;
    }
    const acc = (await this.call("account", undefined, () =>
      this.api.privateGetAccount?.({ omitZeroBalances: "true" }),
    )) as { balances?: Raw[] };
    for (const b of acc.balances ?? []) out.set(String(b.asset), { free: n(b.free), locked: n(b.locked) });
    return out;
  }

  /**
   * One signed or public request with the exchange's errors mapped to itb's; transient failures
   * (and a clock that drifted out of the receive window) are retried. Only for requests that
   * are safe to repeat: orders are placed by `place`.
   */
  private call<T>(what: string, symbol: string | undefined, fn: () => Promise<T> | undefined): Promise<T> {
    const deps = {
      sleep: this.sleep,
      random: this.opts.random ?? Math.random,
      log: this.log,
      ...(this.opts.signal === undefined ? {} : { signal: this.opts.signal }),
    };
    return withRetry(what, () => this.once(what, symbol, fn), this.policy, deps);
  }

  /** One try; a -1021 (timestamp outside the receive window) resyncs the clock and asks for a retry. */
  private async once<T>(
    what: string,
    symbol: string | undefined,
    fn: () => Promise<T> | undefined,
  ): Promise<T> {
    const slot: { response?: ResponseInfo } = {};
    try {
      const p = this.responseSlot.run(slot, fn);
      if (p === undefined) throw new TradingError(`${what}: the ccxt client has no such endpoint`);
      return await p;
    } catch (err) {
      if (binanceCode(err)?.code === -1021) {
        await this.syncClock();
        throw new ExchangeRequestError(`${what}: the request's timestamp was outside the receive window`, {
          retryAfterMs: 0,
          cause: err,
        });
      }
      throw mapExchangeError(err, {
        venue: this.ex.id,
        request: what,
        ...(symbol === undefined ? {} : { symbol }),
        ...(slot.response === undefined ? {} : { response: slot.response }),
      });
    }
  }

  /** Measures the exchange's clock against ours (ccxt signs with `now − timeDifference`). */
  private async syncClock(): Promise<void> {
    const before = this.ex.milliseconds();
    const r = (await (this.futures ? this.api.fapiPublicGetTime?.() : this.api.publicGetTime?.())) as Raw;
    const after = this.ex.milliseconds();
    const server = n(r?.serverTime);
    if (Number.isFinite(server)) {
      (this.ex.options as Raw).timeDifference = Math.round((before + after) / 2 - server);
    }
  }

  private newOrder(intent: OrderIntent, status: OrderStatus, reason?: string): Order {
    const t = this.now();
    return {
      ...intent,
      status,
      filledQuantity: 0,
      averagePrice: Number.NaN,
      fees: 0,
      ...(reason === undefined ? {} : { reason }),
      createdAt: t,
      updatedAt: t,
    };
  }

  private track(order: Order, armed: boolean, inDoubt = false): Tracked {
    const t: Tracked = { order, armed, best: order.price ?? Number.NaN, trades: [], gross: 0, inDoubt };
    this.orders.set(order.clientOrderId, t);
    this.trim();
    return t;
  }

  private trim(): void {
    if (this.orders.size <= KEEP_FINISHED * 2) return;
    let drop = this.orders.size - KEEP_FINISHED;
    for (const [id, t] of this.orders) {
      if (drop <= 0) break;
      if (FINAL.has(t.order.status)) {
        this.orders.delete(id);
        drop--;
      }
    }
  }

  private reject(t: Tracked, reason: string): Order {
    t.order.status = "rejected";
    t.order.reason = reason;
    t.order.updatedAt = this.now();
    t.armed = false;
    this.emit({ type: "rejected", order: { ...t.order }, reason });
    return { ...t.order };
  }

  private async doSubmit(intent: OrderIntent): Promise<Order> {
    const known = this.orders.get(intent.clientOrderId);
    if (known !== undefined) return { ...known.order };
    const rules = await this.rulesOf(intent.symbol);
    const inDoubt = intent.decidedAt < this.inDoubtBefore;
    if (intent.type === "stop" && this.futures && this.opts.nativeStops !== false) {
      const t = this.track(this.newOrder(intent, "new"), false, inDoubt);
      t.algo = true;
      return this.place(t, rules, true);
    }
    if (
      intent.type === "limit" &&
      !this.futures &&
      intent.ocoGroup !== undefined &&
      this.opts.nativeStops !== false
    ) {
      // spot: a take-profit joining a held stop-loss of its group goes out with it as one OCO list
      const stop = [...this.orders.values()].find(
        (x) =>
          x.armed &&
          x.order.type === "stop" &&
          x.order.symbol === intent.symbol &&
          x.order.ocoGroup === intent.ocoGroup &&
          x.order.side === intent.side &&
          !FINAL.has(x.order.status),
      );
      if (stop !== undefined) {
        const tp = this.track(this.newOrder(intent, "new"), false, inDoubt);
        if (await this.placeOco(stop, tp, rules)) return { ...tp.order };
        // refused (the price is past a leg already): the take-profit alone, the stop held here
        return this.place(tp, rules, true);
      }
    }
    if (intent.type === "stop" || intent.type === "trailing_stop") {
      // held here until a candle reaches the trigger
      const t = this.track(this.newOrder(intent, "new"), true, inDoubt);
      this.emit({ type: "accepted", order: { ...t.order } });
      return { ...t.order };
    }
    return this.place(this.track(this.newOrder(intent, "new"), false, inDoubt), rules, true);
  }

  /** The request parameters of an order, fitted to the rules; a text when it cannot be placed. */
  private async params(t: Tracked, rules: OrderRules): Promise<Raw | string> {
    const o = t.order;
    const price = this.lastPrice.get(o.symbol) ?? Number.NaN;
    const p: Raw = {
      symbol: o.symbol,
      side: o.side === "buy" ? "BUY" : "SELL",
      newClientOrderId: o.clientOrderId,
      newOrderRespType: this.futures ? "RESULT" : "FULL",
    };
    let qty = o.quantity ?? Number.NaN;
    if (t.algo === true) {
      qty = fitQuantity(rules, qty, true);
      const trigger = fitStopPrice(rules, o.price ?? Number.NaN);
      const breach = ruleBreach(rules, qty, trigger, true);
      if (breach !== undefined && !breach.startsWith("min_notional")) return breach;
      return {
        algoType: "CONDITIONAL",
        symbol: o.symbol,
        side: o.side === "buy" ? "BUY" : "SELL",
        type: "STOP_MARKET",
        triggerPrice: decimalText(trigger, rules.tickSize),
        quantity: decimalText(qty, rules.stepSize),
        reduceOnly: "true",
        workingType: "CONTRACT_PRICE",
        clientAlgoId: o.clientOrderId,
      };
    }
    if (!this.futures && o.reduceOnly) {
      // spot has no reduce-only flag: sell at most what the account holds
      if (o.side !== "sell") return "nothing_to_reduce: spot cannot buy back a short";
      const held = (await this.accountBalances()).get(rules.baseAsset)?.free ?? 0;
      if (!(held > 0)) return `nothing_to_reduce: no ${rules.baseAsset} held`;
      qty = Math.min(qty, held);
    }
    if (o.type === "limit") {
      const limit = fitLimitPrice(rules, o.price ?? Number.NaN, o.side);
      qty = fitQuantity(rules, qty, false);
      const breach = ruleBreach(rules, qty, limit, false);
      if (breach !== undefined) return breach;
      Object.assign(p, {
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: decimalText(qty, rules.stepSize),
        price: decimalText(limit, rules.tickSize),
      });
    } else if (o.quoteQuantity !== undefined && !(o.side === "buy" && !this.futures)) {
      // futures and spot sells by quote amount: the quantity from the last price, fee included
      if (!(price > 0)) return "no price yet to size the order by quote amount";
      if (!this.futures) return "short_not_supported: spot cannot sell what it does not hold";
      qty = fitQuantity(rules, o.quoteQuantity / (price * (1 + this.takerFee)), true);
      const breach = ruleBreach(rules, qty, price, true);
      if (breach !== undefined) return breach;
      Object.assign(p, { type: "MARKET", quantity: decimalText(qty, rules.stepSize) });
    } else if (o.quoteQuantity !== undefined) {
      // a spot market buy by quote amount: Binance's quoteOrderQty (the commission is taken in the base)
      if (price > 0 && rules.minNotionalMarket && o.quoteQuantity < rules.minNotional) {
        return `min_notional: ${o.quoteQuantity.toFixed(2)} ${rules.quoteAsset} below the minimum ${rules.minNotional}`;
      }
      Object.assign(p, { type: "MARKET", quoteOrderQty: decimalText(o.quoteQuantity, rules.tickSize) });
    } else {
      qty = fitQuantity(rules, qty, true);
      const breach = ruleBreach(rules, qty, price > 0 ? price : Number.POSITIVE_INFINITY, true);
      if (breach !== undefined && !(o.reduceOnly && breach.startsWith("min_notional"))) return breach;
      Object.assign(p, { type: "MARKET", quantity: decimalText(qty, rules.stepSize) });
    }
    if (this.futures && o.reduceOnly) p.reduceOnly = "true";
    return p;
  }

  /**
   * Sends an order so that it exists at most once: an order in doubt is looked up first; when
   * the reply does not come (timeout, 5xx, a dropped connection, 429/418), the order is looked
   * up by its client id before it is sent again, after the exchange's Retry-After or a backoff.
   */
  private async place(t: Tracked, rules: OrderRules, announce: boolean): Promise<Order> {
    const o = t.order;
    const params = await this.params(t, rules);
    if (typeof params === "string") return this.reject(t, params);
    for (let attempt = 0; ; attempt++) {
      if (t.inDoubt || attempt > 0) {
        const found = await this.lookupOf(t);
        if (found !== undefined) {
          this.log.info(
            { symbol: o.symbol, clientOrderId: o.clientOrderId, status: found.status },
            "order found on the exchange; not sent again",
          );
          t.inDoubt = false;
          if (announce)
            this.emit({ type: "accepted", order: { ...t.order, exchangeOrderId: exchangeId(found) } });
          await this.absorbOf(t, found);
          return { ...t.order };
        }
        t.inDoubt = false;
      }
      const slot: { response?: ResponseInfo } = {};
      try {
        const reply = (await this.responseSlot.run(slot, () =>
          t.algo === true
            ? this.api.fapiPrivatePostAlgoOrder?.(params)
            : this.futures
              ? this.api.fapiPrivatePostOrder?.(params)
              : this.api.privatePostOrder?.(params),
        )) as Raw;
        if (announce)
          this.emit({ type: "accepted", order: { ...t.order, exchangeOrderId: exchangeId(reply) } });
        await this.absorbOf(t, reply);
        return { ...t.order };
      } catch (err) {
        if (t.algo === true && binanceCode(err)?.code === -2021) {
          // the price is past the stop already: it goes out at market now
          this.log.info(
            { symbol: o.symbol, clientOrderId: o.clientOrderId },
            "stop already reached; sending a market order",
          );
          t.algo = false;
          t.order = { ...t.order, type: "market", price: undefined };
          return this.place(t, rules, announce);
        }
        const reason = rejection(err);
        if (reason !== undefined) {
          this.log.warn(
            { symbol: o.symbol, clientOrderId: o.clientOrderId, reason },
            "order rejected by the exchange",
          );
          return this.reject(t, reason);
        }
        if (binanceCode(err)?.code === -1021) await this.syncClock();
        const mapped = mapExchangeError(err, {
          venue: this.ex.id,
          request: `order ${o.clientOrderId}`,
          symbol: o.symbol,
          ...(slot.response === undefined ? {} : { response: slot.response }),
        });
        const retry =
          binanceCode(err)?.code === -1021 || (mapped instanceof ItbError && mapped.action === "retry");
        if (!retry || attempt + 1 >= this.policy.attempts) {
          // the outcome may be unknown: the next poll looks the order up and settles it
          t.inDoubt = true;
          throw mapped;
        }
        const after = mapped instanceof ExchangeRequestError ? mapped.retryAfterMs : undefined;
        if (after !== undefined && after > this.policy.maxRetryAfterMs) {
          t.inDoubt = true;
          throw new NetworkError(
            `order ${o.clientOrderId}: the exchange asks to wait ${Math.round(after / 1000)} s; not sent, try again later`,
            { action: "halt", cause: mapped },
          );
        }
        const wait =
          after ??
          Math.floor(
            (this.opts.random ?? Math.random)() *
              Math.min(this.policy.capMs, this.policy.baseMs * 2 ** attempt),
          );
        this.log.warn(
          {
            symbol: o.symbol,
            clientOrderId: o.clientOrderId,
            attempt: attempt + 1,
            waitMs: wait,
            error: String((mapped as Error).message ?? mapped),
          },
          "order outcome unknown; looking it up before sending again",
        );
        await this.sleep(wait, this.opts.signal);
      }
    }
  }

  /**
   * Sends a held stop-loss and its take-profit as one spot OCO list (LIMIT_MAKER above,
   * STOP_LOSS below for a sell; the mirror for a buy), the legs carrying the Trader's client
   * ids. A list already on the exchange (an earlier run's, or a lost reply) is found by its
   * take-profit's id first. False when the exchange refuses the list (the caller falls back).
   */
  private async placeOco(stop: Tracked, tp: Tracked, rules: OrderRules): Promise<boolean> {
    const o = tp.order;
    const sell = o.side === "sell";
    let qty = Math.min(o.quantity ?? Number.NaN, stop.order.quantity ?? Number.NaN);
    if (sell) qty = Math.min(qty, (await this.accountBalances()).get(rules.baseAsset)?.free ?? 0);
    qty = fitQuantity(rules, qty, false);
    const limit = fitLimitPrice(rules, o.price ?? Number.NaN, o.side);
    const trigger = fitStopPrice(rules, stop.order.price ?? Number.NaN);
    if (ruleBreach(rules, qty, Math.min(limit, trigger), false) !== undefined) return false;
    const tpLeg = {
      Type: "LIMIT_MAKER",
      Price: decimalText(limit, rules.tickSize),
      ClientOrderId: o.clientOrderId,
    };
    const slLeg = {
      Type: "STOP_LOSS",
      StopPrice: decimalText(trigger, rules.tickSize),
      ClientOrderId: stop.order.clientOrderId,
    };
    const [above, below] = sell ? [tpLeg, slLeg] : [slLeg, tpLeg];
    const params: Raw = {
      symbol: o.symbol,
      side: sell ? "SELL" : "BUY",
      quantity: decimalText(qty, rules.stepSize),
      listClientOrderId: `${o.clientOrderId}-oco`,
      newOrderRespType: "FULL",
    };
    for (const [prefix, leg] of [
      ["above", above],
      ["below", below],
    ] as const) {
      for (const [k, v] of Object.entries(leg)) params[`${prefix}${k}`] = v;
    }
    const adopt = async (legs: Raw[]) => {
      stop.armed = false;
      stop.inDoubt = false;
      tp.inDoubt = false;
      for (const t of [tp, stop]) {
        const leg = legs.find((x) => x.clientOrderId === t.order.clientOrderId);
        if (t === tp)
          this.emit({ type: "accepted", order: { ...t.order, exchangeOrderId: exchangeId(leg ?? {}) } });
        if (leg !== undefined) await this.absorb(t, leg);
      }
    };
    if (tp.inDoubt) {
      const found = await this.lookup(o.symbol, o.clientOrderId);
      if (found !== undefined) {
        const other = await this.lookup(o.symbol, stop.order.clientOrderId);
        await adopt(other === undefined ? [found] : [found, other]);
        return true;
      }
    }
    try {
      // one try: a list whose reply was lost is looked up below, never sent twice
      const reply = (await this.once(`OCO ${o.clientOrderId}`, o.symbol, () =>
        this.api.privatePostOrderListOco?.(params),
      )) as Raw;
      await adopt((reply.orderReports as Raw[] | undefined) ?? []);
      this.log.info(
        { symbol: o.symbol, takeProfit: o.clientOrderId, stopLoss: stop.order.clientOrderId },
        "stop-loss and take-profit placed as one OCO list",
      );
      return true;
    } catch (err) {
      const reason = rejection(err);
      if (reason !== undefined) {
        this.log.warn(
          { symbol: o.symbol, takeProfit: o.clientOrderId, reason },
          "OCO list refused; the stop is held here",
        );
        return false;
      }
      if (!(err instanceof ItbError) || err.action !== "retry") throw err;
      // the outcome is unknown: the list exists if its take-profit leg does
      const found = await this.lookup(o.symbol, o.clientOrderId);
      if (found === undefined) return false;
      const other = await this.lookup(o.symbol, stop.order.clientOrderId);
      await adopt(other === undefined ? [found] : [found, other]);
      return true;
    }
  }

  /** The exchange's view of a tracked order (a plain or a conditional one), or undefined. */
  private lookupOf(t: Tracked): Promise<Raw | undefined> {
    return t.algo === true
      ? this.lookupAlgo(t.order.symbol, t.order.clientOrderId)
      : this.lookup(t.order.symbol, t.order.clientOrderId);
  }

  private lookupAlgo(symbol: string, clientAlgoId: string): Promise<Raw | undefined> {
    return this.orNone(`conditional order ${clientAlgoId}`, symbol, () =>
      this.api.fapiPrivateGetAlgoOrder?.({ clientAlgoId }),
    );
  }

  /**
   * A conditional order's state: once triggered, the market order it became (same client id)
   * brings the fills; cancelled, expired (nothing left to reduce) or rejected ends it.
   */
  private async absorbOf(t: Tracked, raw: Raw): Promise<void> {
    if (t.algo !== true) return this.absorb(t, raw);
    const actual = raw.actualOrderId;
    if (actual !== undefined && actual !== null && actual !== "") {
      const symbol = t.order.symbol;
      const order = (await this.call(`order ${String(actual)}`, symbol, () =>
        this.api.fapiPrivateGetOrder?.({ symbol, orderId: String(actual) }),
      )) as Raw;
      return this.absorb(t, order);
    }
    const status = String(raw.algoStatus);
    if (status === "CANCELED" || status === "EXPIRED" || status === "REJECTED") {
      return this.absorb(t, { status });
    }
  }

  /** The exchange's order by client id, or undefined when it has none. */
  private lookup(symbol: string, clientOrderId: string): Promise<Raw | undefined> {
    return this.orNone(`order ${clientOrderId}`, symbol, () =>
      this.futures
        ? this.api.fapiPrivateGetOrder?.({ symbol, origClientOrderId: clientOrderId })
        : this.api.privateGetOrder?.({ symbol, origClientOrderId: clientOrderId }),
    );
  }

  /** The exchange's answer about one order, or undefined when it has no such order (-2011, -2013). */
  private async orNone(
    what: string,
    symbol: string,
    request: () => Promise<unknown> | undefined,
  ): Promise<Raw | undefined> {
    try {
      return (await this.call(what, symbol, request)) as Raw;
    } catch (err) {
      const code = binanceCode(err)?.code;
      if (code === -2013 || code === -2011) return undefined;
      throw err;
    }
  }

  /**
   * Brings a tracked order up to the exchange's view of it (a reply or a lookup): new fills are
   * delivered (from the reply's fills, else the account's trades of the order), then a final
   * cancellation or rejection.
   */
  private async absorb(t: Tracked, raw: Raw): Promise<void> {
    const o = t.order;
    if (raw.orderId !== undefined) o.exchangeOrderId = String(raw.orderId);
    const status = STATUS[String(raw.status)] ?? o.status;
    const executed = n(raw.executedQty);
    let fills = Array.isArray(raw.fills) ? this.replyFills(raw.fills as Raw[], n(raw.transactTime)) : [];
    if (executed > t.gross * (1 + 1e-12) && fills.length === 0) {
      fills = await this.tradesOf(o.symbol, o.exchangeOrderId as string);
    }
    const fresh = fills.filter((f) => !t.trades.includes(f.tradeId));
    for (let i = 0; i < fresh.length; i++) {
      const f = fresh[i] as RawFill;
      t.trades.push(f.tradeId);
      t.gross += f.qty;
      const fill = this.toFill(o, f, status === "filled" && i === fresh.length - 1);
      o.filledQuantity += fill.quantity;
      o.fees += fill.fee;
      o.averagePrice = Number.isNaN(o.averagePrice)
        ? fill.price
        : (o.averagePrice * (o.filledQuantity - fill.quantity) + fill.price * fill.quantity) /
          o.filledQuantity;
      o.status = fill.final ? "filled" : "partially_filled";
      o.updatedAt = fill.time;
      // the rest of the group goes first, as the exchange (and the simulated venue) cancel it at
      // the fill: the Trader then learns of the fill with nothing of the group left to cancel
      if (o.ocoGroup !== undefined) await this.cancelGroup(t);
      this.emit({ type: "fill", order: { ...o }, fill });
    }
    if (status === "canceled" || status === "rejected") {
      if (!FINAL.has(o.status)) {
        o.status = status;
        o.reason =
          status === "canceled"
            ? `canceled on the exchange (${String(raw.status)})`
            : "rejected by the exchange";
        o.updatedAt = n(raw.updateTime) || this.now();
        const reason = o.reason;
        this.emit(
          status === "canceled"
            ? { type: "canceled", order: { ...o }, reason }
            : { type: "rejected", order: { ...o }, reason },
        );
      }
    } else if (status === "filled" && o.status !== "filled" && fresh.length === 0 && executed > 0) {
      // every trade was delivered before, but not as final (a poll between two fills)
      o.status = "filled";
    }
  }

  /** The fills of a spot FULL reply (taker fills at the order's transaction time). */
  private replyFills(rows: Raw[], time: number): RawFill[] {
    return rows.map((r) => ({
      tradeId: String(r.tradeId),
      price: n(r.price),
      qty: n(r.qty),
      commission: n(r.commission),
      commissionAsset: String(r.commissionAsset),
      time: Number.isFinite(time) ? time : this.now(),
      maker: false,
    }));
  }

  private async tradesOf(symbol: string, orderId: string): Promise<RawFill[]> {
    const rows = (await this.call(`trades of order ${orderId}`, symbol, () =>
      this.futures
        ? this.api.fapiPrivateGetUserTrades?.({ symbol, orderId })
        : this.api.privateGetMyTrades?.({ symbol, orderId }),
    )) as Raw[];
    return rows
      .filter((r) => String(r.orderId) === orderId)
      .map((r) => ({
        tradeId: String(r.id),
        price: n(r.price),
        qty: n(r.qty),
        commission: n(r.commission),
        commissionAsset: String(r.commissionAsset),
        time: n(r.time),
        maker: r.isMaker === true || r.maker === true,
      }));
  }

  /** A Binance trade as the Trader counts it (see the class comment for spot's commission). */
  private toFill(o: Order, f: RawFill, final: boolean): Fill {
    const rules = this.rules.get(o.symbol);
    let quantity = f.qty;
    let fee: number;
    if (rules !== undefined && f.commissionAsset === rules.baseAsset) {
      if (o.side === "buy") quantity = f.qty - f.commission;
      fee = f.commission * f.price;
    } else if (rules === undefined || f.commissionAsset === rules.quoteAsset) {
      fee = f.commission;
    } else {
      // paid in another asset (BNB): its value in quote is not known here
      fee = 0;
      this.log.warn(
        { symbol: o.symbol, asset: f.commissionAsset },
        "commission paid in a third asset is not counted",
      );
    }
    return {
      clientOrderId: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      price: f.price,
      quantity,
      fee,
      liquidity: f.maker ? "maker" : "taker",
      time: f.time,
      final,
      tradeId: f.tradeId,
    };
  }

  /** Cancels the other working orders of `t`'s one-cancels-the-others group. */
  private async cancelGroup(t: Tracked): Promise<void> {
    for (const other of [...this.orders.values()]) {
      if (other === t || other.order.ocoGroup !== t.order.ocoGroup || other.order.symbol !== t.order.symbol)
        continue;
      if (FINAL.has(other.order.status)) continue;
      await this.doCancel(
        other.order.symbol,
        other.order.clientOrderId,
        `one-cancels-the-other: ${t.order.purpose} ${t.order.clientOrderId}`,
      );
    }
  }

  private async doCancel(symbol: string, clientOrderId: string, reason: string): Promise<Order | undefined> {
    const t = this.orders.get(clientOrderId);
    if (t === undefined || t.order.symbol !== symbol) return undefined;
    const o = t.order;
    if (FINAL.has(o.status)) return { ...o };
    if (!t.armed) {
      try {
        const raw = (await this.call(`cancel ${clientOrderId}`, symbol, () =>
          t.algo === true
            ? this.api.fapiPrivateDeleteAlgoOrder?.({ symbol, clientAlgoId: clientOrderId })
            : this.futures
              ? this.api.fapiPrivateDeleteOrder?.({ symbol, origClientOrderId: clientOrderId })
              : this.api.privateDeleteOrder?.({ symbol, origClientOrderId: clientOrderId }),
        )) as Raw;
        // fills before the cancellation still count
        await this.absorb(t, { ...raw, status: "NEW" });
      } catch (err) {
        const code = binanceCode(err)?.code;
        if (code !== -2011 && code !== -2013) throw err;
        // no longer open on the exchange: it filled or was cancelled already
        const found = await this.lookupOf(t);
        if (found !== undefined) {
          await this.absorbOf(t, found);
          if (FINAL.has(o.status)) return { ...o };
        }
      }
    }
    if (!FINAL.has(o.status)) {
      t.armed = false;
      o.status = "canceled";
      o.reason = reason;
      o.updatedAt = this.now();
      this.emit({ type: "canceled", order: { ...o }, reason });
    }
    return { ...o };
  }

  /** Whether a closed candle reached a held stop's trigger (a trailing stop's trigger follows the best price). */
  private triggered(t: Tracked, c: Candle): boolean {
    const o = t.order;
    const sell = o.side === "sell";
    let trigger = o.price ?? Number.NaN;
    if (o.type === "trailing_stop") {
      const f = o.trailingFraction ?? 0;
      trigger = sell ? t.best * (1 - f) : t.best * (1 + f);
    }
    const hit = sell ? c.low <= trigger : c.high >= trigger;
    if (!hit && o.type === "trailing_stop")
      t.best = sell ? Math.max(t.best, c.high) : Math.min(t.best, c.low);
    return hit;
  }

  /** A held stop reached its trigger: the rest of its group is cancelled (freeing what it locked), then it goes out at market. */
  private async fire(t: Tracked): Promise<void> {
    const rules = await this.rulesOf(t.order.symbol);
    if (t.order.ocoGroup !== undefined) await this.cancelGroup(t);
    t.armed = false;
    this.log.info(
      { symbol: t.order.symbol, clientOrderId: t.order.clientOrderId, purpose: t.order.purpose },
      "stop triggered; sending a market order",
    );
    t.order = { ...t.order, type: "market", price: undefined };
    await this.place(t, rules, false);
  }

  /** Asks the exchange about `symbol`'s working orders; state changes become events. */
  private async poll(symbol: string): Promise<void> {
    for (const t of [...this.orders.values()]) {
      const o = t.order;
      if (o.symbol !== symbol || t.armed || FINAL.has(o.status)) continue;
      const found = await this.lookupOf(t);
      if (found === undefined) {
        if (t.inDoubt) {
          // sent by an earlier run perhaps, but the exchange never took it: gone
          t.inDoubt = false;
          this.reject(t, "not on the exchange (the earlier run's request never arrived)");
        }
        continue;
      }
      if (t.inDoubt && o.exchangeOrderId === undefined) {
        this.emit({ type: "accepted", order: { ...o, exchangeOrderId: exchangeId(found) } });
      }
      t.inDoubt = false;
      const before = `${o.status}/${o.filledQuantity}`;
      await this.absorbOf(t, found);
      if (`${o.status}/${o.filledQuantity}` !== before) {
        this.log.debug(
          { symbol, clientOrderId: o.clientOrderId, status: o.status },
          "order changed on the exchange",
        );
      }
    }
  }
}

/** The exchange's id of an order reply: the order id, or a conditional order's `algo-<id>`. */
function exchangeId(raw: Raw): string {
  return raw.orderId !== undefined ? String(raw.orderId) : `algo-${String(raw.algoId)}`;
}

interface RawFill {
  tradeId: string;
  price: number;
  qty: number;
  commission: number;
  commissionAsset: string;
  time: number;
  maker: boolean;
}
