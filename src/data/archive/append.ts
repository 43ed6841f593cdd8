import { Frame } from "../../core/frame.js";

/**
 * Merging archive rows into a stored table, and deciding which archive files the table already
 * holds. Both work on ascending, duplicate-free time columns.
 */

export interface Appended {
  frame: Frame;
  /** Archive rows whose time the store did not have. */
  added: number;
  /** Stored rows the archive replaced because some value differed. */
  changed: number;
}

function sameValue(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/**
 * The union of both tables by time, ascending. Where both have a row, the archive's values win
 * (it is Binance's published record) and the row counts as changed if any shared column
 * differed. Columns only the store has keep their values (NaN on new rows); columns only the
 * archive has come after the store's, in the archive's order.
 */
export function appendRows(stored: Frame | undefined, archive: Frame): Appended {
  if (stored === undefined || stored.length === 0) {
    const names = stored === undefined ? [] : stored.columnNames;
    return {
      frame: withColumns(archive, [...new Set([...names, ...archive.columnNames])]),
      added: archive.length,
      changed: 0,
    };
  }
  const names = [...new Set([...stored.columnNames, ...archive.columnNames])];
  const s = stored.time;
  const a = archive.time;
  if (a.length > 0 && (a[0] as number) > (s[s.length - 1] as number))
    return concatenated(stored, archive, names);
  let added = 0;
  for (let i = 0, j = 0; j < a.length; ) {
    const tj = a[j] as number;
    if (i < s.length && (s[i] as number) < tj) i++;
    else {
      if (!(i < s.length && s[i] === tj)) added++;
      j++;
    }
  }
  if (added === 0 && !differs(stored, archive)) return { frame: stored, added: 0, changed: 0 };

  const n = s.length + added;
  const time = new Float64Array(n);
  const out = names.map(() => new Float64Array(n));
  const fromStore = names.map((c) => (stored.has(c) ? stored.get(c) : undefined));
  const fromArchive = names.map((c) => (archive.has(c) ? archive.get(c) : undefined));
  let changed = 0;
  let i = 0;
  let j = 0;
  for (let k = 0; k < n; k++) {
    const ts = i < s.length ? (s[i] as number) : Number.POSITIVE_INFINITY;
    const ta = j < a.length ? (a[j] as number) : Number.POSITIVE_INFINITY;
    const takeStore = ts <= ta;
    const takeArchive = ta <= ts;
    time[k] = takeStore ? ts : ta;
    let rowChanged = false;
    for (let c = 0; c < names.length; c++) {
      const sv = takeStore ? (fromStore[c]?.[i] ?? Number.NaN) : Number.NaN;
      const av = takeArchive ? fromArchive[c]?.[j] : undefined;
      let v = sv;
      if (av !== undefined) {
        if (takeStore && fromStore[c] !== undefined && !sameValue(sv, av)) rowChanged = true;
        v = av;
      }
      (out[c] as Float64Array)[k] = v;
    }
    if (rowChanged) changed++;
    if (takeStore) i++;
    if (takeArchive) j++;
  }
  return {
    frame: new Frame(
      time,
      names.map((c, x) => [c, out[x] as Float64Array] as const),
    ),
    added,
    changed,
  };
}

/**
 * Every archive row after the store's last (a download's batches, the next month): the columns
 * copied end to end instead of merged row by row.
 */
function concatenated(stored: Frame, archive: Frame, names: readonly string[]): Appended {
  const n = stored.length + archive.length;
  const time = new Float64Array(n);
  time.set(stored.time);
  time.set(archive.time, stored.length);
  const columns = names.map((c) => {
    const out = new Float64Array(n);
    if (stored.has(c)) out.set(stored.get(c));
    else out.fill(Number.NaN, 0, stored.length);
    if (archive.has(c)) out.set(archive.get(c), stored.length);
    else out.fill(Number.NaN, stored.length);
    return [c, out] as const;
  });
  return { frame: new Frame(time, columns), added: archive.length, changed: 0 };
}

/** Whether any archive row with a stored twin differs from it in a shared column. */
function differs(stored: Frame, archive: Frame): boolean {
  const shared = archive.columnNames.filter((c) => stored.has(c));
  const sc = shared.map((c) => stored.get(c));
  const ac = shared.map((c) => archive.get(c));
  const s = stored.time;
  const a = archive.time;
  let i = stored.lowerBound(a[0] ?? 0);
  for (let j = 0; j < a.length; j++) {
    while (i < s.length && (s[i] as number) < (a[j] as number)) i++;
    if (i < s.length && s[i] === a[j]) {
      for (let c = 0; c < shared.length; c++) {
        if (!sameValue((sc[c] as Float64Array)[i] as number, (ac[c] as Float64Array)[j] as number))
          return true;
      }
    }
  }
  return false;
}

/** The frame with exactly these columns (NaN for ones it lacks), sharing its arrays. */
function withColumns(frame: Frame, names: readonly string[]): Frame {
  if (names.length === frame.columnNames.length) return frame;
  const out = new Frame(frame.time);
  for (const c of names)
    out.set(c, frame.has(c) ? frame.get(c) : new Float64Array(frame.length).fill(Number.NaN));
  return out;
}

/**
 * Gaps up to this long inside a file's range still count as covered: exchange halts leave
 * such holes in Binance's own files (80 minutes on 2023-03-24), so a complete import of that
 * month has them too, and re-reading the month on every run would find nothing new.
 */
export const COVERED_MAX_GAP_MS = 2 * 3_600_000;

/**
 * Whether the stored times already hold everything an archive file can add for [start, end):
 * a bar in the range's first step, one in its last step, and no hole in between longer than a
 * halt (`COVERED_MAX_GAP_MS`, at least one step). Imports cover contiguous ranges, so a
 * partial earlier import shows up as a missing first or last bar or as a long hole; the one
 * case this misses is two earlier imports that stopped and resumed within the tolerance inside
 * one file's range.
 */
export function covers(stored: Frame | undefined, start: number, end: number, stepMs: number): boolean {
  if (stored === undefined) return false;
  const t = stored.time;
  const lo = stored.lowerBound(start);
  const hi = stored.lowerBound(end);
  if (hi === lo) return false;
  if ((t[lo] as number) >= start + stepMs || (t[hi - 1] as number) < end - stepMs) return false;
  const maxGap = Math.max(COVERED_MAX_GAP_MS, stepMs);
  for (let k = lo + 1; k < hi; k++) {
    if ((t[k] as number) - (t[k - 1] as number) > maxGap) return false;
  }
  return true;
}
