import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noProgress, silentLogger } from "../core/log.js";
import { downloadKlines } from "../data/download.js";
import { CcxtMarketData } from "../exchange/ccxt/adapter.js";
import { startSimulator } from "../simulator/index.js";

/**
 * Exchange-side figures (no reference counterpart): rows/s of `itb download` through ccxt from
 * the simulator on loopback for one month of 1m candles, and the simulator's sequential request
 * rate for `/api/v3/klines?limit=1000`.
 */
export async function benchExchange(archive: string, month = "2023-03"): Promise<Record<string, number>> {
  const from = Date.parse(`${month}-01T00:00:00Z`);
  const d = new Date(from);
  const to = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  const sim = await startSimulator({
    archive,
    preload: true,
    speed: 0,
    start: to + 3_600_000,
    weightLimits: { spot: 1e9, um: 1e9 },
  });
  const dir = mkdtempSync(join(tmpdir(), "itb-bench-"));
  try {
    const md = new CcxtMarketData({ venue: "binance", exchangeUrl: sim.url });
    const t0 = performance.now();
    const r = await downloadKlines(
      { symbol: "BTCUSDT", market: "spot", interval: "1m", from, to, storeFile: join(dir, "klines.parquet") },
      md,
      { log: silentLogger, progress: noProgress },
    );
    const downloadSeconds = (performance.now() - t0) / 1000;
    await md.close();

    const path = `/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000&startTime=${from}`;
    const get = () =>
      new Promise<void>((done, fail) => {
        const req = request(`${sim.url}${path}`, (res) => {
          res.on("data", () => {});
          res.on("end", () => done());
        });
        req.on("error", fail);
        req.end();
      });
    for (let i = 0; i < 20; i++) await get();
    let n = 0;
    const s0 = performance.now();
    while (performance.now() - s0 < 2000) {
      await get();
      n++;
    }
    const rps = n / ((performance.now() - s0) / 1000);
    return {
      download_rows: r.rowsAdded,
      download_rows_per_s: Math.round(r.rowsAdded / downloadSeconds),
      sim_klines_requests_per_s: Math.round(rps),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await sim.close();
  }
}
