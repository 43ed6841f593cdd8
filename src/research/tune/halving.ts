/**
 * Asynchronous successive halving (ASHA; Li et al., "A system for massively parallel
 * hyperparameter tuning", MLSys 2020) with folds as the budget. Rungs are at 1, η, η², … folds
 * (below K, the full budget). A trial reports its value so far at each rung it reaches; once η
 * trials or more have reached that rung, a trial whose value is not among the best ⌊n/η⌋ of the
 * n that reached it is stopped ("pruned"). Nobody waits for a rung to fill: a trial is judged
 * against the trials that reached the rung before it, so threads never wait. The best value seen
 * at a rung always ranks first, so the best trial so far is never pruned.
 */
export class Halving {
  /** Fold counts at which a trial is judged, ascending. */
  readonly rungs: number[];
  private readonly reached: number[][];

  constructor(
    readonly eta: number,
    folds: number,
  ) {
    this.rungs = [];
    if (eta >= 2) for (let r = 1; r < folds; r *= eta) this.rungs.push(r);
    this.reached = this.rungs.map(() => []);
  }

  /** The values that reached each rung so far (a task on another machine is judged against them). */
  snapshot(): number[][] {
    return this.reached.map((r) => [...r]);
  }

  /** A copy of the rungs as `snapshot` gave them. */
  static from(eta: number, folds: number, reached: readonly (readonly number[])[]): Halving {
    const h = new Halving(eta, folds);
    reached.forEach((r, i) => {
      if (i < h.reached.length) (h.reached[i] as number[]).push(...r);
    });
    return h;
  }

  /** Records a value at the rung after `done` folds without judging it (a trial judged elsewhere). */
  add(done: number, value: number): void {
    const r = this.rungAt(done);
    if (r >= 0) (this.reached[r] as number[]).push(Number.isNaN(value) ? Number.NEGATIVE_INFINITY : value);
  }

  /** The rung judged after `done` folds, or -1. */
  rungAt(done: number): number {
    return this.rungs.indexOf(done);
  }

  /**
   * Records a trial's value after `done` folds; false when it is pruned there. A value that is
   * not a number (a fold without a score) is pruned once the rung is judged.
   */
  report(done: number, value: number): boolean {
    const r = this.rungAt(done);
    if (r < 0) return true;
    const list = this.reached[r] as number[];
    const v = Number.isNaN(value) ? Number.NEGATIVE_INFINITY : value;
    list.push(v);
    const n = list.length;
    if (n < this.eta) return true;
    const keep = Math.floor(n / this.eta);
    let better = 0;
    for (const x of list) if (x > v) better++;
    return better < keep;
  }
}
