import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, test } from "vitest";
import type { Frame } from "../../src/core/frame.js";
import type { ResolvedSet, RunOptions, SetRun } from "../../src/features/featureSets.js";
import type { Offloaded } from "../../src/features/setThreads.js";
import { chooseOffload, type PlannedSet } from "../../src/features/setThreads.js";
import { sampleCandles } from "../helpers/candles.js";
import { ROOT } from "../helpers/paths.js";

const talib = (reads: string[], writes: string[]): PlannedSet => ({
  isTalib: true,
  config: {},
  reads,
  writes,
  inputNames: reads,
});

describe("which sets a worker thread may take", () => {
  test("every talib set that reads no other set's outputs and whose outputs no later set reads", () => {
    const sets = [
      talib(["close"], ["a1", "a2", "a3", "a4", "a5"]),
      talib(["close"], ["b1", "b2"]),
      talib(["close"], ["c"]),
      talib(["high", "low", "close"], ["d"]),
      talib(["close"], ["e1", "e2", "e3"]),
      talib(["volume"], ["f"]),
    ];
    // Either thread may compute any of them: the calling thread takes them from the front, the
    // worker from the back, until they meet.
    expect(chooseOffload(5_000_000, sets, 2)).toEqual([true, true, true, true, true, true]);
  });

  test("never a set whose inputs another set writes, whose outputs a later set reads, or a custom one", () => {
    const sets = [
      talib(["close"], ["x1", "x2", "x3", "x4"]),
      talib(["x1"], ["y"]), // reads an earlier set's output
      { ...talib(["close"], ["z"]), isTalib: false }, // custom generator
      talib(["close"], ["w"]), // its output is read by the next set
      talib(["w"], ["v"]),
      talib(["volume"], ["u"]),
    ];
    expect(chooseOffload(5_000_000, sets, 2)).toEqual([false, false, false, false, false, true]);
    // A set replacing a column an earlier set reads can go: the earlier one reads the original
    // in this thread, as in one thread, and the replacement is placed after its outputs.
    const replacing = [talib(["close"], ["a", "b", "c"]), talib(["volume"], ["close"])];
    expect(chooseOffload(5_000_000, replacing, 2)).toEqual([false, true]);
    // The other way round, the reader of the replaced column stays here and so does the replacer.
    const reversed = [talib(["volume"], ["close"]), talib(["close"], ["a", "b", "c"])];
    expect(chooseOffload(5_000_000, reversed, 2)).toBeUndefined();
  });

  test("one thread, a small table, or a single set: no worker", () => {
    const sets = [talib(["close"], ["a", "b"]), talib(["close"], ["c", "d"])];
    expect(chooseOffload(5_000_000, sets, 1)).toBeUndefined();
    // 4 columns of 400,000 rows: ~24 ms in one thread, less than a worker takes to start.
    expect(chooseOffload(400_000, sets, 2)).toBeUndefined();
    expect(chooseOffload(1_000_000, sets, 2)).toEqual([true, true]);
    expect(chooseOffload(5_000_000, [talib(["close"], ["a"])], 2)).toBeUndefined();
  });
});

/**
 * The worker needs the compiled modules (vitest runs the TypeScript sources, where it is
 * absent), so this runs dist/, which the suite's global setup compiles.
 */
describe("feature sets split between two threads (compiled)", () => {
  interface Dist {
    Frame: typeof Frame;
    runSetsSync(frame: Frame, sets: readonly ResolvedSet[], opts?: RunOptions): SetRun[];
    runSets(frame: Frame, sets: readonly ResolvedSet[], opts?: RunOptions): Promise<SetRun[]>;
    fillGaps(x: Float64Array, policy: "ffill" | "linear"): Float64Array;
    startOffload(
      rows: number,
      sets: readonly PlannedSet[],
      column: (name: string) => Float64Array,
    ): Offloaded;
    frameInputs(set: ResolvedSet): string[];
    frameOutputs(set: ResolvedSet): string[];
    sets: ResolvedSet[];
  }
  let dist: Dist;
  let base: Frame;
  beforeAll(async () => {
    const load = (p: string) => import(pathToFileURL(resolve(ROOT, "dist", p)).href);
    const [frame, sets, fill, talibMod, threads] = await Promise.all([
      load("core/frame.js"),
      load("features/featureSets.js"),
      load("features/fill.js"),
      load("features/talib.js"),
      load("features/setThreads.js"),
    ]);
    const talibSet = (config: Record<string, unknown>, prefix = ""): ResolvedSet => ({
      name: "talib",
      generator: talibMod.talibGenerator,
      column_prefix: "",
      feature_prefix: prefix,
      config: { fill: "linear", ...config },
    });
    dist = {
      Frame: frame.Frame,
      runSetsSync: sets.runSetsSync,
      runSets: sets.runSets,
      fillGaps: fill.fillGaps,
      startOffload: threads.startOffload,
      frameInputs: sets.frameInputs,
      frameOutputs: sets.frameOutputs,
      sets: [
        talibSet({ columns: ["close"], functions: ["SMA"], windows: [5, 10, 20, 60, 120] }),
        talibSet({ columns: ["close"], functions: ["EMA"], windows: [12, 26] }),
        // Reads a column the first set writes: stays in the calling thread, after it.
        talibSet({ columns: ["close_SMA_5"], functions: ["RSI"], windows: [14] }),
        talibSet({ columns: ["close"], functions: ["LINEARREG_SLOPE"], windows: [10, 20, 60] }),
        talibSet({ columns: ["high", "low", "close"], functions: ["ATR"], windows: [14] }),
        talibSet({ columns: ["close"], functions: ["STDDEV"], windows: [20, 60] }),
        talibSet({
          columns: ["close"],
          functions: ["BBANDS"],
          windows: [20],
          args: { nbdevup: 2, nbdevdn: 2 },
        }),
        talibSet({ columns: ["close", "volume"], functions: ["OBV"] }),
        // Writes a column an earlier set writes too: the later one wins, as in one thread.
        talibSet({ columns: ["volume"], functions: ["SMA"], windows: [20], names: ["close_EMA_12"] }),
        // The same column filled the other way: one shared filled column per fill policy.
        talibSet({ columns: ["volume"], functions: ["SMA"], windows: [30], fill: "ffill" }),
      ],
    };
    // Feb-Apr 2023 three times over (384,480 rows: large enough for a worker) with gaps punched
    // in, so the inputs are filled (linearly) before use.
    const f = await sampleCandles(["2023-02", "2023-03", "2023-04"]);
    const n = f.length;
    const tile = (x: Float64Array, step: number): Float64Array => {
      const y = new Float64Array(3 * n);
      for (let k = 0; k < 3; k++) for (let i = 0; i < n; i++) y[k * n + i] = (x[i] as number) + k * step;
      return y;
    };
    base = new dist.Frame(
      tile(f.time, n * 60_000),
      ["open", "high", "low", "close", "volume"].map((c): [string, Float64Array] => {
        const x = tile(f.get(c), 0);
        for (let i = 5000; i < x.length; i += 7919) x[i] = Number.NaN;
        return [c, x];
      }),
    );
  });

  /** The planner's view of talib sets that only read the candles. */
  const plannedOf = (sets: readonly ResolvedSet[]): PlannedSet[] =>
    sets.map((s) => ({
      isTalib: true,
      config: s.config,
      reads: dist.frameInputs(s),
      writes: dist.frameOutputs(s),
      inputNames: s.generator.inputs(s.config),
    }));

  const copy = (f: Frame): Frame =>
    new dist.Frame(
      f.time,
      [...f.columns()].map(([c, x]) => [c, Float64Array.from(x)]),
    );

  function expectSame(a: Frame, b: Frame, runsA: SetRun[], runsB: SetRun[]): void {
    expect(a.columnNames).toEqual(b.columnNames);
    expect(runsA.map((r) => [r.name, r.columns])).toEqual(runsB.map((r) => [r.name, r.columns]));
    for (const c of a.columnNames) {
      expect(
        Buffer.from(a.get(c).buffer, a.get(c).byteOffset, a.get(c).byteLength).equals(
          Buffer.from(b.get(c).buffer, b.get(c).byteOffset, b.get(c).byteLength),
        ),
        c,
      ).toBe(true);
    }
  }

  test("the same columns, bit for bit and in the same order, as in one thread", async () => {
    const one = copy(base);
    const two = copy(base);
    const runsOne = dist.runSetsSync(one, dist.sets, { threads: 1 });
    const runsTwo = dist.runSetsSync(two, dist.sets, { threads: 2, evenWhenBusy: true, helper: "worker" });
    expectSame(one, two, runsOne, runsTwo);
    // The worker read the filled close from shared memory of its own, which stays the cached fill;
    // in one thread the outputs live in the run's column arena, whose filled close is not kept
    // after the run (it would keep the whole arena alive).
    const filledTwo = dist.fillGaps(two.get("close"), "linear");
    expect(filledTwo.buffer instanceof SharedArrayBuffer).toBe(true);
    expect(filledTwo.buffer).not.toBe(two.get("close_SMA_5").buffer);
    expect(one.get("close_SMA_5").buffer instanceof SharedArrayBuffer).toBe(true);
    expect(dist.fillGaps(one.get("close"), "linear").buffer instanceof SharedArrayBuffer).toBe(false);
    // The last set's column replaced the EMA's of the same name, in both runs.
    const alone = copy(base);
    dist.runSetsSync(alone, [dist.sets[8] as ResolvedSet], { threads: 1 });
    expect(two.get("close_EMA_12")).toEqual(alone.get("close_EMA_12"));

    const three = copy(base);
    const runsAsync = await dist.runSets(three, dist.sets, {
      threads: 2,
      evenWhenBusy: true,
      helper: "worker",
    });
    expectSame(one, three, runsOne, runsAsync);
  });

  test("the worker claims sets from the back, this thread from the front; wait returns exactly the worker's", async () => {
    // Sets 3..7 and 9 of the list read only the candles and feed no later set.
    const shared = [3, 4, 5, 6, 7, 9].map((i) => dist.sets[i] as ResolvedSet);
    const planned = plannedOf(shared);
    const frame = copy(base);
    const off = dist.startOffload(frame.length, planned, (c) => frame.get(c));
    // This thread starts late: the worker claims the last set first, then the ones before it.
    const deadline = Date.now() + 20_000;
    while (off.holder(shared.length - 2) !== 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const mine: number[] = [];
    for (let k = 0; k < shared.length; k++) if (off.claim(k)) mine.push(k);
    const theirs = shared.map((_, k) => k).filter((k) => !mine.includes(k));
    expect(theirs.length).toBeGreaterThanOrEqual(2);
    // The worker's are a suffix of the list, and each set is held by exactly one thread.
    expect(theirs).toEqual(shared.map((_, k) => k).slice(shared.length - theirs.length));
    expect(shared.map((_, k) => off.holder(k))).toEqual(shared.map((_, k) => (mine.includes(k) ? 1 : 2)));
    const got = off.wait();
    expect([...(got?.keys() ?? [])].sort()).toEqual(theirs);
    // Their outputs are those of a run in one thread, bit for bit.
    const one = copy(base);
    dist.runSetsSync(one, shared, { threads: 1 });
    for (const k of theirs) {
      const outs = got?.get(k)?.outputs ?? [];
      const names = dist.frameOutputs(shared[k] as ResolvedSet);
      expect(outs).toHaveLength(names.length);
      names.forEach((name, j) => {
        const a = one.get(name);
        const b = outs[j] as Float64Array;
        expect(
          Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(
            Buffer.from(a.buffer, a.byteOffset, a.byteLength),
          ),
          name,
        ).toBe(true);
      });
    }
  }, 60_000);

  test("a worker that has claimed nothing is not waited for", () => {
    const shared = [dist.sets[9] as ResolvedSet, dist.sets[3] as ResolvedSet];
    const planned = plannedOf(shared);
    const frame = copy(base);
    const off = dist.startOffload(frame.length, planned, (c) => frame.get(c));
    // Claimed at once, before the worker can have started.
    expect(off.claim(0)).toBe(true);
    expect(off.claim(1)).toBe(true);
    const t = performance.now();
    expect(off.wait()?.size).toBe(0);
    expect(performance.now() - t).toBeLessThan(50);
  });

  test("a set failing on this thread stops the run with its own error and cancels the worker", () => {
    const failing: ResolvedSet = {
      name: "./failing.mjs:fail",
      generator: {
        inputs: () => ["close"],
        outputs: () => ["bad"],
        warmup: () => 0,
        batch: () => {
          throw new Error("this set fails");
        },
      },
      column_prefix: "",
      feature_prefix: "",
      config: {},
    };
    const frame = copy(base);
    expect(() =>
      dist.runSetsSync(frame, [failing, ...dist.sets], { threads: 2, evenWhenBusy: true, helper: "worker" }),
    ).toThrow("this set fails");
    // Cancelled before the worker could claim: every shared set is left to this thread.
    const shared = [dist.sets[9] as ResolvedSet, dist.sets[3] as ResolvedSet];
    const planned = plannedOf(shared);
    const off = dist.startOffload(frame.length, planned, (c) => frame.get(c));
    off.cancel();
    expect(shared.map((_, k) => off.holder(k))).toEqual([1, 1]);
  });
});
