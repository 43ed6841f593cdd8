import type { Command } from "commander";
import { interruption } from "../../core/errors.js";
import { isoTime } from "../../core/time.js";
import { describeStoppedImport, importIncomplete, runImport } from "../../data/runImport.js";
import { formatGapReport, runMerge } from "../../data/runMerge.js";
import type { ImportCliOptions } from "../commands/data.js";
import { configOf, contextOf } from "../context.js";
import type { ConfigOptions, WriterOptions } from "../options.js";
import { marketWriter, runWriter } from "../writer.js";

/** `itb import`. */
export async function importAction(opts: ImportCliOptions, cmd: Command): Promise<void> {
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
    if (importIncomplete(config, results)) throw interruption(signal, describeStoppedImport(config, results));
  });
}

/** `itb merge`. */
export async function mergeAction(opts: ConfigOptions & WriterOptions, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const { config } = configOf(opts, ctx.log);
  await runWriter(ctx, config, opts, marketWriter("merge"), async () => {
    const run = await runMerge(config, ctx.log);
    process.stdout.write(`${formatGapReport(run.report)}\nwrote ${run.file}\nwrote ${run.gapFile}\n`);
  });
}
