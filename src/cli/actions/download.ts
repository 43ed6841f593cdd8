import type { Command } from "commander";
import { interruption, UsageError } from "../../core/errors.js";
import { isoTime } from "../../core/time.js";
import { runDownload } from "../../data/runDownload.js";
import type { DownloadCliOptions } from "../commands/download.js";
import { configOf, contextOf } from "../context.js";
import { runWriter } from "../writer.js";

/** `itb download`. */
export async function downloadAction(opts: DownloadCliOptions, cmd: Command): Promise<void> {
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
}
