import { dirname } from "node:path";
import type { Command } from "commander";
import { DataError } from "../../core/errors.js";
import { isoTime } from "../../core/time.js";
import { symbolFile } from "../../data/paths.js";
import { readInput } from "../../data/store/index.js";
import { checkLookahead } from "../../features/lookahead.js";
import { runFeatures, runLabels } from "../../pipeline/featureStages.js";
import { resolveFeatureSets } from "../../pipeline/generators.js";
import { configOf, contextOf } from "../context.js";
import type { ConfigOptions, WriterOptions } from "../options.js";
import { marketWriter, runWriter } from "../writer.js";

/** `itb features`. */
export async function featuresAction(opts: ConfigOptions & WriterOptions, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const { config, file } = configOf(opts, ctx.log);
  await runWriter(ctx, config, opts, marketWriter("features"), async () => {
    const run = await runFeatures(config, file, ctx.log);
    process.stdout.write(
      `${run.columns.length} features on ${run.rows.toLocaleString("en-US")} rows\nwrote ${run.output}\n`,
    );
  });
}

/** `itb labels`. */
export async function labelsAction(opts: ConfigOptions & WriterOptions, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const { config, file } = configOf(opts, ctx.log);
  await runWriter(ctx, config, opts, marketWriter("labels"), async () => {
    const run = await runLabels(config, file, ctx.log);
    process.stdout.write(
      `${run.columns.length} labels on ${run.rows.toLocaleString("en-US")} rows\nwrote ${run.output}\n`,
    );
  });
}

/** `itb lookahead`. */
export async function lookaheadAction(
  opts: ConfigOptions & { rows?: string; checkpoints: string },
  cmd: Command,
): Promise<void> {
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
}
