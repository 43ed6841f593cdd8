import { resolve } from "node:path";
import type { Command } from "commander";
import { type ConfigOverrides, configHash, loadConfig } from "../../config/index.js";
import { startSimulator } from "../../simulator/index.js";
import { contextOf } from "../context.js";
import { PACKAGE_ROOT } from "../version.js";
import { executePipeline } from "./pipeline.js";

/** The sample's last candle opens at 2023-04-30 23:59 UTC; the simulator's clock stands just after it closes. */
const SAMPLE_END = Date.UTC(2023, 4, 1, 0, 1);

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .summary("the whole pipeline offline on the bundled real sample, downloaded from `itb sim` on loopback")
    .description(
      "Starts the Binance-compatible simulator on 127.0.0.1 serving the bundled real candles\n" +
        "(sample/binance-vision: BTCUSDT spot and ETHUSDT USD-M perpetual 1m, 2023-02..04), then runs\n" +
        "configs/demo.jsonc through every stage — download (through ccxt, as from Binance), merge,\n" +
        "features, labels, train, walk-forward predictions, signals, threshold search, report — and\n" +
        "prints the summary and the report's path. A second run skips what is up to date.",
    )
    .option("--data-folder <dir>", "where the demo writes its store", "data/demo")
    .option("--force", "rerun every stage")
    .addHelpText("after", "\nExample:\n  itb demo --data-folder /tmp/itb-demo")
    .action(async (opts: { dataFolder: string; force?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const sim = await startSimulator({
        archive: resolve(PACKAGE_ROOT, "sample/binance-vision"),
        start: SAMPLE_END,
        speed: 0,
        log: ctx.log,
      });
      try {
        ctx.log.info({ url: sim.url }, "simulator serving the bundled sample on loopback");
        const dataFolder = resolve(opts.dataFolder);
        const load = (file: string, overrides: ConfigOverrides) => {
          const loaded = loadConfig(file, overrides);
          // The simulator's port changes from run to run: keep it out of the config hash, so
          // that the stages after download stay up to date between demo runs.
          const hashed = { ...loaded.config, data_folder: dataFolder };
          const config = { ...hashed, exchange_url: sim.url };
          return { ...loaded, config, hash: configHash(hashed) };
        };
        const run = await executePipeline(
          {
            configFile: resolve(PACKAGE_ROOT, "configs/demo.jsonc"),
            source: "download",
            ...(opts.force ? { force: true } : {}),
          },
          cmd,
          { json: false, progress: "auto" },
          load,
        );
        if (run.failed > 0) process.exitCode = 1;
      } finally {
        await sim.close();
      }
    });
}
