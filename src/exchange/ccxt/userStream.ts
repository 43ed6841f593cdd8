import WebSocket from "ws";
import { errorMessage } from "../../core/errors.js";
import type { Logger } from "../../core/log.js";

/**
 * Binance's user-data stream as a doorbell: a listen key (created over REST, kept alive every
 * 30 minutes), a WebSocket at `<wsBase>/<listenKey>`, and for each order event the symbol it
 * concerns, so the adapter asks about that symbol's orders at once instead of at its next poll.
 * The orders and fills themselves still come over REST, deduplicated by trade id: a message lost
 * on the socket loses nothing. A dropped socket, or an expired key, is reopened with a capped
 * backoff; each (re)open calls `onOpen`, so whatever happened while it was down is polled.
 */

export interface UserStreamOptions {
  /** The WebSocket base, e.g. wss://stream.binance.com:9443/ws, or a simulator's ws://host/ws. */
  wsBase: string;
  /** Creates a listen key (POST userDataStream / listenKey). */
  createKey: () => Promise<string>;
  /** Extends a listen key's life (PUT). */
  keepAlive: (key: string) => Promise<void>;
  /** An event concerning `symbol`'s orders or the account (symbol undefined). */
  onEvent: (symbol: string | undefined, type: string) => void;
  /** The socket is open (first time and after every reconnect). */
  onOpen: () => void;
  log: Logger;
  signal: AbortSignal;
  /** Real ms between keep-alives (default 30 minutes). */
  keepAliveMs?: number;
}

/** The events that name a symbol whose orders changed, and where. */
function symbolOf(msg: Record<string, unknown>): string | undefined {
  if (typeof msg.s === "string") return msg.s; // executionReport, listStatus
  const o = msg.o as Record<string, unknown> | undefined;
  if (o !== undefined && typeof o.s === "string") return o.s; // ORDER_TRADE_UPDATE, ALGO_UPDATE
  return undefined;
}

export interface UserStream {
  /** Resolves true once the first socket is open, false when the first attempt failed. */
  ready: Promise<boolean>;
  /** Settles when the stream has stopped (the signal aborted). */
  done: Promise<void>;
  /** Sockets opened so far (1 after the first, +1 per reconnect). */
  opens(): number;
}

export function openUserStream(o: UserStreamOptions): UserStream {
  let opened = 0;
  let markReady: (ok: boolean) => void = () => {};
  const ready = new Promise<boolean>((r) => {
    markReady = r;
  });
  const base = o.wsBase.replace(/\/+$/, "");
  const done = (async () => {
    let backoff = 1000;
    while (!o.signal.aborted) {
      let key: string;
      try {
        key = await o.createKey();
      } catch (err) {
        o.log.warn(
          { err: errorMessage(err), retry_ms: backoff },
          "no user-data stream (listen key refused); polling",
        );
        markReady(false);
        await pause(backoff, o.signal);
        backoff = Math.min(backoff * 2, 60_000);
        continue;
      }
      const closed = await new Promise<string>((resolve) => {
        const ws = new WebSocket(`${base}/${key}`);
        const keeper = setInterval(
          () => {
            o.keepAlive(key).catch((err: unknown) =>
              o.log.warn({ err: errorMessage(err) }, "user-data stream keep-alive failed"),
            );
          },
          o.keepAliveMs ?? 30 * 60_000,
        );
        keeper.unref();
        const stop = () => ws.close();
        o.signal.addEventListener("abort", stop, { once: true });
        ws.on("open", () => {
          opened++;
          backoff = 1000;
          markReady(true);
          o.onOpen();
        });
        ws.on("message", (data: WebSocket.RawData) => {
          let msg: Record<string, unknown>;
          try {
            msg = JSON.parse(data.toString()) as Record<string, unknown>;
          } catch {
            return;
          }
          const event = (msg.data as Record<string, unknown> | undefined) ?? msg;
          const type = String(event.e ?? "");
          if (type === "listenKeyExpired") {
            ws.close();
            return;
          }
          o.onEvent(symbolOf(event), type);
        });
        ws.on("error", () => undefined);
        ws.on("close", (code: number) => {
          clearInterval(keeper);
          o.signal.removeEventListener("abort", stop);
          resolve(String(code));
        });
      });
      if (o.signal.aborted) break;
      markReady(false);
      o.log.warn(
        { code: closed, retry_ms: backoff },
        "user-data stream dropped; reopening (polling meanwhile)",
      );
      await pause(backoff, o.signal);
      backoff = Math.min(backoff * 2, 30_000);
    }
  })();
  return { ready, done, opens: () => opened };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    t.unref();
    function done() {
      signal.removeEventListener("abort", done);
      clearTimeout(t);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
