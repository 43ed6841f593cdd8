import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";

/**
 * What a killed writer leaves behind: the temporary file of an atomic write in progress
 * (`.<name>.<pid>.<random>.tmp`, see atomic.ts) and the aside copy of a stale lock being
 * removed (`write.lock.stale-<pid>-<random>`). No reader opens them, but they take space, and a
 * kill during a large write leaves a large one. The next writer of the folder removes them
 * once it holds the folder's write lock: every writer takes that lock first, so no live
 * process is writing them (the one exception, a temporary file of this very process, is
 * recognised by its pid and time and kept).
 */

const TEMP_FILE = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;
const STALE_LOCK = /^write\.lock\.stale-\d+-[0-9a-f]+$/;

/** Epoch ms this process started: its own temporary files are not newer than this. */
const PROCESS_START_MS = performance.timeOrigin;

/** Removes the leftovers below `folder` (recursively); returns the removed paths. */
export async function removeLeftoverFiles(folder: string): Promise<string[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(folder, { recursive: true, withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const removed: string[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    const temp = TEMP_FILE.exec(e.name);
    if (temp === null && !STALE_LOCK.test(e.name)) continue;
    const path = join(e.parentPath, e.name);
    if (temp !== null && Number(temp[1]) === process.pid) {
      const st = await stat(path).catch(() => undefined);
      if (st === undefined || st.mtimeMs >= PROCESS_START_MS) continue;
    }
    await rm(path, { force: true });
    removed.push(path);
  }
  return removed.sort();
}
