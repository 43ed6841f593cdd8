import { resolve } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../../config/index.js";
import { runImport } from "../../data/runImport.js";
import { formatGapReport, runMerge } from "../../data/runMerge.js";
import { contextOf } from "../context.js";
import { PACKAGE_ROOT } from "../version.js";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .summary(
      "run the pipeline offline on the bundled real sample (BTCUSDT spot + ETHUSDT futures, 2023-02..04)",
    )
    .option("--data-folder <dir>", "where the demo writes its store", "data/demo")
    .addHelpText("after", "\nExample:\n  itb demo --data-folder /tmp/itb-demo")
    .action(async (opts: { dataFolder: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const loaded = loadConfig(resolve(PACKAGE_ROOT, "configs/demo.jsonc"));
      const config = { ...loaded.config, data_folder: resolve(opts.dataFolder) };
      const source = resolve(PACKAGE_ROOT, "sample/binance-vision");
      const imports = await runImport(config, { source }, ctx);
      for (const r of imports) {
        process.stdout.write(
          `import ${r.folder}: ${r.rowsAdded.toLocaleString("en-US")} rows added, ${r.rowsTotal.toLocaleString("en-US")} stored in ${r.file}\n`,
        );
      }
      const merged = await runMerge(config, ctx.log);
      process.stdout.write(
        `\n${formatGapReport(merged.report)}\n\nwrote ${merged.file}\nwrote ${merged.gapFile}\n`,
      );
    });
}
