import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkError } from "../../src/core/errors.js";
import { noProgress, silentLogger } from "../../src/core/log.js";
import { importKlines } from "../../src/data/archive/import.js";
import { archivePath, openSource } from "../../src/data/archive/source.js";
import { readFrame } from "../../src/data/store/index.js";
import {
  type ArchiveServer,
  copyArchive,
  frameDiff,
  publishZip,
  removeTempDirs,
  SAMPLE,
  SPOT_DIR,
  serveArchive,
  spotZip,
  tempDir,
  unzipText,
} from "./archiveHelpers.js";

const deps = { log: silentLogger, progress: noProgress };
const FEB = Date.UTC(2023, 1, 1);
const MAY = Date.UTC(2023, 4, 1);

let work: string;
let server: ArchiveServer;
beforeAll(async () => {
  work = tempDir("http");
  server = await serveArchive(SAMPLE);
});
afterAll(async () => {
  await server.close();
  removeTempDirs();
});

describe("importKlines over HTTP", () => {
  it("imports from a real HTTP server exactly what the local folder gives", async () => {
    for (const [symbol, market] of [
      ["BTCUSDT", "spot"],
      ["ETHUSDT", "um"],
    ] as const) {
      const viaHttp = join(work, `http-${symbol}`, "klines.parquet");
      const viaDir = join(work, `dir-${symbol}`, "klines.parquet");
      const req = { symbol, market, interval: "1m", from: FEB, to: MAY } as const;
      const a = await importKlines({ ...req, source: server.url, storeFile: viaHttp }, deps);
      const b = await importKlines({ ...req, source: SAMPLE, storeFile: viaDir }, deps);
      expect(a).toEqual(b);
      expect(a.files).toBe(3);
      expect(frameDiff(await readFrame(viaHttp), await readFrame(viaDir))).toBe(0);
    }
    const gets = server.requests.filter((r) => r.startsWith("GET ") && r.includes("/BTCUSDT-1m-2023-03.zip"));
    expect(gets).toEqual([
      "GET /data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2023-03.zip",
      "GET /data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2023-03.zip.CHECKSUM",
    ]);
  });

  it("falls back to daily files where the monthly file answers 404", async () => {
    const root = copyArchive(SAMPLE, [
      `${SPOT_DIR}/BTCUSDT-1m-2023-04.zip`,
      `${SPOT_DIR}/BTCUSDT-1m-2023-04.zip.CHECKSUM`,
    ]);
    const lines = unzipText(spotZip(SAMPLE, "2023-03"))
      .split("\n")
      .filter((l) => l !== "");
    for (let d = 1; d <= 31; d++) {
      const start = Date.UTC(2023, 2, d);
      const day = lines.filter((l) => {
        const t = Number(l.slice(0, 13));
        return t >= start && t < start + 86_400_000;
      });
      const key = `2023-03-${String(d).padStart(2, "0")}`;
      publishZip(
        join(root, "data/spot/daily/klines/BTCUSDT/1m", `BTCUSDT-1m-${key}.zip`),
        `BTCUSDT-1m-${key}.csv`,
        `${day.join("\n")}\n`,
      );
    }
    const daily = await serveArchive(root);
    try {
      const viaDaily = join(work, "daily", "klines.parquet");
      const viaMonthly = join(work, "monthly", "klines.parquet");
      const req = {
        symbol: "BTCUSDT",
        market: "spot",
        interval: "1m",
        from: Date.UTC(2023, 2, 1),
        to: MAY,
      } as const;
      const a = await importKlines({ ...req, source: daily.url, storeFile: viaDaily }, deps);
      const b = await importKlines({ ...req, source: SAMPLE, storeFile: viaMonthly }, deps);
      expect([a.files, a.rowsTotal]).toEqual([32, b.rowsTotal]);
      expect(frameDiff(await readFrame(viaDaily), await readFrame(viaMonthly))).toBe(0);
      expect(daily.requests).toContain("HEAD /data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2023-03.zip");
    } finally {
      await daily.close();
    }
  });
});

describe("HTTP archive source", () => {
  const path = archivePath("spot", "BTCUSDT", "1m", "monthly", "2023-02");

  it("builds Binance's paths for spot and USD-M futures, monthly and daily", () => {
    expect(path).toBe("data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2023-02.zip");
    expect(archivePath("um", "ETHUSDT", "1h", "daily", "2024-01-05")).toBe(
      "data/futures/um/daily/klines/ETHUSDT/1h/ETHUSDT-1h-2024-01-05.zip",
    );
    expect(openSource("https://data.binance.vision/").describe(path)).toBe(
      `https://data.binance.vision/${path}`,
    );
    expect(openSource(`file://${SAMPLE}`).describe(path)).toBe(join(SAMPLE, path));
  });

  it("404 means not published, not an error", async () => {
    const src = openSource(server.url);
    const missing = archivePath("spot", "BTCUSDT", "1m", "monthly", "2019-01");
    expect(await src.fetch(missing)).toBeUndefined();
    expect(await src.exists(missing)).toBe(false);
    expect(await src.exists(path)).toBe(true);
    expect(
      Buffer.compare(Buffer.from((await src.fetch(path)) ?? []), readFileSync(spotZip(SAMPLE, "2023-02"))),
    ).toBe(0);
  });

  it("retries 5xx with backoff, then succeeds", async () => {
    const flaky = await serveArchive(SAMPLE, { failFirst: 2, status: 503 });
    try {
      const bytes = await openSource(flaky.url, { backoffMs: 5 }).fetch(path);
      expect(bytes?.length).toBe(readFileSync(spotZip(SAMPLE, "2023-02")).length);
      expect(flaky.requests.filter((r) => r === `GET /${path}`)).toHaveLength(3);
    } finally {
      await flaky.close();
    }
  });

  it("gives up after the retries with a NetworkError the caller may retry", async () => {
    const down = await serveArchive(SAMPLE, { failFirst: 99, status: 502 });
    try {
      const err = await openSource(down.url, { backoffMs: 1, retries: 2 })
        .fetch(path)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect((err as NetworkError).message).toBe(
        `GET ${down.url}/${path}: HTTP 502 Bad Gateway (3 attempts)`,
      );
      expect((err as NetworkError).action).toBe("retry");
      expect((err as NetworkError).status).toBe(502);
    } finally {
      await down.close();
    }
  });

  it("does not retry a refusal (403): the request itself is wrong", async () => {
    const forbidden = await serveArchive(SAMPLE, { failFirst: 99, status: 403 });
    try {
      const err = await openSource(forbidden.url, { backoffMs: 1 })
        .fetch(path)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect((err as NetworkError).message).toBe(`GET ${forbidden.url}/${path}: HTTP 403 Forbidden`);
      expect((err as NetworkError).action).toBe("halt");
      expect(forbidden.requests).toHaveLength(1);
    } finally {
      await forbidden.close();
    }
  });

  it("a server that cannot be reached is a NetworkError after the retries", async () => {
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, "127.0.0.1", done));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((done) => probe.close(() => done()));
    const err = await openSource(`http://127.0.0.1:${port}`, { backoffMs: 1, retries: 1 })
      .fetch(path)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^GET http://127\\.0\\.0\\.1:${port}/${path.replace(/\./g, "\\.")} failed: fetch failed: .*ECONNREFUSED.* \\(2 attempts\\)$`,
      ),
    );
  });

  it("a connection dropped mid-download is retried", async () => {
    let calls = 0;
    const body = readFileSync(spotZip(SAMPLE, "2023-02"));
    const dropping = createServer((_req, res) => {
      calls++;
      res.writeHead(200, { "content-length": body.length });
      if (calls === 1) {
        res.write(body.subarray(0, 1000));
        res.destroy();
      } else res.end(body);
    });
    await new Promise<void>((done) => dropping.listen(0, "127.0.0.1", done));
    try {
      const url = `http://127.0.0.1:${(dropping.address() as AddressInfo).port}`;
      const bytes = await openSource(url, { backoffMs: 1 }).fetch(path);
      expect(Buffer.compare(Buffer.from(bytes ?? []), body)).toBe(0);
      expect(calls).toBe(2);
    } finally {
      dropping.closeAllConnections();
      await new Promise<void>((done) => dropping.close(() => done()));
    }
  });
});
