import { DataError } from "../core/errors.js";
import { Frame } from "../core/frame.js";
import { bucketStart } from "./resample.js";

export interface MergeSource {
  /** Name used in reports (the data source's folder, e.g. `BTCUSDT`). */
  name: string;
  /** Column prefix; non-empty prefixes are joined with `_` as in the original (`eth_close`). */
  prefix: string;
  frame: Frame;
}

export interface MergeOptions {
  freqMs: number;
  /** Linearly interpolate gaps of at most `maxGap` bars (the original's `merge_interpolate`). */
  interpolate: boolean;
  maxGap: number;
  /**
   * The sources are garbage once merged (default false): a source column whose own memory can
   * hold the grid's rows (a view at the start of a large enough buffer, as a parsed archive's
   * table is) is moved onto the grid in place and becomes the merged column, instead of a new
   * array being written (fresh memory costs a page fault per 4 KiB on first touch). The
   * source frame's columns are then overwritten.
   */
  reuseSources?: boolean;
}

/** A run of grid bars that a source has no candle for. */
export interface Gap {
  /** Open time of the first missing bar. */
  start: number;
  /** Open time of the last missing bar. */
  end: number;
  bars: number;
  /** True when the gap was bridged by interpolation. */
  interpolated: boolean;
}

export interface SourceReport {
  name: string;
  prefix: string;
  rows: number;
  first: number | undefined;
  last: number | undefined;
  /** Grid bars inside [first, last] the source has no candle for. */
  missingBars: number;
  /** Grid bars outside the source's own range (it starts later or ends earlier than the grid). */
  outsideBars: number;
  /** Source rows dropped because their time is not on the grid or is outside it. */
  droppedRows: number;
  gaps: Gap[];
}

export interface MergeReport {
  freqMs: number;
  start: number | undefined;
  end: number | undefined;
  rows: number;
  sources: SourceReport[];
}

export interface MergeResult {
  frame: Frame;
  report: MergeReport;
}

export function prefixed(prefix: string, column: string): string {
  return prefix ? `${prefix}_${column}` : column;
}

/**
 * Merges sources onto one regular time grid. The grid runs from the earliest source start to the
 * earliest source end (the original's rule: the most recent row is one every source has
 * reached). Missing bars become NaN rows and are reported as gaps; they are filled only by
 * explicit interpolation, never across a gap longer than `maxGap` bars.
 */
export function mergeSources(sources: readonly MergeSource[], opts: MergeOptions): MergeResult {
  const step = opts.freqMs;
  if (!(step > 0)) throw new DataError(`merge: invalid frequency step ${step} ms`);
  const nonEmpty = sources.filter((s) => s.frame.length > 0);
  if (nonEmpty.length === 0) {
    throw new DataError(
      `merge: no data in any source (${sources.map((s) => s.name).join(", ") || "none configured"}); import or download first`,
    );
  }
  const starts = nonEmpty.map((s) => alignUp(s.frame.time[0] as number, step));
  const ends = nonEmpty.map((s) => alignDown(s.frame.time[s.frame.length - 1] as number, step));
  const start = Math.min(...starts);
  const end = Math.min(...ends);
  const rows = end >= start ? (end - start) / step + 1 : 0;
  const time = new Float64Array(rows);
  for (let i = 0; i < rows; i++) time[i] = start + i * step;
  const out = new Frame(time);
  const reports: SourceReport[] = [];

  for (const src of sources) {
    const f = src.frame;
    const present = new Uint8Array(rows);
    const pos = new Int32Array(f.length);
    let dropped = 0;
    for (let i = 0; i < f.length; i++) {
      const off = ((f.time[i] as number) - start) / step;
      if (Number.isInteger(off) && off >= 0 && off < rows) {
        pos[i] = off;
        present[off] = 1;
      } else {
        pos[i] = -1;
        dropped++;
      }
    }
    // Rows whose grid positions follow one another are copied as one run (a memory copy), in
    // source order, so a later row on the same bar wins as it would row by row; the bars no
    // row lands on are NaN.
    const runs = copyRuns(pos);
    const holes = holeRuns(present);
    const inPlace = opts.reuseSources === true && movesRight(runs);
    const buffers = new Set<ArrayBufferLike>();
    for (const [name, values] of f.columns()) {
      if (
        inPlace &&
        values.byteOffset === 0 &&
        values.buffer.byteLength >= rows * 8 &&
        !buffers.has(values.buffer)
      ) {
        buffers.add(values.buffer);
        const col = new Float64Array(values.buffer, 0, rows);
        // Runs from the last: each moves right, onto memory whose rows have moved already.
        for (let k = runs.length - 3; k >= 0; k -= 3) {
          const from = runs[k] as number;
          col.copyWithin(runs[k + 1] as number, from, from + (runs[k + 2] as number));
        }
        for (let k = 0; k < holes.length; k += 2) col.fill(Number.NaN, holes[k], holes[k + 1]);
        out.set(prefixed(src.prefix, name), col);
        continue;
      }
      const col = new Float64Array(rows);
      for (let k = 0; k < holes.length; k += 2) col.fill(Number.NaN, holes[k], holes[k + 1]);
      for (let k = 0; k < runs.length; k += 3) {
        const from = runs[k] as number;
        col.set(values.subarray(from, from + (runs[k + 2] as number)), runs[k + 1]);
      }
      out.set(prefixed(src.prefix, name), col);
    }
    reports.push(sourceReport(src, present, start, step, dropped, opts));
  }

  if (opts.interpolate) {
    for (const rep of reports) {
      const src = sources.find((s) => s.name === rep.name && s.prefix === rep.prefix);
      if (!src) continue;
      const cols = src.frame.columnNames.map((c) => out.get(prefixed(src.prefix, c)));
      for (const gap of rep.gaps) {
        if (!gap.interpolated) continue;
        const a = (gap.start - start) / step - 1;
        const b = (gap.end - start) / step + 1;
        for (const col of cols) interpolateRun(col, a, b);
      }
    }
  }
  return {
    frame: out,
    report: {
      freqMs: step,
      start: rows ? start : undefined,
      end: rows ? end : undefined,
      rows,
      sources: reports,
    },
  };
}

/** Runs of source rows with consecutive grid positions: (first row, first position, length) triples. */
function copyRuns(pos: Int32Array): number[] {
  const runs: number[] = [];
  let i = 0;
  while (i < pos.length) {
    const p = pos[i] as number;
    if (p < 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < pos.length && pos[j] === p + (j - i)) j++;
    runs.push(i, p, j - i);
    i = j;
  }
  return runs;
}

/**
 * True when the runs can be moved in place from the last: positions strictly increasing from
 * run to run, and no run moving left.
 */
function movesRight(runs: readonly number[]): boolean {
  let end = 0;
  for (let k = 0; k < runs.length; k += 3) {
    const from = runs[k] as number;
    const at = runs[k + 1] as number;
    if (at < from || at < end) return false;
    end = at + (runs[k + 2] as number);
  }
  return true;
}

/** Runs of grid bars no source row lands on: [start, end) pairs. */
function holeRuns(present: Uint8Array): number[] {
  const holes: number[] = [];
  let i = 0;
  while (i < present.length) {
    if (present[i]) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < present.length && !present[j]) j++;
    holes.push(i, j);
    i = j;
  }
  return holes;
}

function sourceReport(
  src: MergeSource,
  present: Uint8Array,
  gridStart: number,
  step: number,
  dropped: number,
  opts: MergeOptions,
): SourceReport {
  const rows = present.length;
  let first = -1;
  let last = -1;
  for (let i = 0; i < rows; i++) {
    if (present[i]) {
      if (first < 0) first = i;
      last = i;
    }
  }
  const gaps: Gap[] = [];
  let missing = 0;
  if (first >= 0) {
    let i = first;
    while (i <= last) {
      if (present[i]) {
        i++;
        continue;
      }
      const a = i;
      while (i <= last && !present[i]) i++;
      const bars = i - a;
      missing += bars;
      gaps.push({
        start: gridStart + a * step,
        end: gridStart + (i - 1) * step,
        bars,
        interpolated: opts.interpolate && bars <= opts.maxGap,
      });
    }
  }
  const covered = first >= 0 ? last - first + 1 : 0;
  return {
    name: src.name,
    prefix: src.prefix,
    rows: src.frame.length,
    first: src.frame.length ? (src.frame.time[0] as number) : undefined,
    last: src.frame.length ? (src.frame.time[src.frame.length - 1] as number) : undefined,
    missingBars: missing,
    outsideBars: rows - covered,
    droppedRows: dropped,
    gaps,
  };
}

/** Fills col[a+1 .. b-1] on the straight line between col[a] and col[b]; leaves NaN ends alone. */
function interpolateRun(col: Float64Array, a: number, b: number): void {
  const va = col[a] as number;
  const vb = col[b] as number;
  if (Number.isNaN(va) || Number.isNaN(vb)) return;
  const span = b - a;
  for (let i = a + 1; i < b; i++) col[i] = va + ((vb - va) * (i - a)) / span;
}

function alignUp(t: number, step: number): number {
  const b = bucketStart(t, step);
  return b === t ? t : b + step;
}

function alignDown(t: number, step: number): number {
  return bucketStart(t, step);
}
