import { request } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type FaultRule,
  parseFaultSpec,
  type RecordedRequest,
  type Simulator,
  startSimulator,
} from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";

/** Every fault kind, seen from a plain HTTP client, on deterministic schedules. */

const APR = Date.UTC(2023, 3, 1);
const KLINES = "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=5";

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ archive: SAMPLE, start: APR, speed: 0 });
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  sim.faults.clear();
  sim.requests.clear();
});

async function statuses(path: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${sim.url}${path}`);
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

/** A raw request that reports how many body bytes arrived and whether the socket broke. */
function rawGet(
  path: string,
): Promise<{ status?: number; declared?: number; received: number; error?: string }> {
  return new Promise((done) => {
    const req = request(`${sim.url}${path}`, { agent: false }, (res) => {
      let received = 0;
      res.on("data", (c: Buffer) => {
        received += c.length;
      });
      const finish = (error?: string) =>
        done({ status: res.statusCode, declared: Number(res.headers["content-length"]), received, error });
      res.on("end", () => finish());
      res.on("aborted", () => finish("aborted"));
      res.on("error", (e) => finish(e.message));
    });
    req.on("error", (e) => done({ received: 0, error: e.message }));
    req.end();
  });
}

describe("status faults", () => {
  it("429 and 418 carry Retry-After and Binance's -1003 body, on the scheduled requests only", async () => {
    sim.faults.set([
      { kind: "status", status: 429, path: "/api/v3/klines", nth: [2] },
      { kind: "status", status: 418, path: "/api/v3/klines", nth: [3], retryAfter: 120 },
    ]);
    const r1 = await fetch(`${sim.url}${KLINES}`);
    expect(r1.status).toBe(200);
    await r1.arrayBuffer();
    const r2 = await fetch(`${sim.url}${KLINES}`);
    expect(r2.status).toBe(429);
    expect(r2.headers.get("retry-after")).toBe("1");
    expect(((await r2.json()) as { code: number }).code).toBe(-1003);
    const r3 = await fetch(`${sim.url}${KLINES}`);
    expect(r3.status).toBe(418);
    expect(r3.headers.get("retry-after")).toBe("120");
    expect(((await r3.json()) as { msg: string }).msg).toContain("banned until");
    expect(await statuses(KLINES, 2)).toEqual([200, 200]);
    // Other paths are not counted by a rule with a path.
    expect(await statuses("/api/v3/ping", 1)).toEqual([200]);
  });

  it("5xx faults, and schedules: nth, every, from..to", async () => {
    sim.faults.set([{ kind: "status", status: 500, path: "/api/v3/klines", every: 3 }]);
    expect(await statuses(KLINES, 7)).toEqual([200, 200, 500, 200, 200, 500, 200]);
    sim.faults.set([{ kind: "status", status: 503, from: 2, to: 3 }]);
    expect(await statuses(KLINES, 4)).toEqual([200, 503, 503, 200]);
    sim.faults.set([
      { kind: "status", status: 502, nth: [1] },
      { kind: "status", status: 504, nth: [1, 2] },
    ]);
    // Both rules count every request; the first that fires decides.
    expect(await statuses(KLINES, 3)).toEqual([502, 504, 200]);
    const gateway = await fetch(`${sim.url}${KLINES}`);
    expect(gateway.status).toBe(200);
    await gateway.arrayBuffer();
  });

  it("a seeded rate replays the same failures, another seed others", async () => {
    const run = async (seed: number) => {
      sim.faults.set([{ kind: "status", status: 503, rate: 0.3, seed }]);
      return statuses("/api/v3/ping", 40);
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const failed = a.filter((s) => s === 503).length;
    expect(failed).toBeGreaterThan(4);
    expect(failed).toBeLessThan(24);
  });
});

describe("delays and dropped connections", () => {
  it("delay holds the response the given milliseconds", async () => {
    sim.faults.set([{ kind: "delay", delayMs: 300, nth: [1] }]);
    let t0 = performance.now();
    expect(await statuses("/api/v3/ping", 1)).toEqual([200]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    t0 = performance.now();
    expect(await statuses("/api/v3/ping", 1)).toEqual([200]);
    expect(performance.now() - t0).toBeLessThan(250);
  });

  it("drop sends the head and part of the body, then cuts the connection", async () => {
    sim.faults.set([{ kind: "drop", path: "/api/v3/klines", nth: [1] }]);
    const r = await rawGet(KLINES);
    expect(r.status).toBe(200);
    expect(r.error).toBeDefined();
    expect(r.received).toBeGreaterThan(0);
    expect(r.received).toBeLessThan(r.declared as number);
    // fetch sees the same as a truncated body that fails to read.
    sim.faults.set([{ kind: "drop", bytes: 10, path: "/api/v3/klines", nth: [1] }]);
    const res = await fetch(`${sim.url}${KLINES}`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    // The next request is whole.
    const ok = await rawGet(KLINES);
    expect(ok.error).toBeUndefined();
    expect(ok.received).toBe(ok.declared);
  });

  it("drop=reset closes the connection before any response", async () => {
    sim.faults.set(parseFaultSpec("drop=reset,nth=1"));
    await expect(fetch(`${sim.url}/api/v3/ping`)).rejects.toThrow();
    expect(await statuses("/api/v3/ping", 1)).toEqual([200]);
  });
});

describe("the admin endpoints and the request record", () => {
  it("POST /admin/faults replaces the rules, GET counts them, DELETE clears them", async () => {
    const post = await fetch(`${sim.url}/admin/faults`, {
      method: "POST",
      body: JSON.stringify({ kind: "status", status: 429, path: "/api/v3/klines", nth: [1] }),
    });
    expect(post.status).toBe(200);
    expect(await statuses(KLINES, 2)).toEqual([429, 200]);
    const list = (await (await fetch(`${sim.url}/admin/faults`)).json()) as { seen: number; fired: number }[];
    expect(list).toMatchObject([{ seen: 2, fired: 1 }]);
    const bad = await fetch(`${sim.url}/admin/faults`, {
      method: "POST",
      body: JSON.stringify({ kind: "status" }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { msg: string }).msg).toContain("status");
    await fetch(`${sim.url}/admin/faults`, { method: "DELETE" });
    expect(sim.faults.list()).toEqual([]);
  });

  it("records every request with its parameters, status, virtual time and faults", async () => {
    sim.faults.set([{ kind: "status", status: 503, path: "/api/v3/klines", nth: [2] }]);
    await statuses(KLINES, 2);
    await statuses("/api/v3/klines?symbol=NOPE&interval=1m", 1);
    const recs = (await (
      await fetch(`${sim.url}/admin/requests?path=/api/v3/klines`)
    ).json()) as RecordedRequest[];
    expect(recs.map((r) => [r.path, r.status, r.faults])).toEqual([
      ["/api/v3/klines", 200, undefined],
      ["/api/v3/klines", 503, ["status 503"]],
      ["/api/v3/klines", 400, undefined],
    ]);
    expect(recs[0]).toMatchObject({
      method: "GET",
      params: { symbol: "BTCUSDT", interval: "1m", limit: "5" },
      time: APR,
      weight: 2,
    });
    // Admin calls are not recorded; the in-process API sees the same record.
    expect(sim.requests.list().every((r) => !r.path.startsWith("/admin"))).toBe(true);
    const since = recs[1]?.seq as number;
    expect(sim.requests.list({ since }).map((r) => r.status)).toEqual([400]);
  });
});

describe("the --fault syntax", () => {
  it("reads the compact form and JSON", () => {
    const cases: [string, FaultRule][] = [
      ["status=429,nth=3+4,retry-after=2", { kind: "status", status: 429, nth: [3, 4], retryAfter: 2 }],
      ["503,every=5", { kind: "status", status: 503, every: 5 }],
      ["delay=2000,rate=0.1,seed=7", { kind: "delay", delayMs: 2000, rate: 0.1, seed: 7 }],
      ["drop,path=/api/v3/klines,nth=2", { kind: "drop", path: "/api/v3/klines", nth: [2] }],
      ["drop=100,from=3", { kind: "drop", bytes: 100, from: 3 }],
      ["ws-disconnect,nth=3", { kind: "ws-disconnect", nth: [3] }],
      ["ws-skip,path=/ws,nth=5", { kind: "ws-skip", path: "/ws", nth: [5] }],
      ['{"kind":"status","status":418,"every":2}', { kind: "status", status: 418, every: 2 }],
    ];
    for (const [spec, rule] of cases) expect(parseFaultSpec(spec), spec).toEqual([rule]);
  });

  it("refuses a spec it cannot read, naming the problem", () => {
    expect(() => parseFaultSpec("nth=3")).toThrow(/no kind/);
    expect(() => parseFaultSpec("status=429,delay=5")).toThrow(/more than one kind/);
    expect(() => parseFaultSpec("status=429,often=yes")).toThrow(/unknown key "often"/);
    expect(() => parseFaultSpec("status=abc")).toThrow(/needs a number/);
    expect(() => parseFaultSpec("status=200")).toThrow(/status/);
    expect(() => parseFaultSpec("delay=5,rate=2")).toThrow(/rate/);
  });
});
