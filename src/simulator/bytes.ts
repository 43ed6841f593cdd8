/**
 * A growable byte buffer for building JSON bodies without intermediate strings: the klines
 * handler writes ~170 kB per 1000-row reply, and writing digits straight into bytes is about
 * three times faster than formatting and joining strings.
 */

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** See format.ts: below this the scaled mantissa is recovered exactly by rounding. */
const FAST_LIMIT = 2 ** 50;
const INT32 = 2 ** 31;
/** ASCII codes of "00".."99", two digits per step. */
const TENS = Uint8Array.from({ length: 100 }, (_, i) => 48 + Math.floor(i / 10));
const ONES = Uint8Array.from({ length: 100 }, (_, i) => 48 + (i % 10));

export class ByteWriter {
  buf: Buffer;
  pos = 0;
  private readonly scratch = new Uint8Array(32);

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Room for `n` more bytes: the unchecked writes below rely on it. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** ASCII text (JSON punctuation, preformatted fields). */
  ascii(s: string): void {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  /** One byte; the caller has reserved room. */
  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** A non-negative integer below 2^53 (times, counts); the caller has reserved room. */
  uint(n: number): void {
    this.copy(this.digits(n, 32));
  }

  /**
   * `x` with exactly `d` fraction digits, as `formatDecimal` writes it; false (nothing
   * written) when the fast path cannot guarantee an exact round trip, so the caller formats it.
   * The caller has reserved room (at most 27 bytes).
   */
  fixed(x: number, d: number): boolean {
    if (!(x >= 0) || d < 0 || d > 9) return false;
    const p = POW10[d] as number;
    const m = Math.round(x * p);
    if (m >= FAST_LIMIT || m / p !== x) return false;
    const int = Math.floor(m / p);
    let frac = (m - int * p) | 0;
    const s = this.scratch;
    let k = 32;
    if (d > 0) {
      let j = d;
      for (; j >= 2; j -= 2) {
        const q = (frac / 100) | 0;
        const r = frac - q * 100;
        s[--k] = ONES[r] as number;
        s[--k] = TENS[r] as number;
        frac = q;
      }
      if (j === 1) s[--k] = 48 + frac;
      s[--k] = 46;
    }
    this.copy(this.digits(int, k));
    return true;
  }

  /** Writes the digits of `n` into the scratch ending before `k`; returns where they start. */
  private digits(n: number, k: number): number {
    const s = this.scratch;
    if (n < INT32) {
      let v = n | 0;
      while (v >= 100) {
        const q = (v / 100) | 0;
        const r = v - q * 100;
        s[--k] = ONES[r] as number;
        s[--k] = TENS[r] as number;
        v = q;
      }
      if (v >= 10) {
        s[--k] = ONES[v] as number;
        s[--k] = TENS[v] as number;
      } else s[--k] = 48 + v;
      return k;
    }
    let v = n;
    do {
      const q = Math.floor(v / 10);
      s[--k] = 48 + v - q * 10;
      v = q;
    } while (v > 0);
    return k;
  }

  private copy(k: number): void {
    const s = this.scratch;
    for (let i = k; i < 32; i++) this.buf[this.pos++] = s[i] as number;
  }

  /** The bytes written (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
