import { beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import type { Frame } from "../../src/core/frame.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";

/** Kline streams driven by the virtual clock, seen from a plain `ws` client. */

const MIN = 60_000;
const T0 = Date.UTC(2023, 2, 10, 10, 0);

interface Kline {
  t: number;
  T: number;
  s: string;
  i: string;
  f: number;
  L: number;
  o: string;
  c: string;
  h: string;
  l: string;
  v: string;
  n: number;
  x: boolean;
  q: string;
  V: string;
  Q: string;
  B: string;
}
interface KlineEvent {
  e: string;
  E: number;
  s: string;
  k: Kline;
}

let btc: Frame;
let eth: Frame;
beforeAll(async () => {
  btc = await loadArchiveMonths(SAMPLE, "BTCUSDT", "spot", "1m", ["2023-03"]);
  eth = await loadArchiveMonths(SAMPLE, "ETHUSDT", "um", "1m", ["2023-03"]);
});

/** A connected client that queues every message and reports its close. */
class Client {
  readonly messages: unknown[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => {
      this.messages.push(JSON.parse(d.toString()) as unknown);
      this.wake();
    });
    ws.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }
  static async open(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    const c = new Client(ws);
    await new Promise<void>((done, fail) => {
      ws.once("open", () => done());
      ws.once("error", fail);
    });
    return c;
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Resolves once `cond` holds (checked on every message and on close). */
  async until(cond: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline)
        throw new Error(`timed out; got ${JSON.stringify(this.messages).slice(0, 500)}`);
      await new Promise<void>((done) => {
        this.waiters.push(done);
        setTimeout(done, 50);
      });
    }
  }
  send(body: unknown): void {
    this.ws.send(JSON.stringify(body));
  }
  close(): void {
    this.ws.close();
  }
}

function expectStored(k: Kline, frame: Frame, t: number): void {
  const i = frame.lowerBound(t);
  expect(frame.time[i]).toBe(t);
  expect(k.t).toBe(t);
  expect(k.T).toBe(frame.get("close_time")[i]);
  expect([k.o, k.h, k.l, k.c, k.v, k.q, k.V, k.Q].map(Number)).toEqual(
    ["open", "high", "low", "close", "volume", "quote_av", "tb_base_av", "tb_quote_av"].map(
      (c) => frame.get(c)[i],
    ),
  );
  expect(k.n).toBe(frame.get("trades")[i]);
  expect(k.L - k.f + 1).toBe(k.n);
}

async function withSim(fn: (sim: Simulator) => Promise<void>, faults = false): Promise<void> {
  const sim = await startSimulator({
    archive: SAMPLE,
    start: T0,
    speed: 0,
    streams: { formingEveryMs: 0 },
    preload: true,
    ...(faults ? { faults: [{ kind: "ws-disconnect" as const, path: "/ws", nth: [2] }] } : {}),
  });
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

const waitSubscribed = async (sim: Simulator, n: number) => {
  const deadline = Date.now() + 5000;
  while (sim.streams().subscriptions < n) {
    if (Date.now() > deadline) throw new Error("not subscribed");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("kline streams", () => {
  it("a raw stream gets one closed kline per minute the clock advances, with the stored values", async () => {
    await withSim(async (sim) => {
      const c = await Client.open(`${sim.wsUrl}/ws/btcusdt@kline_1m`);
      await waitSubscribed(sim, 1);
      sim.clock.advance(3 * MIN);
      await c.until(() => c.messages.length >= 3);
      const events = c.messages as KlineEvent[];
      expect(events).toHaveLength(3);
      events.forEach((ev, j) => {
        expect(ev.e).toBe("kline");
        expect(ev.s).toBe("BTCUSDT");
        expect(ev.k).toMatchObject({ s: "BTCUSDT", i: "1m", x: true, B: "0" });
        expectStored(ev.k, btc, T0 + j * MIN);
        expect(ev.E).toBe(T0 + (j + 1) * MIN);
      });
      // Trade ids continue from bar to bar.
      expect((events[1] as KlineEvent).k.f).toBe((events[0] as KlineEvent).k.L + 1);
      c.close();
    });
  });

  it("a combined stream wraps events as {stream, data}; a 5m kline closes after five 1m ones", async () => {
    await withSim(async (sim) => {
      const c = await Client.open(`${sim.wsUrl}/stream?streams=btcusdt@kline_1m/btcusdt@kline_5m`);
      await waitSubscribed(sim, 2);
      sim.clock.advance(5 * MIN);
      await c.until(() => c.messages.length >= 6);
      const msgs = c.messages as { stream: string; data: KlineEvent }[];
      expect(msgs.filter((m) => m.stream === "btcusdt@kline_1m")).toHaveLength(5);
      const five = msgs.filter((m) => m.stream === "btcusdt@kline_5m");
      expect(five).toHaveLength(1);
      const k = (five[0] as { data: KlineEvent }).data.k;
      expect(k).toMatchObject({ i: "5m", t: T0, T: T0 + 5 * MIN - 1, x: true });
      const rows = btc.slice(btc.lowerBound(T0), btc.lowerBound(T0 + 5 * MIN));
      expect(Number(k.o)).toBe(rows.get("open")[0]);
      expect(Number(k.c)).toBe(rows.get("close")[4]);
      expect(Number(k.h)).toBe(Math.max(...rows.get("high")));
      expect(k.n).toBe(rows.get("trades").reduce((a, b) => a + b, 0));
      c.close();
    });
  });

  it("answers SUBSCRIBE, LIST_SUBSCRIPTIONS and UNSUBSCRIBE; futures streams live under /fstream", async () => {
    await withSim(async (sim) => {
      const c = await Client.open(`${sim.wsUrl}/fstream/market/ws/1`);
      c.send({ method: "SUBSCRIBE", params: ["ethusdt@kline_1m"], id: 1 });
      await c.until(() => c.messages.length >= 1);
      expect(c.messages[0]).toEqual({ result: null, id: 1 });
      c.send({ method: "LIST_SUBSCRIPTIONS", id: 2 });
      await c.until(() => c.messages.length >= 2);
      expect(c.messages[1]).toEqual({ result: ["ethusdt@kline_1m"], id: 2 });
      sim.clock.advance(MIN);
      await c.until(() => c.messages.length >= 3);
      expectStored((c.messages[2] as KlineEvent).k, eth, T0);
      c.send({ method: "UNSUBSCRIBE", params: ["ethusdt@kline_1m"], id: 3 });
      await c.until(() => c.messages.length >= 4);
      expect(c.messages[3]).toEqual({ result: null, id: 3 });
      sim.clock.advance(MIN);
      c.send({ method: "NOPE", id: 4 });
      await c.until(() => c.messages.length >= 5);
      expect(c.messages[4]).toMatchObject({ code: 2, id: 4 });
      c.close();
    });
  });

  it("sends the forming kline (x: false) at the configured cadence", async () => {
    const sim = await startSimulator({
      archive: SAMPLE,
      start: T0,
      speed: 0,
      preload: true,
      streams: { formingEveryMs: 1, tickMs: 10 },
    });
    try {
      const c = await Client.open(`${sim.wsUrl}/ws/btcusdt@kline_1m`);
      await waitSubscribed(sim, 1);
      await new Promise((r) => setTimeout(r, 20));
      sim.clock.advance(30_000);
      await c.until(() => c.messages.length >= 1);
      const k = (c.messages[0] as KlineEvent).k;
      expect(k).toMatchObject({ t: T0, x: false });
      expect((c.messages[0] as KlineEvent).E).toBe(T0 + 30_000);
      c.close();
    } finally {
      await sim.close();
    }
  });

  it("a scheduled ws-disconnect kills the socket in place of its 2nd event", async () => {
    await withSim(async (sim) => {
      const c = await Client.open(`${sim.wsUrl}/ws/btcusdt@kline_1m`);
      await waitSubscribed(sim, 1);
      sim.clock.advance(3 * MIN);
      await c.until(() => c.closed);
      expect(c.messages).toHaveLength(1);
      expectStored((c.messages[0] as KlineEvent).k, btc, T0);
      expect(sim.streams().connections).toBe(0);
      // A reconnecting client is served again (the rule fired once).
      const again = await Client.open(`${sim.wsUrl}/ws/btcusdt@kline_1m`);
      await waitSubscribed(sim, 1);
      sim.clock.advance(MIN);
      await again.until(() => again.messages.length >= 1);
      expectStored((again.messages[0] as KlineEvent).k, btc, T0 + 3 * MIN);
      again.close();
    }, true);
  });

  it("a scheduled ws-skip loses the 2nd event and keeps the socket open", async () => {
    await withSim(async (sim) => {
      sim.faults.set([{ kind: "ws-skip", path: "/ws", nth: [2] }]);
      const c = await Client.open(`${sim.wsUrl}/ws/btcusdt@kline_1m`);
      await waitSubscribed(sim, 1);
      sim.clock.advance(3 * MIN);
      await c.until(() => c.messages.length >= 2);
      expect((c.messages as KlineEvent[]).map((m) => m.k.t)).toEqual([T0, T0 + 2 * MIN]);
      expectStored((c.messages[1] as KlineEvent).k, btc, T0 + 2 * MIN);
      expect(c.closed).toBe(false);
      expect(sim.streams().connections).toBe(1);
      expect(sim.faults.list()[0]).toMatchObject({ seen: 3, fired: 1 });
      c.close();
    });
  });

  it("records connections and refuses unknown upgrade paths", async () => {
    await withSim(async (sim) => {
      const c = await Client.open(`${sim.wsUrl}/ws/btcusdt@kline_1m`);
      expect(sim.requests.list({ path: "/ws" })).toMatchObject([
        { path: "/ws/btcusdt@kline_1m", status: 101 },
      ]);
      c.close();
      await expect(Client.open(`${sim.wsUrl}/nope`)).rejects.toThrow();
    });
  });
});
