import { endianness } from "node:os";
import bindings from "@duckdb/node-bindings";

/**
 * Bulk conversions between Float64Arrays and DuckDB's raw vector layout. The node-api's
 * per-item accessors (`getItem`, `setItem`, the appender's `appendDouble`) cost a native call or
 * an object per value, which for a million rows of forty columns means minutes; these move a
 * whole vector with one memcpy.
 */

// DuckDB's int64 and double layouts are the machine's; the int64 split below assumes
// little-endian, as is every platform DuckDB ships Node binaries for.
if (endianness() !== "LE") throw new Error("itb's DuckDB store needs a little-endian machine");

const TWO_32 = 4_294_967_296;

/**
 * Epoch-ms times as int64 epoch microseconds (two int32 per row), the layout of DuckDB's
 * TIMESTAMP WITH TIME ZONE. Returns the index of the first time that has no exact microsecond
 * value (a sub-microsecond fraction, or beyond ±2^53 µs) instead, so nothing is rounded
 * silently.
 */
export function toMicros(timesMs: Float64Array): Int32Array | number {
  const out = new Int32Array(timesMs.length * 2);
  for (let i = 0; i < timesMs.length; i++) {
    const ms = timesMs[i] as number;
    const us = Math.round(ms * 1000);
    if (us / 1000 !== ms || !Number.isSafeInteger(us)) return i;
    const hi = Math.floor(us / TWO_32);
    out[2 * i] = us - hi * TWO_32;
    out[2 * i + 1] = hi;
  }
  return out;
}

/**
 * Copies a DOUBLE vector of `count` rows into `target[offset..]`; NULL rows become NaN. The
 * vector must be flat, which every chunk fetched from a query result is.
 */
export function readDoubles(
  vector: bindings.Vector,
  count: number,
  target: Float64Array,
  offset: number,
): void {
  if (count === 0) return;
  const data = bindings.vector_get_data(vector, count * 8);
  // Byte-wise, so the source needs no 8-byte alignment.
  new Uint8Array(target.buffer, target.byteOffset + offset * 8, count * 8).set(data.subarray(0, count * 8));
  const validity = bindings.vector_get_validity(vector, Math.ceil(count / 64) * 8);
  if (validity === null) return;
  const bytes = Math.ceil(count / 8);
  for (let b = 0; b < bytes; b++) {
    const mask = validity[b] as number;
    if (mask === 0xff) continue;
    for (let bit = 0; bit < 8; bit++) {
      const row = b * 8 + bit;
      if (row < count && (mask & (1 << bit)) === 0) target[offset + row] = Number.NaN;
    }
  }
}
