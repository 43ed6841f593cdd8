import type { Command } from "commander";
import { type ConfigOptions, type WriterOptions, withConfigOptions, withWaitOption } from "../options.js";

export interface ImportCliOptions extends ConfigOptions, WriterOptions {
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
      const { importAction } = await import("../actions/data.js");
      await importAction(opts, cmd);
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
      const { mergeAction } = await import("../actions/data.js");
      await mergeAction(opts, cmd);
    });
}
