import type { Balances, ExecutionEvent, Order, OrderIntent, Position } from "./trading.js";

/**
 * The execution port: how order intents become orders at a venue. The simulated adapter
 * (backtest and paper trading) and the exchange adapter (shadow and live trading) implement it,
 * and both pass the same conformance suite (test/trading/executionConformance.ts).
 *
 * The contract is asynchronous, like a real exchange:
 * - `submit` resolves when the venue has taken the order (status `new`, or already `filled` for
 *   an order that executed at once) or refused it (status `rejected`, with `reason`); it
 *   rejects only when the outcome is unknown (a timeout after sending), and then the caller
 *   asks again with the same client order id or looks the order up with `order`.
 * - What happens to an order afterwards (fills, partial fills, cancellations, rejections)
 *   arrives as events, in the order it happened, to every subscriber, each exactly once per
 *   adapter; a fill carries the venue's trade id, so a consumer can drop one delivered twice.
 * - Every method is idempotent on the client order id: submitting an id the adapter knows
 *   returns that order and places nothing; cancelling an order that is no longer open returns
 *   it unchanged.
 */
export interface ExecutionPort {
  /**
   * Places an order. Resolves with the order as the venue took it (`new`, `partially_filled`
   * or `filled` if it executed at once; `rejected` with a reason when refused: below the
   * minimum notional, insufficient balance, `nothing_to_reduce` for a reduce-only order without
   * a position). Events for the order follow through `subscribe`, including the fills of an
   * order that resolved as `filled`.
   */
  submit(intent: OrderIntent): Promise<Order>;

  /**
   * Cancels an open order. Resolves with the order after the attempt: `canceled`, or its
   * final state if it had filled or been rejected first (cancelling is then a no-op);
   * `undefined` for an id the adapter has never seen.
   */
  cancel(symbol: string, clientOrderId: string): Promise<Order | undefined>;

  /** One order by client order id, in any state; `undefined` if unknown. */
  order(symbol: string, clientOrderId: string): Promise<Order | undefined>;

  /** Orders still working (`new` or `partially_filled`), of one symbol or all. */
  openOrders(symbol?: string): Promise<Order[]>;

  /** The position the venue holds in `symbol` (flat: side null, quantity 0). */
  position(symbol: string): Promise<Position>;

  /** Free balance per asset (quote and base currencies), as the venue reports it. */
  balances(): Promise<Balances>;

  /**
   * Receives every event from now on, synchronously in the order the adapter learns of them.
   * Returns the function that unsubscribes.
   */
  subscribe(listener: (event: ExecutionEvent) => void): () => void;

  /** Releases connections and timers; the adapter is unusable afterwards. */
  close(): Promise<void>;
}
