import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { canonicalJson, type LoadedConfig, rollingSettingsOf } from "../config/index.js";
import { InterruptedError, ItbError, interruption } from "../core/errors.js";
import { Frame } from "../core/frame.js";
import { type Logger, noProgress } from "../core/log.js";
import { isoTime } from "../core/time.js";
import { runPool } from "../core/workerPool.js";
import { sidecarFile, symbolFile } from "../data/paths.js";
import { writeFileAtomic, writeFrame } from "../data/store/index.js";
import { type ModelArtifact, parseArtifact, type Scores, serializeArtifact } from "../models/artifact.js";
import { scorePredictions } from "../models/predict.js";
import {
  planRolling,
  type RollingPlan,
  type RollingWorkerData,
  runRollingStep,
  type StepResult,
  shareFrame,
} from "../models/rolling.js";
import { type ModelSpec, modelSpecs } from "../models/train.js";
import type { FanOut } from "./graph/types.js";
import {
  type Loaded,
  type ModelStageContext,
  PASS_THROUGH,
  pruneStore,
  readTable,
  roundScores,
  unique,
} from "./modelStageShared.js";
import { ModelStore, modelRoot } from "./modelStore.js";

/**
 * `itb predict-rolling`: walk forward over the matrix on worker threads, keep every step's
 * models, write out-of-sample predictions and metrics.
 */

export interface RollingRun {
  input: string;
  output: string;
  metricsFile: string;
  run: number;
  runFolder: string;
  plan: RollingPlan;
  workers: number;
  /** "worker threads" or "in-process" (see runPredictRolling). */
  mode: string;
  models: Record<string, { label: string; rows: number; metrics: Scores | null; skipped_steps: number[] }>;
}

/** The compiled worker, next to the compiled models (dist/models/rollingWorker.js). */
const WORKER_URL = new URL("../models/rollingWorker.js", import.meta.url);

/** The walk-forward's input: its model specs, the matrix (file and columns) and the plan of its steps. */
async function readRollingInput(config: LoadedConfig["config"]) {
  const specs = modelSpecs(config);
  const labels = unique(specs.map((s) => s.label));
  const features = unique(specs.flatMap((s) => s.features));
  const { file, frame } = await readTable(
    config,
    config.matrix_file_name,
    [...features, ...labels],
    PASS_THROUGH,
    "run itb features and itb labels first",
  );
  const plan = planRolling(frame.time, rollingSettingsOf(config.rolling_predict), {
    labelHorizon: config.label_horizon,
    trainLength: config.train_length,
  });
  return { specs, labels, features, file, frame, plan };
}

/**
 * `itb predict-rolling`: the walk-forward evaluation. Every step trains on its purged window,
 * predicts its rows, and keeps its models in the store's rolling run folder. Steps run on a
 * pool of min(steps, available cores, max_workers) worker threads sharing the table in
 * memory. When the compiled worker is absent — under vitest, which runs the TypeScript
 * sources — or when `inProcess` is set, the steps run one after another in this thread through
 * the same function, with the same results.
 */
export async function runPredictRolling(
  loaded: Loaded,
  ctx: ModelStageContext,
  opts: { workers?: number; inProcess?: boolean; output?: string; fanOut?: FanOut } = {},
): Promise<RollingRun> {
  const { config } = loaded;
  const { specs, labels, features, file, frame, plan } = await readRollingInput(config);
  const store = new ModelStore(modelRoot(config), ctx.clock);
  const run = await store.createRun();
  const stepCtx = { configHash: loaded.hash, itbVersion: ctx.itbVersion, createdAt: ctx.clock.now(), run };

  const maxWorkers = config.rolling_predict?.max_workers;
  const workers = Math.max(
    1,
    Math.min(
      plan.steps.length,
      availableParallelism(),
      opts.workers ?? Number.POSITIVE_INFINITY,
      maxWorkers !== undefined && maxWorkers > 0 ? maxWorkers : Number.POSITIVE_INFINITY,
    ),
  );
  const workerFile = fileURLToPath(WORKER_URL);
  const onWorkers = opts.inProcess !== true && existsSync(workerFile);
  // In an itb worker, a large walk-forward runs a task job per step (see runRollingTask).
  const trainRows = plan.steps.reduce((n, s) => n + (s.trainEnd - s.trainStart), 0) * specs.length;
  const fanOut =
    opts.fanOut !== undefined && plan.steps.length >= 2 && trainRows > opts.fanOut.rollingRows
      ? opts.fanOut
      : undefined;
  const mode = fanOut !== undefined ? "task jobs" : onWorkers ? "worker threads" : "in-process";
  ctx.log.info(
    {
      run,
      steps: plan.steps.length,
      size: plan.predictionSize,
      first: isoTime(frame.time[plan.predictionStart] as number),
      workers: onWorkers && fanOut === undefined ? workers : 1,
      mode,
    },
    "walk-forward started",
  );

  const n = frame.length;
  const columns = new Map(specs.map((s) => [s.name, new Float64Array(n).fill(Number.NaN)]));
  const skippedSteps = new Map(specs.map((s) => [s.name, [] as number[]]));
  const stepSummaries: object[] = [];
  const progress = (ctx.progress ?? noProgress)("rolling", "steps");
  progress.start(plan.steps.length);
  let done = 0;
  const onResult = async (result: StepResult): Promise<void> => {
    const step = plan.steps[result.step];
    if (step === undefined) throw new Error(`unknown step ${result.step}`);
    const artifacts = result.models.map((m) => m.artifact).filter((a): a is ModelArtifact => a !== null);
    await store.saveStep(run, result.step, artifacts);
    for (const m of result.models) {
      (columns.get(m.name) as Float64Array).set(m.predictions, step.predictStart);
      if (m.skipped !== null) {
        (skippedSteps.get(m.name) as number[]).push(result.step);
        ctx.log.warn({ step: result.step, model: m.name }, `step ${result.step} not trained: ${m.skipped}`);
      }
    }
    stepSummaries[result.step] = {
      step: result.step,
      train_candidates: [
        isoTime(frame.time[step.trainStart] as number),
        isoTime(frame.time[step.trainEnd - 1] as number),
      ],
      predict: [
        isoTime(frame.time[step.predictStart] as number),
        isoTime(frame.time[step.predictEnd - 1] as number),
      ],
      models: Object.fromEntries(
        result.models.map((m) => [
          m.name,
          m.artifact === null
            ? { skipped: m.skipped }
            : {
                train_rows: m.artifact.training.rows,
                train_first: m.artifact.training.first_time,
                train_last: m.artifact.training.last_time,
                label_end: m.artifact.training.label_end_time,
                out_of_sample: m.artifact.metrics.out_of_sample,
              },
        ]),
      ),
    };
    progress.update(++done);
    ctx.log.debug({ step: result.step, done, of: plan.steps.length }, "walk-forward step done");
  };

  try {
    if (fanOut !== undefined) {
      const matrix = fileFingerprint(file);
      const tasks: RollingTask[] = plan.steps.map((s) => ({
        step: s.step,
        steps: plan.steps.length,
        matrix,
        config_hash: loaded.hash,
        itb_version: ctx.itbVersion,
        created_at: stepCtx.createdAt,
        run,
      }));
      // The run's number and time are in the key: a rerun of the stage makes a new run, with new tasks.
      const key = createHash("sha256")
        .update(canonicalJson({ matrix, config_hash: loaded.hash, run, created_at: stepCtx.createdAt }))
        .digest("hex")
        .slice(0, 12);
      const results = await fanOut.run("rolling", key, tasks);
      for (const [i, r] of results.entries()) {
        await onResult(decodeStep(r as RollingTaskResult, `walk-forward task ${i + 1}`));
      }
    } else if (onWorkers) {
      const data: RollingWorkerData = {
        kind: "itb-rolling-worker",
        table: shareFrame(frame, [...features, ...labels]),
        plan,
        specs: specs.map((s) =>
          withThreadShare(s, Math.max(1, Math.floor(availableParallelism() / workers))),
        ),
        ctx: stepCtx,
      };
      await runPool<number, StepResult>(
        {
          url: WORKER_URL,
          workerData: data,
          tasks: plan.steps.map((s) => s.step),
          size: workers,
          name: "walk-forward",
          // A worker's default young generation is small: training's short-lived arrays then
          // trigger a scavenge every few milliseconds and a step takes twice as long as in the
          // main thread.
          resourceLimits: { maxYoungGenerationSizeMb: 64 },
          signal: ctx.signal,
        },
        onResult,
      );
    } else {
      for (const step of plan.steps) {
        ctx.signal?.throwIfAborted();
        await onResult(await runRollingStep(frame, plan, step, specs, { ...stepCtx, log: ctx.log }));
      }
    }
  } catch (err) {
    progress.stop();
    if (ctx.signal?.aborted && err instanceof InterruptedError) {
      // An unfinished run is of no use: removed now (a killed one is removed by the next writer).
      await rm(store.runFolder(run), { recursive: true, force: true });
      throw interruption(
        ctx.signal,
        `predict-rolling stopped after ${done} of ${plan.steps.length} step(s); the unfinished run ${run} is removed and predictions are unchanged`,
      );
    }
    throw err;
  }
  progress.stop();

  // The output covers the rows used; only the predicted rows have predictions.
  const out = new Frame(frame.time.slice(plan.dataStart, plan.dataEnd));
  const cut = (x: Float64Array) => x.slice(plan.dataStart, plan.dataEnd);
  for (const c of [...PASS_THROUGH, ...labels]) if (frame.has(c)) out.set(c, cut(frame.get(c)));
  const models: RollingRun["models"] = {};
  const predictedRows = {
    start: plan.predictionStart,
    end: plan.predictionStart + plan.steps.length * plan.predictionSize,
  };
  for (const spec of specs) {
    const p = columns.get(spec.name) as Float64Array;
    out.set(spec.name, cut(p));
    const s = scorePredictions(
      frame.time.subarray(predictedRows.start, predictedRows.end),
      frame.get(spec.label).subarray(predictedRows.start, predictedRows.end),
      p.subarray(predictedRows.start, predictedRows.end),
    );
    models[spec.name] = {
      label: spec.label,
      rows: s.rows,
      metrics: s.metrics,
      skipped_steps: skippedSteps.get(spec.name) as number[],
    };
  }
  const output = symbolFile(config, opts.output ?? config.predict_file_name);
  await writeFrame(output, out, { timeColumn: config.time_column });
  const metricsFile = sidecarFile(output, "metrics");
  const planJson = {
    data_start: isoTime(frame.time[plan.dataStart] as number),
    data_end: isoTime(frame.time[plan.dataEnd - 1] as number),
    prediction_start: isoTime(frame.time[plan.predictionStart] as number),
    prediction_size: plan.predictionSize,
    prediction_steps: plan.predictionSteps,
    label_horizon: plan.labelHorizon,
    train_length: plan.trainLength,
    purge: "last training row <= first predicted row - label_horizon - 1",
  };
  const summary = {
    kind: "predict-rolling",
    created_at: isoTime(stepCtx.createdAt),
    itb_version: ctx.itbVersion,
    config_hash: loaded.hash,
    input: file,
    output,
    in_sample: false,
    run,
    run_folder: store.runFolder(run),
    plan: planJson,
    models,
    steps: stepSummaries,
  };
  await writeFileAtomic(metricsFile, `${JSON.stringify(summary, null, 2)}\n`);
  await store.writeRunSummary(run, summary);
  await pruneStore(store, config.models_keep, ctx.log);
  return {
    input: file,
    output,
    metricsFile,
    run,
    runFolder: store.runFolder(run),
    plan,
    workers: onWorkers && fanOut === undefined ? workers : 1,
    mode,
    models,
  };
}

export function formatRollingRun(run: RollingRun): string {
  const p = run.plan;
  const lines = [
    `walk-forward run ${run.run}: ${p.steps.length} step(s) of ${p.predictionSize.toLocaleString("en-US")} rows, ` +
      `label horizon ${p.labelHorizon} purged, ${run.workers} ${run.mode === "in-process" ? "thread (in-process)" : "worker thread(s)"}`,
  ];
  for (const [name, m] of Object.entries(run.models)) {
    const skipped =
      m.skipped_steps.length > 0 ? ` (not trained in step(s) ${m.skipped_steps.join(", ")})` : "";
    lines.push(
      `  ${name}: ${m.rows.toLocaleString("en-US")} rows, out-of-sample: ${roundScores(m.metrics)}${skipped}`,
    );
  }
  lines.push(`models kept in ${run.runFolder}`, `wrote ${run.output}`, `wrote ${run.metricsFile}`);
  return lines.join("\n");
}

/** gb's own thread-count keys (LightGBM's spellings). */
const GB_THREAD_KEYS = ["num_threads", "num_thread", "nthread", "nthreads", "n_jobs"];

/**
 * gb trains on all cores by default; in each of several workers that would put workers × cores
 * spinning threads on the cores. Unless the config sets a thread count, a worker's gb gets its
 * share of the cores (the model does not depend on the thread count).
 */
function withThreadShare(spec: ModelSpec, threads: number): ModelSpec {
  if (spec.algorithm.algo !== "gb" || GB_THREAD_KEYS.some((k) => spec.modelParams[k] !== undefined))
    return spec;
  return { ...spec, modelParams: { ...spec.modelParams, num_threads: threads } };
}

/** What a walk-forward task carries: its step, and what checks that it sees the stage's input. */
export interface RollingTask {
  step: number;
  /** The plan's step count. */
  steps: number;
  /** The matrix file as the stage read it (size and modification time). */
  matrix: { file: string; size: number; mtime_ms: number };
  config_hash: string;
  itb_version: string;
  /** The stage's creation time and store run: the step's artifacts carry them. */
  created_at: number;
  run: number;
}

/** A step's result as a task answers it: artifacts as their JSON text, predictions as float64 (base64). */
export interface RollingTaskResult {
  step: number;
  models: {
    name: string;
    label: string;
    artifact: string | null;
    predictions: string;
    skipped: string | null;
  }[];
}

function fileFingerprint(file: string): RollingTask["matrix"] {
  const st = statSync(file);
  return { file, size: st.size, mtime_ms: st.mtimeMs };
}

function encodeStep(r: StepResult): RollingTaskResult {
  return {
    step: r.step,
    models: r.models.map((m) => ({
      name: m.name,
      label: m.label,
      artifact: m.artifact === null ? null : serializeArtifact(m.artifact),
      predictions: Buffer.from(
        m.predictions.buffer,
        m.predictions.byteOffset,
        m.predictions.byteLength,
      ).toString("base64"),
      skipped: m.skipped,
    })),
  };
}

function decodeStep(r: RollingTaskResult, source: string): StepResult {
  return {
    step: r.step,
    models: r.models.map((m) => {
      const bytes = Buffer.from(m.predictions, "base64");
      return {
        name: m.name,
        label: m.label,
        artifact: m.artifact === null ? null : parseArtifact(m.artifact, source),
        predictions: new Float64Array(
          bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
        ),
        skipped: m.skipped,
      };
    }),
  };
}

/**
 * Runs one walk-forward step as a task job, in the worker that took it: the matrix read again
 * and the plan made again from the config (as the stage did: a task seeing another matrix or
 * config fails), the step trained and predicted on a worker thread (the event loop stays free to
 * renew the job's lock) with the stage's creation time and run, so its artifacts and
 * predictions are those the stage's own threads would have made.
 */
export async function runRollingTask(
  loaded: LoadedConfig,
  task: RollingTask,
  opts: { log: Logger; workers: number },
): Promise<RollingTaskResult> {
  const { config } = loaded;
  const { specs, labels, features, file, frame, plan } = await readRollingInput(config);
  const step = plan.steps[task.step];
  if (
    step === undefined ||
    plan.steps.length !== task.steps ||
    loaded.hash !== task.config_hash ||
    canonicalJson(fileFingerprint(file)) !== canonicalJson(task.matrix)
  ) {
    throw new ItbError(
      `walk-forward task: the config or the matrix changed since the stage started (${file}, step ${task.step} of ${task.steps})`,
    );
  }
  const stepCtx = {
    configHash: loaded.hash,
    itbVersion: task.itb_version,
    createdAt: task.created_at,
    run: task.run,
  };
  if (!existsSync(fileURLToPath(WORKER_URL))) {
    return encodeStep(await runRollingStep(frame, plan, step, specs, { ...stepCtx, log: opts.log }));
  }
  let result: StepResult | undefined;
  await runPool<number, StepResult>(
    {
      url: WORKER_URL,
      workerData: {
        kind: "itb-rolling-worker",
        table: shareFrame(frame, [...features, ...labels]),
        plan,
        specs: specs.map((s) => withThreadShare(s, opts.workers)),
        ctx: stepCtx,
      } satisfies RollingWorkerData,
      tasks: [task.step],
      size: 1,
      name: "walk-forward",
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
    },
    (r) => {
      result = r;
    },
  );
  return encodeStep(result as StepResult);
}
