import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir, rename, rm, stat, utimes } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { ItbError, UsageError } from "../../core/errors.js";
import { withTempPath } from "../atomic.js";

/**
 * The storage port: a flat namespace of keys (`BTCUSDT/features.parquet`, always `/`-separated)
 * holding files, with whole-file transfers only. Publication is atomic: `upload` makes the new
 * content visible all at once (a reader sees the old object or the new one, never part of
 * one), and `download` writes the local file atomically too. Two implementations:
 * `LocalStorage` (a folder, e.g. a network mount; `file://` data folders) and `BlobStorage`
 * (Azure Blob Storage, blob.ts; `az://` data folders).
 */

export interface StoredObject {
  key: string;
  size: number;
  /** Changes whenever the content is replaced: what a cached copy is checked against. */
  etag: string;
  /** The writer's modification time (epoch ms), restored on the downloaded copy. */
  mtimeMs?: number;
}

export interface Storage {
  /** Where it is, for messages (no credentials). */
  readonly description: string;
  /** Fails with a clear error when the store cannot be reached or does not exist. */
  check(): Promise<void>;
  stat(key: string): Promise<StoredObject | undefined>;
  /** Writes the object to `file` atomically; undefined (and `file` untouched) when it does not exist. */
  download(key: string, file: string): Promise<StoredObject | undefined>;
  /** Publishes `file` as `key` atomically, recording `mtimeMs`. */
  upload(file: string, key: string, mtimeMs: number): Promise<StoredObject>;
  /** Every object whose key starts with `prefix`. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Removes the object if it exists. */
  delete(key: string): Promise<void>;
}

/** A folder as a store: a file's identity is its inode, size and mtime (a replacement is a rename). */
export class LocalStorage implements Storage {
  readonly description: string;

  constructor(readonly root: string) {
    this.description = `the folder ${root}`;
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  private async object(key: string, path: string): Promise<StoredObject | undefined> {
    const s = await stat(path).catch(notFound);
    if (s === undefined || !s.isFile()) return undefined;
    return { key, size: s.size, etag: `${s.ino}-${s.size}-${s.mtimeMs}`, mtimeMs: s.mtimeMs };
  }

  async check(): Promise<void> {
    const s = await stat(this.root).catch(notFound);
    if (s === undefined || !s.isDirectory()) {
      throw new UsageError(`data_folder: the shared folder ${this.root} does not exist or is not a folder`);
    }
  }

  stat(key: string): Promise<StoredObject | undefined> {
    return this.object(key, this.pathOf(key));
  }

  async download(key: string, file: string): Promise<StoredObject | undefined> {
    const found = await this.stat(key);
    if (found === undefined) return undefined;
    await withTempPath(file, (tmp) => copyFile(this.pathOf(key), tmp));
    return found;
  }

  async upload(file: string, key: string, mtimeMs: number): Promise<StoredObject> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    // Copied beside the target under a hidden name, then renamed over it.
    const tmp = join(dirname(target), `.${randomBytes(6).toString("hex")}.upload.tmp`);
    try {
      await copyFile(file, tmp);
      await utimes(tmp, mtimeMs / 1000, mtimeMs / 1000);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const stored = await this.object(key, target);
    if (stored === undefined) throw new ItbError(`${target} vanished right after it was written`);
    return { ...stored, mtimeMs };
  }

  async list(prefix: string): Promise<StoredObject[]> {
    // Only the folder the prefix names is walked.
    const folder = join(this.root, ...prefix.split("/").slice(0, -1));
    const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(notFound);
    const out: StoredObject[] = [];
    for (const e of entries ?? []) {
      if (!e.isFile() || e.name.startsWith(".")) continue;
      const path = join(e.parentPath, e.name);
      const key = relative(this.root, path).split(sep).join("/");
      if (!key.startsWith(prefix)) continue;
      const o = await this.object(key, path);
      if (o !== undefined) out.push(o);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }
}

function notFound(err: unknown): undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return undefined;
  throw err;
}
