import { SystemClock } from "../../src/core/clock.js";
import type { Logger } from "../../src/core/log.js";
import { ledgerFile } from "../../src/live/ledger/file.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { CandleRecord } from "../../src/live/ledger/types.js";
import type { MarketRunner } from "../../src/live/market.js";
import { runService, type ServiceRun } from "../../src/live/service.js";
import type { VirtualClock } from "../../src/simulator/index.js";

const MIN = 60_000;

/**
 * Runs `itb serve` in this process over `configs` against a simulator whose clock stands still,
 * moving the clock on by one 1m candle each time every market has processed the last one, so
 * each candle is fetched within its next bar (fresh, not catch-up), until every market has
 * processed `minutes` candles or `stop` says so.
 */
export async function serveInLockstep(o: {
  configs: readonly string[];
  clock: VirtualClock;
  start: number;
  minutes: number;
  log: Logger;
  stop?: (market: MarketRunner, rec: CandleRecord) => boolean;
}): Promise<ServiceRun> {
  const controller = new AbortController();
  const done = new Map<string, number>();
  return runService({
    configFiles: o.configs,
    log: o.log,
    clock: new SystemClock(),
    signal: controller.signal,
    openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
    pollMs: 5,
    delayMs: 0,
    onReady: () => o.clock.set(o.start + MIN + 30_000),
    onProcessed: (m, rec) => {
      done.set(m.config.data_folder, (done.get(m.config.data_folder) ?? 0) + 1);
      const counts = [...done.values()];
      const all = counts.length === o.configs.length;
      if (o.stop?.(m, rec) === true || (all && counts.every((n) => n >= o.minutes))) controller.abort();
      else if (all && counts.every((n) => n === counts[0])) o.clock.set(rec.candle.time + 2 * MIN + 30_000);
    },
  });
}
