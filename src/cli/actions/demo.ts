import { resolve } from "node:path";
import type { Command } from "commander";
import { type ConfigOverrides, configHash, loadConfig } from "../../config/index.js";
import type { Logger } from "../../core/log.js";
import { startSimulator } from "../../simulator/index.js";
import { contextOf } from "../context.js";
import { PACKAGE_ROOT } from "../version.js";
import { executePipeline } from "./pipeline.js";

/** The sample's last candle opens at 2023-04-30 23:59 UTC; the simulator's clock stands just after it closes. */
const SAMPLE_END = Date.UTC(2023, 4, 1, 0, 1);

/**
 * The demo's simulator listens here when the port is free, so exchange_url is the same from run
 * to run and a second run finds the download up to date (download_end is in the past).
 */
export const DEMO_PORT = 9901;
const DEMO_URL = `http://127.0.0.1:${DEMO_PORT}`;

/**
 * The simulator's weight budget per minute and market: it serves this one client on loopback,
 * and the download paces its requests by the budget the simulator announces (100 times
 * Binance's spot budget: the 256k candles come in about a second instead of half a minute).
 */
const DEMO_WEIGHT_LIMIT = 600_000;

/** The simulator's own logs: its warnings only; its progress would crowd the stage lines. */
function warningsOnly(log: Logger): Logger {
  return { debug() {}, info() {}, warn: (o, m) => log.warn(o, m), error: (o, m) => log.error(o, m) };
}

/** `itb demo`. */
export async function demoAction(
  opts: { dataFolder: string; force?: boolean; to?: string },
  cmd: Command,
): Promise<void> {
  const ctx = contextOf(cmd);
  const sim = await startSimulator({
    archive: resolve(PACKAGE_ROOT, "sample/binance-vision"),
    start: SAMPLE_END,
    speed: 0,
    port: DEMO_PORT,
    anyPortIfTaken: true,
    weightLimits: { spot: DEMO_WEIGHT_LIMIT, um: DEMO_WEIGHT_LIMIT },
    // Each symbol loads at its first request: a second run, whose download is up to date, loads none.
    log: warningsOnly(ctx.log),
  });
  try {
    ctx.log.info({ url: sim.url }, "simulator serving the bundled sample on loopback");
    const dataFolder = resolve(opts.dataFolder);
    const load = (file: string, overrides: ConfigOverrides) => {
      const loaded = loadConfig(file, overrides);
      // exchange_url is always the demo's fixed URL, so the manifests do not change with the
      // port; the download connects to wherever the simulator listens (exchangeUrl below).
      const config = { ...loaded.config, data_folder: dataFolder, exchange_url: DEMO_URL };
      return { ...loaded, config, hash: configHash(config) };
    };
    const run = await executePipeline(
      {
        configFile: resolve(PACKAGE_ROOT, "configs/demo.jsonc"),
        source: "download",
        exchangeUrl: sim.url,
        ...(opts.force ? { force: true } : {}),
        ...(opts.to === undefined ? {} : { to: opts.to }),
      },
      cmd,
      { json: false, progress: "auto" },
      load,
    );
    if (run.failed > 0) process.exitCode = 1;
  } finally {
    await sim.close();
  }
}
