import { setTimeout as sleep } from "node:timers/promises";
import { SystemClock } from "../../core/clock.js";
import { errorMessage } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";
import { Waker } from "../../core/waker.js";
import type { Ledger, OutboxEntry, OutboxMessage } from "../ledger/types.js";

/**
 * Delivers a ledger's outbox for one channel (Telegram, webhook), beside the candle loop and
 * never in its way: the candle's transaction put the notifications in the outbox; this loop
 * sends them in their order and marks each sent (or dropped, or failed for good).
 *
 * - Order: an entry is retried until it is sent or fails for good; later entries of its target
 *   (a chat, a webhook) wait for it, so trade messages arrive in the order of the trades. Each
 *   target is a queue of its own: one chat rate-limited or unreachable holds no other.
 * - Pace: at least `minIntervalMs` between two sends to one target (Telegram: about one message
 *   a second per chat); a 429 waits its `retry_after`; 5xx, timeouts and network errors back off
 *   exponentially per target (full jitter, up to `backoffCapMs`).
 * - Bound: at most `queueLimit` entries wait; beyond, the oldest score and chart messages are
 *   dropped first, trade messages kept (Ledger.trimOutbox).
 * - Exactly once across restarts: an entry is marked sent right after the send returns. A crash
 *   between the two (a window of one commit) resends that one entry after the restart.
 * - Stop: after the signal, the send in flight gets `stopGraceMs` to finish, then is abandoned
 *   (its entry stays pending for the next start).
 */

/** Why a send failed, as the sender judges it. */
export interface DeliveryFailure {
  kind: "rate" | "transient" | "permanent" | "unauthorized";
  text: string;
  retryAfterMs?: number;
}

export class DeliveryError extends Error {
  readonly failure: DeliveryFailure;
  constructor(failure: DeliveryFailure) {
    super(failure.text);
    this.name = "DeliveryError";
    this.failure = failure;
  }
}

export interface Sender {
  readonly channel: OutboxMessage["channel"];
  /** Sends one entry (all its parts); throws DeliveryError; returns the first message's id. */
  send(entry: OutboxEntry, signal: AbortSignal): Promise<number | undefined>;
  /** How a target is named in logs (never a chat id). */
  describe(target: string): string;
}

export interface PumpOptions {
  ledger: Ledger;
  sender: Sender;
  log: Logger;
  signal: AbortSignal;
  queueLimit: number;
  minIntervalMs: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** How long the loop sleeps with nothing to send before looking again (a poke wakes it). */
  idleMs?: number;
  stopGraceMs?: number;
  /** Each settled entry (tests and metrics). */
  onSettled?: (entry: OutboxEntry, status: "sent" | "failed" | "dropped", error?: string) => void;
  /** Entries dropped because the queue was full. */
  onDropped?: (channel: OutboxMessage["channel"], count: number) => void;
  /** Each failed attempt that will be retried. */
  onRetry?: (entry: OutboxEntry, failure: DeliveryFailure, waitMs: number) => void;
  random?: () => number;
}

const BATCH = 50;
/** The API's limits run on real time, whatever the service's clock. */
const REAL_TIME = new SystemClock();

export class OutboxPump {
  private readonly o: PumpOptions;
  private readonly waker = new Waker();
  private readonly nextAt = new Map<string, number>();
  /** Aborted `stopGraceMs` after the service's signal: ends the send in flight. */
  private readonly sends = new AbortController();
  /** Failed attempts in a row, per target (the backoff's exponent). */
  private readonly failures = new Map<string, number>();

  constructor(o: PumpOptions) {
    this.o = o;
    o.signal.addEventListener(
      "abort",
      () => {
        this.waker.poke();
        const t = setTimeout(() => this.sends.abort(o.signal.reason), o.stopGraceMs ?? 2000);
        t.unref();
      },
      { once: true },
    );
  }

  /** Something was added to the outbox: look now. */
  poke(): void {
    this.waker.poke();
  }

  async run(): Promise<void> {
    const o = this.o;
    while (!o.signal.aborted) {
      let batch: OutboxEntry[];
      try {
        const dropped = await o.ledger.trimOutbox(o.sender.channel, o.queueLimit, Date.now());
        if (dropped > 0) {
          o.onDropped?.(o.sender.channel, dropped);
          o.log.warn(
            { channel: o.sender.channel, dropped, limit: o.queueLimit },
            "notification queue full: the oldest score and chart messages were dropped",
          );
        }
        batch = await o.ledger.pendingOutbox(o.sender.channel, BATCH);
      } catch (err) {
        o.log.error({ channel: o.sender.channel, err: errorMessage(err) }, "cannot read the outbox");
        await this.pause(5000);
        continue;
      }
      if (batch.length === 0) {
        await this.idle();
        continue;
      }
      // Each target (chat, webhook) is a queue of its own: an entry waits for the earlier ones
      // of its target only, so a chat rate-limited or unreachable holds no other.
      const held = new Set<string>();
      let sent = 0;
      let earliest = Number.POSITIVE_INFINITY;
      for (const entry of batch) {
        if (o.signal.aborted) return;
        if (held.has(entry.target)) continue;
        const due = this.nextAt.get(entry.target) ?? 0;
        if (due > Date.now()) {
          held.add(entry.target);
          earliest = Math.min(earliest, due);
          continue;
        }
        if (await this.deliver(entry)) sent++;
        else {
          held.add(entry.target);
          earliest = Math.min(earliest, this.nextAt.get(entry.target) ?? 0);
        }
      }
      if (sent === 0 && Number.isFinite(earliest)) await this.pause(earliest - Date.now());
    }
  }

  /** One entry; false when it must be retried (its target waits until `nextAt`). */
  private async deliver(entry: OutboxEntry): Promise<boolean> {
    const o = this.o;
    let messageId: number | undefined;
    try {
      messageId = await o.sender.send(entry, this.sends.signal);
    } catch (err) {
      if (this.sends.signal.aborted) return false;
      const f: DeliveryFailure =
        err instanceof DeliveryError ? err.failure : { kind: "transient", text: errorMessage(err) };
      this.nextAt.set(entry.target, Date.now() + o.minIntervalMs);
      if (f.kind === "permanent") {
        await o.ledger.settleOutbox(entry.id, { status: "failed", at: Date.now(), error: f.text });
        o.log.error(
          { channel: o.sender.channel, to: o.sender.describe(entry.target), kind: entry.kind, err: f.text },
          "notification refused; it is not sent again",
        );
        o.onSettled?.(entry, "failed", f.text);
        return true;
      }
      const failures = (this.failures.get(entry.target) ?? 0) + 1;
      this.failures.set(entry.target, failures);
      const wait =
        f.kind === "rate"
          ? (f.retryAfterMs ?? 1000)
          : Math.round(
              (o.random ?? Math.random)() *
                Math.min(
                  o.backoffCapMs ?? 60_000,
                  (o.backoffBaseMs ?? 1000) * 2 ** Math.min(failures - 1, 16),
                ),
            );
      await o.ledger.settleOutbox(entry.id, { status: "retry", error: f.text });
      o.log.warn(
        {
          channel: o.sender.channel,
          to: o.sender.describe(entry.target),
          kind: entry.kind,
          err: f.text,
          retry_ms: wait,
          attempt: entry.attempts + 1,
        },
        f.kind === "rate" ? "rate limited; waiting as asked" : "notification not delivered; retrying",
      );
      o.onRetry?.(entry, f, wait);
      this.nextAt.set(entry.target, Date.now() + wait);
      return false;
    }
    this.failures.delete(entry.target);
    this.nextAt.set(entry.target, Date.now() + o.minIntervalMs);
    await o.ledger.settleOutbox(entry.id, {
      status: "sent",
      at: Date.now(),
      ...(messageId === undefined ? {} : { messageId }),
    });
    o.onSettled?.(entry, "sent");
    return true;
  }

  /** Sleeps `ms` (real time: the API's limits are), ending early only when the service stops. */
  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.o.signal });
    } catch {
      // stopping
    }
  }

  private async idle(): Promise<void> {
    try {
      await this.waker.wait(this.o.idleMs ?? 5000, REAL_TIME, this.o.signal);
    } catch {
      // stopping
    }
  }
}
