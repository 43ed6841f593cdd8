import { crc32, deflateRawSync, inflateRaw, inflateRawSync, type ZlibOptions } from "node:zlib";
import { DataError } from "../../core/errors.js";

/**
 * A minimal ZIP reader (and writer) for Binance's archives: one entry, stored or deflated.
 * Reading trusts the central directory (the local header's sizes are zero when a data
 * descriptor follows the data) and checks everything it can: signatures, bounds, sizes, CRC-32.
 * Zip64 is read too: some writers use it even for small files (Info-ZIP's -fz, streaming writers).
 */

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
const MAX_CHUNK = 256 * 1024 * 1024;

function fail(file: string, problem: string, cause?: unknown): DataError {
  return new DataError(
    `not a valid zip archive: ${problem}`,
    { file },
    cause === undefined ? undefined : { cause },
  );
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A 64-bit little-endian size; past 2^53 it could not index a buffer anyway. */
function u64(dv: DataView, at: number, file: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(file, "zip64 size out of range");
  return Number(v);
}

function findEocd(bytes: Uint8Array, dv: DataView, file: string): number {
  if (bytes.length < EOCD_SIZE) throw fail(file, `only ${bytes.length} bytes, the file is truncated`);
  const stop = Math.max(0, bytes.length - EOCD_SIZE - MAX_COMMENT);
  for (let at = bytes.length - EOCD_SIZE; at >= stop; at--) {
    // A comment may itself contain the signature; the real record's comment ends at the file's end.
    if (
      dv.getUint32(at, true) === SIG_EOCD &&
      at + EOCD_SIZE + dv.getUint16(at + 20, true) === bytes.length
    ) {
      return at;
    }
  }
  throw fail(file, "no end-of-central-directory record (truncated or not a zip file)");
}

/** Lists the entries of the central directory. */
export function listZip(bytes: Uint8Array, file: string): ZipEntry[] {
  const dv = view(bytes);
  const eocd = findEocd(bytes, dv, file);
  if (dv.getUint16(eocd + 4, true) !== 0 || dv.getUint16(eocd + 6, true) !== 0) {
    throw fail(file, "multi-disk (split) archives are not supported");
  }
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) {
      throw fail(file, "zip64 end-of-central-directory locator missing");
    }
    const rec = u64(dv, loc + 8, file);
    if (rec + 56 > bytes.length || dv.getUint32(rec, true) !== SIG_ZIP64_EOCD) {
      throw fail(file, "zip64 end-of-central-directory record missing or truncated");
    }
    count = u64(dv, rec + 32, file);
    cdSize = u64(dv, rec + 40, file);
    cdOffset = u64(dv, rec + 48, file);
  }
  if (cdOffset + cdSize > bytes.length) {
    throw fail(file, `central directory (offset ${cdOffset}, ${cdSize} bytes) lies past the end of the file`);
  }
  const entries: ZipEntry[] = [];
  let at = cdOffset;
  for (let i = 0; i < count; i++) {
    if (at + CENTRAL_SIZE > cdOffset + cdSize || dv.getUint32(at, true) !== SIG_CENTRAL) {
      throw fail(file, `bad central directory entry ${i + 1} at offset ${at}`);
    }
    const nameLen = dv.getUint16(at + 28, true);
    const extraLen = dv.getUint16(at + 30, true);
    const commentLen = dv.getUint16(at + 32, true);
    const end = at + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (end > cdOffset + cdSize) throw fail(file, `central directory entry ${i + 1} is truncated`);
    const name = new TextDecoder().decode(bytes.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLen));
    let compressedSize = dv.getUint32(at + 20, true);
    let uncompressedSize = dv.getUint32(at + 24, true);
    let localHeaderOffset = dv.getUint32(at + 42, true);
    if (
      uncompressedSize === 0xffffffff ||
      compressedSize === 0xffffffff ||
      localHeaderOffset === 0xffffffff
    ) {
      // The zip64 extra field holds, in this order, only the fields whose 32-bit value is saturated.
      let x = at + CENTRAL_SIZE + nameLen;
      const xEnd = x + extraLen;
      let found = false;
      while (x + 4 <= xEnd) {
        const id = dv.getUint16(x, true);
        const len = dv.getUint16(x + 2, true);
        if (id === 0x0001) {
          let p = x + 4;
          const need =
            8 *
            (Number(uncompressedSize === 0xffffffff) +
              Number(compressedSize === 0xffffffff) +
              Number(localHeaderOffset === 0xffffffff));
          if (need > len) throw fail(file, `zip64 extra field of "${name}" is too short`);
          if (uncompressedSize === 0xffffffff) {
            uncompressedSize = u64(dv, p, file);
            p += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = u64(dv, p, file);
            p += 8;
          }
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(dv, p, file);
          found = true;
          break;
        }
        x += 4 + len;
      }
      if (!found) throw fail(file, `zip64 extra field of "${name}" missing`);
    }
    entries.push({
      name,
      flags: dv.getUint16(at + 8, true),
      method: dv.getUint16(at + 10, true),
      crc32: dv.getUint32(at + 16, true),
      compressedSize,
      uncompressedSize,
      localHeaderOffset,
    });
    at = end;
  }
  return entries;
}

/** The entry's stored bytes, after checking its local header and bounds. */
function entryData(bytes: Uint8Array, entry: ZipEntry, file: string): Uint8Array {
  const dv = view(bytes);
  const at = entry.localHeaderOffset;
  if (at + LOCAL_SIZE > bytes.length || dv.getUint32(at, true) !== SIG_LOCAL) {
    throw fail(file, `bad local header for "${entry.name}" at offset ${at}`);
  }
  if (entry.flags & 0x1) throw fail(file, `"${entry.name}" is encrypted`);
  if (entry.method !== 0 && entry.method !== 8) {
    throw fail(
      file,
      `"${entry.name}" uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`,
    );
  }
  const dataStart = at + LOCAL_SIZE + dv.getUint16(at + 26, true) + dv.getUint16(at + 28, true);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > bytes.length) {
    throw fail(file, `data of "${entry.name}" runs past the end of the file (truncated)`);
  }
  const raw = bytes.subarray(dataStart, dataEnd);
  // Deflate cannot expand more than 1032:1; a larger declared size is a lie, refused before
  // allocating for it.
  if (entry.method === 8 && entry.uncompressedSize > raw.length * 1032 + 1024) {
    throw fail(
      file,
      `"${entry.name}" declares ${entry.uncompressedSize} bytes from ${raw.length} compressed`,
    );
  }
  return raw;
}

/**
 * One output chunk of the declared size avoids zlib's chunk list and a final copy (a third
 * faster on a month of 1m klines); the limit refuses a stream that expands past the declared size.
 */
function inflateOptions(entry: ZipEntry): ZlibOptions {
  const size = Math.max(entry.uncompressedSize, 64);
  return { chunkSize: Math.min(size, MAX_CHUNK), maxOutputLength: size + 1 };
}

function inflateFailed(entry: ZipEntry, file: string, err: unknown): DataError {
  return fail(file, `cannot inflate "${entry.name}": ${(err as Error).message}`, err);
}

function checked(out: Uint8Array, entry: ZipEntry, file: string): Uint8Array {
  if (out.length !== entry.uncompressedSize) {
    throw fail(
      file,
      `"${entry.name}" inflates to ${out.length} bytes, the directory says ${entry.uncompressedSize}`,
    );
  }
  const crc = crc32(out);
  if (crc !== entry.crc32) {
    throw fail(
      file,
      `CRC-32 mismatch for "${entry.name}" (expected ${hex8(entry.crc32)}, got ${hex8(crc)}); the file is corrupt`,
    );
  }
  return out;
}

/** The entry's uncompressed bytes, checked against its declared size and CRC-32. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, file: string): Uint8Array {
  const raw = entryData(bytes, entry, file);
  if (entry.method === 0) return checked(raw, entry, file);
  let out: Uint8Array;
  try {
    out = inflateRawSync(raw, inflateOptions(entry));
  } catch (err) {
    throw inflateFailed(entry, file, err);
  }
  return checked(out, entry, file);
}

/** As `readZipEntry`, inflating on libuv's thread pool so the caller can parse meanwhile. */
export async function readZipEntryAsync(
  bytes: Uint8Array,
  entry: ZipEntry,
  file: string,
): Promise<Uint8Array> {
  const raw = entryData(bytes, entry, file);
  if (entry.method === 0) return checked(raw, entry, file);
  const out = await new Promise<Uint8Array>((done, reject) => {
    inflateRaw(raw, inflateOptions(entry), (err, result) => {
      if (err) reject(inflateFailed(entry, file, err));
      else done(result);
    });
  });
  return checked(out, entry, file);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

/** The archive's single file (Binance archives hold exactly one CSV). */
export function singleEntry(bytes: Uint8Array, file: string): ZipEntry {
  const files = listZip(bytes, file).filter((e) => !e.name.endsWith("/"));
  const entry = files[0];
  if (entry === undefined || files.length !== 1) {
    const names = files.length ? `: ${files.map((e) => e.name).join(", ")}` : "";
    throw fail(file, `expected one file inside, found ${files.length}${names}`);
  }
  return entry;
}

/** The content of the archive's single file. */
export function readSingleEntry(bytes: Uint8Array, file: string): { name: string; data: Uint8Array } {
  const entry = singleEntry(bytes, file);
  return { name: entry.name, data: readZipEntry(bytes, entry, file) };
}

/**
 * A one-entry deflated zip, as Binance packages its archives. For tests and the exchange
 * simulator; no zip64, so the content must stay under 4 GiB.
 */
export function writeZip(name: string, data: Uint8Array): Uint8Array {
  const nameBytes = new TextEncoder().encode(name);
  const packed = deflateRawSync(data);
  const crc = crc32(data);
  const out = new Uint8Array(
    LOCAL_SIZE + nameBytes.length + packed.length + CENTRAL_SIZE + nameBytes.length + EOCD_SIZE,
  );
  const dv = view(out);
  // DOS date 2025-01-01 00:00, fixed so the same content always makes the same bytes.
  const dosDate = ((2025 - 1980) << 9) | (1 << 5) | 1;
  dv.setUint32(0, SIG_LOCAL, true);
  dv.setUint16(4, 20, true);
  dv.setUint16(8, 8, true);
  dv.setUint16(12, dosDate, true);
  dv.setUint32(14, crc, true);
  dv.setUint32(18, packed.length, true);
  dv.setUint32(22, data.length, true);
  dv.setUint16(26, nameBytes.length, true);
  out.set(nameBytes, LOCAL_SIZE);
  out.set(packed, LOCAL_SIZE + nameBytes.length);
  const cd = LOCAL_SIZE + nameBytes.length + packed.length;
  dv.setUint32(cd, SIG_CENTRAL, true);
  dv.setUint16(cd + 4, 0x0314, true);
  dv.setUint16(cd + 6, 20, true);
  dv.setUint16(cd + 10, 8, true);
  dv.setUint16(cd + 14, dosDate, true);
  dv.setUint32(cd + 16, crc, true);
  dv.setUint32(cd + 20, packed.length, true);
  dv.setUint32(cd + 24, data.length, true);
  dv.setUint16(cd + 28, nameBytes.length, true);
  dv.setUint32(cd + 38, 0o100644 << 16, true);
  out.set(nameBytes, cd + CENTRAL_SIZE);
  const eocd = cd + CENTRAL_SIZE + nameBytes.length;
  dv.setUint32(eocd, SIG_EOCD, true);
  dv.setUint16(eocd + 8, 1, true);
  dv.setUint16(eocd + 10, 1, true);
  dv.setUint32(eocd + 12, CENTRAL_SIZE + nameBytes.length, true);
  dv.setUint32(eocd + 16, cd, true);
  return out;
}
