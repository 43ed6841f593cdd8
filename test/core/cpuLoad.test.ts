import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, test } from "vitest";
import { busyElsewhere, cpuSample, othersBusyCores, startCpuWindow } from "../../src/core/cpuLoad.js";

describe("cpuLoad: cores kept busy by other processes", () => {
  test("busy time of all cores less this process's, per wall-clock time", () => {
    const a = { wall: 1000, busy: 50_000, own: 2_000 };
    expect(othersBusyCores(a, { wall: 2000, busy: 51_500, own: 2_600 })).toBeCloseTo(0.9, 12);
    // this process alone: nothing elsewhere; counters that disagree by a tick never go negative
    expect(othersBusyCores(a, { wall: 2000, busy: 50_990, own: 3_000 })).toBe(0);
    expect(othersBusyCores(a, { ...a })).toBe(0);
  });

  test("a process spinning beside this one counts as about one busy core", async () => {
    const child = spawn(process.execPath, [
      "-e",
      "const end = Date.now() + 3000; while (Date.now() < end) {}",
    ]);
    try {
      await sleep(300); // the child is up and spinning
      const from = cpuSample();
      await sleep(1200); // this process idle meanwhile
      const to = cpuSample();
      // other test files may keep the second core busy too: at least the child's core
      expect(othersBusyCores(from, to)).toBeGreaterThan(0.75);
    } finally {
      child.kill();
    }
  });

  test("every core's busy time includes this process's own, which is left out", () => {
    const from = cpuSample();
    // half a second of this thread's CPU (longer in wall-clock time on a busy machine)
    const end = performance.now() + 10_000;
    while (cpuSample().own - from.own < 500 && performance.now() < end) {
      // spin on this thread
    }
    const to = cpuSample();
    expect(to.own - from.own).toBeGreaterThanOrEqual(500);
    // the cores' counters tick in 10 ms steps per core
    expect(to.busy - from.busy).toBeGreaterThan(to.own - from.own - 50);
    expect(othersBusyCores(from, to)).toBeCloseTo(
      Math.max(0, (to.busy - from.busy - (to.own - from.own)) / (to.wall - from.wall)),
      12,
    );
  });

  test("before a window of half a second: the load average less this process's thread", () => {
    startCpuWindow();
    expect(busyElsewhere()).toBeCloseTo(Math.max(0, (loadavg()[0] as number) - 1), 1);
  });
});
