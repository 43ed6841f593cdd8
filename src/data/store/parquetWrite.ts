import { DataError, errorMessage } from "../../core/errors.js";
import type { Frame } from "../../core/frame.js";
import { withTempPath } from "../atomic.js";
import { sqlString, withConnection } from "./duckdb.js";
import { FRAME_SCAN, withScanSource } from "./frameScan.js";
import { timeColumnOf, type WriteOptions } from "./options.js";
import { toMicros } from "./vectors.js";

/**
 * Writes a frame as Parquet: the time column as TIMESTAMP WITH TIME ZONE (pandas and pyarrow
 * read it as tz-aware UTC), every other column as DOUBLE in frame order. DuckDB's COPY pulls
 * the frame straight from memory through the frame-scan table function and writes a temporary
 * file that is then renamed over the target.
 */
export async function writeParquet(file: string, frame: Frame, opts?: WriteOptions): Promise<void> {
  const timeName = timeColumnOf(opts);
  const names = frame.columnNames;
  checkNames(file, timeName, names);
  const compression = opts?.compression ?? "snappy";
  const micros = toMicros(frame.time);
  if (typeof micros === "number") {
    throw new DataError(
      `time ${frame.time[micros]} at row ${micros + 1} is not a whole number of microseconds within the timestamp range`,
      { file },
    );
  }
  const source = { timeName, micros, names, columns: names.map((n) => frame.get(n)), rows: frame.length };
  await withScanSource(source, (key) =>
    withConnection((conn) =>
      withTempPath(file, async (tmp) => {
        try {
          await conn.run(
            `COPY (SELECT * FROM ${FRAME_SCAN}(${sqlString(key)})) TO ${sqlString(tmp)} ` +
              `(FORMAT parquet, COMPRESSION ${compression.toUpperCase()})`,
          );
        } catch (err) {
          throw new DataError(`cannot write Parquet file: ${errorMessage(err)}`, { file }, { cause: err });
        }
      }),
    ),
  );
}

/**
 * Refuses names DuckDB cannot hold side by side: its identifiers ignore case, so `Close` and
 * `close` would collide, as would a data column named like the time column.
 */
function checkNames(file: string, timeName: string, names: readonly string[]): void {
  const seen = new Map<string, string>([[timeName.toLowerCase(), timeName]]);
  for (const n of names) {
    const prior = seen.get(n.toLowerCase());
    if (prior !== undefined) {
      const what =
        prior === timeName && n.toLowerCase() === timeName.toLowerCase() ? "the time column" : "column";
      throw new DataError(
        `column "${n}" clashes with ${what} "${prior}": Parquet column names must differ in more than case`,
        { file },
      );
    }
    seen.set(n.toLowerCase(), n);
  }
}
