import { relative, resolve } from "node:path";
import type { Config } from "../config/index.js";
import type { Logger } from "../core/log.js";
import { removeLeftoverFiles } from "../data/leftovers.js";
import { type AcquireOptions, acquireWriteLock, type WriteLock } from "../data/lock.js";
import { ModelStore, modelRoot } from "./modelStore.js";

/**
 * The folders a batch command writes, locked for it (one writer per market, see
 * src/data/lock.ts), and the leftovers of killed runs in them removed once they are ours.
 *
 *   market:  <data_folder>/<symbol>/ (derived tables, manifests, reports, the model store),
 *            and the model folder when model_folder points outside it
 *   sources: <data_folder>/<source folder>/ of every data source (klines written by
 *            import and download)
 */

export interface WriteTarget {
  config: Config;
  /** The market's own folder (and its model folder). */
  market: boolean;
  /** The data sources' folders. */
  sources: boolean;
}

export interface HeldFolders {
  folders: string[];
  release(): Promise<void>;
}

function inside(folder: string, parent: string): boolean {
  const rel = relative(parent, folder);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith("/"));
}

export function writeFolders(t: WriteTarget): string[] {
  const out: string[] = [];
  const c = t.config;
  if (t.market) {
    const own = resolve(c.data_folder, c.symbol);
    out.push(own);
    const models = modelRoot(c);
    if (!inside(models, own)) out.push(models);
  }
  if (t.sources) for (const ds of c.data_sources) out.push(resolve(c.data_folder, ds.folder));
  return out;
}

/**
 * Takes the write locks of every target's folders, in path order (so that two waiting
 * processes cannot deadlock), then removes stale temporary files in each folder this call
 * took and, in the model folders, walk-forward runs that never finished. On a refusal the
 * locks already taken are released and the LockedError is thrown.
 */
export async function lockForWriting(
  targets: readonly WriteTarget[],
  opts: AcquireOptions & { log: Logger },
): Promise<HeldFolders> {
  const folders = [...new Set(targets.flatMap(writeFolders))].sort();
  const locks: WriteLock[] = [];
  const release = async () => {
    for (const l of locks.splice(0).reverse()) await l.release();
  };
  try {
    for (const f of folders) locks.push(await acquireWriteLock(f, opts));
    const fresh = locks.filter((l) => l.first).map((l) => l.folder);
    const removed: string[] = [];
    for (const f of fresh) removed.push(...(await removeLeftoverFiles(f)));
    const stores = [...new Set(targets.filter((t) => t.market).map((t) => modelRoot(t.config)))];
    for (const root of stores) {
      if (!fresh.some((f) => inside(root, f))) continue;
      removed.push(...(await new ModelStore(root, { now: Date.now }).removePartialRuns()));
    }
    if (removed.length > 0) {
      opts.log.info(
        { removed: removed.length, files: removed.slice(0, 20) },
        "removed what interrupted runs left (temporary files, unfinished walk-forward runs)",
      );
    }
  } catch (err) {
    await release();
    throw err;
  }
  return { folders, release };
}
