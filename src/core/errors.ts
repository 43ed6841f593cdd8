/**
 * Every failure itb reports is an ItbError subclass. `action` tells the caller what to do:
 * `retry` (transient: rate limit, timeout), `skip` (one bad item, the rest can go on) or
 * `halt` (the input or setup is wrong; a person must act). User mistakes are printed as one
 * message without a stack trace; `exitCode` is the process status the CLI exits with.
 */
export type ErrorAction = "retry" | "skip" | "halt";

export class ItbError extends Error {
  readonly action: ErrorAction;
  readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown; action?: ErrorAction; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.action = options?.action ?? "halt";
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** A config file that cannot be read, parsed or validated. Exit status 2. */
export class ConfigError extends ItbError {
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, { ...options, action: "halt", exitCode: 2 });
    this.issues = issues;
  }
}

/** Wrong command-line usage. Exit status 2. */
export class UsageError extends ItbError {
  constructor(message: string) {
    super(message, { action: "halt", exitCode: 2 });
  }
}

/** A data file that is missing, truncated, corrupt or has a bad row; names the file (and row). */
export class DataError extends ItbError {
  readonly file: string | undefined;
  readonly row: number | undefined;
  constructor(
    message: string,
    where: { file?: string; row?: number } = {},
    options?: { cause?: unknown; action?: ErrorAction },
  ) {
    const place = [where.file, where.row === undefined ? undefined : `row ${where.row}`]
      .filter((s) => s !== undefined)
      .join(", ");
    super(place ? `${place}: ${message}` : message, { ...options, action: options?.action ?? "halt" });
    this.file = where.file;
    this.row = where.row;
  }
}

/** A checksum that does not match: the download or file is corrupt and nothing was written. */
export class ChecksumError extends DataError {}

/** A remote service failure; `action` says whether retrying can help. */
export class NetworkError extends ItbError {
  readonly status: number | undefined;
  constructor(message: string, options: { status?: number; action?: ErrorAction; cause?: unknown } = {}) {
    super(message, { action: options.action ?? "retry", cause: options.cause });
    this.status = options.status;
  }
}

/**
 * A worker thread that died or stalled without reporting an error of its own: killed, out of
 * memory, or stuck holding its part of a job. Exit status 1; nothing the input can fix, but
 * no bug in the input either (a bug thrown in a worker arrives as that error).
 */
export class WorkerError extends ItbError {}

/** The signals that interrupt a command, and the exit status each gives (128 + its number). */
export type InterruptSignal = "SIGINT" | "SIGTERM";

export function interruptExitCode(signal: InterruptSignal): number {
  return signal === "SIGTERM" ? 143 : 130;
}

/**
 * The user (Ctrl-C) or the system (SIGTERM) stopped a command. The message says what finished
 * and what did not; the exit status is 130 for SIGINT and 143 for SIGTERM, as a shell reports
 * a process killed by that signal.
 */
export class InterruptedError extends ItbError {
  readonly signal: InterruptSignal;
  constructor(signal: InterruptSignal, message = `interrupted by ${signal}`) {
    super(message, { action: "halt", exitCode: interruptExitCode(signal) });
    this.signal = signal;
  }
}

/** An InterruptedError with `detail` for an aborted signal (its reason names SIGINT or SIGTERM). */
export function interruption(signal: AbortSignal | undefined, detail: string): InterruptedError {
  const reason: unknown = signal?.reason;
  const sig = reason instanceof InterruptedError ? reason.signal : "SIGINT";
  return new InterruptedError(sig, `interrupted by ${sig}: ${detail}`);
}

/**
 * Another itb process holds the write lock of a folder. Exit status 75 (EX_TEMPFAIL of
 * sysexits.h: a temporary condition, try again later), so scripts can tell "busy" from a failure.
 */
export class LockedError extends ItbError {
  readonly folder: string;
  constructor(message: string, folder: string) {
    super(message, { action: "retry", exitCode: 75 });
    this.folder = folder;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A trading rule broken by the caller (a bad stake, an order the Trader cannot track). */
export class TradingError extends ItbError {}

/** The ledger refused a write (a candle recorded twice) or cannot be opened. */
export class LedgerError extends ItbError {}
