import type { Command } from "commander";
import { ItbError, interruption } from "../../core/errors.js";
import { type Logger, noProgress, type ProgressFactory } from "../../core/log.js";
import {
  type PipelineDeps,
  type PipelineRequest,
  type PipelineRun,
  runPipeline,
  withFields,
} from "../../pipeline/graph/matrix.js";
import type { MarketId, StageEvent, StageResult } from "../../pipeline/graph/runner.js";
import {
  describeInterrupted,
  formatSummary,
  reportFiles,
  summaryJson,
} from "../../pipeline/graph/summary.js";
import type { QueueTarget } from "../../pipeline/queue/queue.js";
import type { PipelineCliOptions } from "../commands/pipeline.js";
import { contextOf } from "../context.js";
import { catchInterrupts } from "../interrupts.js";
import { oneOf } from "../options.js";
import { createProgress } from "../progress.js";
import { type StatusLine, stderrLine } from "../terminalLine.js";
import { VERSION } from "../version.js";

const SOURCE_STAGES: ReadonlySet<string> = new Set(["import", "download"]);

/** The stage's outcome; `why` false leaves out why it ran (the same reason as the stage before). */
function describe(r: StageResult, why = true): string {
  switch (r.status) {
    case "ran":
      return `done in ${r.seconds.toFixed(1)} s${why ? ` (${r.reason})` : ""}`;
    case "skipped":
      return `skipped (${r.reason})`;
    case "not-configured":
      return `skipped (not configured: ${r.reason})`;
    case "failed":
      return `FAILED after ${r.seconds.toFixed(1)} s: ${r.reason}`;
    case "interrupted":
      return `INTERRUPTED after ${r.seconds.toFixed(1)} s: ${r.reason}`;
    default:
      return `not run (${r.reason})`;
  }
}

/**
 * One line per market and stage on stderr: "[BTCUSDT 1m] features ... done in 3.2 s". With one
 * market at a time the line is shown (transient, on a terminal) when the stage starts and made
 * permanent when it ends; logs and bars in between keep out of its way (see StatusLine). Why a
 * stage runs is said once while it stays the same ("first run" for every stage of a first run).
 */
class LineReporter {
  private open: string | undefined;
  private readonly lastReason = new Map<string, string>();
  /** True while one market runs at a time (the default until the pipeline's plan says otherwise). */
  sequential = true;
  constructor(private readonly line: StatusLine) {}

  /** Removes an open stage line (before the summary). */
  close(): void {
    if (this.open !== undefined) {
      this.line.show("");
      this.open = undefined;
    }
  }

  onEvent(e: StageEvent): void {
    const market = `${e.market.symbol} ${e.market.freq}`;
    const key = `[${market}] ${e.stage} ...`;
    if (e.phase === "start") {
      if (!this.sequential) return;
      this.open = key;
      this.line.show(key);
      return;
    }
    const r = e.result as StageResult;
    const repeated = r.status === "ran" && this.lastReason.get(market) === r.reason;
    if (r.status === "ran") this.lastReason.set(market, r.reason);
    if (this.open === key) this.close();
    this.line.print(`${key} ${describe(r, !repeated)}`);
  }
}

/** Stage logs in line mode: warnings and errors only (all with --log-level debug). */
function lineModeLogger(log: Logger, verbose: boolean, fields: object): Logger {
  const base = withFields(log, fields);
  return {
    debug: (o, m) => {
      if (verbose) base.debug(o, m);
    },
    info: (o, m) => {
      if (verbose) base.info(o, m);
    },
    warn: (o, m) => base.warn(o, m),
    error: (o, m) => base.error(o, m),
  };
}

/** `itb pipeline`: `request` is the command line's, checked (requestOf) before this module loaded. */
export async function pipelineAction(
  request: PipelineRequest,
  opts: PipelineCliOptions,
  cmd: Command,
): Promise<void> {
  let run: PipelineRun | undefined;
  if (opts.queue !== undefined) {
    // BullMQ and ioredis load for --queue only, not with every local run
    const { parseQueueUrl } = await import("../../pipeline/queue/queue.js");
    const target = { url: parseQueueUrl(opts.queue), prefix: opts.queuePrefix };
    run = await queuePipeline(request, target, cmd, {
      json: opts.json === true,
      follow: opts.wait === true,
    });
    if (run === undefined) return;
  } else {
    run = await executePipeline(request, cmd, {
      json: opts.json === true,
      progress: opts.progress,
    });
  }
  if (run.failed > 0) {
    // status 2 when every failure is a config or usage mistake (e.g. in-sample predictions not allowed)
    const usage = run.markets.every((m) => m.ok || m.error?.exit_code === 2);
    throw new ItbError(`${run.failed} of ${run.markets.length} market(s) failed`, {
      exitCode: usage ? 2 : 1,
    });
  }
}

/**
 * Runs the pipeline with the command's progress output and prints the summary (a table, or JSON
 * with `json`). `itb demo` calls it too, with a loader that points the config at its simulator.
 */
export async function executePipeline(
  request: PipelineRequest,
  cmd: Command,
  output: { json: boolean; progress: string },
  load?: PipelineDeps["load"],
): Promise<PipelineRun> {
  const ctx = contextOf(cmd);
  const g = cmd.optsWithGlobals<{ logLevel: string; logFormat: string }>();
  const mode = oneOf(output.progress, ["auto", "lines", "log"] as const, "--progress");
  const lines =
    mode === "lines" || (mode === "auto" && process.stderr.isTTY === true && g.logFormat !== "json");
  // One market at a time or several: known once the pipeline has planned (onPlan).
  const line = stderrLine();
  const reporter = new LineReporter(line);
  const verbose = g.logLevel === "debug";
  const fields = (m: MarketId, stage: string) => ({ symbol: m.symbol, freq: m.freq, stage });
  // In line mode only the source stages draw bars (a bar per data source, under the stage's
  // line): they wait on the network; the others are done in seconds and their line says so.
  const bars = createProgress(ctx.log, true);
  const lineProgress: ProgressFactory = (label, unit) =>
    line.interactive && reporter.sequential && SOURCE_STAGES.has(label)
      ? bars(label, unit)
      : noProgress(label, unit);

  // Ctrl-C: the stages in flight finish (or stop at their own safe points), no stage starts. The
  // warning prints above the open stage line (logs go through the status line).
  const interrupts = catchInterrupts(ctx.log, "stopping after the stages in flight");
  let run: Awaited<ReturnType<typeof runPipeline>>;
  try {
    run = await runPipeline(request, {
      log: ctx.log,
      progress: lines ? lineProgress : createProgress(ctx.log, false),
      clock: { now: () => Date.now() },
      itbVersion: VERSION,
      ...(load === undefined ? {} : { load }),
      signal: interrupts.signal,
      logFor: (m, stage) =>
        lines ? lineModeLogger(ctx.log, verbose, fields(m, stage)) : withFields(ctx.log, fields(m, stage)),
      onPlan: (plan) => {
        reporter.sequential = plan.jobs === 1;
      },
      onEvent: (e) => {
        if (lines) {
          reporter.onEvent(e);
          return;
        }
        const r = e.result;
        if (e.phase === "start") {
          ctx.log.info({ ...fields(e.market, e.stage), reason: e.reason }, "stage started");
        } else if (r !== undefined) {
          const entry = {
            ...fields(e.market, e.stage),
            status: r.status,
            reason: r.reason,
            seconds: Math.round(r.seconds * 1000) / 1000,
            ...(r.summary === undefined ? {} : { summary: r.summary }),
          };
          if (r.status === "failed") ctx.log.error(entry, "stage failed");
          else if (r.status === "interrupted") ctx.log.warn(entry, "stage interrupted");
          else ctx.log.info(entry, r.status === "ran" ? "stage done" : "stage skipped");
        }
      },
    });
  } finally {
    interrupts.dispose();
  }
  reporter.close();
  return finishRun(
    run,
    output,
    interrupts.signal,
    "run the same command again to continue (finished stages are skipped)",
  );
}

/**
 * `--queue`: the request checked and planned as for a local run, its stages enqueued; with
 * `follow` (--wait) each stage's end is logged as the workers finish it and the summary is
 * printed as locally. Without it, the run's id and job count are printed and the command ends.
 */
async function queuePipeline(
  request: PipelineRequest,
  target: QueueTarget,
  cmd: Command,
  output: { json: boolean; follow: boolean },
): Promise<PipelineRun | undefined> {
  const { describeTarget, enqueuePipeline, followRun } = await import("../../pipeline/queue/queue.js");
  const { log } = contextOf(cmd);
  // --wait means "follow the run" here; the workers wait for other writers' locks themselves.
  const { wait: _wait, ...rest } = request;
  const enqueued = await enqueuePipeline(rest, target, { log });
  const jobs = enqueued.markets.reduce((n, m) => n + m.jobs.length, 0);
  log.info(
    {
      run: enqueued.run,
      markets: enqueued.markets.length,
      jobs,
      already_queued: enqueued.existing,
      queue: describeTarget(target),
    },
    enqueued.existing === enqueued.markets.length
      ? "the run was already queued: nothing added"
      : "run enqueued",
  );
  if (!output.follow) {
    process.stdout.write(
      output.json
        ? `${JSON.stringify({ run: enqueued.run, markets: enqueued.markets.length, jobs, already_queued: enqueued.existing })}\n`
        : `run ${enqueued.run}: ${jobs} stage job(s) of ${enqueued.markets.length} market(s) enqueued${enqueued.existing > 0 ? ` (${enqueued.existing} market(s) already queued)` : ""}; follow it with the same command and --wait\n`,
    );
    return undefined;
  }
  const interrupts = catchInterrupts(log, "no longer following the run (the workers go on)");
  let run: PipelineRun;
  try {
    run = await followRun(enqueued, target, {
      log,
      signal: interrupts.signal,
      onEvent: (e) => {
        const fields = { symbol: e.market.symbol, freq: e.market.freq, stage: e.stage };
        if (e.phase === "start") log.info(fields, "stage started");
        else if (e.result !== undefined) {
          const entry = { ...fields, status: e.result.status, reason: e.result.reason };
          if (e.result.status === "failed") log.error(entry, "stage failed");
          else log.info(entry, e.result.status === "ran" ? "stage done" : `stage ${e.result.status}`);
        }
      },
    });
  } finally {
    interrupts.dispose();
  }
  return finishRun(
    run,
    output,
    interrupts.signal,
    "the workers go on: follow the run again with the same command",
  );
}

/** Prints a run's summary (or its JSON) and the reports' paths; an interrupted run ends as an interruption saying what to do next. */
function finishRun(
  run: PipelineRun,
  output: { json: boolean },
  signal: AbortSignal,
  next: string,
): PipelineRun {
  process.stdout.write(
    output.json ? `${JSON.stringify(summaryJson(run), null, 2)}\n` : `${formatSummary(run)}\n`,
  );
  if (!output.json) {
    const reports = reportFiles(run);
    if (reports.length > 0) process.stdout.write(`\n${reports.map((f) => `report: ${f}`).join("\n")}\n`);
  }
  if (signal.aborted) throw interruption(signal, `${describeInterrupted(run)}; ${next}`);
  return run;
}
