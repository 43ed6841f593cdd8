import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Atomic file replacement: the data goes to a temporary file in the target's own folder (a
 * rename is only atomic within one file system), is flushed to disk, and is then renamed over
 * the target. Readers see the old file or the new one, never a half-written one; a crash
 * leaves at most a stray `.<name>.<random>.tmp` next to the target, which no reader opens
 * because it does not carry the target's name or extension.
 */

/** The temporary path a write to `file` uses: same folder, hidden, unique, ending `.tmp`. */
export function tempPathFor(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await withTempPath(file, async (tmp) => {
    const handle = await open(tmp, "wx");
    try {
      await handle.writeFile(data);
    } finally {
      await handle.close();
    }
  });
}

/**
 * Runs `write` with a temporary path, then makes its content durable and renames it over
 * `file`. For writers that need a path rather than bytes (DuckDB's COPY, streamed CSV). The
 * temporary file is removed if `write` or the rename fails.
 */
export async function withTempPath<T>(file: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = tempPathFor(file);
  try {
    const result = await write(tmp);
    await fsyncPath(tmp);
    await rename(tmp, file);
    await fsyncDir(dir);
    return result;
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Flushes a file's data to disk: without it a power loss after the rename can leave an empty file. */
async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the rename itself durable. Some platforms (Windows) cannot open a folder; that is not an error. */
async function fsyncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, "r");
    await handle.sync();
  } catch {
    // Best effort: the data itself is already on disk.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
