import { ItbError, interruption, NetworkError } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { isoTime } from "../../core/time.js";

/**
 * Retrying exchange requests. Transient failures (5xx, timeouts, dropped connections) wait an
 * exponential backoff with full jitter: a uniform draw from [0, min(cap, base * 2^attempt)),
 * which spreads clients apart instead of having them retry in lockstep (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"). A rate-limit answer (429, 418) waits exactly what its
 * `Retry-After` says. Anything whose action is not `retry` is thrown at once.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Backoff of the first retry's window, ms. */
  baseMs: number;
  /** Largest backoff window, ms. */
  capMs: number;
  /** A longer Retry-After (a 418 ban can last days) halts instead of sleeping, ms. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 8,
  baseMs: 500,
  capMs: 30_000,
  maxRetryAfterMs: 15 * 60_000,
};

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The injectable pieces of waiting: tests pass a recording sleep and a seeded random. */
export interface RetryDeps {
  sleep: Sleep;
  /** Uniform in [0, 1). */
  random: () => number;
  log: Logger;
  /** Aborts a wait (Ctrl-C); the request then fails with `InterruptedError`. */
  signal?: AbortSignal;
}

/** A transient exchange failure that knows how long the exchange asked us to wait. */
export class ExchangeRequestError extends NetworkError {
  /** From `Retry-After`, ms; undefined when the exchange did not say. */
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    options: { status?: number; retryAfterMs?: number; action?: "retry" | "halt"; cause?: unknown } = {},
  ) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The window of the `attempt`-th retry (0-based) times a draw from `random`. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const window = Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
  return Math.floor(random() * window);
}

/**
 * A real sleep that an AbortSignal cuts short with an `InterruptedError` (core/errors.ts)
 * naming the signal that aborted it (SIGINT or SIGTERM, as the abort's reason says).
 */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    const interrupted = () => interruption(signal, "stopped waiting to retry an exchange request");
    if (signal?.aborted) {
      reject(interrupted());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/**
 * Runs `call` until it succeeds, fails with a non-retry error, or `policy.attempts` tries have
 * failed (then the last error is thrown with the count added). `what` names the request in logs.
 */
export async function withRetry<T>(
  what: string,
  call: () => Promise<T>,
  policy: RetryPolicy,
  deps: RetryDeps,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ItbError) || err.action !== "retry") throw err;
      if (attempt + 1 >= policy.attempts) {
        throw new NetworkError(`${err.message} (gave up after ${policy.attempts} attempts)`, {
          status: err instanceof NetworkError ? err.status : undefined,
          action: "retry",
          cause: err,
        });
      }
      const retryAfter = err instanceof ExchangeRequestError ? err.retryAfterMs : undefined;
      if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) {
        const until = isoTime(Date.now() + retryAfter);
        throw new NetworkError(
          `${err.message}; the exchange asks to wait ${Math.round(retryAfter / 1000)} s (until about ${until}): try again then`,
          { status: err instanceof NetworkError ? err.status : undefined, action: "halt", cause: err },
        );
      }
      const wait = retryAfter ?? backoffMs(attempt, policy, deps.random);
      deps.log.warn(
        {
          request: what,
          attempt: attempt + 1,
          status: err instanceof NetworkError ? err.status : undefined,
          waitMs: wait,
          retryAfter: retryAfter !== undefined,
          error: err.message,
        },
        "exchange request failed; retrying",
      );
      await deps.sleep(wait, deps.signal);
    }
  }
}
