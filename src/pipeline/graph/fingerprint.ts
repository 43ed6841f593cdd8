import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";

/**
 * A file's identity for caching: size, modification time and the SHA-256 of its content.
 * SHA-256 streams at about 1.1 GB/s on the development machine, so hashing every input and
 * output in full costs well under a second for the tables of months of 1m candles; the cache
 * below hashes each file at most once per process while its size and mtime stay the same.
 */
export interface FileFingerprint {
  path: string;
  /** False when the file does not exist; size, mtime and hash are then absent. */
  exists: boolean;
  size?: number;
  mtime_ms?: number;
  sha256?: string;
}

/** Hashes by path, valid while size and mtime are unchanged (one stage's output is the next one's input). */
export class FingerprintCache {
  private readonly known = new Map<string, FileFingerprint>();

  async of(path: string): Promise<FileFingerprint> {
    let size: number;
    let mtime: number;
    try {
      const s = await stat(path);
      if (!s.isFile()) return { path, exists: false };
      size = s.size;
      mtime = s.mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { path, exists: false };
      throw err;
    }
    const cached = this.known.get(path);
    if (cached !== undefined && cached.size === size && cached.mtime_ms === mtime) return cached;
    const fp: FileFingerprint = { path, exists: true, size, mtime_ms: mtime, sha256: await sha256File(path) };
    this.known.set(path, fp);
    return fp;
  }

  /** Forgets these paths: a stage that has just written them must have them hashed afresh, even
   * where a coarse file system left size and mtime as they were. */
  forget(paths: readonly string[]): void {
    for (const p of paths) this.known.delete(p);
  }

  async all(paths: readonly string[]): Promise<FileFingerprint[]> {
    const out: FileFingerprint[] = [];
    for (const p of paths) out.push(await this.of(p));
    return out;
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Same file, same size, same mtime, same content (or both absent). */
export function sameFingerprint(a: FileFingerprint, b: FileFingerprint): boolean {
  return (
    a.path === b.path &&
    a.exists === b.exists &&
    a.size === b.size &&
    a.mtime_ms === b.mtime_ms &&
    a.sha256 === b.sha256
  );
}
