import { ItbError, interruption } from "../core/errors.js";
import { noProgress } from "../core/log.js";
import { fullTrainWindow, modelSpecs, trainModel } from "../models/train.js";
import {
  type Loaded,
  type ModelStageContext,
  pruneStore,
  readTable,
  roundScores,
} from "./modelStageShared.js";
import { ModelStore, modelRoot, type StoredModel } from "./modelStore.js";

/** `itb train`: read the matrix, train every configured model, write each as a new version to the store. */

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
 * a new version in the store; unless `promote` is false, the new versions become current together
 * once all are trained (one set promotion: an interrupted run promotes none). The metrics are
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
  // A train run that was killed or interrupted left versions: removed, so this run numbers its
  // versions as that one would have (a stage rerun gives the same files).
  const undone = await store.rollBackTrainAttempt();
  if (undone.length > 0) {
    ctx.log.info({ removed: undone }, "removed the versions an unfinished train run stored");
  }
  await store.beginTrainAttempt(specs.map((s) => s.name));
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
        `train stopped after ${i} of ${specs.length} model(s); stored but not made current (the next train removes them): ${stored}; not trained: ${specs
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
      const stored = await store.save(trained.artifact, { promote: false });
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
  if (opts.promote !== false && models.length > 0) await store.promoteSet(models);
  await store.endTrainAttempt();
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
