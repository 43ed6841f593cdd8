import type { Command } from "commander";
import { type ConfigOptions, type WriterOptions, withConfigOptions, withWaitOption } from "../options.js";

export interface DownloadCliOptions extends ConfigOptions, WriterOptions {
  from?: string;
  to?: string;
  batchRows?: string;
}

export function registerDownloadCommand(program: Command): void {
  withWaitOption(
    withConfigOptions(
      program
        .command("download")
        .summary("download klines from the exchange's REST API, incrementally (ccxt)")
        .description(
          "Downloads every data source of the config from the exchange (the config's venue, or its " +
            "exchange_url, e.g. a local simulator) into its klines store. The first run starts at " +
            "download_start (or the exchange's first candle); later runs resume from the last stored " +
            "candle, fetching the last append_overlap_records bars (default 5) again. The still-forming " +
            "candle is never stored. Rows are written atomically in batches: an interrupted run resumes.",
        ),
    ),
  )
    .option(
      "--from <YYYY-MM[-DD]>",
      "first candle wanted (default: download_start, else the exchange's first)",
    )
    .option("--to <YYYY-MM[-DD]>", "end, exclusive (default: download_end, else the last closed candle)")
    .option("--batch-rows <n>", "fetched rows between atomic writes of the store (default 50000)")
    .addHelpText(
      "after",
      "\nExample:\n" +
        "  itb download --config configs/btcusdt-1m.jsonc --from 2024-01\n" +
        "  itb download --config configs/btcusdt-1m.jsonc --symbol ETHUSDT --freq 1h --from 2023-01 --to 2024-01",
    )
    .action(async (opts: DownloadCliOptions, cmd: Command) => {
      const { downloadAction } = await import("../actions/download.js");
      await downloadAction(opts, cmd);
    });
}
