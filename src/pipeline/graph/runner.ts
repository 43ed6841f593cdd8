import { resolve } from "node:path";
import type { LoadedConfig } from "../../config/index.js";
import { errorMessage, InterruptedError, ItbError } from "../../core/errors.js";
import type { Logger, ProgressFactory } from "../../core/log.js";
import { isoTime } from "../../core/time.js";
import type { FingerprintCache } from "./fingerprint.js";
import {
  decide,
  fingerprints,
  MANIFEST_FORMAT,
  type Manifest,
  manifestFile,
  readManifest,
  removeManifest,
  sectionsHash,
  writeManifest,
} from "./manifest.js";
import type { FanOut, PipelineOptions, StageContext, StageDef, StagePlan, StageSummary } from "./types.js";

/**
 * Runs one market's stages in order: each selected stage is skipped when its manifest shows
 * it up to date (see manifest.ts `decide`), else run, its outputs fingerprinted and its
 * manifest written. The first failure ends the market; the stages after it are reported as
 * not run. An aborted `signal` (Ctrl-C) ends it too, after the stage in flight: that stage
 * finishes (and is recorded as run) or, if it stops early at one of its own safe points, is
 * reported as interrupted and writes no manifest, so the next run runs it again. Nothing here
 * prints: progress goes to `onEvent`.
 */

export type StageStatus = "ran" | "skipped" | "not-configured" | "failed" | "interrupted" | "not-run";

export interface StageResult {
  name: string;
  status: StageStatus;
  /** Why it ran ("config changed: feature_sets"), was skipped ("up to date"), or failed (the message). */
  reason: string;
  seconds: number;
  /** The run's summary, or the manifest's when skipped. */
  summary?: StageSummary;
  /** The files the stage writes (absolute paths), when it ran or is up to date. */
  outputs?: string[];
}

export interface MarketId {
  symbol: string;
  freq: string;
}

export interface StageEvent {
  market: MarketId;
  stage: string;
  phase: "start" | "end";
  /** Set at the end. */
  result?: StageResult;
  /** At the start: why the stage runs. */
  reason?: string;
}

/** Serialises work on the same files across markets running at once (e.g. a shared data source). */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Runs `fn` holding every key. A call queues behind every earlier holder of any of its keys,
   * all at once (synchronously), so waiting is first come, first served and cannot deadlock.
   */
  async with<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const held = [...new Set(keys)].map((key) => {
      const previous = this.tails.get(key) ?? Promise.resolve();
      let release: () => void = () => undefined;
      const mine = new Promise<void>((r) => {
        release = r;
      });
      const tail = previous.then(() => mine);
      this.tails.set(key, tail);
      return { key, previous, release, tail };
    });
    try {
      await Promise.all(held.map((h) => h.previous));
      return await fn();
    } finally {
      for (const h of held) {
        h.release();
        if (this.tails.get(h.key) === h.tail) this.tails.delete(h.key);
      }
    }
  }
}

export interface RunMarketOptions {
  /** Stage names to consider; the others are left alone (not checked, not reported). */
  selected: ReadonlySet<string>;
  /** "all", or the stages to run even when up to date. */
  force: "all" | ReadonlySet<string>;
  fingerprints: FingerprintCache;
  locks: KeyedLock;
  clock: { now(): number };
  itbVersion: string;
  /** The logger a stage logs to (the caller adds market and stage fields, filters levels). */
  logFor(market: MarketId, stage: string): Logger;
  progress: ProgressFactory;
  signal?: AbortSignal;
  onEvent?(event: StageEvent): void;
  /** Given to the stages (an `itb worker` fans large grids out as task jobs). */
  fanOut?: FanOut;
}

export interface MarketRun extends MarketId {
  ok: boolean;
  /** Stopped by the signal before its last stage (not a failure). */
  interrupted: boolean;
  stages: StageResult[];
  /** The failed stage, its message and the exit status its error asks for (2: config or usage). */
  error?: { stage: string; message: string; exit_code?: number };
  seconds: number;
  /** Which predictor the plan chose and why (set by the pipeline's planner). */
  predictor?: { stage: string; reason: string };
}

export async function runMarket(
  graph: readonly StageDef[],
  loaded: LoadedConfig,
  options: PipelineOptions,
  run: RunMarketOptions,
): Promise<MarketRun> {
  const t0 = performance.now();
  const { config } = loaded;
  const market: MarketId = { symbol: config.symbol, freq: config.freq };
  const plan: StagePlan = { config, configFile: loaded.file, options };
  const stages: StageResult[] = [];
  let failed: { stage: string; message: string; exit_code?: number } | undefined;
  let interrupted = false;

  for (const stage of graph) {
    if (!run.selected.has(stage.name)) continue;
    if (failed !== undefined) {
      stages.push({ name: stage.name, status: "not-run", reason: `${failed.stage} failed`, seconds: 0 });
      continue;
    }
    if (run.signal?.aborted) {
      interrupted = true;
      stages.push({ name: stage.name, status: "not-run", reason: "interrupted", seconds: 0 });
      continue;
    }
    const why = stage.notConfigured?.(config);
    if (why !== undefined) {
      const result: StageResult = { name: stage.name, status: "not-configured", reason: why, seconds: 0 };
      stages.push(result);
      run.onEvent?.({ market, stage: stage.name, phase: "end", result });
      continue;
    }
    const s0 = performance.now();
    let result: StageResult;
    try {
      result = await runStage(stage, plan, loaded, market, run);
    } catch (err) {
      const message = errorMessage(err);
      const seconds = (performance.now() - s0) / 1000;
      if (run.signal?.aborted && (err instanceof InterruptedError || isAbortError(err))) {
        interrupted = true;
        result = { name: stage.name, status: "interrupted", reason: message, seconds };
      } else {
        failed = {
          stage: stage.name,
          message,
          ...(err instanceof ItbError ? { exit_code: err.exitCode } : {}),
        };
        result = { name: stage.name, status: "failed", reason: message, seconds };
      }
    }
    stages.push(result);
    run.onEvent?.({ market, stage: stage.name, phase: "end", result });
  }
  return {
    ...market,
    ok: failed === undefined && !interrupted,
    interrupted,
    stages,
    ...(failed === undefined ? {} : { error: failed }),
    seconds: (performance.now() - t0) / 1000,
  };
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}

async function runStage(
  stage: StageDef,
  plan: StagePlan,
  loaded: LoadedConfig,
  market: MarketId,
  run: RunMarketOptions,
): Promise<StageResult> {
  const { config } = plan;
  const outputs = stage.outputs(plan);
  const file = manifestFile(config, stage.name);
  const force = run.force === "all" || run.force.has(stage.name);
  // Outputs are locked from the decision to the manifest: another market sharing a data
  // source waits, then finds it up to date (or cheaply re-imports nothing).
  return run.locks.with([...outputs, file], async () => {
    const s0 = performance.now();
    const previous = await readManifest(file);
    const decision = await decide(stage, plan, previous, run.fingerprints, { force, now: run.clock.now() });
    if (!decision.run && previous !== undefined) {
      return {
        name: stage.name,
        status: "skipped",
        reason: decision.reason,
        seconds: (performance.now() - s0) / 1000,
        summary: previous.summary,
        outputs,
      };
    }
    run.onEvent?.({ market, stage: stage.name, phase: "start", reason: decision.reason });
    await removeManifest(file);
    const startedAt = run.clock.now();
    const ctx: StageContext = {
      ...plan,
      loaded,
      log: run.logFor(market, stage.name),
      progress: run.progress,
      clock: run.clock,
      itbVersion: run.itbVersion,
      ...(run.signal === undefined ? {} : { signal: run.signal }),
      ...(run.fanOut === undefined ? {} : { fanOut: run.fanOut }),
    };
    const summary = await stage.run(ctx);
    const seconds = (performance.now() - s0) / 1000;
    run.fingerprints.forget(outputs);
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      stage: stage.name,
      stage_version: stage.version,
      symbol: config.symbol,
      freq: config.freq,
      config_hash: sectionsHash(decision.sections),
      sections: decision.sections,
      inputs: decision.inputs,
      outputs: await fingerprints(config, outputs, run.fingerprints),
      started_at: isoTime(startedAt),
      finished_at: isoTime(run.clock.now()),
      seconds: Math.round(seconds * 1000) / 1000,
      itb_version: run.itbVersion,
      config_file: resolve(loaded.file),
      summary,
    };
    const absent = manifest.outputs.filter((f) => !f.exists).map((f) => f.path);
    if (absent.length > 0) {
      // Recorded as absent: the next run finds the output missing and runs the stage again.
      ctx.log.warn({ outputs: absent }, "the stage did not write all of its declared outputs");
    }
    await writeManifest(file, manifest);
    return { name: stage.name, status: "ran", reason: decision.reason, seconds, summary, outputs };
  });
}
