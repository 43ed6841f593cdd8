/**
 * pandas' rolling mean and exponential mean, one value at a time, with pandas' own arithmetic
 * so that itb's scores match the original's. Batch and streaming both run these classes, so they
 * agree bit for bit by construction.
 */

/**
 * `Series.rolling(window, min_periods).mean()`, as pandas' `roll_mean` computes it: a running
 * sum with Kahan compensation (separate for added and removed values), NaN skipped, NaN when
 * fewer than `minPeriods` (and at least one) values are in the window; a window holding one
 * repeated value returns that value exactly, and the sign is clipped as pandas does when all
 * values share a sign.
 */
export class RollingMean {
  private readonly ring: Float64Array;
  private pos = 0;
  private seen = 0;
  private nobs = 0;
  private sum = 0;
  private compAdd = 0;
  private compRemove = 0;
  private negCt = 0;
  private sameCount = 0;
  private prev = Number.NaN;

  constructor(
    readonly window: number,
    readonly minPeriods: number,
  ) {
    if (!Number.isInteger(window) || window < 1) throw new RangeError(`window must be an integer >= 1`);
    this.ring = new Float64Array(window);
  }

  update(x: number): number {
    if (this.seen === 0 || this.window === 1) {
      // pandas recomputes from scratch when consecutive windows do not overlap (window 1).
      this.nobs = 0;
      this.sum = 0;
      this.compAdd = 0;
      this.compRemove = 0;
      this.negCt = 0;
      this.sameCount = 0;
      this.prev = x;
    } else if (this.seen >= this.window) {
      this.remove(this.ring[this.pos] as number);
    }
    this.add(x);
    this.ring[this.pos] = x;
    this.pos = this.pos + 1 === this.window ? 0 : this.pos + 1;
    this.seen++;
    return this.value();
  }

  private add(v: number): void {
    // biome-ignore lint/suspicious/noSelfCompare: the NaN test, as pandas writes it.
    if (v !== v) return;
    this.nobs++;
    const y = v - this.compAdd;
    const t = this.sum + y;
    this.compAdd = t - this.sum - y;
    this.sum = t;
    if (v < 0 || Object.is(v, -0)) this.negCt++;
    if (v === this.prev) this.sameCount++;
    else this.sameCount = 1;
    this.prev = v;
  }

  private remove(v: number): void {
    // biome-ignore lint/suspicious/noSelfCompare: the NaN test, as pandas writes it.
    if (v !== v) return;
    this.nobs--;
    const y = -v - this.compRemove;
    const t = this.sum + y;
    this.compRemove = t - this.sum - y;
    this.sum = t;
    if (v < 0 || Object.is(v, -0)) this.negCt--;
  }

  private value(): number {
    if (!(this.nobs >= this.minPeriods && this.nobs > 0)) return Number.NaN;
    if (this.sameCount >= this.nobs) return this.prev;
    const r = this.sum / this.nobs;
    if (this.negCt === 0 && r < 0) return 0;
    if (this.negCt === this.nobs && r > 0) return 0;
    return r;
  }
}

/**
 * `Series.ewm(span, min_periods, adjust=False).mean()` (ignore_na=False), as pandas' `ewm`
 * kernel computes it: alpha = 1 / (1 + (span - 1) / 2); a NaN input keeps the previous mean but
 * still decays the old weight, so the next value weighs more after a gap; NaN until
 * `minPeriods` values (at least 1) have been seen.
 */
export class EwmMean {
  private readonly oldWtFactor: number;
  private readonly newWt: number;
  private readonly minPeriods: number;
  private weighted = Number.NaN;
  private oldWt = 1;
  private nobs = 0;
  private started = false;

  constructor(span: number, minPeriods: number) {
    if (!(span >= 1)) throw new RangeError("span must be >= 1");
    const com = (span - 1) / 2;
    const alpha = 1 / (1 + com);
    this.oldWtFactor = 1 - alpha;
    this.newWt = alpha;
    this.minPeriods = Math.max(Math.trunc(minPeriods), 1);
  }

  update(cur: number): number {
    // biome-ignore lint/suspicious/noSelfCompare: the NaN test, as pandas writes it.
    const isObs = cur === cur;
    if (!this.started) {
      this.started = true;
      this.weighted = cur;
      this.nobs = isObs ? 1 : 0;
      return this.nobs >= this.minPeriods ? this.weighted : Number.NaN;
    }
    if (isObs) this.nobs++;
    // biome-ignore lint/suspicious/noSelfCompare: the NaN test, as pandas writes it.
    if (this.weighted === this.weighted) {
      this.oldWt *= this.oldWtFactor;
      if (isObs) {
        // pandas skips the update when the value equals the mean (exact on constant series).
        if (this.weighted !== cur) {
          this.weighted = (this.oldWt * this.weighted + this.newWt * cur) / (this.oldWt + this.newWt);
        }
        this.oldWt = 1;
      }
    } else if (isObs) {
      this.weighted = cur;
    }
    return this.nobs >= this.minPeriods ? this.weighted : Number.NaN;
  }
}
