import { Frame } from "../core/frame.js";
import { isoTime } from "../core/time.js";
import { sidecarFile, symbolFile } from "../data/paths.js";
import { frameFileInfo, writeFileAtomic, writeFrame } from "../data/store/index.js";
import { type PredictionScore, predictModel, scorePredictions, trainingSpan } from "../models/predict.js";
import { modelSpecs } from "../models/train.js";
import {
  type Loaded,
  type ModelStageContext,
  PASS_THROUGH,
  readTable,
  roundScores,
  unique,
} from "./modelStageShared.js";
import { ModelStore, modelRoot, type StoredModel } from "./modelStore.js";

/** `itb predict`: read the features (or matrix), apply the current models, write predictions and metrics. */

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
  const metricsFile = sidecarFile(output, "metrics");
  await writeFileAtomic(
    metricsFile,
    `${JSON.stringify(
      {
        kind: "predict",
        created_at: isoTime(ctx.clock.now()),
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
