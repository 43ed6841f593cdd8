/**
 * The clock port. Every component that needs "now" or waits for a moment receives a Clock
 * instead of calling `Date.now()` or `setTimeout`, so a backtest, a test or a replay can run
 * on virtual time and the live service on the system's.
 */
export interface Clock {
  /** The current time, epoch milliseconds (UTC). */
  now(): number;
  /**
   * Resolves once `now() >= time` (at once if it already is). Rejects with the signal's reason
   * when `signal` aborts first; the pending timer is released.
   */
  waitUntil(time: number, signal?: AbortSignal): Promise<void>;
}

/** The wall clock: `Date.now()` and timers. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  waitUntil(time: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        if (timer !== undefined) clearTimeout(timer);
        reject(signal?.reason);
      };
      // Timers may fire early by a millisecond and cannot wait longer than 2^31 − 1 ms: re-arm
      // until the time has really come.
      const arm = () => {
        const left = time - Date.now();
        if (left <= 0) {
          signal?.removeEventListener("abort", onAbort);
          resolve();
          return;
        }
        timer = setTimeout(arm, Math.min(left, 2_147_483_647));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      arm();
    });
  }
}
