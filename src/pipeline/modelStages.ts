import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Config } from "../config/index.js";
import { DataError, InterruptedError, ItbError, interruption } from "../core/errors.js";
import { Frame } from "../core/frame.js";
import { type Logger, noProgress, type ProgressFactory } from "../core/log.js";
import { symbolFile } from "../data/paths.js";
import { frameFileInfo, readFrame, writeFileAtomic, writeFrame } from "../data/store/index.js";
import type { ModelArtifact, Scores } from "../models/artifact.js";
import { type PredictionScore, predictModel, scorePredictions, trainingSpan } from "../models/predict.js";
import {
  deserializeError,
  planRolling,
  type RollingPlan,
  type RollingWorkerData,
  type RollingWorkerReply,
  runRollingStep,
  type StepResult,
  shareFrame,
} from "../models/rolling.js";
import { fullTrainWindow, type ModelSpec, modelSpecs, trainModel } from "../models/train.js";
import { ModelStore, modelRoot, type StoredModel } from "./modelStore.js";

/**
 * The model stages' I/O: read the matrix, train, write the store (`itb train`); read features,
 * apply the current models, write predictions and metrics (`itb predict`); walk forward over
 * the matrix on worker threads, keep every step's models, write out-of-sample predictions and
 * metrics (`itb predict-rolling`). The computations are the pure functions of src/models.
 */

export interface ModelStageContext {
  log: Logger;
  progress?: ProgressFactory;
  /** Epoch ms; every artifact's creation time and the store's pointers come from it. */
  clock: { now(): number };
  itbVersion: string;
  /** Aborting stops train after the model in flight and predict-rolling at once (workers terminated). */
  signal?: AbortSignal;
}

/** Keeps the newest `models_keep` versions and walk-forward runs (the current ones always); 0 keeps all. */
export async function pruneStore(store: ModelStore, keep: number, log: Logger): Promise<void> {
  if (keep <= 0) return;
  const r = await store.prune(keep);
  if (r.versions.length + r.runs.length === 0) return;
  log.info(
    {
      versions: r.versions.map((v) => `${v.name} v${v.version}`),
      runs: r.runs.map((x) => x.run),
      bytes: r.bytes,
      models_keep: keep,
    },
    `removed ${r.versions.length} old model version(s) and ${r.runs.length} old walk-forward run(s)`,
  );
}

interface Loaded {
  config: Config;
  hash: string;
}

/** The original's out_columns: kept next to the predictions for the later stages. */
const PASS_THROUGH = ["open", "high", "low", "close", "volume", "close_time"];

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

async function readTable(
  config: Config,
  name: string,
  required: readonly string[],
  optional: readonly string[],
  hint: string,
): Promise<{ file: string; frame: Frame }> {
  const file = symbolFile(config, name);
  const info = await frameFileInfo(file, { timeColumn: config.time_column });
  if (info === undefined) throw new DataError(`file not found: ${hint}`, { file });
  const present = new Set(info.columns);
  const missing = unique(required).filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new DataError(`missing column(s) ${missing.join(", ")}; ${hint}`, { file });
  }
  const columns = unique([...required, ...optional.filter((c) => present.has(c))]);
  const frame = await readFrame(file, { timeColumn: config.time_column, columns });
  return { file, frame };
}

function roundScores(s: Scores | null): string {
  if (s === null) return "n/a";
  const f = (v: number | null) => (v === null ? "n/a" : v.toFixed(3));
  return `auc ${f(s.auc)}  ap ${f(s.ap)}  f1 ${f(s.f1)}  precision ${f(s.precision)}  recall ${f(s.recall)}`;
}

function metricsFileFor(predictionsFile: string): string {
  return `${predictionsFile.replace(/\.[^./\\]+$/, "")}.metrics.json`;
}

// -------------------------------------------------------------------------------------- train

export interface TrainRun {
  input: string;
  rows: number;
  store: string;
  models: StoredModel[];
  skipped: { name: string; reason: string }[];
}

/**
 * `itb train`: one model per train_feature_sets entry × label × algorithm on every usable row
 * of the matrix (the last label_horizon rows excluded, train_length respected). Each model is
 * a new version in the store and becomes current unless `promote` is false. The metrics are
 * in-sample: the model is scored on the rows it was fitted on.
 */
export async function runTrain(
  loaded: Loaded,
  ctx: ModelStageContext,
  opts: { promote?: boolean } = {},
): Promise<TrainRun> {
  const { config } = loaded;
  const specs = modelSpecs(config);
  const { file, frame } = await readTable(
    config,
    config.matrix_file_name,
    specs.flatMap((s) => [...s.features, s.label]),
    [],
    "run itb features and itb labels first",
  );
  const store = new ModelStore(modelRoot(config), ctx.clock);
  const window = fullTrainWindow(frame.length, config.label_horizon);
  const models: StoredModel[] = [];
  const skipped: TrainRun["skipped"] = [];
  const progress = (ctx.progress ?? noProgress)("train", "models");
  progress.start(specs.length);
  for (const [i, spec] of specs.entries()) {
    if (ctx.signal?.aborted) {
      progress.stop();
      const stored = models.map((m) => `${m.name} v${m.version}`).join(", ") || "none";
      throw interruption(
        ctx.signal,
        `train stopped after ${i} of ${specs.length} model(s); stored: ${stored}; not trained: ${specs
          .slice(i)
          .map((s) => s.name)
          .join(", ")}`,
      );
    }
    try {
      const trained = await trainModel(
        frame,
        spec,
        window,
        { labelHorizon: config.label_horizon, trainLength: config.train_length },
        { configHash: loaded.hash, itbVersion: ctx.itbVersion, createdAt: ctx.clock.now(), log: ctx.log },
      );
      const stored = await store.save(trained.artifact, { promote: opts.promote !== false });
      models.push(stored);
      const t = trained.artifact.training;
      ctx.log.info(
        {
          model: spec.name,
          version: stored.version,
          rows: t.rows,
          first: t.first_time,
          last: t.last_time,
          in_sample: trained.artifact.metrics.in_sample,
        },
        "model trained and stored (its metrics are in-sample: scored on its own training rows)",
      );
    } catch (err) {
      if (!(err instanceof ItbError && err.action === "skip")) throw err;
      ctx.log.error({ model: spec.name }, err.message);
      skipped.push({ name: spec.name, reason: err.message });
    }
    progress.update(i + 1);
  }
  progress.stop();
  await pruneStore(store, config.models_keep, ctx.log);
  return { input: file, rows: frame.length, store: store.root, models, skipped };
}

export function formatTrainRun(run: TrainRun): string {
  const lines = [
    `trained ${run.models.length} model(s) on ${run.input} (${run.rows.toLocaleString("en-US")} rows)`,
  ];
  for (const m of run.models) {
    const t = m.artifact.training;
    lines.push(
      `  ${m.name} v${m.version}: ${t.rows.toLocaleString("en-US")} rows ${t.first_time} .. ${t.last_time}` +
        `\n    IN-SAMPLE (its own training rows, not evidence of an edge): ${roundScores(m.artifact.metrics.in_sample)}`,
    );
  }
  for (const s of run.skipped) lines.push(`  ${s.name}: NOT TRAINED: ${s.reason}`);
  lines.push(`store: ${run.store}`);
  lines.push("evaluate out-of-sample with: itb predict-rolling");
  return lines.join("\n");
}

// ------------------------------------------------------------------------------------ predict

export interface ModelPrediction extends PredictionScore {
  version: number;
  file: string;
  label: string;
  /** False when the input has no label column: nothing is scored. */
  labelled: boolean;
}

export interface PredictRun {
  input: string;
  output: string;
  metricsFile: string;
  rows: number;
  models: Record<string, ModelPrediction>;
}

/**
 * `itb predict`: applies the current version of every configured model to the features (or
 * the matrix, whose labels allow metrics) and writes the predictions table — the time column,
 * the original's pass-through columns, the labels present and one `<label>_<name>` column per
 * model — with a metrics JSON next to it. Rows the model was trained on are counted and their
 * metrics labelled in-sample, loudly.
 */
export async function runPredict(
  loaded: Loaded,
  ctx: ModelStageContext,
  opts: { input?: "features" | "matrix"; output?: string } = {},
): Promise<PredictRun> {
  const { config } = loaded;
  const specs = modelSpecs(config);
  const store = new ModelStore(modelRoot(config), ctx.clock);
  const stored = new Map<string, StoredModel>();
  for (const spec of specs) stored.set(spec.name, await store.readForFeatures(spec.name, spec.features));

  let input = opts.input;
  if (input === undefined) {
    const matrixInfo = await frameFileInfo(symbolFile(config, config.matrix_file_name), {
      timeColumn: config.time_column,
    });
    input = matrixInfo === undefined ? "features" : "matrix";
  }
  const name = input === "matrix" ? config.matrix_file_name : config.feature_file_name;
  const labels = unique(specs.map((s) => s.label));
  const { file, frame } = await readTable(
    config,
    name,
    specs.flatMap((s) => s.features),
    [...PASS_THROUGH, ...labels],
    input === "matrix" ? "run itb labels first" : "run itb features first",
  );
  ctx.log.info({ file, rows: frame.length }, `predicting on ${input}`);

  const out = new Frame(frame.time);
  for (const c of [...PASS_THROUGH, ...labels]) if (frame.has(c)) out.set(c, frame.get(c));
  const models: Record<string, ModelPrediction> = {};
  for (const spec of specs) {
    const model = stored.get(spec.name) as StoredModel;
    const p = predictModel(model.artifact, frame);
    out.set(spec.name, p);
    const labelled = frame.has(spec.label);
    const score = labelled
      ? scorePredictions(frame.time, frame.get(spec.label), p, trainingSpan(model.artifact))
      : scorePredictions(frame.time, new Float64Array(frame.length).fill(Number.NaN), p);
    models[spec.name] = { version: model.version, file: model.file, label: spec.label, labelled, ...score };
    if (score.in_sample) {
      ctx.log.warn(
        { model: spec.name, version: model.version, in_sample_rows: score.in_sample_rows, rows: score.rows },
        `IN-SAMPLE: ${score.in_sample_rows} of the ${score.rows} scored rows were used to train ${spec.name}; ` +
          "these metrics overstate the model (use itb predict-rolling for out-of-sample metrics)",
      );
    } else if (score.overlapping_future_rows > 0) {
      ctx.log.warn(
        { model: spec.name, rows: score.overlapping_future_rows },
        `${score.overlapping_future_rows} scored rows precede the end of ${spec.name}'s training data; their metrics are not out-of-sample`,
      );
    }
  }
  const output = symbolFile(config, opts.output ?? config.predict_file_name);
  await writeFrame(output, out, { timeColumn: config.time_column });
  const metricsFile = metricsFileFor(output);
  await writeFileAtomic(
    metricsFile,
    `${JSON.stringify(
      {
        kind: "predict",
        created_at: new Date(ctx.clock.now()).toISOString(),
        itb_version: ctx.itbVersion,
        config_hash: loaded.hash,
        input: file,
        output,
        rows: frame.length,
        in_sample: Object.values(models).some((m) => m.in_sample),
        models,
      },
      null,
      2,
    )}\n`,
  );
  return { input: file, output, metricsFile, rows: frame.length, models };
}

export function formatPredictRun(run: PredictRun): string {
  const lines = [`predicted ${run.rows.toLocaleString("en-US")} rows of ${run.input}`];
  for (const [name, m] of Object.entries(run.models)) {
    if (!m.labelled) {
      lines.push(`  ${name} v${m.version}: no label column, not scored`);
      continue;
    }
    const kind = m.in_sample
      ? `IN-SAMPLE (${m.in_sample_rows} of ${m.rows} scored rows were training rows)`
      : m.overlapping_future_rows > 0
        ? `NOT OUT-OF-SAMPLE (${m.overlapping_future_rows} rows precede the end of the training data)`
        : "out-of-sample";
    lines.push(
      `  ${name} v${m.version}: ${m.rows.toLocaleString("en-US")} scored rows, ${kind}: ${roundScores(m.metrics)}`,
    );
    if (m.in_sample && m.out_of_sample_rows > 0) {
      lines.push(
        `    out-of-sample rows only (${m.out_of_sample_rows}): ${roundScores(m.out_of_sample_metrics)}`,
      );
    }
  }
  lines.push(`wrote ${run.output}`, `wrote ${run.metricsFile}`);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------- predict-rolling

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
  opts: { workers?: number; inProcess?: boolean; output?: string } = {},
): Promise<RollingRun> {
  const { config } = loaded;
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
  const plan = planRolling(frame.time, config.rolling_predict, {
    labelHorizon: config.label_horizon,
    trainLength: config.train_length,
  });
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
  const mode = onWorkers ? "worker threads" : "in-process";
  ctx.log.info(
    {
      run,
      steps: plan.steps.length,
      size: plan.predictionSize,
      first: new Date(frame.time[plan.predictionStart] as number).toISOString(),
      workers: onWorkers ? workers : 1,
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
      train_candidates: [iso(frame.time, step.trainStart), iso(frame.time, step.trainEnd - 1)],
      predict: [iso(frame.time, step.predictStart), iso(frame.time, step.predictEnd - 1)],
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
    if (onWorkers) {
      const data: RollingWorkerData = {
        kind: "itb-rolling-worker",
        table: shareFrame(frame, [...features, ...labels]),
        plan,
        specs: specs.map((s) =>
          withThreadShare(s, Math.max(1, Math.floor(availableParallelism() / workers))),
        ),
        ctx: stepCtx,
      };
      await runOnWorkers(WORKER_URL, data, workers, onResult, ctx.signal);
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
  const metricsFile = metricsFileFor(output);
  const planJson = {
    data_start: iso(frame.time, plan.dataStart),
    data_end: iso(frame.time, plan.dataEnd - 1),
    prediction_start: iso(frame.time, plan.predictionStart),
    prediction_size: plan.predictionSize,
    prediction_steps: plan.predictionSteps,
    label_horizon: plan.labelHorizon,
    train_length: plan.trainLength,
    purge: "last training row <= first predicted row - label_horizon - 1",
  };
  const summary = {
    kind: "predict-rolling",
    created_at: new Date(stepCtx.createdAt).toISOString(),
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
    workers: onWorkers ? workers : 1,
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

function iso(time: Float64Array, row: number): string {
  return new Date(time[row] as number).toISOString();
}

/** Runs every step of `data.plan` on `size` worker threads, handing results to `onResult` in arrival order. */
async function runOnWorkers(
  url: URL,
  data: RollingWorkerData,
  size: number,
  onResult: (r: StepResult) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const queue = data.plan.steps.map((s) => s.step);
  // A worker's default young generation is small: training's short-lived arrays then trigger a
  // scavenge every few milliseconds and a step takes twice as long as in the main thread.
  const workers = Array.from(
    { length: size },
    () => new Worker(url, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: 64 } }),
  );
  // Ctrl-C: the steps in flight are abandoned and the workers terminated (finally).
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    const all = Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let finished = false;
            const next = () => {
              const s = queue.shift();
              if (s === undefined) {
                finished = true;
                resolve();
              } else w.postMessage({ step: s });
            };
            w.on("message", (reply: RollingWorkerReply) => {
              if (!reply.ok) {
                reject(deserializeError(reply.error));
                return;
              }
              onResult(reply.result).then(next, reject);
            });
            w.on("error", reject);
            w.on("exit", (code) => {
              if (!finished) reject(new Error(`walk-forward worker stopped (exit code ${code})`));
            });
            next();
          }),
      ),
    );
    // After an abort, the terminated workers' exits reject `all` too: expected, not unhandled.
    all.catch(() => undefined);
    await (signal === undefined ? all : Promise.race([all, aborted]));
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
