import type { Clock } from "./clock.js";

/**
 * A wait that something else can cut short: a poller sleeps on it until its next due time,
 * and a push source (a WebSocket message saying a candle closed) pokes it to look at once.
 * A poke that comes while nobody waits is kept for the next wait.
 */
/** The reason the inner wait is ended with once it is over (a constant: no DOMException per wait). */
const WAIT_OVER = new Error("the wait is over");

export class Waker {
  private poked = false;
  private wakeUp: (() => void) | undefined;

  poke(): void {
    this.poked = true;
    this.wakeUp?.();
  }

  /** Resolves after `ms` on `clock`, or at once if poked since the last wait, or on a poke. */
  async wait(ms: number, clock: Clock, signal?: AbortSignal): Promise<void> {
    if (this.poked) {
      this.poked = false;
      return;
    }
    const inner = new AbortController();
    const onAbort = () => inner.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await Promise.race([
        clock.waitUntil(clock.now() + ms, inner.signal),
        new Promise<void>((resolve) => {
          this.wakeUp = resolve;
        }),
      ]);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    } finally {
      this.wakeUp = undefined;
      signal?.removeEventListener("abort", onAbort);
      if (!inner.signal.aborted) inner.abort(WAIT_OVER);
      this.poked = false;
    }
  }
}
