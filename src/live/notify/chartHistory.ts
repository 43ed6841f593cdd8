/**
 * The last candles of a market with the scores its charts draw, in memory: filled while the
 * streams warm up on the stored history and then with every processed candle, so a daily chart
 * covers the whole day from the service's first minute (the ledger only has the candles served).
 */
export class ChartHistory {
  private readonly cap: number;
  private readonly cols: readonly string[];
  private readonly time: Float64Array;
  private readonly ohlc: Float64Array[];
  private readonly values: Float64Array[];
  /** Rows pushed so far (the newest at (count - 1) % cap). */
  private count = 0;

  constructor(capacity: number, columns: readonly string[]) {
    this.cap = Math.max(1, capacity);
    this.cols = columns;
    this.time = new Float64Array(this.cap);
    this.ohlc = [0, 1, 2, 3].map(() => new Float64Array(this.cap));
    this.values = columns.map(() => new Float64Array(this.cap));
  }

  get columns(): readonly string[] {
    return this.cols;
  }

  push(
    time: number,
    open: number,
    high: number,
    low: number,
    close: number,
    values: ArrayLike<number>,
  ): void {
    const i = this.count % this.cap;
    this.time[i] = time;
    const [o, h, l, c] = this.ohlc as [Float64Array, Float64Array, Float64Array, Float64Array];
    o[i] = open;
    h[i] = high;
    l[i] = low;
    c[i] = close;
    for (let k = 0; k < this.values.length; k++)
      (this.values[k] as Float64Array)[i] = values[k] ?? Number.NaN;
    this.count++;
  }

  /** The rows with `from <= time <= until`, oldest first; `column` among the columns. */
  window(
    from: number,
    until: number,
    column: string,
  ): {
    time: Float64Array;
    open: Float64Array;
    high: Float64Array;
    low: Float64Array;
    close: Float64Array;
    score: Float64Array;
  } {
    const n = Math.min(this.count, this.cap);
    const start = this.count - n;
    const rows: number[] = [];
    for (let j = start; j < this.count; j++) {
      const t = this.time[j % this.cap] as number;
      if (t >= from && t <= until) rows.push(j % this.cap);
    }
    const k = this.cols.indexOf(column);
    const pick = (a: Float64Array | undefined) =>
      Float64Array.from(rows, (i) => (a === undefined ? Number.NaN : (a[i] as number)));
    return {
      time: pick(this.time),
      open: pick(this.ohlc[0]),
      high: pick(this.ohlc[1]),
      low: pick(this.ohlc[2]),
      close: pick(this.ohlc[3]),
      score: pick(k < 0 ? undefined : this.values[k]),
    };
  }
}
