import { randomUUID } from "node:crypto";
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import type { Config } from "../config/index.js";
import { DataError, UsageError } from "../core/errors.js";
import { isoTime } from "../core/time.js";
import { tempPathFor, writeFileAtomic } from "../data/atomic.js";
import { checkFeatures, type ModelArtifact, parseArtifact, serializeArtifact } from "../models/artifact.js";

/**
 * The model store on disk, under `<data_folder>/<symbol>/<model_folder>/` (model_folder may be
 * absolute, as in the original):
 *
 *   <model name>/v0001.json, v0002.json, …   every training adds a version, never overwrites
 *   <model name>/current.json               {"version": 2, …}: the version predict uses
 *   rolling/run-0001/step-0001/<model name>.json   walk-forward runs, every step's models kept
 *   rolling/run-0001/run.json               the run's plan, metrics and provenance (written last)
 *
 * `models_keep` bounds the store: after each training (and walk-forward run) only the newest
 * versions (runs) are kept, and a model's current version always (see prune).
 *
 * Every file is written atomically (temporary file, fsync, rename or link); a new version is
 * created with link(2), which fails rather than replaces, so two trainings running at once
 * cannot take the same version number.
 */

const VERSION_FILE = /^v(\d+)\.json$/;
const CURRENT = "current.json";
/** A train run's record of the store before it (see beginTrainAttempt). */
const TRAIN_ATTEMPT = ".train-attempt.json";
export const ROLLING_FOLDER = "rolling";
const MODEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

export interface StoreClock {
  /** Epoch ms. */
  now(): number;
}

export interface CurrentPointer {
  version: number;
  file: string;
  updated_at: string;
  /**
   * Written by a set promotion (promoteSet): the pointers of all `models` carry the same id and
   * time, and the set is in use only once every one of them does (see currentSet).
   */
  set?: { id: string; models: string[] };
}

/** The current pointers of some models, and what keeps them from being a whole set. */
export interface CurrentSet {
  pointers: Map<string, CurrentPointer | undefined>;
  /**
   * Set while a set promotion is unfinished (under way, or cut short by a crash): which model
   * does not point into it yet. A later promotion of that model finishes it.
   */
  unfinished?: string;
}

export interface StoredModel {
  name: string;
  version: number;
  file: string;
  artifact: ModelArtifact;
}

export function modelRoot(config: Pick<Config, "data_folder" | "symbol" | "model_folder">): string {
  return isAbsolute(config.model_folder)
    ? config.model_folder
    : resolve(config.data_folder, config.symbol, config.model_folder);
}

export function versionFileName(version: number): string {
  return `v${String(version).padStart(4, "0")}.json`;
}

export class ModelStore {
  constructor(
    readonly root: string,
    private readonly clock: StoreClock,
  ) {}

  folderOf(name: string): string {
    if (!MODEL_NAME.test(name) || name === ROLLING_FOLDER) {
      throw new UsageError(`invalid model name ${JSON.stringify(name)}`);
    }
    return join(this.root, name);
  }

  /** The current-version pointer's file (replaced as a whole, by rename, when it changes). */
  currentFile(name: string): string {
    return join(this.folderOf(name), CURRENT);
  }

  fileOf(name: string, version: number): string {
    return join(this.folderOf(name), versionFileName(version));
  }

  /** Model names with at least one version, sorted. */
  async names(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(notFoundAs([]));
    const names: string[] = [];
    for (const e of entries) {
      if (!e.isDirectory() || e.name === ROLLING_FOLDER || !MODEL_NAME.test(e.name)) continue;
      if ((await this.versions(e.name)).length > 0) names.push(e.name);
    }
    return names.sort();
  }

  /** The versions of a model, ascending. */
  async versions(name: string): Promise<number[]> {
    const files = await readdir(this.folderOf(name)).catch(notFoundAs([] as string[]));
    return files
      .map((f) => VERSION_FILE.exec(f)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  async current(name: string): Promise<CurrentPointer | undefined> {
    const file = this.currentFile(name);
    const text = await readFile(file, "utf8").catch(notFoundAs(undefined));
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new DataError("corrupt current-version pointer (invalid JSON)", { file }, { cause: err });
    }
    const v = (value as { version?: unknown }).version;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new DataError("corrupt current-version pointer: no version number", { file });
    }
    return value as CurrentPointer;
  }

  /** Stores the artifact as the next version; makes it current unless `promote` is false. */
  async save(artifact: ModelArtifact, opts: { promote?: boolean } = {}): Promise<StoredModel> {
    const dir = this.folderOf(artifact.name);
    await mkdir(dir, { recursive: true });
    const text = serializeArtifact(artifact);
    for (let attempt = 0; attempt < 100; attempt++) {
      const versions = await this.versions(artifact.name);
      const version = (versions[versions.length - 1] ?? 0) + 1;
      const file = this.fileOf(artifact.name, version);
      if (await createExclusive(file, text)) {
        if (opts.promote !== false) await this.writeCurrent(artifact.name, version);
        return { name: artifact.name, version, file, artifact };
      }
    }
    throw new DataError("cannot allocate a new model version (too many concurrent writers)", { file: dir });
  }

  /** Reads a version (the current one when `version` is undefined). */
  async read(name: string, version?: number): Promise<StoredModel> {
    let v = version;
    if (v === undefined) {
      const pointer = await this.current(name);
      if (pointer === undefined) {
        const versions = await this.versions(name);
        if (versions.length === 0) {
          throw new DataError(`no model ${name} in the store: train it first (itb train)`, {
            file: this.root,
          });
        }
        throw new DataError(
          `model ${name} has no current version; choose one: itb models promote ${name} <version> (versions: ${versions.join(", ")})`,
          { file: this.folderOf(name) },
        );
      }
      v = pointer.version;
    }
    const file = this.fileOf(name, v);
    const text = await readFile(file, "utf8").catch(notFoundAs(undefined));
    if (text === undefined) {
      const versions = await this.versions(name);
      if (versions.length === 0) {
        throw new DataError(`no model ${name} in the store: train it first (itb train)`, { file: this.root });
      }
      throw new DataError(`model ${name} has no version ${v} (versions: ${versions.join(", ")})`, {
        file: this.folderOf(name),
      });
    }
    const artifact = parseArtifact(text, file);
    if (artifact.name !== name) {
      throw new DataError(`the artifact is model ${artifact.name}, not ${name}`, { file });
    }
    return { name, version: v, file, artifact };
  }

  /** The current version of a model (or `version`), refused unless its features are exactly `features`. */
  async readForFeatures(name: string, features: readonly string[], version?: number): Promise<StoredModel> {
    const stored = await this.read(name, version);
    checkFeatures(stored.artifact, features, stored.file);
    return stored;
  }

  async promote(name: string, version: number): Promise<CurrentPointer> {
    await this.checkPromotable(name, version);
    return this.writeCurrent(name, version);
  }

  /**
   * Makes several versions current as one set: a reader (the live model watch) that looks
   * between two of the pointer writes sees the set unfinished (currentSet) and keeps the
   * models it has, so a market never scores with half of a new set. Every version is checked
   * before any pointer is written.
   */
  async promoteSet(entries: readonly { name: string; version: number }[]): Promise<CurrentPointer[]> {
    for (const e of entries) await this.checkPromotable(e.name, e.version);
    const at = this.clock.now();
    const set = { id: `${isoTime(at)}/${randomUUID().slice(0, 8)}`, models: entries.map((e) => e.name) };
    const out: CurrentPointer[] = [];
    for (const e of entries) out.push(await this.writeCurrent(e.name, e.version, set, at));
    return out;
  }

  /**
   * The current pointers of `names`. A pointer written by a set promotion makes the set
   * unfinished while another model of its set still has an older pointer (or none).
   */
  async currentSet(names: readonly string[]): Promise<CurrentSet> {
    const pointers = new Map<string, CurrentPointer | undefined>();
    const pointer = async (name: string) => {
      if (!pointers.has(name)) pointers.set(name, await this.current(name));
      return pointers.get(name);
    };
    for (const name of names) await pointer(name);
    for (const name of names) {
      const p = pointers.get(name);
      if (p?.set === undefined) continue;
      for (const other of p.set.models) {
        const q = await pointer(other);
        const older = q === undefined || Date.parse(q.updated_at) < Date.parse(p.updated_at);
        if (q?.set?.id !== p.set.id && older) {
          return {
            pointers,
            unfinished: `${name} v${p.version} was promoted with ${other} (set ${p.set.id}), which still points at ${q === undefined ? "no version" : `v${q.version}`}`,
          };
        }
      }
    }
    return { pointers };
  }

  private async checkPromotable(name: string, version: number): Promise<void> {
    const versions = await this.versions(name);
    if (!versions.includes(version)) {
      throw new UsageError(
        versions.length === 0
          ? `no model ${name} in the store ${this.root}`
          : `model ${name} has no version ${version} (versions: ${versions.join(", ")})`,
      );
    }
    // Refuse to point at a file that does not load.
    await this.read(name, version);
  }

  private async writeCurrent(
    name: string,
    version: number,
    set?: CurrentPointer["set"],
    at = this.clock.now(),
  ): Promise<CurrentPointer> {
    const pointer: CurrentPointer = {
      version,
      file: versionFileName(version),
      updated_at: isoTime(at),
      ...(set === undefined ? {} : { set }),
    };
    await writeFileAtomic(this.currentFile(name), `${JSON.stringify(pointer, null, 2)}\n`);
    return pointer;
  }

  // ------------------------------------------------------------------------ train attempts

  /** The marker a train run leaves while it runs: what the store held before it. */
  get trainAttemptFile(): string {
    return join(this.root, TRAIN_ATTEMPT);
  }

  /**
   * Records, before a train run stores anything, each model's newest version and current
   * pointer (the pointer file's text). The run removes the record when it has finished
   * (endTrainAttempt); a record found at the next run's start belongs to a run that was killed
   * or interrupted (rollBackTrainAttempt).
   */
  async beginTrainAttempt(names: readonly string[]): Promise<void> {
    const before: Record<string, { latest: number; current: string | null }> = {};
    for (const name of names) {
      const versions = await this.versions(name);
      const current = await readFile(this.currentFile(name), "utf8").catch(notFoundAs(null));
      before[name] = { latest: versions[versions.length - 1] ?? 0, current };
    }
    await mkdir(this.root, { recursive: true });
    await writeFileAtomic(
      this.trainAttemptFile,
      `${JSON.stringify({ started_at: isoTime(this.clock.now()), before }, null, 2)}\n`,
    );
  }

  async endTrainAttempt(): Promise<void> {
    await rm(this.trainAttemptFile, { force: true });
  }

  /**
   * Undoes what a train run that did not finish left: the versions it stored are removed and
   * the current pointers put back as they were, so the run that follows stores the same
   * versions a run without the interruption would have (a stage rerun elsewhere after a worker
   * died gives the same files). Returns the files removed.
   */
  async rollBackTrainAttempt(): Promise<string[]> {
    const text = await readFile(this.trainAttemptFile, "utf8").catch(notFoundAs(undefined));
    if (text === undefined) return [];
    let record: { before?: Record<string, { latest?: unknown; current?: unknown }> };
    try {
      record = JSON.parse(text) as typeof record;
    } catch (err) {
      throw new DataError(
        "corrupt train record (invalid JSON)",
        { file: this.trainAttemptFile },
        { cause: err },
      );
    }
    const removed: string[] = [];
    for (const [name, b] of Object.entries(record.before ?? {})) {
      const latest = typeof b.latest === "number" ? b.latest : Number.POSITIVE_INFINITY;
      for (const v of await this.versions(name)) {
        if (v <= latest) continue;
        await rm(this.fileOf(name, v), { force: true });
        removed.push(this.fileOf(name, v));
      }
      if (typeof b.current === "string") await writeFileAtomic(this.currentFile(name), b.current);
      else await rm(this.currentFile(name), { force: true });
    }
    await this.endTrainAttempt();
    return removed;
  }

  // ------------------------------------------------------------------------ walk-forward runs

  get rollingRoot(): string {
    return join(this.root, ROLLING_FOLDER);
  }

  runFolder(run: number): string {
    return join(this.rollingRoot, `run-${String(run).padStart(4, "0")}`);
  }

  stepFolder(run: number, step: number): string {
    return join(this.runFolder(run), `step-${String(step + 1).padStart(4, "0")}`);
  }

  /** Walk-forward run numbers, ascending. */
  async runs(): Promise<number[]> {
    const entries = await readdir(this.rollingRoot).catch(notFoundAs([] as string[]));
    return entries
      .map((e) => /^run-(\d+)$/.exec(e)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Creates the next run folder (mkdir fails rather than reuses an existing one). */
  async createRun(): Promise<number> {
    await mkdir(this.rollingRoot, { recursive: true });
    for (let attempt = 0; attempt < 100; attempt++) {
      const runs = await this.runs();
      const run = (runs[runs.length - 1] ?? 0) + 1;
      try {
        await mkdir(this.runFolder(run));
        return run;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
    }
    throw new DataError("cannot allocate a new walk-forward run folder", { file: this.rollingRoot });
  }

  /**
   * Run folders without run.json: walk-forward runs that were killed or interrupted (run.json
   * is written last), ascending. Only meaningful under the folder's write lock, when no run
   * is in progress.
   */
  async partialRuns(): Promise<number[]> {
    const out: number[] = [];
    for (const run of await this.runs()) {
      if (!(await exists(join(this.runFolder(run), "run.json")))) out.push(run);
    }
    return out;
  }

  /** Removes the partial run folders (see partialRuns); returns them. */
  async removePartialRuns(): Promise<string[]> {
    const removed: string[] = [];
    for (const run of await this.partialRuns()) {
      await rm(this.runFolder(run), { recursive: true, force: true });
      removed.push(this.runFolder(run));
    }
    return removed;
  }

  /**
   * Keeps the newest `keep` versions of every model and the newest `keep` complete
   * walk-forward runs, and removes the rest (or, with `dryRun`, lists them). A model's
   * current version is never removed, whatever its age; partial runs are left to
   * removePartialRuns.
   */
  async prune(keep: number, opts: { dryRun?: boolean } = {}): Promise<PruneResult> {
    if (!Number.isInteger(keep) || keep < 1)
      throw new UsageError(`keep must be a positive integer, got ${keep}`);
    const result: PruneResult = { versions: [], runs: [], bytes: 0 };
    for (const name of await this.names()) {
      const versions = await this.versions(name);
      const current = (await this.current(name))?.version;
      const kept = new Set(versions.slice(-keep));
      for (const version of versions) {
        if (kept.has(version) || version === current) continue;
        const file = this.fileOf(name, version);
        const bytes = (await stat(file)).size;
        result.versions.push({ name, version, file, bytes });
        result.bytes += bytes;
      }
    }
    const partial = new Set(await this.partialRuns());
    const complete = (await this.runs()).filter((r) => !partial.has(r));
    for (const run of complete.slice(0, Math.max(0, complete.length - keep))) {
      const folder = this.runFolder(run);
      const bytes = await folderBytes(folder);
      result.runs.push({ run, folder, bytes });
      result.bytes += bytes;
    }
    if (opts.dryRun !== true) {
      for (const v of result.versions) await rm(v.file, { force: true });
      for (const r of result.runs) await rm(r.folder, { recursive: true, force: true });
    }
    return result;
  }

  /** Writes a step's artifacts; the step's folder is new, so nothing is overwritten. */
  async saveStep(run: number, step: number, artifacts: readonly ModelArtifact[]): Promise<string[]> {
    const dir = this.stepFolder(run, step);
    await mkdir(dir, { recursive: true });
    const files: string[] = [];
    for (const a of artifacts) {
      const file = join(dir, `${a.name}.json`);
      this.folderOf(a.name); // validates the name
      if (!(await createExclusive(file, serializeArtifact(a)))) {
        throw new DataError("walk-forward step artifact exists already", { file });
      }
      files.push(file);
    }
    return files;
  }

  async writeRunSummary(run: number, summary: object): Promise<string> {
    const file = join(this.runFolder(run), "run.json");
    await writeFileAtomic(file, `${JSON.stringify(summary, null, 2)}\n`);
    return file;
  }

  /** The artifacts of one step of a run, by model name. */
  async readStep(run: number, step: number): Promise<ModelArtifact[]> {
    const dir = this.stepFolder(run, step);
    const files = (await readdir(dir).catch(notFoundAs([] as string[])))
      .filter((f) => f.endsWith(".json"))
      .sort();
    const out: ModelArtifact[] = [];
    for (const f of files) out.push(parseArtifact(await readFile(join(dir, f), "utf8"), join(dir, f)));
    return out;
  }
}

export interface PruneResult {
  versions: { name: string; version: number; file: string; bytes: number }[];
  runs: { run: number; folder: string; bytes: number }[];
  /** Bytes removed (or, in a dry run, that would be). */
  bytes: number;
}

async function folderBytes(folder: string): Promise<number> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(notFoundAs([]));
  let n = 0;
  for (const e of entries) if (e.isFile()) n += (await stat(join(e.parentPath, e.name))).size;
  return n;
}

/**
 * Writes `text` to `file` only if `file` does not exist, atomically: the content goes to a
 * temporary file (flushed), which is then hard-linked to the name; link fails if the name is
 * taken. On a file system without hard links, an existence check and a rename stand in.
 */
async function createExclusive(file: string, text: string): Promise<boolean> {
  const tmp = tempPathFor(file);
  const handle = await open(tmp, "wx");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") throw err;
    if (await exists(file)) return false;
    await rename(tmp, file);
    return true;
  } finally {
    await rm(tmp, { force: true });
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

function notFoundAs<T>(value: T): (err: unknown) => T {
  return (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return value;
    throw err;
  };
}
