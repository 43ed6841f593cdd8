import type { Command } from "commander";
import { interruption } from "../../core/errors.js";
import { isoTime } from "../../core/time.js";
import { describeStoppedImport, importIncomplete, runImport } from "../../data/runImport.js";
import { formatGapReport, runMerge } from "../../data/runMerge.js";
import { type ConfigOptions, configOf, contextOf, withConfigOptions } from "../context.js";
import { marketWriter, runWriter, type WriterOptions, withWaitOption } from "../writer.js";

interface ImportCliOptions extends ConfigOptions, WriterOptions {
  source?: string;
  from?: string;
  to?: string;
  interval?: string;
  verify: boolean;
}

export function registerDataCommands(program: Command): void {
  withWaitOption(
    withConfigOptions(
      program
        .command("import")
        .summary("import bulk kline history from Binance's public archive (monthly/daily zips)")
        .description(
          "Imports every data source of the config from Binance's public archive (or a local folder in the " +
            "same layout) into its klines store, verifying each zip's checksum. Re-running is a no-op. " +
            "Ctrl-C stops after the file in flight and keeps the files completed: a rerun resumes.",
        ),
    ),
  )
    .option("--source <url|dir>", "archive base URL or local folder (default: the config's archive_url)")
    .option("--from <YYYY-MM[-DD]>", "first month or day to import (default: download_start)")
    .option("--to <YYYY-MM[-DD]>", "end, exclusive (default: download_end, else now)")
    .option(
      "--interval <interval>",
      "Binance interval to import for every source (default: each data source's interval, else freq)",
    )
    .option("--no-verify", "skip .CHECKSUM verification (not recommended)")
    .addHelpText(
      "after",
      "\nExample:\n  itb import --config configs/btcusdt-1m.jsonc --source ../shared/data/binance-vision --from 2023-01 --to 2024-01",
    )
    .action(async (opts: ImportCliOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { config } = configOf(opts, ctx.log);
      const run = {
        writes: { sources: true },
        stopping: "stopping after the file in flight",
        what: "import",
      };
      await runWriter(ctx, config, opts, run, async (signal) => {
        const results = await runImport(config, opts, { ...ctx, signal });
        for (const r of results) {
          process.stdout.write(
            `${r.folder}: ${r.rowsAdded.toLocaleString("en-US")} rows added from ${r.files} file(s) (${r.filesSkipped} already stored); ` +
              `${r.rowsTotal.toLocaleString("en-US")} rows in ${r.file}` +
              (r.first !== undefined && r.last !== undefined
                ? ` (${isoTime(r.first)} .. ${isoTime(r.last)})`
                : "") +
              (r.interrupted ? ` [interrupted after ${r.files} of ${r.filesPlanned} file(s)]` : "") +
              "\n",
          );
        }
        if (importIncomplete(config, results))
          throw interruption(signal, describeStoppedImport(config, results));
      });
    });

  withWaitOption(
    withConfigOptions(
      program
        .command("merge")
        .summary("merge the data sources onto the regular time grid and report every gap")
        .description(
          "Builds the regular grid at the config's freq from all data sources (column prefixes added), " +
            "writes the merged table and a JSON gap report. Gaps stay NaN unless merge_interpolate is set.",
        ),
    ),
  )
    .addHelpText("after", "\nExample:\n  itb merge --config configs/btcusdt-ethusdt-1m.jsonc")
    .action(async (opts: ConfigOptions & WriterOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { config } = configOf(opts, ctx.log);
      await runWriter(ctx, config, opts, marketWriter("merge"), async () => {
        const run = await runMerge(config, ctx.log);
        process.stdout.write(`${formatGapReport(run.report)}\nwrote ${run.file}\nwrote ${run.gapFile}\n`);
      });
    });
}
