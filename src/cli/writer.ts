import type { Config } from "../config/index.js";
import { interruption } from "../core/errors.js";
import { lockForWriting } from "../pipeline/writeLocks.js";
import type { Context } from "./context.js";
import { asInterruption, catchInterrupts } from "./interrupts.js";
import type { WriterOptions } from "./options.js";

/**
 * How every batch command that writes runs: interrupts caught (interrupts.ts), the write
 * locks of the folders it writes taken (src/pipeline/writeLocks.ts; another writer → exit 75,
 * or a wait with --wait), leftovers of killed runs removed, then the work; the locks are
 * released on every way out.
 */

export interface WriterRun {
  /** What the command writes: its market's folder, its data sources' folders. */
  writes: { market?: boolean; sources?: boolean };
  /** What the first interrupt does, e.g. "stopping after the file in flight". */
  stopping: string;
  /** The command's name, for the message when it finished before it could stop. */
  what: string;
}

/**
 * Runs `body` as a writer of `config`'s folders. An interrupt that `body` did not stop on
 * (the command has no safe point before its end, e.g. merge) still ends the command with
 * status 130/143, saying that its work is complete.
 */
export async function runWriter<T>(
  ctx: Context,
  config: Config,
  opts: WriterOptions,
  run: WriterRun,
  body: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const interrupts = catchInterrupts(ctx.log, run.stopping);
  const { signal } = interrupts;
  try {
    const held = await lockForWriting(
      [{ config, market: run.writes.market === true, sources: run.writes.sources === true }],
      { wait: opts.wait === true, signal, log: ctx.log },
    );
    let result: T;
    try {
      result = await body(signal);
    } catch (err) {
      throw asInterruption(err, signal);
    } finally {
      await held.release();
    }
    if (signal.aborted) throw interruption(signal, `${run.what} had finished; its output is complete`);
    return result;
  } finally {
    interrupts.dispose();
  }
}

/** A command that writes its market's folder and stops only when its work is done. */
export const marketWriter = (what: string): WriterRun => ({
  writes: { market: true },
  stopping: `finishing ${what} (it stops only when done; its writes are atomic)`,
  what,
});
