import { stat } from "node:fs/promises";
import { extname } from "node:path";
import { DataError, errorMessage } from "../../core/errors.js";
import { assertAscending, type Frame } from "../../core/frame.js";
import { csvInfo, readCsv } from "./csvRead.js";
import { writeCsv } from "./csvWrite.js";
import type { FrameFileInfo, ReadOptions, WriteOptions } from "./options.js";
import { parquetInfo, readParquet } from "./parquetRead.js";
import { writeParquet } from "./parquetWrite.js";

/**
 * The frame store: frames to and from Parquet and CSV files, chosen by extension. Writes are
 * atomic (temporary file, fsync, rename); round trips are bit-exact for every double and time.
 */

export { withTempPath, writeFileAtomic } from "../atomic.js";
export { duckdb } from "./duckdb.js";
export type { FrameFileInfo, ReadOptions, WriteOptions } from "./options.js";

type Format = "parquet" | "csv";

function formatOf(file: string): Format {
  const ext = extname(file).toLowerCase();
  if (ext === ".parquet") return "parquet";
  if (ext === ".csv") return "csv";
  throw new DataError(`unsupported file type "${ext || "(none)"}": use .parquet or .csv`, { file });
}

export async function writeFrame(file: string, frame: Frame, opts?: WriteOptions): Promise<void> {
  const format = formatOf(file);
  assertAscending(frame, file);
  if (format === "parquet") await writeParquet(file, frame, opts);
  else await writeCsv(file, frame, opts);
}

export async function readFrame(file: string, opts?: ReadOptions): Promise<Frame> {
  const format = formatOf(file);
  if (!(await present(file))) throw new DataError("file not found", { file });
  return format === "parquet" ? readParquet(file, opts) : readCsv(file, opts);
}

/**
 * `readFrame` for a stage's input: a missing file says which command writes it, e.g.
 * "…/data.parquet: file not found; run `itb merge` first".
 */
export async function readInput(
  file: string,
  opts: ReadOptions | undefined,
  writtenBy: string,
): Promise<Frame> {
  formatOf(file);
  if (!(await present(file))) throw new DataError(`file not found; run ${writtenBy} first`, { file });
  return readFrame(file, opts);
}

/**
 * Row count, data columns and time range of a stored frame, or undefined when the file does
 * not exist. Parquet answers from its footer and one column; CSV is scanned line by line.
 */
export async function frameFileInfo(
  file: string,
  opts?: { timeColumn?: string },
): Promise<FrameFileInfo | undefined> {
  const format = formatOf(file);
  if (!(await present(file))) return undefined;
  return format === "parquet" ? parquetInfo(file, opts) : csvInfo(file, opts);
}

/** Whether the file exists; a folder or an unreadable path in its place is an error. */
async function present(file: string): Promise<boolean> {
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
  } catch (err) {
    if (err instanceof Error && "code" in err && err.code === "ENOENT") return false;
    throw new DataError(`cannot open file: ${errorMessage(err)}`, { file }, { cause: err });
  }
  if (!isFile) throw new DataError("not a file", { file });
  return true;
}
