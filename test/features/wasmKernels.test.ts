import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { BENCH_FEATURE_SETS } from "../../src/bench/workload.js";
import { type WasmApi, wasmApi } from "../../src/core/wasm.js";
import { runSetsSync } from "../../src/features/featureSets.js";
import { fillGaps } from "../../src/features/fill.js";
import {
  ColumnArena,
  openArena,
  prefaultThreadId,
  SCRATCH_BYTES,
  startPrefaultThread,
  withArena,
} from "../../src/features/indicators/arena.js";
import { computeIndicator, getIndicator, resolveOptions } from "../../src/features/indicators/index.js";
import {
  MAX_LOOKBACK,
  runKernel,
  useWasmKernels,
  wasmKernelRuns,
} from "../../src/features/indicators/wasmKernels.js";
import { firstDifference } from "../helpers/bits.js";
import { sampleCandles } from "../helpers/candles.js";
import { type Columns, inputsOf, marchColumns, type Opts } from "./indicatorsOverlapHelpers.js";

let cols: Columns;
beforeAll(async () => {
  cols = await marchColumns();
});
afterEach(() => useWasmKernels(true));

/** The indicator through the wasm kernels and through their JavaScript twins: the same bits, output by output. */
function sameBothWays(name: string, inputs: Float64Array[], given: Opts, checkPath = true): void {
  const ind = getIndicator(name);
  const opts = resolveOptions(ind, given);
  useWasmKernels(true);
  const before = wasmKernelRuns();
  const wasm = computeIndicator(ind, inputs, opts);
  const viaWasm = wasmKernelRuns() > before;
  useWasmKernels(false);
  const js = computeIndicator(ind, inputs, opts);
  useWasmKernels(true);
  // Every long column goes through wasm unless the window reaches back further than MAX_LOOKBACK.
  if (checkPath)
    expect(viaWasm, `${name} ${JSON.stringify(given)} through wasm`).toBe(
      !((given.timeperiod ?? 0) > MAX_LOOKBACK + 1),
    );
  expect(wasm.length).toBe(js.length);
  wasm.forEach((w, j) => {
    expect(firstDifference(w, js[j] as Float64Array), `${name} ${JSON.stringify(given)} output ${j}`).toBe(
      -1,
    );
  });
}

const CASES: [string, Opts[]][] = [
  [
    "SMA",
    [
      { timeperiod: 5 },
      { timeperiod: 120 },
      { timeperiod: MAX_LOOKBACK + 1 },
      { timeperiod: MAX_LOOKBACK + 2 },
    ],
  ],
  ["SUM", [{ timeperiod: 30 }]],
  ["EMA", [{ timeperiod: 12 }, { timeperiod: 2 }]],
  ["RSI", [{ timeperiod: 14 }, { timeperiod: 2 }]],
  ["CMO", [{ timeperiod: 14 }]],
  ["VAR", [{ timeperiod: 20 }]],
  [
    "STDDEV",
    [
      { timeperiod: 20, nbdev: 1 },
      { timeperiod: 60, nbdev: 2.5 },
    ],
  ],
  [
    "BBANDS",
    [
      { timeperiod: 20, nbdevup: 2, nbdevdn: 1.5 },
      { timeperiod: 20, matype: 1 },
    ],
  ],
  ["ATR", [{ timeperiod: 14 }]],
  ["NATR", [{ timeperiod: 14 }]],
  ["OBV", [{}]],
  ["MOM", [{ timeperiod: 10 }, { timeperiod: 1 }]],
  ["LINEARREG_SLOPE", [{ timeperiod: 10 }, { timeperiod: 60 }, { timeperiod: 2 }]],
  ["LINEARREG", [{ timeperiod: 14 }]],
  ["LINEARREG_INTERCEPT", [{ timeperiod: 14 }]],
  ["TSF", [{ timeperiod: 14 }]],
];

describe("the wasm indicator kernels equal their JavaScript twins bit for bit", () => {
  test.each(CASES)("%s on March 2023 BTCUSDT 1m (44,560 rows, 11 chunks)", (name, list) => {
    for (const given of list) sameBothWays(name, inputsOf(getIndicator(name), cols), given);
  });

  test("across gaps, a zero close, an unchanged price with an infinite volume, and tiny columns", () => {
    const [high, low, close, volume] = (["high", "low", "close", "volume"] as const).map((k) =>
      (cols[k] as Float64Array).slice(0, 9000),
    ) as [Float64Array, Float64Array, Float64Array, Float64Array];
    close.fill(Number.NaN, 5000, 5003);
    close[7000] = 0;
    close[8001] = close[8000] as number;
    volume[8001] = Number.POSITIVE_INFINITY;
    volume[6000] = Number.NaN;
    for (const [name, given] of CASES.flatMap(([n, l]) => l.slice(0, 1).map((g) => [n, g] as const))) {
      const ind = getIndicator(name);
      const all: Record<string, Float64Array> = { real: close, close, high, low, volume };
      sameBothWays(
        name,
        ind.inputs.map((i) => all[i] as Float64Array),
        given,
      );
      for (const n of [0, 1, 15, 4096 + 20])
        sameBothWays(
          name,
          ind.inputs.map((i) => (all[i] as Float64Array).subarray(0, n)),
          given,
          n > 4096,
        );
    }
  });

  test("windows longer than MAX_LOOKBACK are left to the JavaScript twins; a wrong state is a bug", () => {
    const x = (cols.close as Float64Array).slice(0, 10_000);
    const out = new Float64Array(x.length);
    expect(runKernel("sum", [x], [out], MAX_LOOKBACK, MAX_LOOKBACK, new Float64Array(1), 1)).toBe(true);
    expect(runKernel("sum", [x], [out], MAX_LOOKBACK + 1, MAX_LOOKBACK + 1, new Float64Array(1), 1)).toBe(
      false,
    );
    expect(runKernel("sum", [x], [out], 0, 5, new Float64Array(1), 1)).toBe(false);
    expect(() => runKernel("sum", [x], [out], 5, 5, new Float64Array(2), 1)).toThrow(
      "wasm kernel sum: 2 state values given, it keeps 1",
    );
    useWasmKernels(false);
    expect(runKernel("sum", [x], [out], 5, 5, new Float64Array(1), 1)).toBe(false);
  });

  test("in a run's column arena the kernels read and write the columns in place: the same bits", () => {
    const rows = (cols.close as Float64Array).length;
    const pages = Math.ceil((6 * 65536 + 12 * 8 * (rows + 8)) / 65536);
    for (const [name, list] of CASES) {
      const ind = getIndicator(name);
      const given = list[0] as Opts;
      const opts = resolveOptions(ind, given);
      const plain = inputsOf(ind, cols);
      const want = computeIndicator(ind, plain, opts);
      // Every input in the arena, none, or only the first (ATR's high, OBV's close): mixed runs.
      for (const placed of ["all", "none", "first"] as const) {
        const api = wasmApi() as WasmApi;
        const arena = new ColumnArena(new api.Memory({ initial: pages, maximum: pages, shared: true }));
        const inputs = plain.map((x, j) => {
          if (placed === "none" || (placed === "first" && j > 0)) return x;
          const y = arena.alloc(x.length) as Float64Array;
          y.set(x);
          return y;
        });
        const got = withArena(arena, () => computeIndicator(ind, inputs, opts));
        got.forEach((g, j) => {
          expect(arena.holds(g), `${name} output ${j} in the arena`).toBe(true);
          expect(firstDifference(g, want[j] as Float64Array), `${name} output ${j}`).toBe(-1);
        });
      }
    }
  });

  test("a gap fill made in a run's arena is cached for that run only (it would keep the arena alive)", () => {
    const close = cols.close as Float64Array;
    const x = new Float64Array(70_000); // March twice over: an arena needs 65,536 rows
    x.set(close);
    x.set(close.subarray(0, x.length - close.length), close.length);
    x[100] = Number.NaN;
    const arena = openArena(x.length, 4) as ColumnArena;
    const inRun = withArena(arena, () => fillGaps(x, "ffill"));
    expect(arena.holds(inRun)).toBe(true);
    expect(withArena(arena, () => fillGaps(x, "ffill"))).toBe(inRun);
    arena.close();
    const after = fillGaps(x, "ffill");
    expect(arena.holds(after)).toBe(false);
    expect(firstDifference(after, inRun)).toBe(-1);
  });

  test("an arena: none for small tables, columns until it is full, then the heap; restored after a throw", () => {
    expect(openArena(1000, 5)).toBeUndefined();
    const arena = openArena(70_000, 2) as ColumnArena;
    expect(arena).toBeDefined();
    const a = arena.alloc(70_000) as Float64Array;
    const b = arena.alloc(70_000) as Float64Array;
    expect(a.length).toBe(70_000);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + a.byteLength);
    expect(b.byteOffset % 64).toBe(0);
    expect([arena.holds(a), arena.holds(b), arena.holds(new Float64Array(3))]).toEqual([true, true, false]);
    expect(arena.alloc(70_000)).toBeUndefined();
    // A full arena: the outputs come from the heap, with the same numbers.
    const x = (cols.close as Float64Array).slice(0, 40_000);
    const sma = getIndicator("SMA");
    const opts = resolveOptions(sma, { timeperiod: 30 });
    const [inFull] = withArena(arena, () => computeIndicator(sma, [x], opts)) as [Float64Array];
    expect(arena.holds(inFull)).toBe(false);
    expect(firstDifference(inFull, computeIndicator(sma, [x], opts)[0] as Float64Array)).toBe(-1);
    expect(() =>
      withArena(arena, () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    const after = computeIndicator(sma, [x], opts)[0] as Float64Array;
    expect(after.buffer instanceof SharedArrayBuffer).toBe(false);
  });
});

describe("an arena's prefault thread", () => {
  test("one per thread, started ahead of a run or by its first arena, then kept for the next", () => {
    expect(prefaultThreadId()).toBeUndefined();
    startPrefaultThread(true);
    const id = prefaultThreadId();
    expect(id).toBeGreaterThan(0);
    for (let k = 0; k < 2; k++) {
      const arena = openArena(70_000, 2) as ColumnArena;
      expect(arena.prefault(true)).toBe(true);
      expect(prefaultThreadId()).toBe(id);
      arena.close();
    }
    startPrefaultThread(true);
    expect(prefaultThreadId()).toBe(id);
  });

  test("columns written while it runs keep their values", async () => {
    const rows = 70_000;
    for (let round = 0; round < 3; round++) {
      const arena = openArena(rows, 12) as ColumnArena;
      expect(arena.prefault(true)).toBe(true);
      // Until it starts touching pages (a worker takes tens of ms to start).
      for (let t = 0; t < 200 && arena.prefaulted() === 0; t++) await new Promise((r) => setTimeout(r, 10));
      expect(arena.prefaulted()).toBeGreaterThan(0);
      const cols: Float64Array[] = [];
      for (let c = 0; c < 12; c++) {
        const x = arena.alloc(rows) as Float64Array;
        // Values whose low 32 bits are 0 (integers, 0, −0) and others, written while it runs.
        for (let i = 0; i < rows; i++) x[i] = i % 3 === 0 ? i : i % 3 === 1 ? i + 0.1 : -0;
        cols.push(x);
      }
      await new Promise((r) => setTimeout(r, 20));
      arena.close();
      cols.forEach((x) => {
        for (let i = 0; i < rows; i++) {
          const want = i % 3 === 0 ? i : i % 3 === 1 ? i + 0.1 : -0;
          if (!Object.is(x[i], want)) expect(`${i}: ${x[i]}`).toBe(`${i}: ${want}`);
        }
      });
      expect(arena.prefaulted()).toBeLessThanOrEqual(Math.ceil((12 * 8 * rows + 6 * 65536) / 4096) + 1);
    }
  });

  /** Polls until the prefault thread's page count stops moving (or 5 s pass); returns it. */
  async function settled(arena: ColumnArena): Promise<number> {
    let last = -1;
    for (let t = 0; t < 100; t++) {
      await new Promise((r) => setTimeout(r, 50));
      const now = arena.prefaulted();
      if (now === last && now > 0) return now;
      last = now;
    }
    return last;
  }

  test("its compare-and-exchange of 0 for 0 leaves any value already in a page as it is", async () => {
    const arena = openArena(70_000, 12) as ColumnArena;
    // Values put past the columns handed out, where it touches pages: the first double of each
    // page holds the word it exchanges (its low 32 bits: 0 for 2, 0 and -0, not for 2.1).
    const raw = new Float64Array(arena.memory.buffer);
    const first = SCRATCH_BYTES / 8;
    const pages = 1500;
    const want = (p: number) => [2.1, 2, 0, -0, p + 0.1, -p][p % 6] as number;
    for (let p = 0; p < pages; p++) raw[first + 512 * p] = want(p);
    expect(arena.prefault(true)).toBe(true);
    expect(await settled(arena)).toBeGreaterThanOrEqual(pages);
    arena.close();
    for (let p = 0; p < pages; p++)
      if (!Object.is(raw[first + 512 * p], want(p)))
        expect(`page ${p}: ${raw[first + 512 * p]}`).toBe(`${want(p)}`);
  });

  test("it keeps within 16 MB of the columns handed out, and follows them", async () => {
    const rows = 70_000;
    const arena = openArena(rows, 80) as ColumnArena; // 45 MB
    expect(arena.prefault(true)).toBe(true);
    const lead = (16 * 2 ** 20) / 4096;
    const before = await settled(arena);
    expect(before).toBeLessThanOrEqual(lead + 1);
    expect(before).toBeGreaterThanOrEqual(lead - 97); // the scratch space's pages are not its to touch
    for (let c = 0; c < 20; c++) arena.alloc(rows);
    const after = await settled(arena);
    expect(after).toBeGreaterThan(before);
    expect(after).toBeLessThanOrEqual(Math.ceil((20 * 8 * rows) / 4096) + lead + 1);
    arena.close();
  });

  test("a feature run with it gives the same columns as a run in one thread", async () => {
    const base = await sampleCandles(["2023-02", "2023-03"]);
    expect(base.length).toBeGreaterThan(65_536);
    const one = base.slice(0);
    const helped = base.slice(0);
    const twins = base.slice(0);
    runSetsSync(one, BENCH_FEATURE_SETS, { threads: 1 });
    // Default threads, a core taken as idle: the arena's prefault thread, not a worker computing sets.
    runSetsSync(helped, BENCH_FEATURE_SETS, { evenWhenBusy: true });
    // And the JavaScript twins alone, in one thread.
    useWasmKernels(false);
    runSetsSync(twins, BENCH_FEATURE_SETS, { threads: 1 });
    useWasmKernels(true);
    expect(helped.columnNames).toEqual(one.columnNames);
    for (const c of one.columnNames) {
      expect(firstDifference(helped.get(c), one.get(c)), c).toBe(-1);
      expect(firstDifference(twins.get(c), one.get(c)), c).toBe(-1);
    }
    expect(helped.get("close_SMA_5").buffer instanceof SharedArrayBuffer).toBe(true);
  });
});
