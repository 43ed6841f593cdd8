import { TradingError } from "../core/errors.js";
import type {
  Direction,
  ExecutionEvent,
  ExitReason,
  Fill,
  OrderIntent,
  OrderPurpose,
  OrderSide,
  SignalBar,
  Stake,
  Trade,
} from "../core/trading.js";

/**
 * The Trader decides; it never executes. On each closed bar and its signals it returns what to
 * do (orders to submit, orders to cancel); on each execution event (fill, rejection,
 * cancellation) it updates its position and cash and returns the follow-ups (the protective
 * orders of a new position, the entry of a reversal once the old position is closed). It owns
 * sizing, the direction rules, no pyramiding and the stops; it has no clock, no I/O and no
 * randomness, so backtest, paper and live runs that feed it the same bars and events get the
 * same decisions.
 *
 * The rules (docs/backtest.md):
 * - A bar without a close (a gap on the grid) decides nothing.
 * - A bar with both signals is a conflict: counted, nothing decided.
 * - A signal in the direction of the position held at the decision is ignored (no
 *   pyramiding). A signal against it closes it (a reduce-only market order) and, when the
 *   direction allows the signal's side, opens that side once the position is closed — whether
 *   by that order or by a stop that got there first.
 * - An entry spends the stake (fixed amount, or a fraction of the equity, which is the cash
 *   when flat) as a market order by quote amount. When it has filled, the stop-loss,
 *   take-profit and trailing stop are placed as resting orders in one one-cancels-the-others
 *   group; when the position closes any other way, they are cancelled.
 * - Client order ids are derived from the symbol, the deciding bar and the order's purpose, so
 *   the same decision made again (after a restart) carries the same id.
 */

export interface TraderOptions {
  symbol: string;
  direction: Direction;
  stake: Stake;
  /** Fractions of the entry price; undefined or 0 = off. */
  stopLoss?: number | undefined;
  takeProfit?: number | undefined;
  trailingStop?: number | undefined;
  /** Quote balance to start with (or, with `position`, the quote balance beside it). */
  cash: number;
  /** A position held already (restart after a crash, or a position opened by hand). */
  position?: SeedPosition | undefined;
  /** Prefix of client order ids (default "itb"). */
  idPrefix?: string | undefined;
  /** Receives every closed trade (the ledger, the metrics observer). */
  onTrade?: ((trade: Trade) => void) | undefined;
  /**
   * Asked before every entry (risk limits, trading/risk.ts): undefined lets it go out, a text
   * (why not) skips it; the signal is not kept for later.
   */
  entryCheck?: ((e: { side: 1 | -1; notional: number; decidedAt: number }) => string | undefined) | undefined;
}

export interface SeedPosition {
  side: "long" | "short";
  quantity: number;
  entryPrice: number;
  entryTime: number;
  entryIndex: number;
  /** Fee paid on entry, quote (counts in the trade's fees and pnl); default 0. */
  entryFee?: number;
}

export type TraderAction =
  | { kind: "submit"; order: OrderIntent }
  | { kind: "cancel"; symbol: string; clientOrderId: string };

/** The Trader's whole state (see `Trader.snapshot`). */
export interface TraderSnapshot {
  version: 1;
  conflicts: number;
  blockEntries: boolean;
  cash: number;
  pos: 1 | -1 | 0;
  qty: number;
  entryPx: number;
  entryFee: number;
  entryNotional: number;
  entryFills: number;
  entryIndex: number;
  entryTime: number;
  exitQty: number;
  exitNotional: number;
  exitFee: number;
  exitFills: number;
  exitPurpose: ExitReason;
  barIndex: number;
  pendingEntry: 1 | -1 | 0;
  pendingDecidedAt: number;
  working: { id: string; purpose: OrderPurpose; side: OrderSide; market: boolean }[];
  protective: string[];
}

/** What the Trader holds and plans, for status pages, ledgers and tests. */
export interface TraderState {
  cash: number;
  /** +1 long, −1 short, 0 flat. */
  position: 1 | -1 | 0;
  quantity: number;
  entryPrice: number;
  entryTime: number;
  /** Orders submitted and not yet finished (filled, rejected or cancelled). */
  workingOrders: string[];
  /** The side to open once flat (a reversal waiting for its exit), 0 if none. */
  pendingEntry: 1 | -1 | 0;
  conflicts: number;
}

interface Working {
  purpose: OrderPurpose;
  side: OrderSide;
  market: boolean;
}

const NONE: readonly TraderAction[] = Object.freeze([]);

export class Trader {
  readonly symbol: string;
  /** Bars with both signals, ignored. */
  conflicts = 0;

  /** No new entries (see `stopEntries`). */
  private blockEntries = false;
  private readonly direction: Direction;
  private readonly fixedStake: boolean;
  private readonly stakeValue: number;
  private readonly stopLoss: number;
  private readonly takeProfit: number;
  private readonly trailingStop: number;
  private readonly prefix: string;
  private readonly onTrade: ((trade: Trade) => void) | undefined;
  private readonly entryCheck: TraderOptions["entryCheck"];

  private cash: number;
  private pos: 1 | -1 | 0 = 0;
  private qty = 0;
  private entryPx = Number.NaN;
  private entryFee = 0;
  private entryNotional = 0;
  private entryFills = 0;
  private entryIndex = -1;
  private entryTime = Number.NaN;
  // the exit in progress (fills may come in parts)
  private exitQty = 0;
  private exitNotional = 0;
  private exitFee = 0;
  private exitFills = 0;
  private exitPurpose: ExitReason = "signal";
  /** The bar index fills are attributed to (set by `beginBar`). */
  private barIndex = -1;
  private pendingEntry: 1 | -1 | 0 = 0;
  private pendingDecidedAt = Number.NaN;
  private readonly working = new Map<string, Working>();
  /** Market orders among them (entries and exits on their way). */
  private workingMarket = 0;
  /** The protective orders of the open position. */
  private protective: string[] = [];

  constructor(o: TraderOptions) {
    this.symbol = o.symbol;
    this.direction = o.direction;
    this.fixedStake = o.stake.mode === "fixed";
    this.stakeValue = o.stake.mode === "fixed" ? o.stake.amount : o.stake.fraction;
    this.stopLoss = o.stopLoss ?? 0;
    this.takeProfit = o.takeProfit ?? 0;
    this.trailingStop = o.trailingStop ?? 0;
    this.prefix = o.idPrefix ?? "itb";
    this.onTrade = o.onTrade;
    this.entryCheck = o.entryCheck;
    if (!(this.stakeValue > 0)) throw new TradingError(`stake must be positive, got ${this.stakeValue}`);
    if (!Number.isFinite(o.cash)) throw new TradingError(`cash must be a finite number, got ${o.cash}`);
    this.cash = o.cash;
    const p = o.position;
    if (p !== undefined) {
      if (!(p.quantity > 0 && p.entryPrice > 0)) {
        throw new TradingError(
          `a seeded position needs a positive quantity and entry price, got ${p.quantity} at ${p.entryPrice}`,
        );
      }
      this.pos = p.side === "long" ? 1 : -1;
      this.qty = p.quantity;
      this.entryPx = p.entryPrice;
      this.entryFee = p.entryFee ?? 0;
      this.entryTime = p.entryTime;
      this.entryIndex = p.entryIndex;
    }
  }

  /** The open position's protective orders, to place after a seeded start (none are placed by the constructor). */
  protectiveOrders(decidedAt: number): TraderAction[] {
    return this.pos === 0 ? [] : this.placeProtective(decidedAt);
  }

  get state(): TraderState {
    return {
      cash: this.cash,
      position: this.pos,
      quantity: this.qty,
      entryPrice: this.pos === 0 ? Number.NaN : this.entryPx,
      entryTime: this.pos === 0 ? Number.NaN : this.entryTime,
      workingOrders: [...this.working.keys()],
      pendingEntry: this.pendingEntry,
      conflicts: this.conflicts,
    };
  }

  /**
   * Everything the Trader holds, as plain data (numbers may be NaN or infinite: encode it
   * with core/json.ts): a restart restores it with `restore` and continues exactly where it was.
   */
  snapshot(): TraderSnapshot {
    return {
      version: 1,
      conflicts: this.conflicts,
      blockEntries: this.blockEntries,
      cash: this.cash,
      pos: this.pos,
      qty: this.qty,
      entryPx: this.entryPx,
      entryFee: this.entryFee,
      entryNotional: this.entryNotional,
      entryFills: this.entryFills,
      entryIndex: this.entryIndex,
      entryTime: this.entryTime,
      exitQty: this.exitQty,
      exitNotional: this.exitNotional,
      exitFee: this.exitFee,
      exitFills: this.exitFills,
      exitPurpose: this.exitPurpose,
      barIndex: this.barIndex,
      pendingEntry: this.pendingEntry,
      pendingDecidedAt: this.pendingDecidedAt,
      working: [...this.working].map(([id, w]) => ({ id, ...w })),
      protective: [...this.protective],
    };
  }

  /** Puts the Trader back in the state `snapshot` recorded (the options must be the same). */
  restore(s: TraderSnapshot): void {
    if (s.version !== 1) throw new TradingError(`unknown Trader snapshot version ${s.version}`);
    this.conflicts = s.conflicts;
    this.blockEntries = s.blockEntries;
    this.cash = s.cash;
    this.pos = s.pos;
    this.qty = s.qty;
    this.entryPx = s.entryPx;
    this.entryFee = s.entryFee;
    this.entryNotional = s.entryNotional;
    this.entryFills = s.entryFills;
    this.entryIndex = s.entryIndex;
    this.entryTime = s.entryTime;
    this.exitQty = s.exitQty;
    this.exitNotional = s.exitNotional;
    this.exitFee = s.exitFee;
    this.exitFills = s.exitFills;
    this.exitPurpose = s.exitPurpose;
    this.barIndex = s.barIndex;
    this.pendingEntry = s.pendingEntry;
    this.pendingDecidedAt = s.pendingDecidedAt;
    this.working.clear();
    this.workingMarket = 0;
    for (const w of s.working) {
      this.working.set(w.id, { purpose: w.purpose, side: w.side, market: w.market });
      if (w.market) this.workingMarket++;
    }
    this.protective = [...s.protective];
  }

  /**
   * Takes over the position the exchange holds (start-up reconciliation's `adopt`): from now on
   * the Trader holds `p` (null: flat), and returns the cancellations of its working orders and
   * the protective orders for the new position, decided at `decidedAt`. Cash is left as it is: the exchange's balances are the truth, the Trader's cash
   * only sizes the next entry.
   */
  adopt(p: SeedPosition | null, decidedAt: number): TraderAction[] {
    // the orders of what it held before go
    const actions: TraderAction[] = [...this.working.keys()].map((id) => ({
      kind: "cancel" as const,
      symbol: this.symbol,
      clientOrderId: id,
    }));
    this.pendingEntry = 0;
    this.entryFills = 0;
    this.exitFills = 0;
    this.protective = [];
    if (p === null) {
      this.pos = 0;
      this.qty = 0;
      return actions;
    }
    this.pos = p.side === "long" ? 1 : -1;
    this.qty = p.quantity;
    this.entryPx = p.entryPrice;
    this.entryFee = p.entryFee ?? 0;
    this.entryTime = p.entryTime;
    this.entryIndex = p.entryIndex;
    return [...actions, ...this.placeProtective(decidedAt)];
  }

  /** A reversal waits for its exit to fill before it opens the other side. */
  get hasPendingEntry(): boolean {
    return this.pendingEntry !== 0;
  }

  /** +1 long, −1 short, 0 flat. */
  get position(): 1 | -1 | 0 {
    return this.pos;
  }

  get quantity(): number {
    return this.qty;
  }

  get cashBalance(): number {
    return this.cash;
  }

  /** Equity marked to `price`: cash plus the signed position's value. */
  equityAt(price: number): number {
    return this.cash + this.pos * this.qty * price;
  }

  /** Fills from now on belong to bar `index` (the bar in which they happen). */
  beginBar(index: number): void {
    this.barIndex = index;
  }

  /** A closed bar and its signals: the decision. */
  onBar(bar: SignalBar): readonly TraderAction[] {
    this.barIndex = bar.index;
    if (Number.isNaN(bar.close)) return NONE;
    let signal: 1 | -1 | 0 = 0;
    if (bar.buy) {
      if (bar.sell) this.conflicts++;
      else signal = 1;
    } else if (bar.sell) {
      signal = -1;
    }
    if (signal === 0 || signal === this.pos) return NONE;
    // An earlier decision still on its way (a live order not yet filled): decide nothing on top.
    if (this.pendingEntry !== 0 || this.workingMarket > 0) return NONE;
    const allowed =
      this.direction === "both" || (signal === 1 ? this.direction === "long" : this.direction === "short");
    if (this.pos === 0) {
      if (!allowed) return NONE;
      const entry = this.entry(signal, bar.time);
      return entry === undefined ? NONE : [entry];
    }
    // against the position: close it, then (if allowed) open the signal's side
    if (allowed) {
      this.pendingEntry = signal;
      this.pendingDecidedAt = bar.time;
    }
    return [
      this.submit(this.pos === 1 ? "sell" : "buy", "market", "signal", bar.time, { quantity: this.qty }),
    ];
  }

  /**
   * From now on open no position (a backtest's last bar: a position opened at the final close
   * would be closed again at once); entries not yet filled are cancelled, a reversal waiting
   * for its exit is dropped. Exits still go out.
   */
  stopEntries(): TraderAction[] {
    this.blockEntries = true;
    this.pendingEntry = 0;
    const actions: TraderAction[] = [];
    for (const [id, w] of this.working) {
      if (w.purpose === "entry") actions.push({ kind: "cancel", symbol: this.symbol, clientOrderId: id });
    }
    return actions;
  }

  /** Entries allowed again after `stopEntries` (an operator's /resume). */
  resumeEntries(): void {
    this.blockEntries = false;
  }

  /** Whether new entries are blocked. */
  get entriesStopped(): boolean {
    return this.blockEntries;
  }

  /**
   * Stop trading: cancel every working order and close the position at market (`reason`, e.g.
   * "end" at the end of a backtest). The cancellations come first.
   */
  flatten(decidedAt: number, reason: ExitReason = "end"): TraderAction[] {
    const actions: TraderAction[] = [];
    this.pendingEntry = 0;
    for (const id of this.working.keys())
      actions.push({ kind: "cancel", symbol: this.symbol, clientOrderId: id });
    if (this.pos !== 0) {
      actions.push(
        this.submit(this.pos === 1 ? "sell" : "buy", "market", reason, decidedAt, { quantity: this.qty }),
      );
    }
    return actions;
  }

  /** An execution event of one of this Trader's orders (others are ignored). */
  onEvent(e: ExecutionEvent): readonly TraderAction[] {
    const id = e.order.clientOrderId;
    const w = this.working.get(id);
    if (w === undefined) return NONE;
    switch (e.type) {
      case "accepted":
        return NONE;
      case "fill": {
        if (e.fill.final) this.finish(id, w);
        return w.purpose === "entry"
          ? this.onEntryFill(e.fill, e.order.decidedAt)
          : this.onExitFill(e.fill, w);
      }
      case "rejected":
      case "canceled":
        this.finish(id, w);
        if (w.purpose === "entry" && this.entryFills > 0) {
          // a partly filled entry that will fill no further: protect what was bought
          return this.entryComplete(e.order.decidedAt);
        }
        return NONE;
    }
  }

  /** Forgets a finished order. */
  private finish(id: string, w: Working): void {
    this.working.delete(id);
    if (w.market) this.workingMarket--;
  }

  private id(decidedAt: number, purpose: OrderPurpose): string {
    return `${this.prefix}-${this.symbol}-${decidedAt.toString(36)}-${CODES[purpose]}`;
  }

  private submit(
    side: OrderSide,
    type: OrderIntent["type"],
    purpose: OrderPurpose,
    decidedAt: number,
    size: { quantity?: number; quoteQuantity?: number; price?: number; trailingFraction?: number },
    ocoGroup?: string,
  ): TraderAction {
    // one object shape for every order (V8 keeps the code that reads them monomorphic)
    const order: OrderIntent = {
      clientOrderId: this.id(decidedAt, purpose),
      symbol: this.symbol,
      side,
      type,
      quantity: size.quantity,
      quoteQuantity: size.quoteQuantity,
      price: size.price,
      trailingFraction: size.trailingFraction,
      reduceOnly: purpose !== "entry",
      ocoGroup,
      purpose,
      decidedAt,
    };
    const market = type === "market";
    this.working.set(order.clientOrderId, { purpose, side, market });
    if (market) this.workingMarket++;
    return { kind: "submit", order };
  }

  /** A market entry spending the stake; undefined when there is nothing to spend or entries are blocked. */
  private entry(side: 1 | -1, decidedAt: number): TraderAction | undefined {
    if (this.blockEntries) return undefined;
    const equity = this.cash; // flat, so the cash is the equity
    const stake = this.fixedStake ? Math.min(this.stakeValue, equity) : this.stakeValue * equity;
    if (!(stake > 0)) return undefined;
    if (this.entryCheck?.({ side, notional: stake, decidedAt }) !== undefined) return undefined;
    this.entryFills = 0;
    this.entryNotional = 0;
    this.entryFee = 0;
    this.qty = 0;
    return this.submit(side === 1 ? "buy" : "sell", "market", "entry", decidedAt, { quoteQuantity: stake });
  }

  private onEntryFill(f: Fill, decidedAt: number): readonly TraderAction[] {
    const side = f.side === "buy" ? 1 : -1;
    const px = f.price;
    this.cash -= side * f.quantity * px + f.fee;
    if (this.entryFills === 0) {
      this.pos = side;
      this.entryPx = px;
      this.entryIndex = this.barIndex;
      this.entryTime = f.time;
      this.qty = f.quantity;
      this.entryNotional = f.quantity * px;
      this.entryFee = f.fee;
    } else {
      this.qty += f.quantity;
      this.entryNotional += f.quantity * px;
      this.entryFee += f.fee;
      this.entryPx = this.entryNotional / this.qty;
    }
    this.entryFills++;
    return f.final ? this.entryComplete(decidedAt) : NONE;
  }

  private entryComplete(decidedAt: number): readonly TraderAction[] {
    this.entryFills = 0;
    return this.placeProtective(decidedAt);
  }

  private placeProtective(decidedAt: number): TraderAction[] {
    const px = this.entryPx;
    const exitSide: OrderSide = this.pos === 1 ? "sell" : "buy";
    const group = this.id(decidedAt, "entry");
    const actions: TraderAction[] = [];
    const q = { quantity: this.qty };
    if (this.stopLoss > 0) {
      const price = this.pos === 1 ? px * (1 - this.stopLoss) : px * (1 + this.stopLoss);
      actions.push(this.submit(exitSide, "stop", "stop_loss", decidedAt, { ...q, price }, group));
    }
    if (this.takeProfit > 0) {
      const price = this.pos === 1 ? px * (1 + this.takeProfit) : px * (1 - this.takeProfit);
      actions.push(this.submit(exitSide, "limit", "take_profit", decidedAt, { ...q, price }, group));
    }
    if (this.trailingStop > 0) {
      actions.push(
        this.submit(
          exitSide,
          "trailing_stop",
          "trailing_stop",
          decidedAt,
          { ...q, price: px, trailingFraction: this.trailingStop },
          group,
        ),
      );
    }
    this.protective = actions.map((a) => (a.kind === "submit" ? a.order.clientOrderId : ""));
    return actions;
  }

  private onExitFill(f: Fill, w: Working): readonly TraderAction[] {
    if (this.pos === 0) return NONE; // nothing held (a stray fill): the position is the venue's to reconcile
    const pos = this.pos;
    const px = f.price;
    this.cash += pos * f.quantity * px - f.fee;
    if (this.exitFills === 0) {
      this.exitQty = f.quantity;
      this.exitNotional = f.quantity * px;
      this.exitFee = f.fee;
      this.exitPurpose = w.purpose as ExitReason;
    } else {
      this.exitQty += f.quantity;
      this.exitNotional += f.quantity * px;
      this.exitFee += f.fee;
    }
    this.exitFills++;
    // Closed when the exits add up to the position (a part left below a millionth is dust), or
    // when an exit order has filled completely: every exit is for the whole position, and what
    // it left is what the exchange could not sell (a spot balance cut to the lot step).
    if (this.exitQty < this.qty * (1 - 1e-9) && !f.final) return NONE;
    const exitPx = this.exitFills === 1 ? px : this.exitNotional / this.exitQty;
    const qty = this.qty;
    const fees = this.entryFee + this.exitFee;
    const pnl = pos * qty * (exitPx - this.entryPx) - fees;
    const trade: Trade = {
      side: pos === 1 ? "long" : "short",
      entryIndex: this.entryIndex,
      entryTime: this.entryTime,
      entryPrice: this.entryPx,
      exitIndex: this.barIndex,
      exitTime: f.time,
      exitPrice: exitPx,
      qty,
      fees,
      pnl,
      ret: pnl / (qty * this.entryPx),
      exitReason: this.exitPurpose,
    };
    this.pos = 0;
    this.qty = 0;
    this.exitFills = 0;
    this.onTrade?.(trade);
    const actions: TraderAction[] = [];
    // the position's other exits are moot: protective orders (a stop's siblings are cancelled
    // by the venue's one-cancels-the-others too; cancelling twice is harmless) and a signal exit
    for (const id of this.protective) {
      if (this.working.has(id)) actions.push({ kind: "cancel", symbol: this.symbol, clientOrderId: id });
    }
    this.protective = [];
    for (const [id, o] of this.working) {
      if (o.purpose === "signal" || o.purpose === "end" || o.purpose === "manual") {
        actions.push({ kind: "cancel", symbol: this.symbol, clientOrderId: id });
      }
    }
    if (this.pendingEntry !== 0) {
      const side = this.pendingEntry;
      this.pendingEntry = 0;
      const entry = this.entry(side, this.pendingDecidedAt);
      if (entry !== undefined) actions.push(entry);
    }
    return actions.length === 0 ? NONE : actions;
  }
}

/** Short codes of order purposes in client order ids. */
const CODES: Record<OrderPurpose, string> = {
  entry: "en",
  signal: "ex",
  stop_loss: "sl",
  take_profit: "tp",
  trailing_stop: "ts",
  end: "end",
  manual: "mx",
};
