import { DEFAULT_TIME_COLUMN } from "../../core/klines.js";

export type Compression = "snappy" | "zstd";

export interface WriteOptions {
  /** Parquet only; Snappy unless told otherwise (fast, and what pandas writes by default). */
  compression?: Compression;
  /** Name of the time column in the file; `timestamp` unless told otherwise. */
  timeColumn?: string;
}

export interface ReadOptions {
  /** Name of the time column in the file; `timestamp` unless told otherwise. */
  timeColumn?: string;
  /** Read only these columns, in this order (the time column is always read). */
  columns?: readonly string[];
}

export interface FrameFileInfo {
  rows: number;
  /** The data columns in file order, without the time column (what `readFrame` returns). */
  columns: string[];
  /** Earliest and latest time (epoch ms); absent when the file has no rows. */
  first?: number;
  last?: number;
}

export function timeColumnOf(opts: { timeColumn?: string } | undefined): string {
  return opts?.timeColumn ?? DEFAULT_TIME_COLUMN;
}
