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

/**
 * A clock that moves only when told (`set`, `advance`): tests and replays run on it, and
 * waiters resolve in time order as it passes their moment. No timers are involved.
 */
export class ManualClock implements Clock {
  private time: number;
  private readonly waiters: { time: number; resolve: () => void }[] = [];

  constructor(start: number) {
    if (!Number.isFinite(start)) throw new RangeError(`clock start must be a finite time, got ${start}`);
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  /** Moves to `time` (never backwards) and wakes every waiter whose moment has come, earliest first. */
  set(time: number): void {
    if (!Number.isFinite(time)) throw new RangeError(`clock time must be finite, got ${time}`);
    if (time < this.time) throw new RangeError(`clock cannot go back from ${this.time} to ${time}`);
    this.time = time;
    const due = this.waiters.filter((w) => w.time <= time).sort((a, b) => a.time - b.time);
    for (const w of due) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  advance(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`clock step must be >= 0 ms, got ${ms}`);
    this.set(this.time + ms);
  }

  /** Waiters not yet woken (for tests). */
  get pending(): number {
    return this.waiters.length;
  }

  waitUntil(time: number, signal?: AbortSignal): Promise<void> {
    if (time <= this.time) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const waiter = {
        time,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
}
