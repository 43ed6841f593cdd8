import * as ccxt from "ccxt";
import { describe, expect, it } from "vitest";
import { InterruptedError, type ItbError, NetworkError, UsageError } from "../../src/core/errors.js";
import { KLINE_COLUMNS } from "../../src/core/klines.js";
import { silentLogger } from "../../src/core/log.js";
import { ccxtExchangeId, createCcxtClient, overrideApiUrls } from "../../src/exchange/ccxt/client.js";
import { mapExchangeError, retryAfterMs } from "../../src/exchange/ccxt/errors.js";
import { ascendingDistinct, binanceKlinesFrame, ohlcvFrame } from "../../src/exchange/ccxt/klines.js";
import {
  backoffMs,
  DEFAULT_RETRY,
  ExchangeRequestError,
  realSleep,
  withRetry,
} from "../../src/exchange/ccxt/retry.js";

/** A seeded uniform [0, 1) source (mulberry32), so backoff draws are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ctx = { venue: "binance", symbol: "BTCUSDX", request: "klines BTCUSDX spot 1m" };

describe("ccxt client construction", () => {
  it("picks binance for spot and binanceusdm for USD-M futures; other venues as given", () => {
    expect(ccxtExchangeId("binance", "spot")).toBe("binance");
    expect(ccxtExchangeId("binance", "um")).toBe("binanceusdm");
    expect(ccxtExchangeId("kraken", "spot")).toBe("kraken");
  });

  it("rewrites the origin of every REST URL and keeps the paths", () => {
    const api = {
      public: "https://api.binance.com/api/v3",
      fapiPublic: "https://fapi.binance.com/fapi/v1",
      nested: { rest: "https://api.{hostname}/v2", ws: "wss://stream.binance.com:9443/ws" },
      list: ["http://x.example:81/a"],
      n: 5,
    };
    expect(overrideApiUrls(api, "http://127.0.0.1:9900/")).toEqual({
      public: "http://127.0.0.1:9900/api/v3",
      fapiPublic: "http://127.0.0.1:9900/fapi/v1",
      nested: { rest: "http://127.0.0.1:9900/v2", ws: "wss://stream.binance.com:9443/ws" },
      list: ["http://127.0.0.1:9900/a"],
      n: 5,
    });
    expect(overrideApiUrls("https://api.binance.com/api/v3", "http://h:1/prefix")).toBe(
      "http://h:1/prefix/api/v3",
    );
  });

  it("builds real ccxt clients with the rate limiter on and every Binance API URL overridden", async () => {
    const spot = await createCcxtClient({
      venue: "binance",
      market: "spot",
      exchangeUrl: "http://127.0.0.1:9900",
    });
    const um = await createCcxtClient({
      venue: "binance",
      market: "um",
      exchangeUrl: "http://127.0.0.1:9900",
    });
    expect(spot.id).toBe("binance");
    expect(um.id).toBe("binanceusdm");
    expect(spot.enableRateLimit).toBe(true);
    for (const ex of [spot, um]) {
      const urls = Object.values(ex.urls.api as Record<string, string>);
      expect(urls.length).toBeGreaterThan(10);
      for (const u of urls) expect(u).toMatch(/^http:\/\/127\.0\.0\.1:9900\//);
    }
    const api = spot.urls.api as Record<string, string>;
    expect(api.public).toBe("http://127.0.0.1:9900/api/v3");
    expect(api.fapiPublic).toBe("http://127.0.0.1:9900/fapi/v1");
    // Without an override the real endpoints stay.
    const real = await createCcxtClient({ venue: "binance", market: "spot" });
    expect((real.urls.api as Record<string, string>).public).toBe("https://api.binance.com/api/v3");
  });

  it("refuses an unknown venue with a usage error", async () => {
    await expect(createCcxtClient({ venue: "nosuchexchange", market: "spot" })).rejects.toThrow(UsageError);
  });
});

describe("ccxt error mapping", () => {
  it("an unknown symbol halts with Binance's code and message", () => {
    const e = mapExchangeError(new ccxt.BadSymbol('binance {"code":-1121,"msg":"Invalid symbol."}'), {
      ...ctx,
      response: { status: 400, headers: {} },
    });
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as NetworkError).action).toBe("halt");
    expect((e as Error).message).toBe(
      "BTCUSDX: the exchange does not know this symbol (Binance -1121 Invalid symbol)",
    );
  });

  it("bad credentials halt and say where the key comes from", () => {
    const e = mapExchangeError(new ccxt.AuthenticationError("binance GET /api/v3/klines 401 Unauthorized"), {
      ...ctx,
      response: { status: 401, headers: {} },
    }) as NetworkError;
    expect(e.action).toBe("halt");
    expect(e.status).toBe(401);
    expect(e.message).toMatch(/unauthorized .*api_key/);
  });

  it("rate limits carry Retry-After; 5xx, timeouts and dropped connections are retried", () => {
    const limited = mapExchangeError(new ccxt.DDoSProtection("binance 429 Too Many Requests"), {
      ...ctx,
      response: { status: 429, headers: { "Retry-After": "7" } },
    }) as ExchangeRequestError;
    expect(limited).toBeInstanceOf(ExchangeRequestError);
    expect(limited.action).toBe("retry");
    expect(limited.retryAfterMs).toBe(7000);
    for (const err of [
      new ccxt.ExchangeNotAvailable("binance GET x 502 Bad Gateway"),
      new ccxt.RequestTimeout("binance GET x request timed out (10000 ms)"),
      new ccxt.NetworkError("binance GET x fetch failed: other side closed"),
      new ccxt.OperationFailed('binance {"code":-1001,"msg":"Internal error"}'),
      Object.assign(new Error("other side closed"), { name: "SocketError", code: "UND_ERR_SOCKET" }),
      new TypeError("terminated", { cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }) }),
    ]) {
      const e = mapExchangeError(err, ctx) as ItbError;
      expect(e, String(err)).toBeInstanceOf(ExchangeRequestError);
      expect(e.action).toBe("retry");
    }
  });

  it("other rejected requests halt; errors that are not the exchange's pass through unchanged", () => {
    const e = mapExchangeError(new ccxt.BadRequest('binance {"code":-1120,"msg":"Invalid interval."}'), ctx);
    expect((e as ItbError).action).toBe("halt");
    expect((e as Error).message).toContain("Binance -1120 Invalid interval");
    const bug = new RangeError("a bug");
    expect(mapExchangeError(bug, ctx)).toBe(bug);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    expect(retryAfterMs({ "retry-after": "1" })).toBe(1000);
    expect(retryAfterMs({ "Retry-After": "0.5" })).toBe(500);
    const now = Date.parse("2024-01-01T00:00:00Z");
    expect(retryAfterMs({ "Retry-After": "Mon, 01 Jan 2024 00:02:00 GMT" }, () => now)).toBe(120_000);
    expect(retryAfterMs({})).toBeUndefined();
    expect(retryAfterMs({ "Retry-After": "soon" })).toBeUndefined();
  });
});

describe("retry with exponential backoff and full jitter", () => {
  const transient = () =>
    new ExchangeRequestError("GET klines: ExchangeNotAvailable (HTTP 503)", { status: 503 });

  it("draws each wait uniformly from a window that doubles up to the cap", () => {
    expect(backoffMs(0, DEFAULT_RETRY, () => 0.999999)).toBe(499);
    expect(backoffMs(3, DEFAULT_RETRY, () => 0.5)).toBe(2000);
    expect(backoffMs(20, DEFAULT_RETRY, () => 0.5)).toBe(15_000);
    expect(backoffMs(5, DEFAULT_RETRY, () => 0)).toBe(0);
  });

  it("retries transient failures with seeded, reproducible waits and then succeeds", async () => {
    const run = async () => {
      const sleeps: number[] = [];
      let calls = 0;
      const value = await withRetry(
        "GET klines",
        async () => {
          if (++calls <= 5) throw transient();
          return "ok";
        },
        DEFAULT_RETRY,
        { sleep: async (ms) => void sleeps.push(ms), random: seeded(42), log: silentLogger },
      );
      return { value, sleeps, calls };
    };
    const a = await run();
    const b = await run();
    expect(a.value).toBe("ok");
    expect(a.calls).toBe(6);
    expect(a.sleeps).toEqual(b.sleeps);
    a.sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(Math.min(30_000, 500 * 2 ** i));
    });
  });

  it("gives up after the bounded number of attempts", async () => {
    let calls = 0;
    const sleeps: number[] = [];
    const p = withRetry(
      "GET klines",
      async () => {
        calls++;
        throw transient();
      },
      DEFAULT_RETRY,
      { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, log: silentLogger },
    );
    await expect(p).rejects.toThrow(/gave up after 8 attempts/);
    expect(calls).toBe(8);
    expect(sleeps).toEqual([250, 500, 1000, 2000, 4000, 8000, 15_000]);
  });

  it("waits exactly what Retry-After says, and halts when that is longer than allowed", async () => {
    const sleeps: number[] = [];
    let calls = 0;
    await withRetry(
      "GET klines",
      async () => {
        if (++calls === 1) throw new ExchangeRequestError("429", { status: 429, retryAfterMs: 3000 });
        return 1;
      },
      DEFAULT_RETRY,
      { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, log: silentLogger },
    );
    expect(sleeps).toEqual([3000]);
    const banned = withRetry(
      "GET klines",
      async () => {
        throw new ExchangeRequestError("418", { status: 418, retryAfterMs: 3 * 86_400_000 });
      },
      DEFAULT_RETRY,
      { sleep: async () => {}, random: () => 0.5, log: silentLogger },
    );
    await expect(banned).rejects.toMatchObject({ action: "halt", status: 418 });
  });

  it("never retries a halt", async () => {
    let calls = 0;
    const p = withRetry(
      "GET klines",
      async () => {
        calls++;
        throw new NetworkError("bad symbol", { action: "halt" });
      },
      DEFAULT_RETRY,
      { sleep: async () => {}, random: () => 0.5, log: silentLogger },
    );
    await expect(p).rejects.toThrow("bad symbol");
    expect(calls).toBe(1);
  });

  it("an abort cuts a real wait short", async () => {
    const c = new AbortController();
    const t0 = Date.now();
    const p = realSleep(10_000, c.signal);
    setTimeout(() => c.abort(), 20);
    await expect(p).rejects.toThrow(InterruptedError);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("a wait cut short by SIGTERM is the core InterruptedError of SIGTERM (exit status 143)", async () => {
    const c = new AbortController();
    const p = realSleep(10_000, c.signal);
    c.abort(new InterruptedError("SIGTERM"));
    const err = (await p.catch((e: unknown) => e)) as InterruptedError;
    expect(err).toBeInstanceOf(InterruptedError);
    expect([err.signal, err.exitCode, err.action]).toEqual(["SIGTERM", 143, "halt"]);
    expect(err.message).toBe("interrupted by SIGTERM: stopped waiting to retry an exchange request");
  });
});

describe("kline responses", () => {
  const row = (t: number, close = "2.00000000") => [
    t,
    "1.00000000",
    "3.00000000",
    "0.50000000",
    close,
    "10.00000000",
    t + 59_999,
    "20.00000000",
    7,
    "4.00000000",
    "8.00000000",
    "0",
  ];

  it("keeps all 12 Binance fields as numbers in KLINE_COLUMNS order", () => {
    const f = binanceKlinesFrame([row(60_000), row(120_000)], "test");
    expect(f.columnNames).toEqual([...KLINE_COLUMNS]);
    expect([...f.time]).toEqual([60_000, 120_000]);
    expect(f.get("close_time")[1]).toBe(179_999);
    expect(f.get("trades")[0]).toBe(7);
    expect(f.get("tb_quote_av")[0]).toBe(8);
  });

  it("a response cut short (text, not an array) is a retryable error", () => {
    expect(() => binanceKlinesFrame('[[1679616000000,"28000', "test")).toThrow(ExchangeRequestError);
    expect(() => binanceKlinesFrame([[1, "x"]], "test")).toThrow(/not a 12-field kline/);
  });

  it("sorts and de-duplicates by open time, the later row winning", () => {
    const f = binanceKlinesFrame([row(120_000), row(60_000, "5"), row(60_000, "6")], "test");
    expect([...f.time]).toEqual([60_000, 120_000]);
    expect(f.get("close")[0]).toBe(6);
    const same = binanceKlinesFrame([row(60_000)], "test");
    expect(ascendingDistinct(same)).toBe(same);
  });

  it("unified OHLCV rows get close_time from the interval and NaN elsewhere", () => {
    const f = ohlcvFrame([[60_000, 1, 3, 0.5, 2, 10]], 60_000, "test");
    expect(f.get("close_time")[0]).toBe(119_999);
    expect(f.get("quote_av")[0]).toBeNaN();
    expect(f.get("volume")[0]).toBe(10);
  });
});
