import type { Command } from "commander";
import { interruption, UsageError } from "../../core/errors.js";
import { isoTime } from "../../core/time.js";
import { runDownload } from "../../data/runDownload.js";
import { type ConfigOptions, configOf, contextOf, withConfigOptions } from "../context.js";
import { runWriter, type WriterOptions, withWaitOption } from "../writer.js";

interface DownloadCliOptions extends ConfigOptions, WriterOptions {
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
      const ctx = contextOf(cmd);
      const { config } = configOf(opts, ctx.log);
      let batchRows: number | undefined;
      if (opts.batchRows !== undefined) {
        batchRows = Number(opts.batchRows);
        if (!Number.isInteger(batchRows) || batchRows < 1) {
          throw new UsageError(`--batch-rows must be a positive integer, got "${opts.batchRows}"`);
        }
      }
      // The first Ctrl-C stops after the request in flight and stores what arrived; a second one quits.
      const run = {
        writes: { sources: true },
        stopping: "storing the rows fetched so far",
        what: "download",
      };
      await runWriter(ctx, config, opts, run, async (signal) => {
        const results = await runDownload(
          config,
          {
            ...(opts.from === undefined ? {} : { from: opts.from }),
            ...(opts.to === undefined ? {} : { to: opts.to }),
            ...(batchRows === undefined ? {} : { batchRows }),
          },
          { ...ctx, signal },
        );
        for (const r of results) {
          process.stdout.write(
            `${r.folder}: ${r.rowsAdded.toLocaleString("en-US")} rows added` +
              (r.rowsChanged > 0 ? `, ${r.rowsChanged.toLocaleString("en-US")} replaced` : "") +
              ` from ${r.pages} request(s); ${r.rowsTotal.toLocaleString("en-US")} rows in ${r.file}` +
              (r.first !== undefined && r.last !== undefined
                ? ` (${isoTime(r.first)} .. ${isoTime(r.last)})`
                : "") +
              (r.interrupted ? " [interrupted]" : "") +
              "\n",
          );
        }
        if (signal.aborted) {
          throw interruption(
            signal,
            "download interrupted; run the same command again to resume (the rows fetched are stored)",
          );
        }
      });
    });
}
