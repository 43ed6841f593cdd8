import { type Config, configFreq } from "../config/index.js";
import type { Frame } from "../core/frame.js";
import type { Logger } from "../core/log.js";
import { isoTime } from "../core/time.js";
import { type MergeReport, type MergeSource, mergeSources } from "./merge.js";
import { gapReportFile, sourceFile, symbolFile } from "./paths.js";
import { nativeStep, resampleKlines } from "./resample.js";
import { readInput, writeFileAtomic, writeFrame } from "./store/index.js";

/** Columns of the klines store that carry no information and are not merged. */
const SKIP_COLUMNS = new Set(["ignore"]);

export interface MergeRun {
  file: string;
  gapFile: string;
  report: MergeReport;
}

/**
 * `itb merge`: reads every data source's klines, aggregates a finer store onto the config's
 * frequency when needed (1m klines make a 1h table), merges onto the grid, writes the merged
 * table and the JSON gap report, and logs every gap.
 */
export async function runMerge(config: Config, log: Logger): Promise<MergeRun> {
  const { frame, report } = await mergeStores(config, log);
  const file = symbolFile(config, config.merge_file_name);
  await writeFrame(file, frame, { timeColumn: config.time_column });
  const gapFile = gapReportFile(config);
  await writeFileAtomic(gapFile, `${JSON.stringify(gapReportJson(report), null, 2)}\n`);
  log.info(
    {
      file,
      rows: report.rows,
      start: report.start === undefined ? null : isoTime(report.start),
      end: report.end === undefined ? null : isoTime(report.end),
      gaps: report.sources.reduce((n, s) => n + s.gaps.length, 0),
    },
    "merged",
  );
  return { file, gapFile, report };
}

/**
 * The merge in memory: every data source's klines store read, aggregated onto the grid when
 * finer, and merged; every gap logged. `itb merge` writes the result; `itb serve` warms its
 * streams on it.
 */
export async function mergeStores(
  config: Config,
  log: Logger,
): Promise<{ frame: Frame; report: MergeReport }> {
  const freq = configFreq(config);
  const sources: MergeSource[] = [];
  for (const ds of config.data_sources) {
    const file = sourceFile(config, ds);
    let frame = await readInput(file, { timeColumn: config.time_column }, "`itb import` or `itb download`");
    for (const c of frame.columnNames) if (SKIP_COLUMNS.has(c)) frame.delete(c);
    const step = nativeStep(frame.time);
    if (step !== undefined && step < freq.ms && freq.ms % step === 0) {
      log.info(
        { source: ds.folder, from_ms: step, to: freq.pandas },
        "aggregating finer candles onto the grid",
      );
      frame = resampleKlines(frame, freq.ms);
    } else if (step !== undefined && step > freq.ms) {
      log.warn(
        { source: ds.folder, step_ms: step, freq: freq.pandas },
        "source is coarser than the grid: most grid rows will be empty",
      );
    }
    sources.push({ name: ds.folder, prefix: ds.column_prefix, frame });
  }
  const { frame, report } = mergeSources(sources, {
    freqMs: freq.ms,
    interpolate: config.merge_interpolate,
    maxGap: config.merge_max_gap,
  });
  for (const src of report.sources) {
    for (const g of src.gaps) {
      log.warn(
        {
          source: src.name,
          start: isoTime(g.start),
          end: isoTime(g.end),
          bars: g.bars,
          interpolated: g.interpolated,
        },
        "gap in source data",
      );
    }
    if (src.droppedRows > 0) {
      log.warn(
        { source: src.name, rows: src.droppedRows },
        "rows off the grid or outside its range were dropped",
      );
    }
  }
  return { frame, report };
}

/** The gap report with ISO times, as written to `<merge_file_name>.gaps.json`. */
export function gapReportJson(report: MergeReport): object {
  const t = (ms: number | undefined) => (ms === undefined ? null : isoTime(ms));
  return {
    freq_ms: report.freqMs,
    start: t(report.start),
    end: t(report.end),
    rows: report.rows,
    sources: report.sources.map((s) => ({
      name: s.name,
      prefix: s.prefix,
      rows: s.rows,
      first: t(s.first),
      last: t(s.last),
      missing_bars: s.missingBars,
      outside_bars: s.outsideBars,
      dropped_rows: s.droppedRows,
      gaps: s.gaps.map((g) => ({
        start: t(g.start),
        end: t(g.end),
        bars: g.bars,
        interpolated: g.interpolated,
      })),
    })),
  };
}

/** A plain-text gap table for terminals. */
export function formatGapReport(report: MergeReport): string {
  const t = (ms: number | undefined) => (ms === undefined ? "-" : isoTime(ms).replace(".000Z", "Z"));
  const lines = [
    `grid: ${t(report.start)} .. ${t(report.end)}, ${report.rows.toLocaleString("en-US")} rows every ${report.freqMs / 60_000} min`,
  ];
  for (const s of report.sources) {
    lines.push(
      `${s.prefix ? `${s.name} (prefix ${s.prefix})` : s.name}: ${s.rows.toLocaleString("en-US")} candles, ${t(s.first)} .. ${t(s.last)}, ${s.gaps.length} gap(s), ${s.missingBars} missing bar(s)`,
    );
    for (const g of s.gaps) {
      lines.push(
        `  gap ${t(g.start)} .. ${t(g.end)}  ${g.bars} bar(s)${g.interpolated ? "  interpolated" : ""}`,
      );
    }
  }
  return lines.join("\n");
}
