import { InterruptedError, type InterruptSignal, interruptExitCode } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { restoreTerminal } from "./progress.js";

/**
 * Ctrl-C (SIGINT) and SIGTERM, one mechanism for every long command. The first signal aborts
 * the command's AbortSignal, whose reason is an InterruptedError naming the signal: the work
 * stops at its next safe point (the pipeline after its stages in flight, import after the
 * file in flight, download after the request in flight, predict-rolling and simulate by
 * terminating their worker threads), keeps what is complete, says what finished and what did
 * not, and the process exits 130 (SIGINT) or 143 (SIGTERM). A second signal quits at once
 * with the same status: progress bars are stopped (cursor shown, line ended), the exit hook
 * of src/data/lock.ts removes the write locks, and since every write is atomic no file is left
 * half-written; a temporary file of a write in flight is removed by the next writer.
 */

export interface Interrupts {
  readonly signal: AbortSignal;
  /** Stops listening: a later signal has its default effect again. */
  dispose(): void;
}

/**
 * Listens for SIGINT and SIGTERM. `stopping` says what the command does on the first one
 * ("stopping after the file in flight"); `before` runs before anything is written (a caller
 * with an open output line ends it).
 */
export function catchInterrupts(log: Logger, stopping: string, before?: () => void): Interrupts {
  const controller = new AbortController();
  const onSignal = (received: NodeJS.Signals) => {
    const sig: InterruptSignal = received === "SIGTERM" ? "SIGTERM" : "SIGINT";
    before?.();
    if (!controller.signal.aborted) {
      log.warn({ signal: sig }, `interrupted: ${stopping} (again to quit at once)`);
      controller.abort(new InterruptedError(sig));
      return;
    }
    restoreTerminal();
    process.stderr.write(`interrupted again by ${sig}: quitting at once\n`);
    process.exit(interruptExitCode(sig));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
    },
  };
}

/** The signal's InterruptedError when an error was caused by the abort (a fetch's AbortError), else the error. */
export function asInterruption(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted && !(err instanceof InterruptedError) && isAbortError(err)) return signal.reason;
  return err;
}

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === "AbortError";
}

/** Resolves at the first SIGINT or SIGTERM: a server command (itb sim, itb telegram-sim) then closes and exits. */
export function untilStopped(): Promise<void> {
  return new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
