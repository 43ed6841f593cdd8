import { createHmac } from "node:crypto";
import ccxt, { type Exchange } from "ccxt";
import { WebSocket } from "ws";
import { ccxtBinanceUrls, type Simulator } from "../../src/simulator/index.js";

/** Shared pieces of the simulator trading tests: stored candles, a ccxt client, signed requests. */

export const MIN = 60_000;

export interface Candle {
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
}

/** The stored 1m BTCUSDT spot candle opening at t. */
export function candleAt(sim: Simulator, t: number): Candle {
  const s = sim.data.loaded("spot", "BTCUSDT");
  if (s === undefined) throw new Error("BTCUSDT not loaded");
  const b = s.base;
  let i = 0;
  while (i < b.length && (b.time[i] as number) < t) i++;
  if (b.time[i] !== t) throw new Error(`no candle at ${t}`);
  return {
    t,
    o: b.open[i] as number,
    h: b.high[i] as number,
    l: b.low[i] as number,
    c: b.close[i] as number,
    v: b.volume[i] as number,
  };
}

export const r8 = (x: number): number => Math.round(x * 1e8) / 1e8;

/** The real ccxt binance client pointed at the simulator, signing with its virtual clock. */
export function simTrader(sim: Simulator, apiKey: string, secret: string): Exchange {
  const ex = new ccxt.binance({
    apiKey,
    secret,
    enableRateLimit: false,
    options: { fetchMarkets: { types: ["spot"] }, fetchCurrencies: false, fetchMargins: false },
  });
  Object.assign(ex.urls.api as object, ccxtBinanceUrls(sim.url));
  ex.nonce = () => sim.clock.now();
  return ex;
}

/** A signed request by hand (params in the body for POST/PUT/DELETE, else the query). */
export async function signedRequest(
  sim: Simulator,
  method: string,
  path: string,
  params: string,
  key: string,
  secret: string,
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const signature = createHmac("sha256", secret).update(params).digest("hex");
  const inBody = method !== "GET";
  const text = `${params}&signature=${signature}`;
  const res = await fetch(`${sim.url}${path}${inBody ? "" : `?${text}`}`, {
    method,
    headers: { "X-MBX-APIKEY": key, "Content-Type": "application/x-www-form-urlencoded" },
    ...(inBody ? { body: text } : {}),
  });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

/** A `ws` client that queues every message (parsed) and notes its close. */
export class WsClient {
  readonly messages: Record<string, unknown>[] = [];
  closed = false;
  private constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => {
      this.messages.push(JSON.parse(d.toString()) as Record<string, unknown>);
    });
    ws.on("close", () => {
      this.closed = true;
    });
  }

  static async open(url: string): Promise<WsClient> {
    const ws = new WebSocket(url);
    const c = new WsClient(ws);
    await new Promise<void>((done, fail) => {
      ws.once("open", () => done());
      ws.once("error", fail);
    });
    return c;
  }

  /** Waits until `cond` holds, checking every 10 ms; fails after `ms` with what arrived. */
  async until(cond: () => boolean, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out; got ${JSON.stringify(this.messages).slice(0, 800)}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Waits for `n` messages in all and returns them, taking them off the queue. */
  async take(n: number): Promise<Record<string, unknown>[]> {
    await this.until(() => this.messages.length >= n);
    return this.messages.splice(0, n);
  }

  close(): void {
    this.ws.close();
  }
}

/** The account's orders of `symbol` on the simulator (spot allOrders), as Binance lists them. */
export async function allOrders(
  sim: Simulator,
  apiKey: string,
  secret: string,
  symbol = "BTCUSDT",
): Promise<{ clientOrderId: string; status: string; side: string }[]> {
  const ex = simTrader(sim, apiKey, secret);
  try {
    const api = ex as unknown as { privateGetAllOrders: (p: object) => Promise<unknown> };
    return (await api.privateGetAllOrders({ symbol, limit: 1000 })) as {
      clientOrderId: string;
      status: string;
      side: string;
    }[];
  } finally {
    await ex.close();
  }
}
