import { isoTime } from "../../core/time.js";
import { parseNumber } from "./csvNumber.js";

/**
 * Times in CSV text. Written as ISO-8601 UTC with milliseconds (`2023-03-01T00:00:00.000Z`);
 * read from that, from the forms pandas and others write (`2023-03-01 00:00:00`, `+00:00`, no
 * or more fraction digits, a date alone), or from epoch milliseconds. A time without a zone is
 * UTC. Parsed from the bytes with calendar arithmetic: `Date.parse` would take a zone-less
 * time as local time and costs a string per row.
 */

export function formatTime(ms: number): string {
  return isoTime(ms);
}

const DAY_MS = 86_400_000;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Epoch ms of the time in `bytes[start, end)`, or undefined when it is not a time. */
export function parseTime(bytes: Uint8Array, start: number, end: number): number | undefined {
  // `YYYY-` starts an ISO time; anything else must be epoch milliseconds.
  if (end - start >= 10 && bytes[start + 4] === 45 /* - */ && isDigit(bytes[start])) {
    return parseIso(bytes, start, end);
  }
  const ms = parseNumber(bytes, start, end);
  return ms === undefined || !Number.isFinite(ms) ? undefined : ms;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 48 && c <= 57;
}

/** The `n`-digit decimal at `at`, or -1. */
function digitsAt(bytes: Uint8Array, at: number, n: number, end: number): number {
  if (at + n > end) return -1;
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = (bytes[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function parseIso(bytes: Uint8Array, start: number, end: number): number | undefined {
  const year = digitsAt(bytes, start, 4, end);
  const month = digitsAt(bytes, start + 5, 2, end);
  const day = digitsAt(bytes, start + 8, 2, end);
  if (year < 0 || month < 1 || month > 12 || bytes[start + 7] !== 45 || day < 1) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] as number))) return undefined;
  let ms = daysFromCivil(year, month, day) * DAY_MS;
  let i = start + 10;
  if (i === end) return ms;

  const sep = bytes[i];
  if (sep !== 84 /* T */ && sep !== 32 /* space */) return undefined;
  const hour = digitsAt(bytes, i + 1, 2, end);
  const minute = digitsAt(bytes, i + 4, 2, end);
  if (hour < 0 || hour > 23 || bytes[i + 3] !== 58 /* : */ || minute < 0 || minute > 59) return undefined;
  ms += hour * 3_600_000 + minute * 60_000;
  i += 6;
  if (i < end && bytes[i] === 58) {
    const second = digitsAt(bytes, i + 1, 2, end);
    if (second < 0 || second > 59) return undefined;
    ms += second * 1000;
    i += 3;
    if (i < end && bytes[i] === 46 /* . */) {
      i++;
      let whole = 0;
      let n = 0;
      let rest = 0;
      let restScale = 1;
      for (; i < end && isDigit(bytes[i]); i++, n++) {
        const d = (bytes[i] as number) - 48;
        // Milliseconds exactly; finer digits (pandas writes µs and ns) as a fraction of a ms.
        if (n < 3) whole = whole * 10 + d;
        else if (n < 18) {
          rest = rest * 10 + d;
          restScale *= 10;
        }
      }
      if (n === 0) return undefined;
      for (let k = n; k < 3; k++) whole *= 10;
      ms += whole;
      if (rest !== 0) ms += rest / restScale;
    }
  }
  if (i === end) return ms;
  const zone = bytes[i];
  if ((zone === 90 /* Z */ || zone === 122) /* z */ && i + 1 === end) return ms;
  if (zone !== 43 /* + */ && zone !== 45 /* - */) return undefined;
  // +HH, +HHMM or +HH:MM; the offset is subtracted to get UTC.
  const oh = digitsAt(bytes, i + 1, 2, end);
  let j = i + 3;
  let om = 0;
  if (j < end) {
    if (bytes[j] === 58) j++;
    om = digitsAt(bytes, j, 2, end);
    j += 2;
  }
  if (oh < 0 || oh > 23 || om < 0 || om > 59 || j !== end) return undefined;
  const offset = (oh * 60 + om) * 60_000;
  return zone === 43 ? ms - offset : ms + offset;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
