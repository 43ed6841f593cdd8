import type { Command } from "commander";
import { formatReportRun, formatSimulateRun } from "../../backtest/searchText.js";
import { holdoutOption } from "../../config/index.js";
import { UsageError } from "../../core/errors.js";
import { runSimulate } from "../../pipeline/backtestStages.js";
import { runReport } from "../../pipeline/reportStage.js";
import { configOf, contextOf } from "../context.js";
import type { ConfigOptions, WriterOptions } from "../options.js";
import { marketWriter, runWriter } from "../writer.js";

function workersOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--workers must be a positive integer, got "${value}"`);
  return n;
}

/** `itb simulate`. */
export async function simulateAction(
  opts: ConfigOptions &
    WriterOptions & { input?: string; holdout?: string; workers?: string; allowInSample?: boolean },
  cmd: Command,
): Promise<void> {
  const ctx = contextOf(cmd);
  const loaded = configOf(opts, ctx.log);
  const { config, file } = loaded;
  const workers = workersOf(opts.workers);
  const holdout = opts.holdout !== undefined ? holdoutOption(opts.holdout) : undefined;
  const writer = { ...marketWriter("simulate"), stopping: "stopping the threshold search" };
  await runWriter(ctx, config, opts, writer, async (signal) => {
    const run = await runSimulate(loaded, file, {
      log: ctx.log,
      signal,
      cli: true,
      allowInSample: opts.allowInSample === true,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(holdout !== undefined ? { holdout } : {}),
      ...(workers !== undefined ? { workers } : {}),
    });
    process.stdout.write(`${formatSimulateRun(run)}\n`);
  });
}

/** `itb report`. */
export async function reportAction(
  opts: ConfigOptions & WriterOptions & { input?: string; params?: string; allowInSample?: boolean },
  cmd: Command,
): Promise<void> {
  const ctx = contextOf(cmd);
  if (opts.params !== undefined && opts.params !== "best" && opts.params !== "config") {
    throw new UsageError(`--params must be "best" or "config", got "${opts.params}"`);
  }
  const loaded = configOf(opts, ctx.log);
  const { config, file } = loaded;
  await runWriter(ctx, config, opts, marketWriter("report"), async () => {
    const run = await runReport(loaded, file, {
      log: ctx.log,
      now: Date.now(),
      cli: true,
      allowInSample: opts.allowInSample === true,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.params !== undefined ? { params: opts.params as "best" | "config" } : {}),
    });
    process.stdout.write(`${formatReportRun(run)}\n`);
  });
}
