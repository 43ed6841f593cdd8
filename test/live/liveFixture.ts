import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { noProgress, silentLogger } from "../../src/core/log.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { LedgerTable, MarketKey } from "../../src/live/ledger/types.js";
import { runPipeline } from "../../src/pipeline/graph/matrix.js";
import { SAMPLE } from "../helpers/paths.js";
import { liveConfig } from "./liveConfig.js";

/**
 * A data folder for the live tests: the sample's BTCUSDT spot and ETHUSDT perpetual candles up to
 * `until` (exclusive) and the models of liveConfig trained on them, built once per test file and
 * copied for each run (`copy`), with a config pointing at a simulator.
 */
export interface LiveFixture {
  root: string;
  /** A fresh copy of the data folder and a config file for it at `exchangeUrl`. */
  copy(
    label: string,
    exchangeUrl: string,
    patch?: (c: Record<string, unknown>) => void,
  ): { dir: string; config: string };
}

/**
 * `base` changes the config of the build and of every copy (another symbol or market); the
 * copies' own `patch` comes after it.
 */
export async function buildLiveFixture(
  until: string,
  base?: (c: Record<string, unknown>) => void,
): Promise<LiveFixture> {
  const root = mkdtempSync(join(tmpdir(), "itb-live-fixture-"));
  const config = join(root, "build.json");
  const built = liveConfig(join(root, "data"), undefined, "2023-03-01", until);
  base?.(built);
  writeFileSync(config, JSON.stringify(built));
  const run = await runPipeline(
    { configFile: config, archive: SAMPLE, source: "import", predict: "current", to: "train" },
    { log: silentLogger, progress: noProgress, clock: { now: () => Date.now() }, itbVersion: "test" },
  );
  expect(run.failed).toBe(0);
  let n = 0;
  return {
    root,
    copy(label, exchangeUrl, patch) {
      const dir = join(root, `${label}-${++n}`);
      cpSync(join(root, "data"), join(dir, "data"), { recursive: true });
      const c = liveConfig(join(dir, "data"), exchangeUrl, "2023-03-01", until);
      base?.(c);
      c.serve = { address: "127.0.0.1:0" };
      patch?.(c);
      const file = join(dir, "live.json");
      writeFileSync(file, JSON.stringify(c, null, 2));
      return { dir, config: file };
    },
  };
}

export const BTC_1M: MarketKey = { symbol: "BTCUSDT", freq: "1m" };

/** The ledger's tables without what depends on when and how fast candles were processed. */
export async function ledgerContents(
  dataFolder: string,
  market: MarketKey = BTC_1M,
): Promise<Record<string, LedgerTable>> {
  const ledger = openSqliteLedger(join(dataFolder, "ledger.sqlite"), { readonly: true });
  try {
    const out: Record<string, LedgerTable> = {};
    for (const what of ["signals", "decisions", "orders", "fills", "trades", "equity"] as const) {
      const t = await ledger.read(what, { market });
      const drop = new Set(["catch_up", "processed_at", "latency_ms"]);
      const keep = t.columns.map((c, i) => (drop.has(c) ? -1 : i)).filter((i) => i >= 0);
      out[what] = {
        columns: keep.map((i) => t.columns[i] as string),
        rows: t.rows.map((r) => keep.map((i) => r[i] ?? null)),
      };
    }
    return out;
  } finally {
    await ledger.close();
  }
}

/** The last candle time the ledger holds for BTCUSDT 1m (NaN when none or no ledger yet). */
export async function lastRecorded(dataFolder: string): Promise<number> {
  try {
    const ledger = openSqliteLedger(join(dataFolder, "ledger.sqlite"), { readonly: true });
    try {
      return (await ledger.last(BTC_1M))?.time ?? Number.NaN;
    } finally {
      await ledger.close();
    }
  } catch {
    return Number.NaN;
  }
}
