import { dirname } from "node:path";
import type { Command } from "commander";
import { DataError } from "../../core/errors.js";
import { isoTime } from "../../core/time.js";
import { symbolFile } from "../../data/paths.js";
import { readInput } from "../../data/store/index.js";
import { checkLookahead } from "../../features/lookahead.js";
import { runFeatures, runLabels } from "../../pipeline/featureStages.js";
import { resolveFeatureSets } from "../../pipeline/generators.js";
import { type ConfigOptions, configOf, contextOf, withConfigOptions } from "../context.js";
import { marketWriter, runWriter, type WriterOptions, withWaitOption } from "../writer.js";

export function registerFeatureCommands(program: Command): void {
  withWaitOption(
    withConfigOptions(
      program
        .command("features")
        .summary("compute every feature_sets entry on the merged table and write features")
        .description(
          "Runs the config's feature generators (talib, itbstats, custom) over the merged table, in order, " +
            "and writes the features table and the list of feature names. Logs timing and NaN counts.",
        ),
    ),
  )
    .addHelpText("after", "\nExample:\n  itb features --config configs/btcusdt-1m.jsonc")
    .action(async (opts: ConfigOptions & WriterOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { config, file } = configOf(opts, ctx.log);
      await runWriter(ctx, config, opts, marketWriter("features"), async () => {
        const run = await runFeatures(config, file, ctx.log);
        process.stdout.write(
          `${run.columns.length} features on ${run.rows.toLocaleString("en-US")} rows\nwrote ${run.output}\n`,
        );
      });
    });

  withWaitOption(
    withConfigOptions(
      program
        .command("labels")
        .summary("compute every label_sets entry on the features table and write matrix")
        .description(
          "Runs the config's label generators (highlow2, highlow, topbot2) on the features table and writes " +
            "the training matrix. Labels look into the future by definition: the last rows have none (NaN).",
        ),
    ),
  )
    .addHelpText("after", "\nExample:\n  itb labels --config configs/btcusdt-1m.jsonc")
    .action(async (opts: ConfigOptions & WriterOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { config, file } = configOf(opts, ctx.log);
      await runWriter(ctx, config, opts, marketWriter("labels"), async () => {
        const run = await runLabels(config, file, ctx.log);
        process.stdout.write(
          `${run.columns.length} labels on ${run.rows.toLocaleString("en-US")} rows\nwrote ${run.output}\n`,
        );
      });
    });

  withConfigOptions(
    program
      .command("lookahead")
      .summary("prove the config's features never peek ahead and that streaming equals batch")
      .description(
        "For every feature column of the config (custom generators included): recomputes it on the " +
          "table truncated at checkpoints and compares with the full run (prefix invariance), and feeds " +
          "the rows one by one through the streaming path (batch/stream parity). Exit 1 if any fails.",
      ),
  )
    .option("--rows <n>", "check the last N rows of the merged table (default: all)")
    .option("--checkpoints <n>", "evenly spaced truncation points (rows inside gaps are added)", "12")
    .addHelpText("after", "\nExample:\n  itb lookahead --config configs/btcusdt-1m.jsonc --rows 50000")
    .action(async (opts: ConfigOptions & { rows?: string; checkpoints: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { config, file } = configOf(opts, ctx.log);
      let frame = await readInput(
        symbolFile(config, config.merge_file_name),
        { timeColumn: config.time_column },
        "`itb merge`",
      );
      if (opts.rows) frame = frame.slice(Math.max(0, frame.length - Number(opts.rows)));
      const sets = await resolveFeatureSets(config.feature_sets, dirname(file));
      const checks = await checkLookahead(frame, sets, { checkpoints: Number(opts.checkpoints) });
      const peeking: string[] = [];
      const drifting: string[] = [];
      for (const c of checks) {
        const ok = c.prefixOk && c.streamOk !== false;
        if (!c.prefixOk) peeking.push(c.column);
        else if (c.streamOk === false) drifting.push(c.column);
        const stream =
          c.streamOk === null ? "no streaming form" : c.streamOk ? "stream = batch" : "STREAM DRIFTS";
        const where = c.firstBad
          ? `  first at ${isoTime(c.firstBad.time)}: batch ${c.firstBad.batch}, ${c.firstBad.kind === "prefix" ? "truncated" : "stream"} ${c.firstBad.other}`
          : "";
        process.stdout.write(
          `${ok ? "ok  " : "FAIL"} ${c.column}: ${c.prefixOk ? "no lookahead" : "PEEKS AHEAD"}, ${stream}${where}\n`,
        );
      }
      const bad = peeking.length + drifting.length;
      process.stdout.write(`${checks.length - bad} of ${checks.length} columns pass\n`);
      if (bad > 0) {
        // A data error (exit 1), so that a CI step guarding a strategy fails on a leak.
        const of = (cols: string[], what: string) =>
          `${cols.length} of ${checks.length} column(s) ${what}: ${cols.join(", ")}`;
        throw new DataError(
          [
            ...(peeking.length > 0 ? [of(peeking, "peek ahead")] : []),
            ...(drifting.length > 0 ? [of(drifting, "stream differently from the batch")] : []),
          ].join("; "),
        );
      }
    });
}
