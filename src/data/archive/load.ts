import { DataError } from "../../core/errors.js";
import { CHECKSUM_SUFFIX, expectedSha256, verifySha256 } from "./checksum.js";
import type { ArchiveSource } from "./source.js";
import { readZipEntryAsync, singleEntry } from "./zip.js";

/**
 * Fetch → verify → inflate for a list of archive files, as a pipeline: reading and inflating
 * run on libuv's thread pool for the next files while this thread parses the current one, so
 * on two cores the two halves of the work (inflate and parse cost about the same) overlap.
 * Splitting files across worker threads as well measured at most ~10% faster, within the noise
 * of a shared two-core machine, and is not done.
 */

/** Files in flight ahead of the one being parsed: enough to keep the pool busy, few enough to bound memory. */
const AHEAD = 4;

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The zip's bytes, verified against its CHECKSUM file unless `verify` is false. A file that is
 * not published is an error here: callers ask only for files they know exist.
 */
export async function fetchVerified(
  source: ArchiveSource,
  path: string,
  verify: boolean,
): Promise<Uint8Array> {
  const name = baseName(path);
  const [zip, sum] = await Promise.all([
    source.fetch(path),
    verify ? source.fetch(`${path}${CHECKSUM_SUFFIX}`) : Promise.resolve(undefined),
  ]);
  if (zip === undefined) throw new DataError("not found", { file: source.describe(path) });
  if (verify) {
    if (sum === undefined) {
      throw new DataError(
        `no ${name}${CHECKSUM_SUFFIX} next to it, so it cannot be verified (import with verification off to accept it unchecked)`,
        { file: source.describe(path) },
      );
    }
    const text = new TextDecoder().decode(sum);
    verifySha256(zip, expectedSha256(text, name, source.describe(`${path}${CHECKSUM_SUFFIX}`)), name);
  }
  return zip;
}

/** The CSV inside a fetched (and verified) zip, inflated off the main thread. */
async function fetchCsv(source: ArchiveSource, path: string, verify: boolean): Promise<Uint8Array> {
  const zip = await fetchVerified(source, path, verify);
  const where = source.describe(path);
  return readZipEntryAsync(zip, singleEntry(zip, where), where);
}

/**
 * The CSVs inside `paths`, in order, each yielded as soon as it is ready while the next ones
 * are fetched and inflated. The first failure (in order) is thrown; later files' failures are
 * not reported as unhandled.
 */
export async function* archiveCsvs(
  source: ArchiveSource,
  paths: readonly string[],
  opts: { verify: boolean },
): AsyncGenerator<{ path: string; csv: Uint8Array }> {
  const pending: (Promise<Uint8Array> | undefined)[] = [];
  const start = (i: number): void => {
    const path = paths[i];
    if (path === undefined) return;
    const p = fetchCsv(source, path, opts.verify);
    // Awaited later in order; until then a rejection must not count as unhandled.
    p.catch(() => undefined);
    pending[i] = p;
  };
  for (let i = 0; i < Math.min(AHEAD, paths.length); i++) start(i);
  for (let i = 0; i < paths.length; i++) {
    const csv = await (pending[i] as Promise<Uint8Array>);
    pending[i] = undefined;
    start(i + AHEAD);
    yield { path: paths[i] as string, csv };
  }
}
