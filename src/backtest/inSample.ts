import { UsageError } from "../core/errors.js";
import type { Logger } from "../core/log.js";

/**
 * Predictions made on the rows the models were trained on (`itb predict` over the training
 * matrix) make any threshold look good: a search and a report on them print profits that will
 * not trade. `itb simulate`, `itb report` and their pipeline stages refuse such predictions
 * unless the user opts in, and then every number derived from them carries this mark.
 */
export const IN_SAMPLE = "IN-SAMPLE";

/** Where predictions came from, as their `.metrics.json` sidecar records it. */
export interface PredictionsProvenance {
  /** "predict-rolling", "predict" or "unknown" (no sidecar). */
  kind: string;
  /** True when any scored row was a training row of its model. */
  inSample: boolean;
  metricsFile: string | undefined;
}

export interface InSampleOptIn {
  /** In-sample predictions are allowed: --allow-in-sample or simulate_model.allow_in_sample. */
  allowed: boolean;
  /** The command has a --allow-in-sample flag to name in the error (the pipeline has none). */
  flag: boolean;
}

/**
 * Refuses in-sample predictions unless allowed (simulate_model.allow_in_sample or the flag);
 * warns about predictions whose provenance does not show them out of sample. Returns whether the
 * results are in-sample, i.e. must be marked.
 */
export function checkInSample(
  p: PredictionsProvenance,
  file: string,
  optIn: InSampleOptIn,
  log: Logger,
): boolean {
  if (p.inSample) {
    const allowed = optIn.allowed;
    const why =
      p.kind === "predict"
        ? "they come from `itb predict`, which scores the current models on the rows they were trained on"
        : "some of their rows were used to train the models";
    if (!allowed) {
      const how = optIn.flag
        ? '--allow-in-sample or "simulate_model": { "allow_in_sample": true }'
        : '"simulate_model": { "allow_in_sample": true } in the config';
      throw new UsageError(
        `${file}: the predictions are IN-SAMPLE: ${why} (${p.metricsFile ?? "its metrics file"} says in_sample: true). ` +
          "Thresholds chosen and profits measured on training rows overstate what will trade. " +
          "Make walk-forward predictions with `itb predict-rolling` (the config's rolling_predict section), " +
          `or accept results marked IN-SAMPLE with ${how}.`,
      );
    }
    log.warn(
      { file, kind: p.kind, in_sample: true },
      `IN-SAMPLE predictions allowed (allow_in_sample): ${why}; every number derived from them is marked IN-SAMPLE and overstates what will trade`,
    );
    return true;
  }
  if (p.kind === "predict-rolling") return false;
  const why =
    p.kind === "predict"
      ? "come from `itb predict`"
      : "have no walk-forward record (no predictions .metrics.json from `itb predict-rolling`)";
  log.warn(
    { file, kind: p.kind, in_sample: false },
    `IN-SAMPLE RISK: the predictions ${why}; thresholds chosen on them look better than they will trade unless the models never saw these rows. Run \`itb predict-rolling\` first.`,
  );
  return false;
}
