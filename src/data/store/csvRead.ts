import { readFile } from "node:fs/promises";
import { DataError } from "../../core/errors.js";
import { Frame } from "../../core/frame.js";
import { grow } from "./arrays.js";
import { parseNumber } from "./csvNumber.js";
import { parseTime } from "./csvTime.js";
import { type FrameFileInfo, type ReadOptions, timeColumnOf } from "./options.js";
import { pickColumns } from "./pick.js";

/**
 * A byte-level CSV reader for numeric frames: one pass over the file's bytes, numbers and times
 * parsed in place into preallocated Float64Arrays, no string or object per row. RFC 4180
 * quoting and `\r\n` line ends are accepted; blank lines are skipped, as pandas does.
 */

const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;
const SPACE = 32;
const TAB = 9;

const SKIP = -1;
const TIME = -2;

export async function readCsv(file: string, opts?: ReadOptions): Promise<Frame> {
  const bytes = await readFile(file);
  const header = readHeader(file, bytes);
  const timeName = timeColumnOf(opts);
  const timeIndex = findTimeColumn(file, header.names, timeName);
  const names = pickColumns(file, header.names, timeName, opts?.columns);

  const target = new Int32Array(header.names.length).fill(SKIP);
  target[timeIndex] = TIME;
  const wanted = new Map(names.map((n, j) => [n, j]));
  header.names.forEach((n, f) => {
    const j = wanted.get(n);
    if (j !== undefined) target[f] = j;
  });

  const { time, cols } = parseRows(file, bytes, header, target, names.length);
  return new Frame(
    time,
    names.map((n, j) => [n, cols[j] as Float64Array] as const),
  );
}

export async function csvInfo(file: string, opts?: { timeColumn?: string }): Promise<FrameFileInfo> {
  const bytes = await readFile(file);
  const header = readHeader(file, bytes);
  const timeName = timeColumnOf(opts);
  const timeIndex = findTimeColumn(file, header.names, timeName);
  let rows = 0;
  let first: Line | undefined;
  let last: Line | undefined;
  let lineNo = header.line;
  for (let pos = header.end; pos < bytes.length; ) {
    lineNo++;
    const { end, next } = lineAt(bytes, pos);
    if (end > pos) {
      rows++;
      const line = { start: pos, end, lineNo };
      first ??= line;
      last = line;
    }
    pos = next;
  }
  const info: FrameFileInfo = { rows, columns: header.names.filter((n) => n !== timeName) };
  if (first !== undefined && last !== undefined) {
    info.first = lineTime(file, bytes, first, timeIndex, timeName);
    info.last = lineTime(file, bytes, last, timeIndex, timeName);
  }
  return info;
}

interface Header {
  names: string[];
  /** Offset of the first byte after the header line. */
  end: number;
  /** 1-based line number of the header. */
  line: number;
}

interface Line {
  start: number;
  end: number;
  lineNo: number;
}

function readHeader(file: string, bytes: Uint8Array): Header {
  let pos = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let line = 1;
  for (;;) {
    if (pos >= bytes.length) throw new DataError("empty file: no header line", { file });
    const { end, next } = lineAt(bytes, pos);
    if (end > pos) {
      const names = splitFields(bytes, pos, end).map(([s, e]) => fieldText(bytes, s, e));
      const seen = new Set<string>();
      for (const n of names) {
        if (seen.has(n))
          throw new DataError(`column "${n}" appears twice in the header`, { file, row: line });
        seen.add(n);
      }
      return { names, end: next, line };
    }
    pos = next;
    line++;
  }
}

/** The line starting at `pos`: where its text ends and where the next line starts (`\n`, `\r\n` or `\r`). */
function lineAt(bytes: Uint8Array, pos: number): { end: number; next: number } {
  let end = pos;
  while (end < bytes.length && bytes[end] !== LF && bytes[end] !== CR) end++;
  const next = bytes[end] === CR && bytes[end + 1] === LF ? end + 2 : end + 1;
  return { end, next: Math.min(next, bytes.length) };
}

function findTimeColumn(file: string, names: readonly string[], timeName: string): number {
  const i = names.indexOf(timeName);
  if (i < 0) {
    throw new DataError(`no time column "${timeName}" in the header; columns are: ${names.join(", ")}`, {
      file,
    });
  }
  return i;
}

/** Number of line feeds from `start`: one more than that bounds the data rows. */
function countLines(bytes: Uint8Array, start: number): number {
  let n = 0;
  for (let p = bytes.indexOf(LF, start); p >= 0; p = bytes.indexOf(LF, p + 1)) n++;
  return n;
}

/** Parses every data row into columns `0..columnCount-1` as `target` maps fields to them. */
function parseRows(
  file: string,
  bytes: Uint8Array,
  header: Header,
  target: Int32Array,
  columnCount: number,
): { time: Float64Array; cols: Float64Array[] } {
  // Line feeds bound the rows; only a file with bare `\r` line ends makes the arrays grow.
  let capacity = countLines(bytes, header.end) + 1;
  let time: Float64Array = new Float64Array(capacity);
  let cols: Float64Array[] = Array.from({ length: columnCount }, () => new Float64Array(capacity));
  const len = bytes.length;
  const fields = target.length;
  const names = header.names;
  let pos = header.end;
  let line = header.line + 1;
  let row = 0;
  while (pos < len) {
    let c = bytes[pos];
    if (c === LF) {
      pos++;
      line++;
      continue;
    }
    if (c === CR) {
      pos += bytes[pos + 1] === LF ? 2 : 1;
      line++;
      continue;
    }
    if (row === capacity) {
      capacity *= 2;
      time = grow(time, capacity);
      cols = cols.map((col) => grow(col, capacity));
    }
    const lineStart = line;
    for (let f = 0; f < fields; f++) {
      let s = pos;
      let e: number;
      if (bytes[pos] === QUOTE) {
        let q = pos + 1;
        for (;;) {
          q = bytes.indexOf(QUOTE, q);
          if (q < 0) throw new DataError("a quoted field is not closed", { file, row: lineStart });
          if (bytes[q + 1] !== QUOTE) break;
          q += 2;
        }
        for (let k = pos; k < q; k++) if (bytes[k] === LF) line++;
        s = pos + 1;
        e = q;
        pos = q + 1;
      } else {
        while (pos < len) {
          c = bytes[pos];
          if (c === COMMA || c === LF || c === CR) break;
          pos++;
        }
        e = pos;
      }
      c = bytes[pos];
      if (f < fields - 1) {
        if (c !== COMMA) {
          throw new DataError(
            c === LF || c === CR || c === undefined
              ? `expected ${fields} fields, found ${f + 1}`
              : `unexpected text after the quoted field "${names[f]}"`,
            { file, row: lineStart },
          );
        }
        pos++;
      } else if (c === COMMA) {
        throw new DataError(`expected ${fields} fields, found more`, { file, row: lineStart });
      } else if (c !== LF && c !== CR && c !== undefined) {
        throw new DataError(`unexpected text after the quoted field "${names[f]}"`, {
          file,
          row: lineStart,
        });
      }

      const t = target[f] as number;
      if (t === SKIP) continue;
      while (s < e && (bytes[s] === SPACE || bytes[s] === TAB)) s++;
      while (e > s && (bytes[e - 1] === SPACE || bytes[e - 1] === TAB)) e--;
      if (t === TIME) {
        const v = parseTime(bytes, s, e);
        if (v === undefined) throw cannotParse(file, lineStart, names[f], bytes, s, e, "a time");
        time[row] = v;
      } else {
        const v = parseNumber(bytes, s, e);
        if (v === undefined) throw cannotParse(file, lineStart, names[f], bytes, s, e, "a number");
        (cols[t] as Float64Array)[row] = v;
      }
    }
    if (bytes[pos] === CR) pos++;
    if (bytes[pos] === LF) pos++;
    row++;
    line++;
  }
  return {
    time: row < capacity ? time.slice(0, row) : time,
    cols: cols.map((col) => (row < capacity ? col.slice(0, row) : col)),
  };
}

function cannotParse(
  file: string,
  row: number,
  column: string | undefined,
  bytes: Uint8Array,
  s: number,
  e: number,
  what: string,
): DataError {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + s, Math.min(e - s, 60)).toString("utf8");
  const shown = e - s > 60 ? `${text}...` : text;
  return new DataError(`column "${column}": cannot parse "${shown}" as ${what}`, { file, row });
}

/** Content spans of the fields of one line (quotes removed, doubled quotes not yet unescaped). */
function splitFields(bytes: Uint8Array, start: number, end: number): [number, number][] {
  const spans: [number, number][] = [];
  let pos = start;
  for (;;) {
    if (bytes[pos] === QUOTE) {
      let q = pos + 1;
      while (q < end && !(bytes[q] === QUOTE && bytes[q + 1] !== QUOTE)) q += bytes[q] === QUOTE ? 2 : 1;
      spans.push([pos + 1, Math.min(q, end)]);
      pos = bytes.indexOf(COMMA, q);
    } else {
      const comma = bytes.indexOf(COMMA, pos);
      const stop = comma < 0 || comma >= end ? end : comma;
      spans.push([pos, stop]);
      pos = stop;
    }
    if (pos < 0 || pos >= end) return spans;
    pos++;
  }
}

function fieldText(bytes: Uint8Array, s: number, e: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + s, e - s)
    .toString("utf8")
    .replaceAll('""', '"');
}

function lineTime(file: string, bytes: Uint8Array, line: Line, timeIndex: number, timeName: string): number {
  const span = splitFields(bytes, line.start, line.end)[timeIndex];
  if (span === undefined) {
    throw new DataError(`no value in time column "${timeName}"`, { file, row: line.lineNo });
  }
  let [s, e] = span;
  while (s < e && (bytes[s] === SPACE || bytes[s] === TAB)) s++;
  while (e > s && (bytes[e - 1] === SPACE || bytes[e - 1] === TAB)) e--;
  const t = parseTime(bytes, s, e);
  if (t === undefined) throw cannotParse(file, line.lineNo, timeName, bytes, s, e, "a time");
  return t;
}
