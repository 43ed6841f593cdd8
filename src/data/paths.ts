import { resolve } from "node:path";
import { type Config, storeFileName } from "../config/index.js";

/**
 * Where the store keeps things, as in the original: `<data_folder>/<symbol>/<file>`. A data
 * source's klines live under its own folder (`<data_folder>/<folder>/klines.parquet`); derived
 * tables (data, features, matrix, ...) under the config's symbol.
 */
export function dataFolder(config: Config): string {
  return resolve(config.data_folder);
}

export function symbolFile(config: Config, name: string): string {
  return resolve(config.data_folder, config.symbol, storeFileName(name));
}

export function sourceFile(config: Config, source: { folder: string; file: string }): string {
  return resolve(config.data_folder, source.folder, storeFileName(source.file));
}

/** The JSON gap report written next to the merged table. */
export function gapReportFile(config: Config): string {
  return resolve(
    config.data_folder,
    config.symbol,
    `${config.merge_file_name.replace(/\.[^.]+$/, "")}.gaps.json`,
  );
}
