import { DataError } from "../core/errors.js";
import { type Algorithm, algorithmFor } from "./algorithms.js";
import type { ModelArtifact } from "./artifact.js";

/**
 * One model's prediction for one row at a time, for the live engine: the same number
 * `predictModel` gives that row in a batch, bit for bit (the same scaling arithmetic and the
 * same algorithm kernel, run over a one-row table). A row with a missing (NaN or infinite)
 * feature gets NaN, as in batch.
 */
export class RowPredictor {
  readonly name: string;
  readonly features: readonly string[];
  private readonly impl: Algorithm;
  private readonly artifact: ModelArtifact;
  private readonly columns: Float64Array[];
  private readonly mean: Float64Array | undefined;
  private readonly scale: Float64Array | undefined;

  constructor(artifact: ModelArtifact) {
    this.artifact = artifact;
    this.name = artifact.name;
    this.features = artifact.features;
    this.impl = algorithmFor(artifact.algorithm.algo);
    this.columns = artifact.features.map(() => new Float64Array(1));
    if (artifact.scaler) {
      if (artifact.scaler.mean.length !== artifact.features.length) {
        throw new DataError(
          `model ${artifact.name}: its scaler has ${artifact.scaler.mean.length} columns for ${artifact.features.length} features`,
        );
      }
      this.mean = Float64Array.from(artifact.scaler.mean);
      this.scale = Float64Array.from(artifact.scaler.scale);
    }
  }

  /** The probability for one row; `x` holds the features in `features` order. */
  predict(x: ArrayLike<number>): number {
    const cols = this.columns;
    const d = cols.length;
    if (x.length !== d) {
      throw new DataError(`model ${this.name}: expected ${d} feature value(s), got ${x.length}`);
    }
    for (let j = 0; j < d; j++) {
      const v = x[j] as number;
      if (!Number.isFinite(v)) return Number.NaN;
      (cols[j] as Float64Array)[0] =
        this.mean === undefined ? v : (v - (this.mean[j] as number)) / (this.scale?.[j] as number);
    }
    return this.impl.predict(this.artifact.model, cols)[0] as number;
  }
}

/**
 * Every model of a set, one row at a time: a feature row (in `featureColumns` order, as a
 * `FeatureStream` returns it) in, one score per model (`names`, the prediction columns) out.
 */
export class ScoreStream {
  readonly names: readonly string[];
  private readonly predictors: RowPredictor[];
  private readonly picks: Int32Array[];
  private readonly bufs: Float64Array[];
  private readonly out: Float64Array;

  constructor(artifacts: readonly ModelArtifact[], featureColumns: readonly string[]) {
    this.predictors = artifacts.map((a) => new RowPredictor(a));
    this.names = this.predictors.map((p) => p.name);
    this.picks = this.predictors.map((p) => {
      const missing = p.features.filter((f) => !featureColumns.includes(f));
      if (missing.length > 0) {
        throw new DataError(
          `model ${p.name} needs ${missing.length} feature(s) the feature sets do not make: ${missing.join(", ")}`,
        );
      }
      return Int32Array.from(p.features, (f) => featureColumns.indexOf(f));
    });
    this.bufs = this.predictors.map((p) => new Float64Array(p.features.length));
    this.out = new Float64Array(this.predictors.length);
  }

  /** Scores of one feature row, in `names` order, in a buffer the next call overwrites. */
  update(features: ArrayLike<number>): Float64Array {
    for (let m = 0; m < this.predictors.length; m++) {
      const pick = this.picks[m] as Int32Array;
      const buf = this.bufs[m] as Float64Array;
      for (let j = 0; j < pick.length; j++) buf[j] = features[pick[j] as number] as number;
      this.out[m] = (this.predictors[m] as RowPredictor).predict(buf);
    }
    return this.out;
  }
}
