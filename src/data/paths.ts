import { resolve } from "node:path";
import { type Config, storeFileName } from "../config/index.js";

/**
 * Where the store keeps things, as in the original: `<data_folder>/<symbol>/<file>`. A data
 * source's klines live under its own folder (`<data_folder>/<folder>/klines.parquet`); derived
 * tables (data, features, matrix, ...) under the config's symbol.
 */
export function symbolFile(config: Config, name: string): string {
  return resolve(config.data_folder, config.symbol, storeFileName(name));
}

export function sourceFile(config: Config, source: { folder: string; file: string }): string {
  return resolve(config.data_folder, source.folder, storeFileName(source.file));
}

/**
 * What a table's JSON sidecar holds, written next to it as `<table>.<kind>.json` (the table's
 * extension dropped): the merge's gap report, the feature names of the features table, how the
 * predictions were made (walk-forward or not, in-sample or not).
 */
export type SidecarKind = "gaps" | "names" | "metrics";

/** `<folder>/predictions.parquet` → `<folder>/predictions.metrics.json`: the one rule for sidecar names. */
export function sidecarFile(tableFile: string, kind: SidecarKind): string {
  return `${tableFile.replace(/\.[^./\\]+$/, "")}.${kind}.json`;
}

/** The JSON gap report written next to the merged table. */
export function gapReportFile(config: Config): string {
  return sidecarFile(symbolFile(config, config.merge_file_name), "gaps");
}

/**
 * A file the backtest commands write under the symbol's folder: `<data_folder>/<symbol>/<name>.<ext>`
 * (simulation.json and .csv of `itb simulate`; report.html, .png and .json of `itb report`).
 */
export function symbolOutputFile(config: Config, name: "simulation" | "report", ext: string): string {
  return resolve(config.data_folder, config.symbol, `${name}.${ext}`);
}
