import { open } from "node:fs/promises";
import { DataError } from "../../core/errors.js";
import type { Frame } from "../../core/frame.js";
import { withTempPath } from "../atomic.js";
import { formatNumber } from "./csvNumber.js";
import { formatTime } from "./csvTime.js";
import { timeColumnOf, type WriteOptions } from "./options.js";

/** Rows per write call: large enough to amortise the call, small enough to bound memory. */
const BLOCK_ROWS = 8192;

/**
 * Writes a frame as CSV: header `timestamp,<col>,...`, times as ISO-8601 UTC with
 * milliseconds, numbers in shortest round-trip form (bit-exact on read), NaN as an empty field.
 * Streams to a temporary file in blocks, then renames it over the target.
 */
export async function writeCsv(file: string, frame: Frame, opts?: WriteOptions): Promise<void> {
  const names = frame.columnNames;
  const columns = names.map((n) => frame.get(n));
  const time = frame.time;
  // CSV holds whole milliseconds; a finer time would come back different.
  const fractional = time.findIndex((t) => !Number.isInteger(t));
  if (fractional >= 0) {
    throw new DataError(
      `time ${time[fractional]} at row ${fractional + 1} is not a whole number of milliseconds; CSV holds milliseconds, use Parquet`,
      { file },
    );
  }
  await withTempPath(file, async (tmp) => {
    const handle = await open(tmp, "wx");
    try {
      await handle.write(`${[timeColumnOf(opts), ...names].map(quoteName).join(",")}\n`);
      for (let start = 0; start < frame.length; start += BLOCK_ROWS) {
        const end = Math.min(frame.length, start + BLOCK_ROWS);
        let text = "";
        for (let i = start; i < end; i++) {
          text += formatTime(time[i] as number);
          for (const values of columns) text += `,${formatNumber(values[i] as number)}`;
          text += "\n";
        }
        await handle.write(text);
      }
    } finally {
      await handle.close();
    }
  });
}

/** RFC 4180 quoting for a column name that holds a comma, quote or line break. */
function quoteName(name: string): string {
  return /[",\r\n]/.test(name) ? `"${name.replaceAll('"', '""')}"` : name;
}
