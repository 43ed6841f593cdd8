import type { ExecutionPort } from "../core/execution.js";
import type { ExecutionEvent, SignalBar } from "../core/trading.js";
import type { Trader, TraderAction } from "../trading/trader.js";

/**
 * A Trader wired to an execution port: the Trader's actions go to the port, the port's events
 * come back to the Trader, whose follow-ups go out again. Actions are handed to the port in the
 * order the Trader returns them, without waiting for one to be acknowledged before the next is
 * sent (adapters process one symbol's calls in call order); a failed call is kept and reported
 * by the next `decide` or `settled`.
 */
export class TradingSession {
  private readonly unsubscribe: () => void;
  private inFlight: Promise<unknown>[] = [];
  private readonly failures: unknown[] = [];

  constructor(
    readonly trader: Trader,
    private readonly port: ExecutionPort,
    private readonly onEvent?: (e: ExecutionEvent) => void,
    private readonly onAction?: (a: TraderAction) => void,
  ) {
    this.unsubscribe = port.subscribe((e) => {
      if (e.order.symbol !== trader.symbol) return;
      this.onEvent?.(e);
      this.send(trader.onEvent(e));
    });
  }

  /** The Trader decides on a closed bar (the port has seen the candle already). */
  async decide(bar: SignalBar): Promise<void> {
    this.trader.beginBar(bar.index);
    this.send(this.trader.onBar(bar));
    await this.settled();
  }

  /** Sends actions decided elsewhere (stopEntries, flatten, protective orders after a restart). */
  async act(actions: readonly TraderAction[]): Promise<void> {
    this.send(actions);
    await this.settled();
  }

  /** Waits for every call sent so far; throws the first failure. */
  async settled(): Promise<void> {
    while (this.inFlight.length > 0) {
      const batch = this.inFlight;
      this.inFlight = [];
      await Promise.all(batch);
    }
    if (this.failures.length > 0) {
      const err = this.failures.shift();
      this.failures.length = 0;
      throw err;
    }
  }

  close(): void {
    this.unsubscribe();
  }

  private send(actions: readonly TraderAction[]): void {
    for (const a of actions) {
      this.onAction?.(a);
      const p = a.kind === "submit" ? this.port.submit(a.order) : this.port.cancel(a.symbol, a.clientOrderId);
      this.inFlight.push(
        p.catch((err: unknown) => {
          this.failures.push(err);
        }),
      );
    }
  }
}
