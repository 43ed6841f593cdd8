/**
 * Numbers in CSV text, both ways, bit-exact: writing uses JavaScript's shortest round-trip
 * form; reading parses straight from the bytes and returns exactly what `parseFloat` returns
 * for the field's text, without making a string per field.
 */

/** The CSV text of a value: shortest round-trip form, `-0` kept, NaN as an empty field. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return "";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  // pandas writes and reads `inf`; JavaScript's `Infinity` is accepted on read as well.
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  return String(x);
}

// 10^0 .. 10^22 are exact doubles; the fast path below depends on it.
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** Text pandas reads as missing (its default `na_values`), so files it wrote read the same here. */
const MISSING = new Set([
  "",
  "NaN",
  "nan",
  "NAN",
  "-NaN",
  "-nan",
  "+nan",
  "NA",
  "N/A",
  "n/a",
  "#N/A",
  "#N/A N/A",
  "#NA",
  "-1.#IND",
  "-1.#QNAN",
  "1.#IND",
  "1.#QNAN",
  "<NA>",
  "NULL",
  "null",
  "None",
]);

const INFINITIES = new Map([
  ["inf", Number.POSITIVE_INFINITY],
  ["+inf", Number.POSITIVE_INFINITY],
  ["-inf", Number.NEGATIVE_INFINITY],
  ["infinity", Number.POSITIVE_INFINITY],
  ["+infinity", Number.POSITIVE_INFINITY],
  ["-infinity", Number.NEGATIVE_INFINITY],
]);

/**
 * The number in `bytes[start, end)`, or undefined when the text is not a number. Missing-value
 * markers (empty, `NaN`, `nan`, pandas' other `na_values`) give NaN.
 *
 * Clinger's fast path: a decimal with at most 15 significant digits is an exact integer m, and
 * m × 10^k or m / 10^k for |k| ≤ 22 is a single correctly rounded operation, the same double
 * `parseFloat` finds. Anything longer or larger goes to `parseFloat`
 * itself, after the scan above has checked the text is a well-formed decimal.
 */
export function parseNumber(bytes: Uint8Array, start: number, end: number): number | undefined {
  let i = start;
  let neg = false;
  let c = bytes[i];
  if (c === 45 /* - */) {
    neg = true;
    i++;
  } else if (c === 43 /* + */) {
    i++;
  }
  let m = 0;
  let significant = 0;
  let exp = 0;
  let digits = 0;
  for (; i < end; i++) {
    c = bytes[i] as number;
    const d = c - 48;
    if (d < 0 || d > 9) break;
    digits++;
    if (m !== 0 || d !== 0) {
      m = m * 10 + d;
      significant++;
    }
  }
  if (i < end && bytes[i] === 46 /* . */) {
    for (i++; i < end; i++) {
      c = bytes[i] as number;
      const d = c - 48;
      if (d < 0 || d > 9) break;
      digits++;
      exp--;
      if (m !== 0 || d !== 0) {
        m = m * 10 + d;
        significant++;
      }
    }
  }
  if (digits === 0) return special(bytes, start, end);
  if (i < end && (bytes[i] === 101 /* e */ || bytes[i] === 69) /* E */) {
    i++;
    let eneg = false;
    if (bytes[i] === 45) {
      eneg = true;
      i++;
    } else if (bytes[i] === 43) {
      i++;
    }
    let e = 0;
    let edigits = 0;
    for (; i < end; i++) {
      const d = (bytes[i] as number) - 48;
      if (d < 0 || d > 9) break;
      if (e < 100_000) e = e * 10 + d;
      edigits++;
    }
    if (edigits === 0) return undefined;
    exp += eneg ? -e : e;
  }
  if (i !== end) return undefined;
  if (m === 0) return neg ? -0 : 0;
  if (significant <= 15 && exp >= -22 && exp <= 22) {
    const v = exp >= 0 ? m * (POW10[exp] as number) : m / (POW10[-exp] as number);
    return neg ? -v : v;
  }
  return Number.parseFloat(latin1(bytes, start, end));
}

/** Missing markers and infinities; anything else is not a number. */
function special(bytes: Uint8Array, start: number, end: number): number | undefined {
  if (end - start > 12) return undefined;
  const text = latin1(bytes, start, end);
  if (MISSING.has(text)) return Number.NaN;
  return INFINITIES.get(text.toLowerCase());
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  // Buffer's native decoding is twice as fast as building the string here.
  if (Buffer.isBuffer(bytes)) return bytes.toString("latin1", start, end);
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}
