import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PACKAGE_ROOT } from "../cli/version.js";
import { loadArchiveMonths } from "../data/archive/import.js";
import { openSqliteLedger } from "../live/ledger/sqlite.js";
import type { CandleRecord } from "../live/ledger/types.js";

/**
 * `npm run bench:ledger`: the cost of `record` for one candle as the live service writes it
 * most of the time (4 scores, 6 signals, no orders, the Trader's state), on the bundled
 * sample's candles, into a fresh ledger in `--dir` (default: the system's temporary folder).
 * Prints the p50, p99 and max latency of `record`; with synchronous = FULL each one includes
 * the fsync of the WAL, so the disk under `--dir` sets the figure.
 */

const { values } = parseArgs({
  options: {
    records: { type: "string", default: "5000" },
    dir: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(
    "Usage: npm run bench:ledger -- [--records N] [--dir FOLDER]\n" +
      "  --records N    candles to record (default 5000)\n" +
      "  --dir FOLDER   where the ledger is created (default: the temporary folder)\n",
  );
  process.exit(0);
}

const count = Number(values.records);
const frame = await loadArchiveMonths(
  join(PACKAGE_ROOT, "sample", "binance-vision"),
  "BTCUSDT",
  "spot",
  "1m",
  ["2023-03"],
);
const dir = mkdtempSync(join(values.dir ?? tmpdir(), "itb-bench-ledger-"));
const ledger = openSqliteLedger(join(dir, "ledger.sqlite"), { command: "bench:ledger" });
const [open, high, low, close, volume] = ["open", "high", "low", "close", "volume"].map((c) => frame.get(c));
const ms: number[] = [];
try {
  for (let i = 0; i < count; i++) {
    const k = i % frame.length;
    const c = close?.[k] as number;
    const rec: CandleRecord = {
      market: { symbol: "BTCUSDT", freq: "1m" },
      candle: {
        time: (frame.time[0] as number) + i * 60_000,
        open: open?.[k] as number,
        high: high?.[k] as number,
        low: low?.[k] as number,
        close: c,
        volume: volume?.[k] as number,
      },
      catchUp: false,
      scores: { high_10_lc: c / 1e5, low_10_lc: c / 2e5, high_10_gb: c / 3e5, low_10_gb: c / 4e5 },
      signals: {
        trade_score: c / 1e6,
        trade_score_smooth: c / 2e6,
        buy_score: 0.1,
        sell_score: 0.2,
        buy_signal_column: 0,
        sell_signal_column: 0,
      },
      buy: false,
      sell: false,
      actions: [],
      orders: [],
      fills: [],
      trades: [],
      equity: { equity: 1000, cash: 1000, position: 0, quantity: 0, entryPrice: Number.NaN },
      state: {
        cash: 1000,
        position: 0,
        quantity: 0,
        entryPrice: Number.NaN,
        workingOrders: [],
        pendingEntry: 0,
      },
      processedAt: Date.now(),
      latencyMs: 1,
    };
    const t0 = performance.now();
    await ledger.record(rec);
    ms.push(performance.now() - t0);
  }
} finally {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
}
ms.sort((a, b) => a - b);
const at = (q: number) => (ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] as number).toFixed(3);
process.stdout.write(
  `${JSON.stringify({ records: count, dir: values.dir ?? tmpdir(), p50_ms: Number(at(0.5)), p99_ms: Number(at(0.99)), max_ms: Number(at(1)) })}\n`,
);
