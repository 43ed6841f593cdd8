import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { types } from "node:util";
import { describe, expect, it } from "vitest";
import * as errors from "../../src/core/errors.js";
import { DataError, InterruptedError, ItbError, WorkerError } from "../../src/core/errors.js";
import { mapPool, type PoolOptions, runPool } from "../../src/core/workerPool.js";
import { ROOT } from "../helpers/paths.js";

/**
 * The worker pool with real worker threads: test/fixtures/workers/poolWorker.mjs runs the
 * compiled dist/ (built by the suite's global setup), so an error crosses from dist's classes
 * in the worker to the sources' classes here by its serialised form alone.
 */

const WORKER = pathToFileURL(resolve(ROOT, "test/fixtures/workers/poolWorker.mjs"));

type Task =
  | { kind: "double"; value: number; delayMs?: number }
  | { kind: "throw"; className: string; args: unknown[] }
  | { kind: "throwForeign" | "throwType" | "throwValue" | "spin" | "oom" }
  | { kind: "exit"; code: number };

interface Doubled {
  value: number;
  threadId: number;
}

/** Counters the workers keep in shared memory: workers started, tasks started, spins. */
function counters() {
  const c = new Int32Array(new SharedArrayBuffer(3 * 4));
  return {
    buffer: c.buffer,
    workers: () => Atomics.load(c, 0),
    tasks: () => Atomics.load(c, 1),
    spins: () => Atomics.load(c, 2),
  };
}

function pool(tasks: Task[], size: number, extra: Partial<PoolOptions<Task>> = {}) {
  const c = counters();
  const opts: PoolOptions<Task> = {
    url: WORKER,
    workerData: { counters: c.buffer },
    tasks,
    size,
    name: "test pool",
    ...extra,
  };
  return { opts, c };
}

/** The error a pool with one task rejects with. */
async function failure(task: Task, extra: Partial<PoolOptions<Task>> = {}): Promise<Error> {
  const { opts } = pool([task], 1, extra);
  const err = await mapPool(opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error(`expected the pool to fail with an Error, got ${String(err)}`);
  return err;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > 20_000) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe("worker pool: tasks and results", () => {
  it("starts min(size, tasks) workers, collects the results in task order whatever order they arrive in", async () => {
    // Later tasks finish first: task i sleeps (6 - i) × 40 ms.
    const tasks: Task[] = Array.from({ length: 6 }, (_, i) => ({
      kind: "double",
      value: i,
      delayMs: (6 - i) * 40,
    }));
    const { opts, c } = pool(tasks, 3);
    const arrivals: number[] = [];
    const results: Doubled[] = [];
    await runPool<Task, Doubled>(opts, (r, index) => {
      arrivals.push(index);
      results[index] = r;
    });
    expect(results.map((r) => r.value)).toEqual([0, 2, 4, 6, 8, 10]);
    expect([...arrivals].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(arrivals).not.toEqual([0, 1, 2, 3, 4, 5]);
    expect(c.workers()).toBe(3);
    expect(c.tasks()).toBe(6);
    // The first three tasks went to the three workers, one each.
    expect(new Set(results.slice(0, 3).map((r) => r.threadId)).size).toBe(3);
    expect(new Set(results.map((r) => r.threadId)).size).toBe(3);

    const mapped = await mapPool<Task, Doubled>(pool(tasks, 3).opts);
    expect(mapped.map((r) => r.value)).toEqual([0, 2, 4, 6, 8, 10]);
  });

  it("never starts more workers than tasks, and none for no task", async () => {
    const { opts, c } = pool([{ kind: "double", value: 21 }], 8);
    expect((await mapPool<Task, Doubled>(opts)).map((r) => r.value)).toEqual([42]);
    expect(c.workers()).toBe(1);
    const empty = pool([], 4);
    expect(await mapPool(empty.opts)).toEqual([]);
    expect(empty.c.workers()).toBe(0);
  });

  it("a worker gets its next task only once its last result has been handled", async () => {
    const tasks: Task[] = [0, 1, 2].map((value) => ({ kind: "double", value }));
    const { opts, c } = pool(tasks, 1);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const seen: number[] = [];
    const run = runPool<Task, Doubled>(opts, async (r, index) => {
      seen.push(r.value);
      if (index === 0) await held;
    });
    await until(() => seen.length === 1, "the first result");
    await sleep(200);
    expect(c.tasks()).toBe(1);
    release();
    await run;
    expect(seen).toEqual([0, 2, 4]);
    expect(c.tasks()).toBe(3);
  });
});

describe("worker pool: failure and abort stop every worker", () => {
  it("the first failure rejects with the task's error and terminates the other workers", async () => {
    const tasks: Task[] = [
      { kind: "spin" },
      { kind: "spin" },
      { kind: "throw", className: "DataError", args: ["bad", { file: "f.csv", row: 3 }] },
    ];
    const { opts, c } = pool(tasks, 3);
    const results: number[] = [];
    const err = await runPool<Task, unknown>(opts, (_, i) => {
      results.push(i);
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).message).toBe("f.csv, row 3: bad");
    expect(results).toEqual([]);
    // The spinning workers were terminated before the pool rejected: their counter stands still.
    const spins = c.spins();
    await sleep(150);
    expect(c.spins()).toBe(spins);
  });

  it("an error thrown by onResult rejects the pool and terminates its workers", async () => {
    const { opts, c } = pool([{ kind: "double", value: 1 }, { kind: "spin" }], 2);
    await expect(
      runPool<Task, Doubled>(opts, () => {
        throw new DataError("cannot store the result", { file: "store" });
      }),
    ).rejects.toThrow("store: cannot store the result");
    const spins = c.spins();
    await sleep(150);
    expect(c.spins()).toBe(spins);
  });

  it("aborting rejects with the signal's reason at once and terminates busy workers", async () => {
    const ac = new AbortController();
    const { opts, c } = pool([{ kind: "spin" }, { kind: "spin" }], 2, { signal: ac.signal });
    const run = mapPool(opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    await until(() => c.spins() > 1000 && c.tasks() === 2, "both workers to spin");
    const reason = new InterruptedError("SIGINT");
    const t0 = Date.now();
    ac.abort(reason);
    expect(await run).toBe(reason);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const spins = c.spins();
    await sleep(150);
    expect(c.spins()).toBe(spins);
  });

  it("an aborted signal starts no worker", async () => {
    const ac = new AbortController();
    const reason = new InterruptedError("SIGTERM");
    ac.abort(reason);
    const { opts, c } = pool([{ kind: "double", value: 1 }], 1, { signal: ac.signal });
    await expect(mapPool(opts)).rejects.toBe(reason);
    expect(c.workers()).toBe(0);
  });

  it("a worker that exits without an answer is a WorkerError naming the pool and the exit code", async () => {
    const err = await failure({ kind: "exit", code: 3 });
    expect(err).toBeInstanceOf(WorkerError);
    expect(err.message).toBe("test pool worker thread stopped (exit code 3) before its work was done");
    expect((err as WorkerError).exitCode).toBe(1);
  });

  it("a worker out of memory is a WorkerError that says so", async () => {
    const err = await failure({ kind: "oom" }, { resourceLimits: { maxOldGenerationSizeMb: 16 } });
    expect(err).toBeInstanceOf(WorkerError);
    expect(err.message).toMatch(/^test pool worker thread ran out of memory \(/);
  });
});

/** Constructor arguments of one sample of each ItbError class of src/core/errors.ts, with a cause where it takes one. */
const SAMPLES: Record<string, unknown[]> = {
  ItbError: ["base failure", { action: "skip", exitCode: 3, cause: new Error("root cause") }],
  ConfigError: [
    "config is wrong",
    ["a.b: expected a number", "c: unknown key"],
    { cause: new SyntaxError("json") },
  ],
  UsageError: ["--freq: bad value"],
  DataError: [
    "bad value",
    { file: "/d/BTCUSDT/matrix.parquet", row: 17 },
    { action: "skip", cause: new RangeError("NaN") },
  ],
  ChecksumError: ["checksum mismatch", { file: "/d/x.zip" }],
  NetworkError: ["HTTP 429", { status: 429, action: "retry", cause: new Error("too many requests") }],
  WorkerError: ["worker died", { cause: new Error("killed") }],
  LedgerError: ["candle 2023-01-01T00:00:00Z is recorded already", { action: "halt", exitCode: 4 }],
  InterruptedError: ["SIGTERM", "interrupted by SIGTERM: stopping"],
  LockedError: ["locked by pid 12", "/d/BTCUSDT"],
  TradingError: ["stake must be positive", { action: "skip" }],
};

type ErrorClass = new (...args: unknown[]) => ItbError;

const ITB_CLASSES = Object.entries(errors as Record<string, unknown>).filter(
  (e): e is [string, ErrorClass] =>
    typeof e[1] === "function" && (e[1] === ItbError || e[1].prototype instanceof ItbError),
);

describe("errors cross the thread boundary with their class, action, exit code and fields", () => {
  it("every ItbError class of src/core/errors.ts has a sample here", () => {
    expect(ITB_CLASSES.map(([name]) => name).sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  for (const [name, Cls] of ITB_CLASSES) {
    it(`${name} thrown in a worker arrives as a ${name}`, async () => {
      const args = SAMPLES[name] ?? [];
      const expected = new Cls(...args);
      const err = await failure({ kind: "throw", className: name, args });
      expect(Object.getPrototypeOf(err)).toBe(Cls.prototype);
      expect(types.isNativeError(err)).toBe(true);
      expect(err.message).toBe(expected.message);
      expect(err.name).toBe(name);
      const got = err as ItbError;
      expect(got.action).toBe(expected.action);
      expect(got.exitCode).toBe(expected.exitCode);
      // Every field: file, row, issues, status, signal, folder, ...
      expect({ ...got }).toEqual({ ...expected });
      if (expected.cause === undefined) expect("cause" in got).toBe(false);
      else {
        const cause = expected.cause as Error;
        expect(got.cause).toBeInstanceOf(cause.constructor as ErrorClass);
        expect((got.cause as Error).message).toBe(cause.message);
      }
      // The stack is the worker's: where the error was thrown.
      expect(got.stack).toMatch(/poolWorker\.mjs/);
    });
  }

  it("a DataError keeps its file and row (its message is not prefixed twice)", async () => {
    const err = (await failure({
      kind: "throw",
      className: "DataError",
      args: ["bad value", { file: "m.parquet", row: 4 }, { action: "skip" }],
    })) as DataError;
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toBe("m.parquet, row 4: bad value");
    expect([err.file, err.row, err.action, err.exitCode]).toEqual(["m.parquet", 4, "skip", 1]);
  });

  it("a subclass from another layer arrives as its nearest class of errors.ts, with its name and fields", async () => {
    const err = (await failure({ kind: "throwForeign" })) as DataError;
    expect(Object.getPrototypeOf(err)).toBe(DataError.prototype);
    expect(err.name).toBe("StepError");
    expect(err.message).toBe("matrix.parquet, row 7: bad step");
    expect([err.file, err.row, err.action, err.exitCode]).toEqual(["matrix.parquet", 7, "skip", 1]);
  });

  it("other errors arrive as themselves, not as ItbErrors, with the worker's stack", async () => {
    const t = await failure({ kind: "throwType" });
    expect(t).toBeInstanceOf(TypeError);
    expect(t).not.toBeInstanceOf(ItbError);
    expect(t.message).toBe("boom");
    expect(t.stack).toMatch(/^TypeError: boom\n/);
    expect(t.stack).toMatch(/poolWorker\.mjs/);
    const v = await failure({ kind: "throwValue" });
    expect(Object.getPrototypeOf(v)).toBe(Error.prototype);
    expect(v.message).toBe("a string, not an Error");
  });
});
