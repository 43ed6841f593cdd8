import { DataError } from "./errors.js";
import { isoTime } from "./time.js";

/**
 * The table that flows between batch stages: a UTC epoch-millisecond time column and one
 * Float64Array per named column, all of the same length. Missing values are NaN. Column order
 * is insertion order and is preserved by every store.
 */
export class Frame {
  readonly time: Float64Array;
  private readonly cols: Map<string, Float64Array>;

  constructor(time: Float64Array, columns?: Iterable<readonly [string, Float64Array]>) {
    this.time = time;
    this.cols = new Map();
    if (columns) for (const [name, values] of columns) this.set(name, values);
  }

  get length(): number {
    return this.time.length;
  }

  get columnNames(): string[] {
    return [...this.cols.keys()];
  }

  has(name: string): boolean {
    return this.cols.has(name);
  }

  /** The column, or a DataError naming the missing column and the ones present. */
  get(name: string): Float64Array {
    const c = this.cols.get(name);
    if (c === undefined) {
      throw new DataError(
        `column "${name}" not found; columns are: ${this.columnNames.join(", ") || "(none)"}`,
      );
    }
    return c;
  }

  /** Adds or replaces a column (a replaced column keeps its position). */
  set(name: string, values: Float64Array): this {
    if (values.length !== this.time.length) {
      throw new DataError(
        `column "${name}" has ${values.length} values but the frame has ${this.time.length} rows`,
      );
    }
    this.cols.set(name, values);
    return this;
  }

  delete(name: string): boolean {
    return this.cols.delete(name);
  }

  columns(): IterableIterator<[string, Float64Array]> {
    return this.cols.entries();
  }

  /** Rows [start, end) as a new frame sharing no memory with this one. */
  slice(start: number, end = this.length): Frame {
    const out = new Frame(this.time.slice(start, end));
    for (const [name, values] of this.cols) out.set(name, values.slice(start, end));
    return out;
  }

  /** A frame with only the given columns (views, not copies). */
  select(names: readonly string[]): Frame {
    const out = new Frame(this.time);
    for (const n of names) out.set(n, this.get(n));
    return out;
  }

  /** Index of the first row with time >= t (binary search; the time column is ascending). */
  lowerBound(t: number): number {
    return lowerBound(this.time, t);
  }

  static empty(columnNames: readonly string[] = []): Frame {
    const f = new Frame(new Float64Array(0));
    for (const n of columnNames) f.set(n, new Float64Array(0));
    return f;
  }
}

/** Throws unless the time column is strictly ascending (no duplicates, no disorder). */
export function assertAscending(frame: Frame, source: string): void {
  const t = frame.time;
  for (let i = 1; i < t.length; i++) {
    if (!((t[i] as number) > (t[i - 1] as number))) {
      throw new DataError(
        `time column is not strictly ascending at row ${i + 1} (${isoTime(t[i] as number)})`,
        { file: source },
      );
    }
  }
}

/** Concatenates frames with identical column names, in the given order. */
export function concatFrames(frames: readonly Frame[]): Frame {
  const first = frames[0];
  if (first === undefined) return Frame.empty();
  const names = first.columnNames;
  let n = 0;
  for (const f of frames) n += f.length;
  const time = new Float64Array(n);
  const cols = names.map(() => new Float64Array(n));
  let at = 0;
  for (const f of frames) {
    time.set(f.time, at);
    names.forEach((name, j) => {
      (cols[j] as Float64Array).set(f.get(name), at);
    });
    at += f.length;
  }
  return new Frame(
    time,
    names.map((name, j) => [name, cols[j] as Float64Array] as const),
  );
}

/** Index of the first element >= t in an ascending array (binary search). */
export function lowerBound(sorted: Float64Array, t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
