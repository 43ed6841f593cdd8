import { DOUBLE, type DuckDBConnection, DuckDBTableFunction, TIMESTAMPTZ, VARCHAR } from "@duckdb/node-api";
import bindings from "@duckdb/node-bindings";
import { errorMessage } from "../../core/errors.js";

/**
 * A DuckDB table function, `itb_frame_scan('<key>')`, that streams a registered in-memory frame
 * to SQL: `COPY (SELECT * FROM itb_frame_scan('k')) TO 'x.parquet'` writes a frame without first
 * copying it into a DuckDB table (an appender plus a table costs as much again as the Parquet
 * encoding). Each call fills one output chunk with one memcpy per column.
 */
export const FRAME_SCAN = "itb_frame_scan";

/** A frame ready to scan: times already as int64 epoch µs (two int32 per row, little-endian). */
export interface ScanSource {
  timeName: string;
  micros: Int32Array;
  names: readonly string[];
  columns: readonly Float64Array[];
  rows: number;
}

const sources = new Map<string, ScanSource>();
let nextKey = 0;

/** Makes `source` scannable for the duration of `use`, under the key passed to it. */
export async function withScanSource<T>(source: ScanSource, use: (key: string) => Promise<T>): Promise<T> {
  const key = `f${nextKey++}`;
  sources.set(key, source);
  try {
    return await use(key);
  } finally {
    sources.delete(key);
  }
}

interface ScanState {
  row: number;
}

function isSource(x: unknown): x is ScanSource {
  return typeof x === "object" && x !== null && "micros" in x && "columns" in x;
}

function isState(x: unknown): x is ScanState {
  return typeof x === "object" && x !== null && "row" in x;
}

/** Held for the life of the process: DuckDB calls back into these closures. */
let registered: DuckDBTableFunction | undefined;

/** Registers the function on a connection; DuckDB keeps it in the catalog for the whole instance. */
export function registerFrameScan(conn: DuckDBConnection): void {
  registered = DuckDBTableFunction.create({
    name: FRAME_SCAN,
    parameterTypes: [VARCHAR],
    bindFunction: (info) => {
      const key = String(info.getParameter(0));
      const source = sources.get(key);
      if (source === undefined) {
        info.setError(`${FRAME_SCAN}: no frame registered under "${key}"`);
        return;
      }
      info.addResultColumn(source.timeName, TIMESTAMPTZ);
      for (const name of source.names) info.addResultColumn(name, DOUBLE);
      info.setCardinality(source.rows, true);
      info.setBindData(source);
    },
    initFunction: (info) => {
      info.setInitData({ row: 0 } satisfies ScanState);
      // Rows must arrive in order; a table function cannot tell DuckDB how to reorder batches.
      info.setMaxThreads(1);
    },
    mainFunction: (info, output) => {
      try {
        const source = info.bindData;
        const state = info.initData;
        if (!isSource(source) || !isState(state)) throw new Error("scan state missing");
        const count = Math.min(bindings.vector_size(), source.rows - state.row);
        output.rowCount = count;
        if (count === 0) return;
        const vector = (j: number) => bindings.data_chunk_get_vector(output.chunk, j);
        copyInto(vector(0), source.micros, state.row * 2, count * 2);
        source.columns.forEach((values, j) => {
          copyInto(vector(j + 1), values, state.row, count);
        });
        state.row += count;
      } catch (err) {
        info.setError(`${FRAME_SCAN}: ${errorMessage(err)}`);
      }
    },
  });
  conn.registerTableFunction(registered);
}

/** Copies `count` elements of `source` from `start` into a vector. */
function copyInto(
  vector: bindings.Vector,
  source: Float64Array | Int32Array,
  start: number,
  count: number,
): void {
  const bytes = source.BYTES_PER_ELEMENT;
  let buffer = source.buffer;
  let offset = source.byteOffset + start * bytes;
  if (!(buffer instanceof ArrayBuffer)) {
    // The bindings take only an ArrayBuffer; a frame over shared memory is copied chunk-wise.
    const copy = source.slice(start, start + count);
    buffer = copy.buffer;
    offset = 0;
  }
  bindings.copy_data_to_vector(vector, 0, buffer as ArrayBuffer, offset, count * bytes);
}
