import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, utimes } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { UsageError } from "../../core/errors.js";
import { writeFileAtomic } from "../atomic.js";
import { type BlobCredentials, BlobStorage, parseAzUrl } from "./blob.js";
import { LocalStorage, type Storage, type StoredObject } from "./storage.js";

/**
 * A shared data folder (`az://container/prefix`, or `file:///path` for a folder on a network
 * mount) is worked on through a local mirror: the commands read and write ordinary files under
 * the mirror's root, and the mirror brings files in from the store before they are read (pull)
 * and publishes them after they are written (push). The store is the truth: a file the store
 * does not have is removed from the mirror when it is pulled.
 *
 * The mirror is also the local cache of the columnar reader: beside every copied file it keeps
 * (in a separate tree, so listing a folder never shows it) the store's ETag of the content it
 * copied and the copy's size and mtime; a pull downloads only when the store's ETag differs or
 * the local copy was changed, so a file is downloaded once per machine and content.
 *
 * A file's modification time travels with it (object metadata, restored on download): the
 * pipeline's manifests record mtimes, and another machine's copy must show the same one.
 * `settle` first rounds the mtime of freshly written files down to a whole second, which a
 * file system stores exactly (sub-second times do not survive the round trip through utimes).
 */

export interface MirrorCounts {
  downloaded: number;
  /** Pulls answered from the cache (ETag unchanged, copy untouched). */
  cached: number;
  uploaded: number;
  /** Objects removed from the store (a pushed file that no longer exists locally). */
  deleted: number;
}

interface CacheEntry {
  etag: string;
  size: number;
  mtime_ms: number;
}

/** Files in the mirror never published: temporary files of atomic writes, write locks. */
function privateName(name: string): boolean {
  return name.startsWith(".") || name.startsWith("write.lock");
}

export class Mirror {
  readonly counts: MirrorCounts = { downloaded: 0, cached: 0, uploaded: 0, deleted: 0 };

  constructor(
    readonly storage: Storage,
    /** The local folder the commands use as data folder. */
    readonly root: string,
    /** Where the cache entries live (outside `root`). */
    private readonly cacheRoot: string,
  ) {}

  /** The key of a path inside the mirror; undefined for a path outside it (not shared). */
  keyOf(path: string): string | undefined {
    const rel = relative(this.root, resolve(path));
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) return undefined;
    return rel.split(sep).join("/");
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  private entryFile(key: string): string {
    return `${join(this.cacheRoot, ...key.split("/"))}.json`;
  }

  private async entry(key: string): Promise<CacheEntry | undefined> {
    try {
      return JSON.parse(await readFile(this.entryFile(key), "utf8")) as CacheEntry;
    } catch {
      return undefined;
    }
  }

  private async remember(key: string, etag: string): Promise<void> {
    const s = await stat(this.pathOf(key));
    const entry: CacheEntry = { etag, size: s.size, mtime_ms: s.mtimeMs };
    await writeFileAtomic(this.entryFile(key), JSON.stringify(entry));
  }

  private async forget(key: string): Promise<void> {
    await rm(this.entryFile(key), { force: true });
  }

  /** The local copy is the one the entry describes (not changed since it was copied or published). */
  private async unchanged(key: string, entry: CacheEntry | undefined): Promise<boolean> {
    if (entry === undefined) return false;
    const s = await stat(this.pathOf(key)).catch(() => undefined);
    return s?.isFile() === true && s.size === entry.size && s.mtimeMs === entry.mtime_ms;
  }

  /**
   * Brings one key's local copy in line with the store (`known`: its listing, saving a
   * request); true when the local file was replaced or removed.
   */
  private async pullKey(key: string, known?: StoredObject): Promise<boolean> {
    const remote = known ?? (await this.storage.stat(key));
    const path = this.pathOf(key);
    if (remote === undefined) return this.drop(key);
    const entry = await this.entry(key);
    if (entry?.etag === remote.etag && (await this.unchanged(key, entry))) {
      this.counts.cached++;
      return false;
    }
    const got = await this.storage.download(key, path);
    // Removed between the listing and the download.
    if (got === undefined) return this.drop(key);
    if (got.mtimeMs !== undefined) await utimes(path, got.mtimeMs / 1000, got.mtimeMs / 1000);
    await this.remember(key, got.etag);
    this.counts.downloaded++;
    return true;
  }

  /** Removes the local copy of a key the store does not have; true when there was one. */
  private async drop(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    const existed = (await stat(path).catch(() => undefined)) !== undefined;
    await rm(path, { force: true });
    await this.forget(key);
    return existed;
  }

  /**
   * Brings these files in from the store (paths outside the mirror are left alone); returns
   * the ones whose local copy changed (a fingerprint cache must forget them).
   */
  async pull(paths: readonly string[]): Promise<string[]> {
    const changed: string[] = [];
    for (const p of paths) {
      const key = this.keyOf(p);
      if (key !== undefined && (await this.pullKey(key))) changed.push(p);
    }
    return changed;
  }

  /** Brings a folder in as a whole: every object under it, and local files the store lacks removed. */
  async pullFolder(folder: string): Promise<void> {
    const prefix = this.keyOf(folder);
    if (prefix === undefined) return;
    const listed = await this.storage.list(`${prefix}/`);
    const keys = new Set(listed.map((o) => o.key));
    for (const o of listed) await this.pullKey(o.key, o);
    for (const key of await this.localKeys(folder)) if (!keys.has(key)) await this.drop(key);
  }

  /** Brings in every object whose key passes `wanted` (one listing of the whole folder). */
  async pullWhere(wanted: (key: string) => boolean): Promise<void> {
    for (const o of await this.storage.list("")) if (wanted(o.key)) await this.pullKey(o.key, o);
  }

  /** Rounds the mtimes of freshly written files down to whole seconds (see above). */
  async settle(paths: readonly string[]): Promise<void> {
    for (const p of paths) {
      if (this.keyOf(p) === undefined) continue;
      const s = await stat(p).catch(() => undefined);
      if (s === undefined || !s.isFile() || s.mtimeMs % 1000 === 0) continue;
      const t = Math.floor(s.mtimeMs / 1000);
      await utimes(p, t, t);
    }
  }

  private async pushKey(key: string): Promise<void> {
    const path = this.pathOf(key);
    const s = await stat(path).catch(() => undefined);
    if (s === undefined || !s.isFile()) {
      if ((await this.storage.stat(key)) !== undefined) {
        await this.storage.delete(key);
        this.counts.deleted++;
      }
      await this.forget(key);
      return;
    }
    if (await this.unchanged(key, await this.entry(key))) return;
    const stored = await this.storage.upload(path, key, s.mtimeMs);
    await this.remember(key, stored.etag);
    this.counts.uploaded++;
  }

  /** Publishes these files (each atomically); a file that no longer exists is removed from the store. */
  async push(paths: readonly string[]): Promise<void> {
    for (const p of paths) {
      const key = this.keyOf(p);
      if (key !== undefined) await this.pushKey(key);
    }
  }

  /** Publishes a folder as a whole: its files, and the store's objects under it that are gone locally removed. */
  async pushFolder(folder: string): Promise<void> {
    const prefix = this.keyOf(folder);
    if (prefix === undefined) return;
    const local = await this.localKeys(folder);
    for (const key of local) await this.pushKey(key);
    const present = new Set(local);
    for (const o of await this.storage.list(`${prefix}/`)) {
      if (present.has(o.key)) continue;
      await this.storage.delete(o.key);
      await this.forget(o.key);
      this.counts.deleted++;
    }
  }

  /** Removes these files from the store (the local copies stay). */
  async withdraw(paths: readonly string[]): Promise<void> {
    for (const p of paths) {
      const key = this.keyOf(p);
      if (key === undefined) continue;
      await this.storage.delete(key);
      await this.forget(key);
    }
  }

  private async localKeys(folder: string): Promise<string[]> {
    const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
    const out: string[] = [];
    for (const e of entries) {
      if (!e.isFile() || privateName(e.name)) continue;
      const key = this.keyOf(join(e.parentPath, e.name));
      if (key !== undefined) out.push(key);
    }
    return out.sort();
  }
}

/** True for a data folder that names a shared store rather than a local path. */
export function isSharedFolder(dataFolder: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(dataFolder);
}

/**
 * The mirror of a shared data folder (`az://container/prefix` or `file:///path`), its local
 * root `<cache>/az/<account>/<container>/<prefix>` (`<cache>/file/<hash of the path>`). Not checked for reachability here (see `Storage.check`).
 */
export async function openMirror(
  dataFolder: string,
  credentials: BlobCredentials,
  /** The cache folder (config's cacheFolder): mirrors and cache entries go below it. */
  cache: string,
): Promise<Mirror> {
  let storage: Storage;
  let id: string[];
  if (dataFolder.startsWith("az://")) {
    const location = parseAzUrl(dataFolder);
    const blob = new BlobStorage(location, credentials);
    storage = blob;
    id = [
      "az",
      blob.account,
      location.container,
      ...(location.prefix === "" ? [] : location.prefix.split("/")),
    ];
  } else if (dataFolder.startsWith("file://")) {
    let root: string;
    try {
      root = new URL(dataFolder).pathname;
    } catch {
      throw new UsageError(`data_folder: "${dataFolder}" is not a valid file:// URL`);
    }
    root = resolve(decodeURIComponent(root));
    storage = new LocalStorage(root);
    id = ["file", createHash("sha256").update(root).digest("hex").slice(0, 16)];
  } else {
    throw new UsageError(
      `data_folder: "${dataFolder}" is a URL itb cannot store data at (expected a folder, az://container/prefix or file:///path)`,
    );
  }
  const root = join(cache, ...id);
  await mkdir(root, { recursive: true });
  return new Mirror(storage, root, join(cache, "meta", ...id));
}
