import { randomBytes } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { link, mkdir, open, readFile, rename, rm, stat, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage, interruption, LockedError } from "../core/errors.js";
import { type Logger, silentLogger } from "../core/log.js";
import { isoTime } from "../core/time.js";

/**
 * One writer per folder: a process that writes a market's files (`<data_folder>/<symbol>/`) or
 * a data source's klines (`<data_folder>/<source folder>/`) first takes the folder's write
 * lock, `<folder>/.itb/write.lock`. Readers take no lock: every write is atomic, so they see
 * the old file or the new one.
 *
 * The lock file is created with O_EXCL (one creator wins, on local and NFSv3+ file systems)
 * and holds JSON naming its holder: pid, host, command line, start time and, on Linux, the
 * kernel's boot id and the process's start time. A lock is stale, and is removed by the next
 * writer, when
 *
 *   - on this host: the boot id differs (written before a reboot), the pid is not running, or
 *     the pid now belongs to another process (its start time differs: pids are reused, and a
 *     restarted container's process often has the same pid as its predecessor);
 *   - on another host (a shared network folder), where its pid cannot be checked: its file has
 *     not been refreshed for `staleMs` (default 10 minutes). The holder refreshes the file's
 *     modification time every `refreshMs` (30 s), so this needs the hosts' clocks to agree to
 *     within minutes, and a holder whose event loop stalls for longer than `staleMs` can lose
 *     its lock;
 *   - it cannot be read as a holder (a creator killed between creating and writing it) and is
 *     older than 10 s.
 *
 * A stale lock is moved aside with rename(2) and checked: if what was moved is not the stale
 * lock that was judged (another process replaced it with a fresh one meanwhile), it is put
 * back. Inside one process the lock is re-entrant (counted), so the markets of one pipeline
 * may share a data source folder. It is released on every exit path: by `release()`, and by an
 * exit hook for a process that exits at once (a second Ctrl-C). A SIGKILL leaves the file,
 * which the rules above recognise as stale.
 */

/** The lock's path inside the folder it protects. */
export const LOCK_FILE = join(".itb", "write.lock");

export interface LockHolder {
  pid: number;
  hostname: string;
  command: string;
  /** When the lock was taken (ISO 8601). */
  started: string;
  /** Linux: /proc/sys/kernel/random/boot_id. */
  boot_id?: string;
  /** Linux: the process's start time in clock ticks after boot (/proc/<pid>/stat, field 22). */
  pid_start?: number;
}

export interface WriteLock {
  readonly folder: string;
  readonly file: string;
  readonly holder: LockHolder;
  /** True when this call took the lock; false when this process held it already (re-entrant). */
  readonly first: boolean;
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** Wait for the holder to finish instead of throwing LockedError. */
  wait?: boolean;
  /** Aborting stops the wait with the signal's InterruptedError. */
  signal?: AbortSignal;
  /** The command line recorded in the lock (default: this process's `itb …` arguments). */
  command?: string;
  log?: Logger;
  /** How often a waiter looks again (default 500 ms). */
  pollMs?: number;
  /** A lock of another host is stale after this long without a refresh (default 10 minutes). */
  staleMs?: number;
  /** How often the holder refreshes its lock file (default 30 s). */
  refreshMs?: number;
}

const DEFAULT_POLL_MS = 500;
const DEFAULT_STALE_MS = 10 * 60_000;
const DEFAULT_REFRESH_MS = 30_000;
/** A lock file that does not parse is being written (the creator writes right after O_EXCL) unless older than this. */
const UNREADABLE_GRACE_MS = 10_000;

interface Held {
  holder: LockHolder;
  text: string;
  count: number;
  timer?: NodeJS.Timeout;
}

/** Locks this process holds, by lock file. */
const held = new Map<string, Held>();
/** Acquisitions in progress, by lock file: a second caller in this process joins the first. */
const taking = new Map<string, Promise<Held>>();
let exitHookInstalled = false;

/**
 * Takes the write lock of `folder`: returns at once if this process holds it already,
 * otherwise creates it, removing a stale one, or throws LockedError naming the holder (with
 * `wait`: polls until it is free). The caller must `release()` it.
 */
export async function acquireWriteLock(folder: string, opts: AcquireOptions = {}): Promise<WriteLock> {
  const dir = resolve(folder);
  const file = join(dir, LOCK_FILE);
  const mine = held.get(file);
  if (mine !== undefined) {
    mine.count++;
    return handleOf(dir, file, mine, false);
  }
  const pending = taking.get(file);
  if (pending !== undefined) {
    const h = await pending;
    h.count++;
    return handleOf(dir, file, h, false);
  }
  const p = take(dir, file, opts);
  taking.set(file, p);
  try {
    return handleOf(dir, file, await p, true);
  } finally {
    taking.delete(file);
  }
}

function handleOf(folder: string, file: string, h: Held, first: boolean): WriteLock {
  let released = false;
  return {
    folder,
    file,
    holder: h.holder,
    first,
    release: async () => {
      if (released) return;
      released = true;
      h.count--;
      if (h.count > 0) return;
      clearInterval(h.timer);
      held.delete(file);
      // Only our own lock: after losing it as stale, the file may be another process's.
      const text = await readFile(file, "utf8").catch(() => undefined);
      if (text === h.text) await rm(file, { force: true });
    },
  };
}

async function take(dir: string, file: string, opts: AcquireOptions): Promise<Held> {
  const log = opts.log ?? silentLogger;
  const holder = selfHolder(opts.command ?? commandLine());
  const text = `${JSON.stringify(holder)}\n`;
  await mkdir(dirname(file), { recursive: true });
  let announced: string | undefined;
  for (;;) {
    if (opts.signal?.aborted) throw interruption(opts.signal, `stopped waiting for the write lock of ${dir}`);
    if (await createExclusive(file, text)) break;
    const current = await readLock(file);
    if (current === undefined) continue; // released between our attempt and the read
    const stale = staleReason(current, opts.staleMs ?? DEFAULT_STALE_MS);
    if (stale !== undefined) {
      if (await breakStale(file, current.text)) {
        log.warn({ folder: dir, holder: current.holder ?? null }, `removed a stale write lock: ${stale}`);
      }
      continue;
    }
    if (!opts.wait)
      throw new LockedError(`${describeHolder(current)} is writing ${dir}; wait for it, or pass --wait`, dir);
    if (announced !== current.text) {
      announced = current.text;
      log.info(
        { folder: dir, holder: current.holder ?? null },
        `waiting: ${describeHolder(current)} is writing ${dir}`,
      );
    }
    await sleep(opts.pollMs ?? DEFAULT_POLL_MS, undefined, { signal: opts.signal }).catch(() => undefined);
  }
  installExitHook();
  const h: Held = { holder, text, count: 1 };
  h.timer = setInterval(() => void refresh(file, h, log), opts.refreshMs ?? DEFAULT_REFRESH_MS);
  h.timer.unref();
  held.set(file, h);
  return h;
}

/** Keeps a lock fresh for other hosts (its mtime), and notices if it was taken away. */
async function refresh(file: string, h: Held, log: Logger): Promise<void> {
  try {
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text !== h.text) {
      clearInterval(h.timer);
      log.error(
        { file },
        "the write lock was removed by another process (judged stale); writes are no longer exclusive",
      );
      return;
    }
    const now = new Date();
    await utimes(file, now, now);
  } catch (err) {
    log.warn({ file, error: errorMessage(err) }, "could not refresh the write lock");
  }
}

/** O_EXCL creation; false when the file exists. The content is flushed before anyone relies on it. */
async function createExclusive(file: string, text: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, "wx");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(file, { force: true });
    throw err;
  }
  await handle.close();
  return true;
}

interface LockState {
  text: string;
  holder: LockHolder | undefined;
  mtimeMs: number;
}

async function readLock(file: string): Promise<LockState | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(file, "utf8"), stat(file)]);
    return { text, holder: parseHolder(text), mtimeMs: st.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== "number" || typeof v.hostname !== "string") return undefined;
    return {
      pid: v.pid,
      hostname: v.hostname,
      command: typeof v.command === "string" ? v.command : "?",
      started: typeof v.started === "string" ? v.started : "?",
      ...(typeof v.boot_id === "string" ? { boot_id: v.boot_id } : {}),
      ...(typeof v.pid_start === "number" ? { pid_start: v.pid_start } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Why the lock no longer protects anything, or undefined while its holder may still be writing. */
export function staleReason(lock: LockState, staleMs: number, now = Date.now()): string | undefined {
  const h = lock.holder;
  if (h === undefined) {
    return now - lock.mtimeMs > UNREADABLE_GRACE_MS
      ? "the lock file cannot be read (its creator died)"
      : undefined;
  }
  if (h.hostname !== hostname()) {
    const age = now - lock.mtimeMs;
    return age > staleMs
      ? `host ${h.hostname} has not refreshed it for ${Math.round(age / 60_000)} min (pid ${h.pid}, "${h.command}")`
      : undefined;
  }
  const boot = bootId();
  if (h.boot_id !== undefined && boot !== undefined && h.boot_id !== boot) {
    return `pid ${h.pid} ("${h.command}") took it before the system restarted`;
  }
  if (h.pid === process.pid) {
    // Not in `held` (the caller looked): a previous process with our pid, unless another thread of ours holds it.
    const start = processStart(process.pid);
    return h.pid_start !== undefined && h.pid_start === start
      ? undefined
      : `pid ${h.pid} ("${h.command}") was an earlier process with this process's pid`;
  }
  if (!isRunning(h.pid)) return `pid ${h.pid} ("${h.command}") is not running`;
  if (h.pid_start !== undefined) {
    const start = processStart(h.pid);
    if (start !== undefined && start !== h.pid_start) {
      return `pid ${h.pid} ("${h.command}") has exited; the pid now belongs to another process`;
    }
  }
  return undefined;
}

/** Moves the stale lock aside and removes it; puts it back if a fresh lock was moved instead. */
async function breakStale(file: string, staleText: string): Promise<boolean> {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
  const moved = await readFile(aside, "utf8").catch(() => undefined);
  if (moved !== staleText) {
    // Another process broke the stale lock and took the folder between our read and the rename.
    await link(aside, file).catch(() => undefined);
    await rm(aside, { force: true });
    return false;
  }
  await rm(aside, { force: true });
  return true;
}

function describeHolder(lock: LockState): string {
  const h = lock.holder;
  if (h === undefined) return "another itb process (its lock file is being written)";
  const host = h.hostname === hostname() ? "" : ` on ${h.hostname}`;
  return `another itb process (pid ${h.pid}${host}, ${JSON.stringify(h.command)}, since ${h.started})`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

let bootIdCache: string | null | undefined;
function bootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache ?? undefined;
}

function selfHolder(command: string): LockHolder {
  const boot = bootId();
  const start = processStart(process.pid);
  return {
    pid: process.pid,
    hostname: hostname(),
    command,
    started: isoTime(Date.now()),
    ...(boot === undefined ? {} : { boot_id: boot }),
    ...(start === undefined ? {} : { pid_start: start }),
  };
}

/** `itb <arguments>`, quoted where an argument needs it. */
export function commandLine(argv: readonly string[] = process.argv.slice(2)): string {
  return ["itb", ...argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a)))].join(" ");
}

/** A process that exits at once (process.exit) still removes the locks it holds. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const [file, h] of held) {
      try {
        if (readFileSync(file, "utf8") === h.text) unlinkSync(file);
      } catch {
        // already gone
      }
    }
  });
}
