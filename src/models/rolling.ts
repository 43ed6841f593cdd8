import type { RollingSettings, RowBound } from "../config/index.js";
import { ConfigError, ItbError } from "../core/errors.js";
import { Frame, lowerBound } from "../core/frame.js";
import { isoTime } from "../core/time.js";
import type { ModelArtifact } from "./artifact.js";
import { predictModel, scorePredictions } from "./predict.js";
import { type ModelSpec, type TrainContext, type TrainLimits, trainModel } from "./train.js";

/**
 * Walk-forward (the original's predict_rolling), pure: a plan of steps over the table, and one
 * step's training and prediction. Each step predicts the rows [predict_start, predict_end)
 * with models trained only on rows whose label windows end before predict_start:
 *
 *   last training row ≤ predict_start − label_horizon − 1
 *
 * A label at row r looks at rows r+1 .. r+label_horizon, so the last training label was known
 * at row predict_start − 1 at the latest: nothing the models saw lies at or after the first
 * predicted row (the label horizon is purged between training and test).
 */

export interface RollingStep {
  /** 0-based step number. */
  step: number;
  /** Candidate training rows [train_start, train_end); the usable ones are selected from them. */
  trainStart: number;
  trainEnd: number;
  /** Predicted rows [predict_start, predict_end). */
  predictStart: number;
  predictEnd: number;
}

export interface RollingPlan {
  /** The rows used, [data_start, data_end) of the table. */
  dataStart: number;
  dataEnd: number;
  /** First predicted row (table index), rows per step and number of steps. */
  predictionStart: number;
  predictionSize: number;
  predictionSteps: number;
  labelHorizon: number;
  trainLength: number;
  steps: RollingStep[];
}

/**
 * The checks of `rolling_predict` that need no data, so that a pipeline can make them before
 * its first stage runs (planRolling makes them again).
 */
export function checkRollingSettings(rp: RollingSettings | undefined): asserts rp is RollingSettings {
  if (rp === undefined) {
    throw new ConfigError(
      "rolling_predict is not set: give at least two of prediction_start, prediction_size and prediction_steps",
    );
  }
  const unset = (v: unknown) => v === undefined;
  const missing = [rp.predictionStart, rp.predictionSize, rp.predictionSteps].filter(unset).length;
  if (missing > 1) {
    throw new ConfigError(
      "rolling_predict: only one of prediction_start, prediction_size and prediction_steps may be null; the others define it",
    );
  }
  if (!unset(rp.predictionSize) && (rp.predictionSize as number) < 1)
    throw new ConfigError("rolling_predict.prediction_size: expected a positive integer");
  if (!unset(rp.predictionSteps) && (rp.predictionSteps as number) < 1)
    throw new ConfigError("rolling_predict.prediction_steps: expected a positive integer");
}

/**
 * Resolves `rolling_predict` against a table as the original does: data_start/data_end cut the
 * table (rows, or times: the first row at or after the time; data_end exclusive); a row-number
 * prediction_start counts from data_start, a time one is the first row at or after it; one of
 * prediction_start, prediction_size and prediction_steps may be null and is computed from the
 * other two.
 */
export function planRolling(
  time: Float64Array,
  rp: RollingSettings | undefined,
  limits: TrainLimits,
): RollingPlan {
  checkRollingSettings(rp);
  const n = time.length;
  const dataStart = rowOf(time, rp.dataStart, "rolling_predict.data_start", 0, 0);
  const dataEnd = Math.min(n, rowOf(time, rp.dataEnd, "rolling_predict.data_end", n, 0, true));
  if (dataEnd <= dataStart) {
    throw new ConfigError(
      `rolling_predict: data_end (row ${dataEnd}) is not after data_start (row ${dataStart})`,
    );
  }
  const len = dataEnd - dataStart;
  const predictionStart = rp.predictionStart;
  let start =
    predictionStart === undefined
      ? undefined
      : rowOf(time, predictionStart, "rolling_predict.prediction_start", 0, dataStart) - dataStart;
  if (start !== undefined && start < 0 && predictionStart !== undefined && "time" in predictionStart) {
    throw new ConfigError(
      `rolling_predict.prediction_start: ${JSON.stringify(predictionStart.text)} is before data_start (${span(time, dataStart, dataStart + 1)})`,
    );
  }
  let size = rp.predictionSize;
  let steps = rp.predictionSteps;
  if (start === undefined) start = len - (size as number) * (steps as number);
  else if (size === undefined) size = Math.floor((len - start) / (steps as number));
  else if (steps === undefined) steps = Math.floor((len - start) / size);
  if (size === undefined || steps === undefined) throw new Error("unreachable");
  if (start < 0 || size < 1 || steps < 1 || len - start < steps * size) {
    throw new ConfigError(
      `rolling_predict: not enough data for ${steps} step(s) of ${size} row(s) from row ${start} of the ${len} rows used` +
        ` (${Math.max(0, len - start)} row(s) available for prediction)`,
    );
  }
  const plan: RollingPlan = {
    dataStart,
    dataEnd,
    predictionStart: dataStart + start,
    predictionSize: size,
    predictionSteps: steps,
    labelHorizon: limits.labelHorizon,
    trainLength: limits.trainLength,
    steps: [],
  };
  for (let s = 0; s < steps; s++) {
    const predictStart = plan.predictionStart + s * size;
    plan.steps.push({
      step: s,
      trainStart: dataStart,
      trainEnd: purgedTrainEnd(predictStart, limits.labelHorizon),
      predictStart,
      predictEnd: predictStart + size,
    });
  }
  const first = plan.steps[0] as RollingStep;
  if (first.trainEnd <= first.trainStart) {
    throw new ConfigError(
      `rolling_predict: the first step has no rows to train on: it predicts from row ${first.predictStart - dataStart}` +
        ` of the data and label_horizon is ${limits.labelHorizon}; start predicting later`,
    );
  }
  return plan;
}

/** The exclusive end of a step's training rows: the last one is predict_start − label_horizon − 1. */
export function purgedTrainEnd(predictStart: number, labelHorizon: number): number {
  return predictStart - labelHorizon;
}

/**
 * A config row number (counted from `base`), or a time: the first row at or after it, as the
 * original's `df[time_column] >= data_start` selects (so a date in a gap, or before the table's
 * first row, is fine). A start after the last row selects nothing: an error; an exclusive end
 * (`end`) after it keeps every row.
 */
function rowOf(
  time: Float64Array,
  bound: RowBound | undefined,
  where: string,
  fallback: number,
  base: number,
  end = false,
): number {
  if (bound === undefined) return fallback;
  if ("row" in bound) return base + bound.row;
  const t = bound.time;
  const lo = lowerBound(time, t);
  if (lo >= time.length && !end) {
    throw new ConfigError(
      `${where}: ${isoTime(t)} is after the table's last row (${span(time, 0, time.length)})`,
    );
  }
  return lo;
}

/** `first .. last` time of rows [from, to), for messages. */
function span(time: Float64Array, from: number, to: number): string {
  if (to <= from || from >= time.length) return "no rows";
  const iso = (i: number) => isoTime(time[i] as number);
  return to - from === 1 ? iso(from) : `${iso(from)} .. ${iso(Math.min(to, time.length) - 1)}`;
}

/** One model of one step: its artifact and its predictions for the step's rows. */
export interface StepModel {
  name: string;
  label: string;
  /** null when the model could not be trained in this step (see skipped). */
  artifact: ModelArtifact | null;
  /** One value per predicted row (NaN where a feature is NaN or the model was skipped). */
  predictions: Float64Array;
  skipped: string | null;
}

export interface StepResult {
  step: number;
  models: StepModel[];
}

/** Trains every model on the step's purged window and predicts the step's rows. */
export async function runRollingStep(
  frame: Frame,
  plan: RollingPlan,
  step: RollingStep,
  specs: readonly ModelSpec[],
  ctx: TrainContext & { run: number },
): Promise<StepResult> {
  const limits: TrainLimits = { labelHorizon: plan.labelHorizon, trainLength: plan.trainLength };
  const time = frame.time;
  const size = step.predictEnd - step.predictStart;
  const models: StepModel[] = [];
  for (const spec of specs) {
    let artifact: ModelArtifact;
    try {
      artifact = (await trainModel(frame, spec, { start: step.trainStart, end: step.trainEnd }, limits, ctx))
        .artifact;
    } catch (err) {
      if (err instanceof ItbError && err.action === "skip") {
        models.push({
          name: spec.name,
          label: spec.label,
          artifact: null,
          predictions: new Float64Array(size).fill(Number.NaN),
          skipped: err.message,
        });
        continue;
      }
      throw err;
    }
    // The purge, checked on what was actually trained, not only on the plan.
    if (artifact.training.last_row + plan.labelHorizon >= step.predictStart) {
      throw new Error(
        `walk-forward purge violated in step ${step.step}: training row ${artifact.training.last_row} + horizon ${plan.labelHorizon} reaches predicted row ${step.predictStart}`,
      );
    }
    const predictions = predictModel(artifact, frame, { start: step.predictStart, end: step.predictEnd });
    if (frame.has(spec.label)) {
      const s = scorePredictions(
        time.subarray(step.predictStart, step.predictEnd),
        frame.get(spec.label).subarray(step.predictStart, step.predictEnd),
        predictions,
      );
      artifact.metrics.out_of_sample = s.metrics;
    }
    artifact.rolling = {
      run: ctx.run,
      step: step.step,
      predict_first_row: step.predictStart,
      predict_last_row: step.predictEnd - 1,
      predict_first_time: isoTime(time[step.predictStart] as number),
      predict_last_time: isoTime(time[step.predictEnd - 1] as number),
    };
    models.push({ name: spec.name, label: spec.label, artifact, predictions, skipped: null });
  }
  return { step: step.step, models };
}

/** A frame in shared memory, so that every worker thread reads the same table without a copy. */
export interface SharedTable {
  time: SharedArrayBuffer;
  columns: [string, SharedArrayBuffer][];
}

export function shareFrame(frame: Frame, names: readonly string[]): SharedTable {
  const share = (x: Float64Array): SharedArrayBuffer => {
    const sab = new SharedArrayBuffer(x.byteLength);
    new Float64Array(sab).set(x);
    return sab;
  };
  return { time: share(frame.time), columns: [...new Set(names)].map((n) => [n, share(frame.get(n))]) };
}

export function frameFromShared(table: SharedTable): Frame {
  return new Frame(
    new Float64Array(table.time),
    table.columns.map(([n, b]) => [n, new Float64Array(b)] as const),
  );
}

/** What a rolling worker is started with. */
export interface RollingWorkerData {
  kind: "itb-rolling-worker";
  table: SharedTable;
  plan: RollingPlan;
  specs: ModelSpec[];
  ctx: { configHash: string; itbVersion: string; createdAt: number; run: number };
}
