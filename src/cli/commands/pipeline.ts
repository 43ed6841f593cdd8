import type { Command } from "commander";
import { UsageError } from "../../core/errors.js";
import type { PipelineRequest } from "../../pipeline/graph/matrix.js";
import { DEFAULT_PREFIX } from "../../pipeline/queue/defaults.js";
import {
  type ConfigOptions,
  freqArgument,
  list,
  oneOf,
  withConfigOptions,
  withWaitOption,
} from "../options.js";

export interface PipelineCliOptions extends ConfigOptions {
  symbols?: string;
  freqs?: string;
  source?: string;
  archive?: string;
  predict?: string;
  downloadStart?: string;
  downloadEnd?: string;
  from?: string;
  to?: string;
  only?: string;
  force?: boolean | string;
  jobs?: string;
  workers?: string;
  json?: boolean;
  progress: string;
  wait?: boolean;
  queue?: string;
  queuePrefix: string;
}

function positiveInt(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer, got "${v}"`);
  return n;
}

export function requestOf(opts: PipelineCliOptions): PipelineRequest {
  if (!opts.config) throw new UsageError("missing --config FILE");
  if (opts.symbol !== undefined && opts.symbols !== undefined) {
    throw new UsageError("--symbol and --symbols: give one of them");
  }
  if (opts.freq !== undefined && opts.freqs !== undefined)
    throw new UsageError("--freq and --freqs: give one of them");
  const symbols = list(opts.symbols) ?? (opts.symbol === undefined ? undefined : [opts.symbol]);
  const freqs = list(opts.freqs) ?? (opts.freq === undefined ? undefined : [opts.freq]);
  const source = oneOf(opts.source, ["import", "download"] as const, "--source");
  const predict = oneOf(opts.predict, ["rolling", "current"] as const, "--predict");
  const jobs = positiveInt(opts.jobs, "--jobs");
  const workers = positiveInt(opts.workers, "--workers");
  const only = list(opts.only);
  const force =
    opts.force === undefined || opts.force === false
      ? undefined
      : opts.force === true
        ? true
        : (list(opts.force) ?? []);
  return {
    configFile: opts.config,
    ...(symbols === undefined ? {} : { symbols }),
    ...(freqs === undefined ? {} : { freqs }),
    ...(source === undefined ? {} : { source }),
    ...(predict === undefined ? {} : { predict }),
    ...(opts.archive === undefined ? {} : { archive: opts.archive }),
    ...(opts.downloadStart === undefined ? {} : { downloadStart: opts.downloadStart }),
    ...(opts.downloadEnd === undefined ? {} : { downloadEnd: opts.downloadEnd }),
    ...(opts.from === undefined ? {} : { from: opts.from }),
    ...(opts.to === undefined ? {} : { to: opts.to }),
    ...(only === undefined ? {} : { only }),
    ...(force === undefined ? {} : { force }),
    ...(jobs === undefined ? {} : { jobs }),
    ...(workers === undefined ? {} : { workers }),
    ...(opts.wait === true ? { wait: true } : {}),
  };
}

export function registerPipelineCommand(program: Command): void {
  withWaitOption(
    withConfigOptions(
      program
        .command("pipeline")
        .summary(
          "run the stages (import/download → … → simulate → report) for one or many markets, skipping what is up to date",
        )
        .description(
          "Runs the batch stages in order: import or download, merge, features, labels, " +
            "train, predict-rolling or predict, signals, simulate, report. Each stage " +
            "writes a manifest (<data_folder>/<symbol>/.itb/manifests/<stage>.json) with " +
            "fingerprints of its input and output files and the hash of the config keys " +
            "it reads; a stage whose inputs, outputs and config are unchanged is skipped. " +
            "--symbols/--freqs run every symbol x freq as a market, several at once; a " +
            "failing market does not stop the others, and the exit status is then 1. " +
            "Another itb process writing the same folders stops it (exit 75) unless --wait. " +
            "Ctrl-C stops after the stages in flight (exit 130; again to quit at once). " +
            "See docs/pipeline.md.",
        ),
    ),
  )
    .option("--symbols <list>", "comma-separated symbols, each a market (default: the config's symbol)")
    .option(
      "--freqs <list>",
      "comma-separated frequencies, each a market per symbol (default: the config's freq)",
      (v: string) => {
        for (const f of list(v) ?? []) freqArgument(f);
        return v;
      },
    )
    .option(
      "--source <stage>",
      "import (Binance archive) or download (exchange REST); default: download when exchange_url is set, else import",
    )
    .option(
      "--archive <url|dir>",
      "the import stage's archive: base URL or local folder (default: archive_url)",
    )
    .option(
      "--predict <kind>",
      "rolling (predict-rolling, walk-forward) or current (predict with train's models); default: rolling when rolling_predict is set",
    )
    .option(
      "--download-start <date>",
      "first day the import/download stage fetches, YYYY-MM[-DD] (overrides download_start)",
    )
    .option("--download-end <date>", "end of the fetched range, exclusive (overrides download_end)")
    .option("--from <stage>", "start at this stage")
    .option("--to <stage>", "stop after this stage")
    .option("--only <stages>", "run just these stages (comma-separated)")
    .option("--force [stages]", "run even when up to date: every stage, or the comma-separated ones")
    .option("--jobs <n>", "markets at once (default: half the cores, at least 1)")
    .option(
      "--workers <n>",
      "worker threads per market for predict-rolling and simulate (default: cores / jobs)",
    )
    .option("--json", "print the summary as JSON on stdout")
    .option("--progress <mode>", "auto (lines on a terminal, log lines otherwise), lines or log", "auto")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  itb pipeline --config configs/demo.jsonc --archive sample/binance-vision\n" +
        "  itb pipeline --config configs/demo.jsonc --from features --to simulate\n" +
        "  itb pipeline --config configs/btcusdt-1h.jsonc --symbols BTCUSDT,ETHUSDT --freqs 1h,4h\n" +
        "  itb pipeline --config configs/demo.jsonc --force features",
    )
    .option(
      "--queue <url>",
      "enqueue the stages on this Redis (redis://HOST:PORT) for itb worker processes instead of running them; with --wait, follow the run to its end",
    )
    .option("--queue-prefix <prefix>", "the queue's key prefix in Redis (with --queue)", DEFAULT_PREFIX)
    .action(async (opts: PipelineCliOptions, cmd: Command) => {
      const request = requestOf(opts);
      const { pipelineAction } = await import("../actions/pipeline.js");
      await pipelineAction(request, opts, cmd);
    });
}
