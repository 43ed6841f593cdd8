import { extname } from "node:path";

/**
 * Store file names (`merge_file_name`, `data_sources[].file`, ...): as in the original, the
 * extension picks the format. itb's default format is Parquet, so a bare name means Parquet.
 */
export const STORE_EXTENSIONS = [".parquet", ".csv"] as const;

export function isStoreName(name: string): boolean {
  if (name.trim() === "") return false;
  const ext = extname(name);
  return ext === "" || (STORE_EXTENSIONS as readonly string[]).includes(ext.toLowerCase());
}

/** `data` -> `data.parquet`; `data.csv` and `data.parquet` stay as they are. */
export function storeFileName(name: string): string {
  return extname(name) === "" ? `${name}.parquet` : name;
}
