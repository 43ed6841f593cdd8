import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { type Config, canonicalJson, configDownloadRange } from "../../config/index.js";
import { writeFileAtomic } from "../../data/atomic.js";
import { type FileFingerprint, type FingerprintCache, sameFingerprint } from "./fingerprint.js";
import type { StageDef, StagePlan, StageSummary } from "./types.js";

/**
 * A stage's manifest: what it read (file fingerprints and the hash of the config keys it
 * reads), what it wrote (fingerprints of its outputs) and its summary. It lives at
 * `<data_folder>/<symbol>/.itb/manifests/<stage>.json` and is written atomically after the
 * stage's outputs, and removed before the stage runs, so a crash mid-stage leaves no manifest
 * and the stage runs again. Paths inside the data folder are stored relative to it, so a moved
 * data folder stays up to date.
 */

export const MANIFEST_FORMAT = 1;

export interface Manifest {
  format: number;
  stage: string;
  stage_version: number;
  symbol: string;
  freq: string;
  /** SHA-256 of the canonical JSON of `sections`. */
  config_hash: string;
  /** Per config key read (and `(options)` for run-time choices): SHA-256 of its canonical JSON. */
  sections: Record<string, string>;
  inputs: FileFingerprint[];
  outputs: FileFingerprint[];
  started_at: string;
  finished_at: string;
  seconds: number;
  itb_version: string;
  config_file: string;
  summary: StageSummary;
}

export function manifestFolder(config: Pick<Config, "data_folder" | "symbol">): string {
  return resolve(config.data_folder, config.symbol, ".itb", "manifests");
}

export function manifestFile(config: Pick<Config, "data_folder" | "symbol">, stage: string): string {
  return resolve(manifestFolder(config), `${stage}.json`);
}

const OPTIONS_KEY = "(options)";

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The hash of each config key the stage reads, and of its run-time options. */
export function sectionHashes(stage: StageDef, plan: StagePlan): Record<string, string> {
  const out: Record<string, string> = {};
  const config = plan.config as Record<string, unknown>;
  for (const key of stage.reads) out[key] = sha256(canonicalJson(config[key] ?? null));
  if (stage.options !== undefined) out[OPTIONS_KEY] = sha256(canonicalJson(stage.options(plan)));
  return out;
}

export function sectionsHash(sections: Record<string, string>): string {
  return sha256(canonicalJson(sections));
}

/** A path as the manifest stores it: relative to the data folder when inside it. */
export function storedPath(config: Pick<Config, "data_folder">, path: string): string {
  const root = resolve(config.data_folder);
  const rel = relative(root, path);
  return rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel) ? path : rel;
}

export async function fingerprints(
  config: Pick<Config, "data_folder">,
  paths: readonly string[],
  cache: FingerprintCache,
): Promise<FileFingerprint[]> {
  const fps = await cache.all(paths);
  return fps.map((f) => ({ ...f, path: storedPath(config, f.path) }));
}

export async function readManifest(file: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const m = JSON.parse(text) as Manifest;
    return typeof m === "object" && m !== null && Array.isArray(m.inputs) && Array.isArray(m.outputs)
      ? m
      : undefined;
  } catch {
    // A corrupt manifest only means the stage runs again.
    return undefined;
  }
}

export async function writeManifest(file: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(manifest, null, 2)}\n`);
}

export async function removeManifest(file: string): Promise<void> {
  await rm(file, { force: true });
}

export interface Decision {
  run: boolean;
  /** Why it runs, or "up to date". */
  reason: string;
  /** The current inputs' fingerprints (computed for the decision; recorded in the new manifest). */
  inputs: FileFingerprint[];
  sections: Record<string, string>;
}

function names(list: readonly FileFingerprint[]): string {
  const shown = list.slice(0, 3).map((f) => f.path);
  return list.length > 3 ? `${shown.join(", ")} and ${list.length - 3} more` : shown.join(", ");
}

function diffFiles(
  kind: "input" | "output",
  was: readonly FileFingerprint[],
  now: readonly FileFingerprint[],
): string | undefined {
  const before = new Map(was.map((f) => [f.path, f]));
  const missing = now.filter((f) => !f.exists);
  if (kind === "output" && missing.length > 0) return `output missing: ${names(missing)}`;
  const added = now.filter((f) => !before.has(f.path));
  if (added.length > 0 || was.length !== now.length) {
    return `${kind}s changed: now ${now.length === 0 ? "none" : names(now)}`;
  }
  const changed = now.filter((f) => !sameFingerprint(before.get(f.path) as FileFingerprint, f));
  if (changed.length > 0) {
    const gone = changed.filter((f) => !f.exists);
    return gone.length > 0 ? `${kind} missing: ${names(gone)}` : `${kind} changed: ${names(changed)}`;
  }
  return undefined;
}

/**
 * Whether a stage must run. It is skipped when a manifest exists for the same stage version,
 * the hash of every config key it reads is unchanged, every input file has the recorded size,
 * mtime and SHA-256, and every output is still present and unchanged. A remote stage (import,
 * download) has no input files: it is skipped only when, in addition, download_end is set and
 * in the past (otherwise the source may have new candles; running it is cheap when it has none,
 * and it leaves the store untouched, so the stages after it stay up to date).
 */
export async function decide(
  stage: StageDef,
  plan: StagePlan,
  manifest: Manifest | undefined,
  cache: FingerprintCache,
  opts: { force: boolean; now: number },
): Promise<Decision> {
  const { config } = plan;
  const sections = sectionHashes(stage, plan);
  const inputs = await fingerprints(config, stage.inputs(plan), cache);
  const result = (run: boolean, reason: string): Decision => ({ run, reason, inputs, sections });
  if (opts.force) return result(true, "forced (--force)");
  if (manifest === undefined) return result(true, "no manifest: first run, or the last one did not finish");
  if (manifest.format !== MANIFEST_FORMAT || manifest.stage_version !== stage.version) {
    return result(true, "the stage's definition changed");
  }
  const changedKeys = [...new Set([...Object.keys(sections), ...Object.keys(manifest.sections ?? {})])]
    .filter((k) => sections[k] !== manifest.sections?.[k])
    .sort();
  if (changedKeys.length > 0) return result(true, `config changed: ${changedKeys.join(", ")}`);
  const inputDiff = diffFiles("input", manifest.inputs, inputs);
  if (inputDiff !== undefined) return result(true, inputDiff);
  const outputs = await fingerprints(config, stage.outputs(plan), cache);
  const outputDiff = diffFiles("output", manifest.outputs, outputs);
  if (outputDiff !== undefined) return result(true, outputDiff);
  if (stage.remote === true) {
    const end = configDownloadRange(config).end;
    if (end === undefined) return result(true, "download_end is not set: the source may have new candles");
    if (end > opts.now) return result(true, "download_end is in the future: the source may have new candles");
  }
  return result(false, "up to date");
}
