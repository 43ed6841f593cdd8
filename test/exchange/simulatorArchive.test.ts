import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { noProgress, silentLogger } from "../../src/core/log.js";
import { importKlines } from "../../src/data/archive/import.js";
import { readFrame, writeFrame } from "../../src/data/store/index.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import {
  copyArchive,
  publishZip,
  removeTempDirs,
  SPOT_DIR,
  spotZip,
  unzipText,
} from "../data/archiveHelpers.js";
import { itb } from "../helpers/cli.js";
import { ROOT, SAMPLE } from "../helpers/paths.js";

/** The public-archive paths, a store-backed simulator, and the `itb sim` command. */

const deps = { log: silentLogger, progress: noProgress };
const FEB = Date.UTC(2023, 1, 1);
const MAR = Date.UTC(2023, 2, 1);
const MAY = Date.UTC(2023, 4, 1);
const SPOT_ZIP = "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2023-03.zip";

let sim: Simulator;
let work: string;
beforeAll(async () => {
  sim = await startSimulator({ archive: SAMPLE, start: MAY, speed: 0 });
  work = mkdtempSync(join(tmpdir(), "itb-sim-"));
});
afterAll(async () => {
  await sim.close();
  rmSync(work, { recursive: true, force: true });
  removeTempDirs();
});

describe("archive files over HTTP", () => {
  it("serves the archive's zips and checksums byte for byte, 404 for anything else", async () => {
    const zip = await fetch(`${sim.url}${SPOT_ZIP}`);
    expect(zip.status).toBe(200);
    expect(Buffer.from(await zip.arrayBuffer()).equals(readFileSync(join(SAMPLE, SPOT_ZIP)))).toBe(true);
    const sum = await fetch(`${sim.url}${SPOT_ZIP}.CHECKSUM`);
    expect(await sum.text()).toBe(readFileSync(join(SAMPLE, `${SPOT_ZIP}.CHECKSUM`), "utf8"));
    const head = await fetch(`${sim.url}${SPOT_ZIP}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(readFileSync(join(SAMPLE, SPOT_ZIP)).length);
    for (const p of [
      "/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2021-03.zip",
      "/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2023-03-01.zip",
      "/data/spot/monthly/klines/BTCUSDT/1m/../../../../../../README.md",
      "/data/README.md",
    ]) {
      expect((await fetch(`${sim.url}${p}`)).status, p).toBe(404);
    }
  });

  it("importKlines over HTTP from the simulator equals the local import, through injected 503s", async () => {
    sim.faults.set([{ kind: "status", status: 503, path: "/data/spot/", nth: [1, 3] }]);
    try {
      for (const [symbol, market] of [
        ["BTCUSDT", "spot"],
        ["ETHUSDT", "um"],
      ] as const) {
        const viaHttp = join(work, `http-${symbol}`, "klines.parquet");
        const viaDir = join(work, `dir-${symbol}`, "klines.parquet");
        const req = { symbol, market, interval: "1m", from: FEB, to: MAY } as const;
        const a = await importKlines({ ...req, source: sim.url, storeFile: viaHttp }, deps);
        const b = await importKlines({ ...req, source: SAMPLE, storeFile: viaDir }, deps);
        expect(a).toEqual(b);
        const fa = await readFrame(viaHttp);
        const fb = await readFrame(viaDir);
        expect(Array.from(fa.time)).toEqual(Array.from(fb.time));
        for (const c of fb.columnNames) expect(Array.from(fa.get(c)), c).toEqual(Array.from(fb.get(c)));
      }
      expect(sim.faults.list()[0]?.fired).toBe(2);
    } finally {
      sim.faults.clear();
    }
  });
});

describe("daily archive files", () => {
  it("a month published day by day is served after the monthly files", async () => {
    const root = copyArchive(SAMPLE, [
      `${SPOT_DIR}/BTCUSDT-1m-2023-03.zip`,
      `${SPOT_DIR}/BTCUSDT-1m-2023-03.zip.CHECKSUM`,
    ]);
    const april = unzipText(spotZip(SAMPLE, "2023-04")).split("\n");
    for (const day of ["01", "02"]) {
      const start = Date.parse(`2023-04-${day}T00:00:00Z`);
      const rows = april.filter(
        (l) => l !== "" && Number(l.slice(0, 13)) >= start && Number(l.slice(0, 13)) < start + 86_400_000,
      );
      const name = `BTCUSDT-1m-2023-04-${day}`;
      publishZip(
        join(root, "data/spot/daily/klines/BTCUSDT/1m", `${name}.zip`),
        `${name}.csv`,
        `${rows.join("\n")}\n`,
      );
    }
    const s = await startSimulator({ archive: root, speed: 0 });
    try {
      expect(s.clock.now()).toBe(Date.UTC(2023, 3, 3)); // the end of the data
      const q = `symbol=BTCUSDT&interval=1m&startTime=${Date.UTC(2023, 2, 31, 23, 58)}&limit=4`;
      const rows = (await (await fetch(`${s.url}/api/v3/klines?${q}`)).json()) as unknown[][];
      const ref = (await (await fetch(`${sim.url}/api/v3/klines?${q}`)).json()) as unknown[][];
      expect(rows).toEqual(ref);
      const last = (await (
        await fetch(`${s.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1`)
      ).json()) as number[][];
      expect(last[0]?.[0]).toBe(Date.UTC(2023, 3, 2, 23, 59));
    } finally {
      await s.close();
    }
  });
});

describe("serving symbol stores", () => {
  it("a data folder's klines.parquet is served like the archive it came from", async () => {
    const folder = join(work, "stores");
    const src = await importKlines(
      {
        symbol: "BTCUSDT",
        market: "spot",
        interval: "1m",
        from: MAR,
        to: MAY,
        source: SAMPLE,
        storeFile: join(folder, "BTCUSDT", "klines.parquet"),
      },
      deps,
    );
    expect(src.rowsTotal).toBeGreaterThan(0);
    // A symbol Binance's table does not know gets a spec derived from its data.
    const frame = await readFrame(join(folder, "BTCUSDT", "klines.parquet"));
    await writeFrame(join(folder, "XYZUSDT", "klines.parquet"), frame);
    const s = await startSimulator({ dataFolder: folder, start: MAY, speed: 0 });
    try {
      const q = `symbol=BTCUSDT&interval=1h&startTime=${MAR}&limit=1000`;
      const fromStore = await (await fetch(`${s.url}/api/v3/klines?${q}`)).text();
      const fromArchive = await (await fetch(`${sim.url}/api/v3/klines?${q}`)).text();
      expect(fromStore).toBe(fromArchive);
      const info = (await (await fetch(`${s.url}/api/v3/exchangeInfo?symbol=XYZUSDT`)).json()) as {
        symbols: {
          baseAsset: string;
          quoteAsset: string;
          filters: { filterType: string; tickSize?: string }[];
        }[];
      };
      const x = info.symbols[0];
      expect([x?.baseAsset, x?.quoteAsset]).toEqual(["XYZ", "USDT"]);
      expect(x?.filters.find((f) => f.filterType === "PRICE_FILTER")?.tickSize).toBe("0.01000000");
    } finally {
      await s.close();
    }
  });
});

describe("itb sim", () => {
  it("--help shows an example", () => {
    const r = itb(["sim", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Example:\n  itb sim");
  });

  it("refuses to start without data", () => {
    const r = itb(["sim"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--archive");
  });

  it("prints its URL, serves, and stops cleanly on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [
        resolve(ROOT, "bin/itb"),
        "--log-level",
        "warn",
        "sim",
        "--archive",
        SAMPLE,
        "--port",
        "0",
        "--start",
        "2023-03-10T10:00",
        "--speed",
        "0",
        "--fault",
        "status=429,path=/api/v3/klines,nth=1",
      ],
      { cwd: ROOT },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!/http:\/\/127\.0\.0\.1:\d+/.test(out)) {
        if (Date.now() > deadline) throw new Error(`no URL printed: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(out)?.[0] as string;
      expect(out).toContain("virtual time: 2023-03-10T10:00:00.000Z");
      const klines = `${url}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1`;
      expect((await fetch(klines)).status).toBe(429);
      const rows = (await (await fetch(klines)).json()) as unknown[][];
      expect(rows[0]?.[0]).toBe(Date.UTC(2023, 2, 10, 10, 0));
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(out).toContain("itb sim: stopped");
  });
});
