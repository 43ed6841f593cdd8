/**
 * The simulator's virtual clock: "now" moves through history at `speed` virtual seconds per
 * real second (0 = frozen), and can be set or stepped by hand for deterministic tests. Real
 * time comes from an injected source, so a test can drive the clock without sleeping.
 */

/** A source of milliseconds. `performance.now()`-style or epoch; only differences matter. */
export type RealTime = () => number;

export interface ClockState {
  /** Virtual now, epoch ms. */
  now: number;
  /** Virtual ms per real ms. */
  speed: number;
}

export type ClockListener = (state: ClockState, previous: number) => void;

export class VirtualClock {
  private base: number;
  private realAnchor: number;
  private rate: number;
  private readonly real: RealTime;
  private readonly listeners = new Set<ClockListener>();

  constructor(opts: { start: number; speed?: number; real?: RealTime }) {
    if (!Number.isFinite(opts.start))
      throw new RangeError(`clock start must be a finite time, got ${opts.start}`);
    this.real = opts.real ?? (() => performance.now());
    this.base = opts.start;
    this.realAnchor = this.real();
    this.rate = checkSpeed(opts.speed ?? 1);
  }

  /** Virtual now, whole epoch milliseconds. */
  now(): number {
    if (this.rate === 0) return Math.floor(this.base);
    return Math.floor(this.base + (this.real() - this.realAnchor) * this.rate);
  }

  get speed(): number {
    return this.rate;
  }

  state(): ClockState {
    return { now: this.now(), speed: this.rate };
  }

  /** Jumps to `time` (forwards or backwards) and keeps running at the current speed. */
  set(time: number): void {
    if (!Number.isFinite(time)) throw new RangeError(`clock time must be finite, got ${time}`);
    const before = this.now();
    this.base = time;
    this.realAnchor = this.real();
    this.emit(before);
  }

  /** Moves now forward by `ms` virtual milliseconds (a manual step). */
  advance(ms: number): void {
    if (!(Number.isFinite(ms) && ms >= 0)) throw new RangeError(`clock step must be >= 0 ms, got ${ms}`);
    this.set(this.now() + ms);
  }

  setSpeed(speed: number): void {
    const before = this.now();
    this.base = before;
    this.realAnchor = this.real();
    this.rate = checkSpeed(speed);
    this.emit(before);
  }

  /** Called after every set, advance or speed change (not for the continuous flow of time). */
  onChange(listener: ClockListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(previous: number): void {
    const s = this.state();
    for (const l of this.listeners) l(s, previous);
  }
}

function checkSpeed(speed: number): number {
  if (!(Number.isFinite(speed) && speed >= 0)) throw new RangeError(`clock speed must be >= 0, got ${speed}`);
  return speed;
}
