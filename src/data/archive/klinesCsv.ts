import { DataError } from "../../core/errors.js";
import { Frame } from "../../core/frame.js";
import { KLINE_COLUMNS } from "../../core/klines.js";

/**
 * Binance's 12-column kline CSV → Frame. This is the benchmark's hot path, so it works on the
 * bytes: one pass, numbers accumulated digit by digit into the output arrays, no strings, no
 * per-row objects. Every value equals `parseFloat` of its field exactly (see `scanNumber`).
 */

const FIELDS = 12;
/** Names used in error messages: the time column as Binance's header calls it, then ours. */
const FIELD_NAMES: readonly string[] = ["open_time", ...KLINE_COLUMNS];
const CLOSE_TIME = 1 + KLINE_COLUMNS.indexOf("close_time");
/** Epoch-microsecond open times start at 1e15 for 2001 onwards; no ms time reaches 1e14 (year 5138). */
const MICROS_THRESHOLD = 1e14;

const TWO_53 = 9007199254740992;
/** Every power of ten up to 1e22 is an exact double: the limit of Clinger's fast path. */
const POW10 = new Float64Array(23).map((_, i) => 10 ** i);

const COMMA = 44;
const LF = 10;
const CR = 13;
const DOT = 46;
const MINUS = 45;
const PLUS = 43;

/** Where the last `scanNumber` stopped. */
let scanEnd = 0;

/**
 * The number at `b[i..]`, stopping at the first byte that cannot continue it (the caller checks
 * that byte is the delimiter); NaN when there is no number there. Decimal digits accumulate as
 * an integer mantissa; while it stays below 2^53 and there are at most 22 fraction digits,
 * mantissa and power of ten are both exact doubles and one IEEE division is correctly rounded:
 * the same double `parseFloat` returns (Clinger 1990). Rarer fields take `slowNumber`.
 */
function scanNumber(b: Uint8Array, i: number, n: number): number {
  const start = i;
  let neg = false;
  if (i < n && b[i] === MINUS) {
    neg = true;
    i++;
  } else if (i < n && b[i] === PLUS) i++;
  const intStart = i;
  let m = 0;
  while (i < n) {
    const d = (b[i] as number) - 48;
    if (d >>> 0 > 9) break;
    m = m * 10 + d;
    i++;
  }
  let digits = i - intStart;
  let frac = 0;
  if (i < n && b[i] === DOT) {
    const fracStart = ++i;
    while (i < n) {
      const d = (b[i] as number) - 48;
      if (d >>> 0 > 9) break;
      m = m * 10 + d;
      i++;
    }
    frac = i - fracStart;
    digits += frac;
  }
  if (digits === 0) {
    scanEnd = start;
    return Number.NaN;
  }
  if (i < n && ((b[i] as number) | 32) === 101) return scanExponent(b, start, i + 1, n);
  scanEnd = i;
  // Monotone rounding keeps an inexact mantissa >= 2^53, so this test is safe after overflow.
  if (m < TWO_53 && frac <= 22) {
    const v = m / (POW10[frac] as number);
    return neg ? -v : v;
  }
  return slowNumber(b, start, i, neg);
}

/** A number with an exponent: validates the exponent's digits, then `parseFloat`. */
function scanExponent(b: Uint8Array, start: number, i: number, n: number): number {
  if (i < n && (b[i] === MINUS || b[i] === PLUS)) i++;
  const expStart = i;
  while (i < n && ((b[i] as number) - 48) >>> 0 < 10) i++;
  scanEnd = i;
  return i === expStart ? Number.NaN : Number.parseFloat(latin1(b, start, i));
}

/**
 * Too many digits for the fast path: drop trailing fraction zeros (they do not change the
 * value but count against the 2^53 mantissa) and retry it; else `parseFloat` on the text.
 */
function slowNumber(b: Uint8Array, start: number, end: number, neg: boolean): number {
  let last = end;
  const dot = b.subarray(start, end).indexOf(DOT);
  if (dot !== -1) while (last > start + dot + 1 && b[last - 1] === 48) last--;
  let m = 0;
  let frac = 0;
  let afterDot = false;
  for (let i = neg || b[start] === PLUS ? start + 1 : start; i < last; i++) {
    const c = b[i] as number;
    if (c === DOT) afterDot = true;
    else {
      m = m * 10 + (c - 48);
      if (afterDot) frac++;
    }
  }
  if (m < TWO_53 && frac <= 22) {
    const v = m / (POW10[frac] as number);
    return neg ? -v : v;
  }
  return Number.parseFloat(latin1(b, start, end));
}

function latin1(b: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i] as number);
  return s;
}

/** Text of the field at `start` (to the next comma or line end), for error messages. */
function fieldText(b: Uint8Array, start: number): string {
  let end = start;
  while (end < b.length && end - start < 40 && b[end] !== COMMA && b[end] !== LF && b[end] !== CR) end++;
  return latin1(b, start, end);
}

function lineBreaks(b: Uint8Array, from: number): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let count = 0;
  for (let at = buf.indexOf(LF, from); at !== -1; at = buf.indexOf(LF, at + 1)) count++;
  return count;
}

/**
 * The field at `start` did not end in the delimiter its column needs: the position after a
 * CRLF line end (the one benign case), else the error describing the problem.
 */
function badField(
  b: Uint8Array,
  start: number,
  end: number,
  j: number,
  v: number,
  file: string,
  line: number,
): number {
  const n = b.length;
  const delim = end < n ? (b[end] as number) : LF;
  if (!Number.isNaN(v) && j === FIELDS - 1 && delim === CR && (end + 1 === n || b[end + 1] === LF))
    return end + 2;
  if (!Number.isNaN(v) && (delim === LF || delim === CR) && j < FIELDS - 1) {
    throw rowError(file, line, `expected ${FIELDS} columns, found ${j + 1}`);
  }
  if (!Number.isNaN(v) && delim === COMMA && j === FIELDS - 1) {
    throw rowError(file, line, `expected ${FIELDS} columns, found more`);
  }
  throw rowError(file, line, `column ${FIELD_NAMES[j]}: not a number: "${fieldText(b, start)}"`);
}

function rowError(file: string, line: number, message: string): DataError {
  return new DataError(`line ${line}, ${message}`, { file });
}

/**
 * Skips a header line if the file has one (futures archives do, spot archives do not), and a
 * UTF-8 byte order mark.
 */
function skipHeader(b: Uint8Array, file: string): { start: number; header: boolean } {
  const pos = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  const c = pos < b.length ? (b[pos] as number) : 0;
  const startsNumber = (c >= 48 && c <= 57) || c === MINUS || c === PLUS || c === DOT;
  if (pos >= b.length || startsNumber) return { start: pos, header: false };
  let end = Buffer.from(b.buffer, b.byteOffset, b.byteLength).indexOf(LF, pos);
  if (end === -1) end = b.length;
  const header = latin1(b, pos, end).replace(/\r$/, "");
  const names = header.split(",");
  if (names.length !== FIELDS || names[0]?.trim().toLowerCase() !== "open_time") {
    throw rowError(
      file,
      1,
      `unexpected header "${header.slice(0, 120)}": expected none or Binance's 12 kline columns starting with open_time`,
    );
  }
  return { start: end + 1, header: true };
}

/**
 * Kline columns being filled, possibly from several files: parsing straight into one table
 * saves the copy (and the garbage) of concatenating per-file frames. Sized up front from a
 * known bound (a month of 1m bars holds at most 44,640 rows), it grows only if the bound was wrong.
 */
export class KlineTable {
  /** Open time, then KLINE_COLUMNS. */
  cols: Float64Array[];
  length = 0;

  constructor(capacity: number) {
    this.cols = Array.from({ length: FIELDS }, () => new Float64Array(capacity));
  }

  get capacity(): number {
    return (this.cols[0] as Float64Array).length;
  }

  /** Room for `extra` more rows. */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.capacity) return;
    const size = Math.max(need, Math.ceil(this.capacity * 1.5));
    this.cols = this.cols.map((c) => {
      const grown = new Float64Array(size);
      grown.set(c.subarray(0, this.length));
      return grown;
    });
  }

  /**
   * The rows as a Frame. Spare capacity is dropped by a view when it is small (no copy) and
   * by a copy when it is large (so the spare memory is freed).
   */
  toFrame(): Frame {
    const n = this.length;
    const cut = (c: Float64Array) =>
      n === c.length ? c : n >= c.length * 0.875 ? c.subarray(0, n) : c.slice(0, n);
    const cols = this.cols.map(cut);
    return new Frame(
      cols[0] as Float64Array,
      KLINE_COLUMNS.map((name, j) => [name, cols[j + 1] as Float64Array] as const),
    );
  }
}

/**
 * Parses a Binance kline CSV (spot: no header; futures: `open_time,open,...` header) into a
 * Frame whose time is the open time in epoch ms and whose columns are KLINE_COLUMNS. `file`
 * names the source in errors, which give the 1-based line and the column.
 */
export function parseKlineCsv(input: Uint8Array, file: string): Frame {
  const table = new KlineTable(0);
  parseKlineCsvInto(input, file, table);
  return table.toFrame();
}

/**
 * Appends a kline CSV's rows to `table`. Rows must be strictly ascending within the file.
 * Microsecond files (spot from 2025) are detected from the first open time and converted to
 * ms, close time too (floored, so `...59999999` µs becomes Binance's usual `...59999` ms).
 * Returns the number of rows added.
 */
export function parseKlineCsvInto(input: Uint8Array, file: string, table: KlineTable): number {
  // A plain Uint8Array view, whatever subclass (Buffer) came in: keeps element loads monomorphic.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const n = bytes.length;
  const body = skipHeader(bytes, file);
  let pos = body.start;
  let line = body.header ? 2 : 1;
  table.reserve(lineBreaks(bytes, pos) + (n > pos && bytes[n - 1] !== LF ? 1 : 0));
  const out = table.cols;
  const time = out[0] as Float64Array;
  const first = table.length;
  let row = first;
  while (pos < n) {
    const c = bytes[pos] as number;
    if (c === LF || (c === CR && bytes[pos + 1] === LF)) {
      pos += c === LF ? 1 : 2;
      line++;
      continue;
    }
    for (let j = 0; j < FIELDS; j++) {
      const v = scanNumber(bytes, pos, n);
      const end = scanEnd;
      const delim = end < n ? (bytes[end] as number) : LF;
      if (j < FIELDS - 1 && delim === COMMA && !Number.isNaN(v)) {
        pos = end + 1;
      } else if (j === FIELDS - 1 && delim === LF && !Number.isNaN(v)) {
        pos = end + 1;
      } else {
        pos = badField(bytes, pos, end, j, v, file, line);
      }
      (out[j] as Float64Array)[row] = v;
    }
    if (row > first && !((time[row] as number) > (time[row - 1] as number))) {
      throw rowError(
        file,
        line,
        `open time ${time[row]} is not after the previous row's ${time[row - 1]}; rows must be strictly ascending`,
      );
    }
    row++;
    line++;
  }
  convertMicros(out, first, row, file);
  table.length = row;
  return row - first;
}

/** Converts a µs file's rows [from, to) to ms in place; refuses a file that mixes units. */
function convertMicros(cols: Float64Array[], from: number, to: number, file: string): void {
  const time = cols[0] as Float64Array;
  const close = cols[CLOSE_TIME] as Float64Array;
  if (to === from) return;
  const micros = (time[from] as number) >= MICROS_THRESHOLD;
  // Ascending order means only the last row can cross into µs in a ms file.
  if (!micros) {
    if ((time[to - 1] as number) >= MICROS_THRESHOLD) {
      throw new DataError("open times switch from milliseconds to microseconds within the file", { file });
    }
    return;
  }
  for (let i = from; i < to; i++) {
    time[i] = Math.floor((time[i] as number) / 1000);
    close[i] = Math.floor((close[i] as number) / 1000);
  }
}
