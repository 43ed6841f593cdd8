import { createHash } from "node:crypto";
import { ChecksumError, DataError } from "../../core/errors.js";

/** Binance publishes `X.zip.CHECKSUM` next to every `X.zip`, in `sha256sum` format. */
export const CHECKSUM_SUFFIX = ".CHECKSUM";

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The expected digest for `name` from a CHECKSUM file's text: a `<sha256>  <name>` line (a `*`
 * before the name marks binary mode in sha256sum's format). A file naming only other files, or
 * holding no digest, is an error: it cannot vouch for this one.
 */
export function expectedSha256(checksumText: string, name: string, checksumFile: string): string {
  const lines = checksumText.split(/\r?\n/).filter((l) => l.trim() !== "");
  for (const line of lines) {
    const m = /^\s*([0-9a-fA-F]{64})\s+\*?(.+?)\s*$/.exec(line);
    if (m && (m[2] === name || m[2]?.endsWith(`/${name}`))) return (m[1] as string).toLowerCase();
  }
  const single = lines.length === 1 ? /^\s*([0-9a-fA-F]{64})\s*$/.exec(lines[0] as string) : null;
  if (single) return (single[1] as string).toLowerCase();
  throw new DataError(`no SHA-256 line for ${name} (expected "<sha256>  ${name}")`, { file: checksumFile });
}

/** Throws a ChecksumError unless `bytes` hash to `expected`. `name` is the file the bytes came from. */
export function verifySha256(bytes: Uint8Array, expected: string, name: string): void {
  const got = sha256Hex(bytes);
  if (got !== expected.toLowerCase()) {
    throw new ChecksumError(
      `checksum mismatch (expected ${expected.toLowerCase()}, got ${got}); the file is corrupt, nothing was written`,
      { file: name },
    );
  }
}
