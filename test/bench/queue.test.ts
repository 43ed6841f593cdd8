import { describe, expect, it } from "vitest";
import { accountQueueRun, type JobTiming } from "../../src/bench/queue.js";

/**
 * The queue bench's arithmetic on recorded job timestamps: two markets of two stages each (a2
 * waits for a1, b2 for b1), enqueued at 0 ms; times as BullMQ records them.
 */
function jobs(workerOf: Record<string, number>): JobTiming[] {
  const job = (
    id: string,
    processedOn: number,
    stageSeconds: number,
    child?: string,
    storageSeconds?: number,
  ) => ({
    id,
    ...(child === undefined ? {} : { child }),
    timestamp: 0,
    processedOn,
    finishedOn: processedOn + 1000,
    stageSeconds,
    ...(storageSeconds === undefined ? {} : { storageSeconds }),
    worker: workerOf[id] as number,
  });
  return [
    job("a1", 10, 0.9),
    job("b1", 1030, 0.95),
    job("a2", 2040, 0.9, "a1"),
    job("b2", 3045, 1.0, "b1", 0.2),
  ];
}

describe("accountQueueRun", () => {
  it("one worker: pickup counts from when the job was ready and the worker free, not the wait behind other jobs", () => {
    const a = accountQueueRun(jobs({ a1: 0, b1: 0, a2: 0, b2: 0 }), 1);
    expect(a).toEqual({
      jobs: 4,
      wall_s: 4.045,
      stage_s: 3.75,
      storage_s: 0.2,
      busy_s: 4,
      in_job_overhead_s: 0.25,
      // a1 10 ms after enqueue, b1 20 ms after a1 ended, a2 10 ms after b1, b2 5 ms after a2
      pickup_s: 0.045,
      // ready → start, including the waits behind the other market's jobs
      queued_s: 3.085,
      overhead_share: 0.073, // (0.25 + 0.045) / 4.045
      storage_share: 0.049,
      utilisation: 0.989,
    });
  });

  it("two workers: a worker idle while a job was ready counts the whole wait as pickup", () => {
    // Each worker logged its job 5 ms after taking it and the stage's end 20 ms after the stage.
    const list = jobs({ a1: 0, a2: 0, b1: 1, b2: 1 }).map((j) => ({
      ...j,
      logged: { started: j.processedOn + 5, ran: j.processedOn + 5 + j.stageSeconds * 1000 + 20 },
    }));
    const a = accountQueueRun(list, 2);
    expect(a.in_job_overhead_s).toBe(0.25);
    expect(a.in_job_itb_s).toBe(0.08);
    expect(a.pickup_s).toBe(3.085);
    expect(a.queued_s).toBe(3.085);
    expect(a.utilisation).toBe(0.494);
    expect(a.overhead_share).toBe(0.471); // (0.25 + 3.085) / (3.75 + 0.25 + 3.085)
    // Workers that report no storage seconds: none is claimed.
    const bare = accountQueueRun(
      list.map(({ storageSeconds: _, ...j }) => j),
      2,
    );
    expect(bare.storage_s).toBeUndefined();
    expect(bare.storage_share).toBeUndefined();
  });

  it("storage seconds split into pulls (inside the stages' seconds) and publishing (after them), when every reporting job splits them", () => {
    const list = jobs({ a1: 0, b1: 0, a2: 0, b2: 0 }).map((j, i) => ({
      ...j,
      storageSeconds: 0.1 * (i + 1),
      storagePublishSeconds: 0.04 * (i + 1),
    }));
    const a = accountQueueRun(list, 1);
    expect(a.storage_s).toBe(1); // 0.1 + 0.2 + 0.3 + 0.4
    expect(a.storage_publish_s).toBe(0.4);
    expect(a.storage_pull_s).toBe(0.6);
    expect(a.storage_share).toBe(0.247); // 1 / 4.045
    // A worker that reports the total only: no split is made up.
    const old = accountQueueRun(
      list.map((j, i) => (i === 3 ? { ...j, storagePublishSeconds: undefined } : j)),
      1,
    );
    expect(old.storage_s).toBe(1);
    expect(old.storage_pull_s).toBeUndefined();
    expect(old.storage_publish_s).toBeUndefined();
  });

  it("a job whose child is not among the jobs is an error, not a wrong figure", () => {
    const list = jobs({ a1: 0, b1: 0, a2: 0, b2: 0 }).filter((j) => j.id !== "a1");
    expect(() => accountQueueRun(list, 1)).toThrow("job a2: its child a1 is not among the jobs");
  });
});
