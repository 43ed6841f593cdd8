import { availableParallelism, cpus, loadavg } from "node:os";

/**
 * How busy the machine is with work other than this process, measured over the last second or
 * more rather than read from the 1-minute load average: that average trails a minute behind, so
 * a benchmark's own runs that ended seconds ago (two threads busy) keep it near 2 on two cores
 * and a run would leave a core idle for nothing. Busy time of every core (os.cpus(), from
 * /proc/stat on Linux) minus this process's CPU time (process.cpuUsage()), per wall-clock time.
 */
export interface CpuSample {
  /** Wall-clock milliseconds (performance.now()). */
  wall: number;
  /** Busy milliseconds summed over every core (user, nice, sys, irq). */
  busy: number;
  /** This process's CPU milliseconds (user + system, every thread). */
  own: number;
}

export function cpuSample(): CpuSample {
  let busy = 0;
  for (const c of cpus()) busy += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  const u = process.cpuUsage();
  return { wall: performance.now(), busy, own: (u.user + u.system) / 1000 };
}

/** Cores kept busy by other processes between two samples (never below 0). */
export function othersBusyCores(from: CpuSample, to: CpuSample): number {
  const wall = to.wall - from.wall;
  if (!(wall > 0)) return 0;
  return Math.max(0, (to.busy - from.busy - (to.own - from.own)) / wall);
}

/** Shortest window worth measuring: /proc/stat counts in 10 ms ticks per core. */
const MIN_WINDOW_MS = 500;
/** A window this long is replaced by the next call's, so the figure follows the machine. */
const RENEW_MS = 1000;

let base: CpuSample | undefined;

/** Starts the window the first estimate is measured over (called on import, and by tests). */
export function startCpuWindow(): void {
  base = cpuSample();
}
startCpuWindow();

/**
 * Cores busy with other processes' work, over the time since the window started (at least
 * MIN_WINDOW_MS; a window older than RENEW_MS starts again at this call). Before a window
 * long enough exists: the 1-minute load average less this process's own thread, the best
 * figure at hand.
 */
export function busyElsewhere(): number {
  const now = cpuSample();
  const from = base;
  if (from === undefined || now.wall - from.wall < MIN_WINDOW_MS) {
    return Math.max(0, (loadavg()[0] ?? 0) - 1);
  }
  if (now.wall - from.wall >= RENEW_MS) base = now;
  return othersBusyCores(from, now);
}

/**
 * A core to spare for a helper thread: other processes keep at most `cores − slack` cores busy
 * (busyElsewhere). The feature sets' helpers ask for a slack of 1.5, lc's kept worker for 1.
 */
export function idleCore(slack: number): boolean {
  return busyElsewhere() <= availableParallelism() - slack;
}
