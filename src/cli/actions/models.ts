import type { Command } from "commander";
import { DataError, UsageError } from "../../core/errors.js";
import { diffArtifacts, type ModelArtifact, type Scores } from "../../models/artifact.js";
import {
  formatPredictRun,
  formatRollingRun,
  formatTrainRun,
  type ModelStageContext,
  runPredict,
  runPredictRolling,
  runTrain,
} from "../../pipeline/modelStages.js";
import { ModelStore, modelRoot, type PruneResult, versionFileName } from "../../pipeline/modelStore.js";
import { type Context, configOf, contextOf } from "../context.js";
import type { ConfigOptions, WriterOptions } from "../options.js";
import { VERSION } from "../version.js";
import { marketWriter, runWriter } from "../writer.js";

const systemClock = { now: () => Date.now() };

function stageContext(ctx: Context, signal?: AbortSignal): ModelStageContext {
  return {
    log: ctx.log,
    progress: ctx.progress,
    clock: systemClock,
    itbVersion: VERSION,
    ...(signal === undefined ? {} : { signal }),
  };
}

function positiveInt(value: string, what: string): number {
  const n = Number(value.replace(/^v/i, ""));
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${what} must be a positive integer, got "${value}"`);
  return n;
}

function storeOf(opts: ConfigOptions, cmd: Command): ModelStore {
  const ctx = contextOf(cmd);
  const { config } = configOf(opts, ctx.log);
  return new ModelStore(modelRoot(config), systemClock);
}

/** `itb train`. */
export async function trainAction(
  opts: ConfigOptions & WriterOptions & { promote: boolean },
  cmd: Command,
): Promise<void> {
  const ctx = contextOf(cmd);
  const loaded = configOf(opts, ctx.log);
  const writer = { ...marketWriter("train"), stopping: "stopping after the model in flight" };
  await runWriter(ctx, loaded.config, opts, writer, async (signal) => {
    const run = await runTrain(loaded, stageContext(ctx, signal), { promote: opts.promote });
    process.stdout.write(`${formatTrainRun(run)}\n`);
    if (run.skipped.length > 0) {
      throw new DataError(
        `${run.skipped.length} of ${run.skipped.length + run.models.length} model(s) not trained`,
      );
    }
  });
}

/** `itb predict`. */
export async function predictAction(
  opts: ConfigOptions & WriterOptions & { input?: string; output?: string },
  cmd: Command,
): Promise<void> {
  const ctx = contextOf(cmd);
  const loaded = configOf(opts, ctx.log);
  if (opts.input !== undefined && opts.input !== "features" && opts.input !== "matrix") {
    throw new UsageError(`--input must be "features" or "matrix", got "${opts.input}"`);
  }
  const input = opts.input;
  await runWriter(ctx, loaded.config, opts, marketWriter("predict"), async () => {
    const run = await runPredict(loaded, stageContext(ctx), {
      ...(input ? { input } : {}),
      ...(opts.output ? { output: opts.output } : {}),
    });
    process.stdout.write(`${formatPredictRun(run)}\n`);
  });
}

/** `itb predict-rolling`. */
export async function predictRollingAction(
  opts: ConfigOptions & WriterOptions & { workers?: string; inProcess?: boolean; output?: string },
  cmd: Command,
): Promise<void> {
  const ctx = contextOf(cmd);
  const loaded = configOf(opts, ctx.log);
  const workers = opts.workers ? positiveInt(opts.workers, "--workers") : undefined;
  const writer = { ...marketWriter("predict-rolling"), stopping: "stopping the walk-forward steps" };
  await runWriter(ctx, loaded.config, opts, writer, async (signal) => {
    const run = await runPredictRolling(loaded, stageContext(ctx, signal), {
      ...(workers === undefined ? {} : { workers }),
      ...(opts.inProcess ? { inProcess: true } : {}),
      ...(opts.output ? { output: opts.output } : {}),
    });
    process.stdout.write(`${formatRollingRun(run)}\n`);
  });
}

/** `itb models list`. */
export async function modelsListAction(
  opts: ConfigOptions & { json?: boolean },
  cmd: Command,
): Promise<void> {
  const store = storeOf(opts, cmd);
  const rows: ListRow[] = [];
  for (const name of await store.names()) {
    const versions = await store.versions(name);
    const pointer = await store.current(name);
    const shown = await store.read(name, pointer?.version ?? versions[versions.length - 1]);
    rows.push({
      name,
      versions,
      current: pointer?.version ?? null,
      created_at: shown.artifact.created_at,
      algo: shown.artifact.algorithm.algo,
      rows: shown.artifact.training.rows,
      metrics: metricsOf(shown.artifact),
    });
  }
  const runs = await store.runs();
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ store: store.root, models: rows, rolling_runs: runs }, null, 2)}\n`,
    );
    return;
  }
  process.stdout.write(`${formatList(store.root, rows, runs)}\n`);
}

/** `itb models show`. */
export async function modelsShowAction(
  name: string,
  versionText: string | undefined,
  opts: ConfigOptions & { json?: boolean; full?: boolean },
  cmd: Command,
): Promise<void> {
  const store = storeOf(opts, cmd);
  const version = versionText === undefined ? undefined : positiveInt(versionText, "version");
  const stored = await store.read(name, version);
  const pointer = await store.current(name);
  if (opts.json) {
    const { model, ...contract } = stored.artifact;
    const out = opts.full ? stored.artifact : { ...contract, model: { kind: model.kind } };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${formatShow(stored.artifact, stored.version, pointer?.version, stored.file)}\n`);
}

/** `itb models promote`. */
export async function modelsPromoteAction(
  name: string,
  versionText: string,
  opts: ConfigOptions & WriterOptions,
  cmd: Command,
): Promise<void> {
  const ctx = contextOf(cmd);
  const { config } = configOf(opts, ctx.log);
  const store = new ModelStore(modelRoot(config), systemClock);
  const version = positiveInt(versionText, "version");
  await runWriter(ctx, config, opts, marketWriter("models promote"), async () => {
    const before = await store.current(name);
    await store.promote(name, version);
    const was = before === undefined ? "none" : `v${before.version}`;
    process.stdout.write(`${name}: current version is now v${version} (was ${was})\n`);
  });
}

/** `itb models prune`. */
export async function modelsPruneAction(
  opts: ConfigOptions & WriterOptions & { keep?: string; dryRun?: boolean },
  cmd: Command,
): Promise<void> {
  const ctx = contextOf(cmd);
  const { config } = configOf(opts, ctx.log);
  const keep = opts.keep === undefined ? config.models_keep : positiveInt(opts.keep, "--keep");
  if (keep < 1) {
    throw new UsageError("models_keep is 0 (keep every version): pass --keep N to prune");
  }
  const store = new ModelStore(modelRoot(config), systemClock);
  await runWriter(ctx, config, opts, marketWriter("models prune"), async () => {
    const r = await store.prune(keep, { dryRun: opts.dryRun === true });
    process.stdout.write(`${formatPrune(store.root, keep, r, opts.dryRun === true)}\n`);
  });
}

/** `itb models diff`. */
export async function modelsDiffAction(
  name: string,
  v1: string,
  v2: string,
  opts: ConfigOptions,
  cmd: Command,
): Promise<void> {
  const store = storeOf(opts, cmd);
  const a = await store.read(name, positiveInt(v1, "v1"));
  const b = await store.read(name, positiveInt(v2, "v2"));
  const sections = diffArtifacts(a.artifact, b.artifact);
  const lines = [`${name} v${a.version} → v${b.version}`];
  if (sections.length === 0) lines.push("  no differences");
  for (const s of sections) {
    lines.push(`${s.section}:`);
    for (const l of s.lines) lines.push(`  ${l}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

function formatPrune(root: string, keep: number, r: PruneResult, dryRun: boolean): string {
  const verb = dryRun ? "would remove" : "removed";
  const lines = r.versions.map((v) => `  ${v.name} v${v.version}  ${v.file}`);
  for (const x of r.runs) lines.push(`  walk-forward run ${x.run}  ${x.folder}`);
  const mb = (r.bytes / 1e6).toFixed(1);
  lines.unshift(
    `${verb} ${r.versions.length} model version(s) and ${r.runs.length} walk-forward run(s) (${mb} MB), keeping the newest ${keep} and the current versions, in ${root}`,
  );
  return lines.join("\n");
}

interface ListRow {
  name: string;
  versions: number[];
  current: number | null;
  created_at: string;
  algo: string;
  rows: number;
  metrics: { kind: "in-sample" | "out-of-sample"; scores: Scores } | null;
}

function metricsOf(a: ModelArtifact): ListRow["metrics"] {
  if (a.metrics.out_of_sample) return { kind: "out-of-sample", scores: a.metrics.out_of_sample };
  if (a.metrics.in_sample) return { kind: "in-sample", scores: a.metrics.in_sample };
  return null;
}

function num(v: number | null, digits = 3): string {
  return v === null ? "n/a" : v.toFixed(digits);
}

function formatList(root: string, rows: readonly ListRow[], runs: readonly number[]): string {
  if (rows.length === 0 && runs.length === 0) return `no models in ${root}: train some with itb train`;
  const table = [["MODEL", "VERSIONS", "CURRENT", "CREATED", "ALGO", "ROWS", "METRICS"]];
  for (const r of rows) {
    const m = r.metrics;
    table.push([
      r.name,
      String(r.versions.length),
      r.current === null ? "none" : versionFileName(r.current).replace(".json", ""),
      r.created_at,
      r.algo,
      r.rows.toLocaleString("en-US"),
      m === null ? "n/a" : `${m.kind} auc ${num(m.scores.auc)} ap ${num(m.scores.ap)} f1 ${num(m.scores.f1)}`,
    ]);
  }
  const widths = (table[0] as string[]).map((_, j) =>
    Math.max(...table.map((row) => (row[j] as string).length)),
  );
  const lines = table.map((row) =>
    row
      .map((c, j) => (j === row.length - 1 ? c : c.padEnd(widths[j] as number)))
      .join("  ")
      .trimEnd(),
  );
  lines.push(`store: ${root}`);
  if (runs.length > 0) lines.push(`walk-forward runs: ${runs.length} (latest: run ${runs[runs.length - 1]})`);
  return lines.join("\n");
}

function formatScores(s: Scores): string {
  return `rows ${s.rows.toLocaleString("en-US")}  auc ${num(s.auc)}  ap ${num(s.ap)}  f1 ${num(s.f1)}  precision ${num(s.precision)}  recall ${num(s.recall)}`;
}

function formatShow(a: ModelArtifact, version: number, current: number | undefined, file: string): string {
  const t = a.training;
  const lines = [
    `${a.name} v${version}${current === version ? " (current)" : ""}`,
    `  file:        ${file}`,
    `  created:     ${a.created_at} by itb ${a.itb_version}, format ${a.format_version}`,
    `  config hash: ${a.config_hash}`,
    `  label:       ${a.label}`,
    `  algorithm:   ${a.algorithm.name} (${a.algorithm.algo})`,
    `  params:      ${JSON.stringify(a.algorithm.params)}`,
    `  resolved:    ${JSON.stringify(a.algorithm.resolved)}`,
    `  scaler:      ${a.scaler ? "standard (fitted on the training rows)" : "none"}`,
    `  training:    ${t.rows.toLocaleString("en-US")} rows ${t.first_time} .. ${t.last_time} (table rows ${t.first_row}..${t.last_row} of ${t.table_rows})`,
    `               label horizon ${t.label_horizon} (labels use data up to ${t.label_end_time}), positive rate ${num(t.positive_rate, 4)}`,
    `               train_length ${t.train_length}, length ${t.length}, every_nth_row ${t.every_nth_row}`,
    `  data:        ${t.data_fingerprint}`,
    `  in-sample:   ${a.metrics.in_sample ? formatScores(a.metrics.in_sample) : "n/a"}`,
    `  out-of-sample: ${a.metrics.out_of_sample ? formatScores(a.metrics.out_of_sample) : "n/a"}`,
  ];
  if (a.rolling) {
    lines.push(
      `  walk-forward: run ${a.rolling.run} step ${a.rolling.step}, predicts ${a.rolling.predict_first_time} .. ${a.rolling.predict_last_time}`,
    );
  }
  lines.push(`  features (${a.features.length}): ${a.features.join(", ")}`);
  return lines.join("\n");
}
