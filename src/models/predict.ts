import { DataError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import { algorithmFor } from "./algorithms.js";
import type { ModelArtifact, Scores } from "./artifact.js";
import { applyScaler } from "./scaler.js";
import { gather, type RowWindow, scoresOf } from "./train.js";

/**
 * Prediction, pure: an artifact and a frame in, one probability per row out. A row with any
 * NaN (or infinite) feature gets NaN, whatever the algorithm would make of it (gb routes a NaN
 * down a default branch; a missing input must not look like a prediction). The output always
 * has one value per row of `range` (all rows by default).
 */
export function predictModel(artifact: ModelArtifact, frame: Frame, range?: RowWindow): Float64Array {
  const missing = artifact.features.filter((f) => !frame.has(f));
  if (missing.length > 0) {
    throw new DataError(
      `the table lacks ${missing.length} feature(s) model ${artifact.name} needs: ${missing.join(", ")}`,
    );
  }
  const start = Math.max(0, range?.start ?? 0);
  const end = Math.min(frame.length, range?.end ?? frame.length);
  const n = Math.max(0, end - start);
  const columns = artifact.features.map((f) => frame.get(f));
  const valid: number[] = [];
  for (let i = start; i < end; i++) {
    let ok = true;
    for (const c of columns) {
      if (!Number.isFinite(c[i] as number)) {
        ok = false;
        break;
      }
    }
    if (ok) valid.push(i);
  }
  const out = new Float64Array(n).fill(Number.NaN);
  if (valid.length === 0) return out;
  const rows = Int32Array.from(valid);
  const x = columns.map((c) => gather(c, rows));
  const xs = artifact.scaler ? applyScaler(artifact.scaler, x, x) : x; // x is a copy: scaled in place
  const impl = algorithmFor(artifact.algorithm.algo);
  const p = impl.predict(artifact.model, xs);
  if (p.length !== rows.length) {
    throw new DataError(`model ${artifact.name} returned ${p.length} predictions for ${rows.length} rows`);
  }
  for (let j = 0; j < rows.length; j++) out[(rows[j] as number) - start] = p[j] as number;
  return out;
}

/** How predictions relate to a model's training, and how good they are. */
export interface PredictionScore {
  /** Rows with both a label and a prediction: the rows scored. */
  rows: number;
  /** True when any scored row lies inside the model's training window. */
  in_sample: boolean;
  /** Scored rows inside the training window [first_time, last_time]. */
  in_sample_rows: number;
  /** Scored rows after the training information ended (label_end_time): honest rows. */
  out_of_sample_rows: number;
  /**
   * Scored rows that are neither: before the training window, or within label_horizon after
   * it. The model was fitted on their future, so their scores are not out-of-sample either.
   */
  overlapping_future_rows: number;
  /** On all scored rows (in-sample when in_sample is true). */
  metrics: Scores | null;
  /** On the out-of-sample rows only; null when there are none. */
  out_of_sample_metrics: Scores | null;
}

/** The part of an artifact's training window that scoring needs, as epoch ms. */
export interface TrainingSpan {
  firstTime: number;
  lastTime: number;
  labelEndTime: number;
}

export function trainingSpan(artifact: ModelArtifact): TrainingSpan {
  return {
    firstTime: Date.parse(artifact.training.first_time),
    lastTime: Date.parse(artifact.training.last_time),
    labelEndTime: Date.parse(artifact.training.label_end_time),
  };
}

/**
 * Scores predictions against labels on the rows where both are known (NaN elsewhere), and
 * splits the rows by their relation to the training span: in-sample, out-of-sample, or in the
 * overlap in between. Without a span every row counts as out-of-sample (walk-forward steps,
 * whose purge is checked when they are planned).
 */
export function scorePredictions(
  time: Float64Array,
  label: Float64Array,
  prediction: Float64Array,
  span?: TrainingSpan,
): PredictionScore {
  const n = Math.min(time.length, label.length, prediction.length);
  const all: number[] = [];
  const oos: number[] = [];
  let inSample = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(label[i] as number) || Number.isNaN(prediction[i] as number)) continue;
    all.push(i);
    const t = time[i] as number;
    if (span === undefined || t > span.labelEndTime) oos.push(i);
    else if (t >= span.firstTime && t <= span.lastTime) inSample++;
  }
  const score = (rows: number[]): Scores | null => {
    if (rows.length === 0) return null;
    const r = Int32Array.from(rows);
    return scoresOf(gather(label, r), gather(prediction, r));
  };
  const metrics = score(all);
  return {
    rows: all.length,
    in_sample: inSample > 0,
    in_sample_rows: inSample,
    out_of_sample_rows: oos.length,
    overlapping_future_rows: all.length - inSample - oos.length,
    metrics,
    out_of_sample_metrics: oos.length === all.length ? metrics : score(oos),
  };
}
