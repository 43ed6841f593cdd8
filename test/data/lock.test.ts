import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InterruptedError, LockedError } from "../../src/core/errors.js";
import { removeLeftoverFiles } from "../../src/data/leftovers.js";
import { acquireWriteLock, commandLine, LOCK_FILE, processStart } from "../../src/data/lock.js";
import { capture } from "../helpers/capture.js";
import { ROOT } from "../helpers/paths.js";

/**
 * The write lock with real processes: children (running the compiled dist/data/lock.js) hold
 * folders while this process tries them; stale locks of dead, reused and remote holders; a
 * wait that ends when the holder does; mutual exclusion among writers started at once.
 */

let dir = "";
let n = 0;
const folder = () => join(dir, `f${++n}`);
const LOCK_JS = resolve(ROOT, "dist/data/lock.js");

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-lock-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A child process that takes the lock of `target`, prints "held", and runs `then` (JS, with `lock` in scope). */
function holder(target: string, then: string) {
  const code = `import { acquireWriteLock } from ${JSON.stringify(LOCK_JS)};
const lock = await acquireWriteLock(${JSON.stringify(target)}, { command: "itb test-holder", wait: true, pollMs: 20 });
process.stdout.write("held\\n");
${then}`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString();
  });
  let err = "";
  child.stderr.on("data", (b: Buffer) => {
    err += b.toString();
  });
  const held = new Promise<void>((ok, fail) => {
    child.stdout.on("data", () => {
      if (out.includes("held")) ok();
    });
    child.on("close", () => fail(new Error(`the holder ended: ${err}`)));
  });
  held.catch(() => undefined);
  const done = new Promise<number | null>((ok) => child.on("close", (code) => ok(code)));
  return { child, held, done, out: () => out };
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  return Number(r.stdout);
}

function writeLock(target: string, holder: object | string, ageMs = 0): string {
  const file = join(target, LOCK_FILE);
  mkdirSync(join(target, ".itb"), { recursive: true });
  writeFileSync(file, typeof holder === "string" ? holder : JSON.stringify(holder));
  const t = new Date(Date.now() - ageMs);
  utimesSync(file, t, t);
  return file;
}

describe("acquireWriteLock", () => {
  it("records the holder, is re-entrant within a process, and is removed by the last release", async () => {
    const f = folder();
    const a = await acquireWriteLock(f, { command: "itb test" });
    const file = join(f, ".itb", "write.lock");
    const holder = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    expect(holder).toMatchObject({ pid: process.pid, hostname: hostname(), command: "itb test" });
    expect(new Date(holder.started as string).toISOString()).toBe(holder.started);
    expect(holder.pid_start).toBe(processStart(process.pid));
    const b = await acquireWriteLock(f);
    expect([a.first, b.first]).toEqual([true, false]);
    await a.release();
    expect(existsSync(file)).toBe(true);
    await b.release();
    expect(existsSync(file)).toBe(false);
  });

  it("refuses a folder another process holds, naming it; with wait, takes it when the holder ends", async () => {
    const f = folder();
    const h = holder(
      f,
      "process.stdin.once('data', async () => { await lock.release(); process.exit(0); });",
    );
    await h.held;
    const err = await acquireWriteLock(f).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    const started = (JSON.parse(readFileSync(join(f, LOCK_FILE), "utf8")) as { started: string }).started;
    expect((err as LockedError).message).toBe(
      `another itb process (pid ${h.child.pid}, "itb test-holder", since ${started}) is writing ${f}; wait for it, or pass --wait`,
    );
    expect((err as LockedError).exitCode).toBe(75);

    const log = capture();
    const waiting = acquireWriteLock(f, { wait: true, pollMs: 20, log: log.log });
    await new Promise((r) => setTimeout(r, 300));
    expect(log.lines.map((l) => l.msg)).toEqual([
      `waiting: another itb process (pid ${h.child.pid}, "itb test-holder", since ${started}) is writing ${f}`,
    ]);
    h.child.stdin.write("go\n");
    const lock = await waiting;
    expect(await h.done).toBe(0);
    expect((JSON.parse(readFileSync(join(f, LOCK_FILE), "utf8")) as { pid: number }).pid).toBe(process.pid);
    await lock.release();
  });

  it("a wait ends with the signal's InterruptedError", async () => {
    const f = folder();
    const h = holder(f, "process.stdin.once('data', () => process.exit(0));");
    await h.held;
    const controller = new AbortController();
    const waiting = acquireWriteLock(f, { wait: true, pollMs: 20, signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    setTimeout(() => controller.abort(new InterruptedError("SIGTERM")), 100);
    const err = await waiting;
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).message).toBe(
      `interrupted by SIGTERM: stopped waiting for the write lock of ${f}`,
    );
    expect((err as InterruptedError).exitCode).toBe(143);
    h.child.stdin.write("go\n");
    await h.done;
  });

  it("one writer at a time among four processes started at once", async () => {
    const f = folder();
    const journal = join(dir, `journal-${n}`);
    writeFileSync(journal, "");
    const body = `import { appendFileSync } from "node:fs";
appendFileSync(${JSON.stringify(journal)}, "enter " + process.pid + "\\n");
await new Promise((r) => setTimeout(r, 100));
appendFileSync(${JSON.stringify(journal)}, "leave " + process.pid + "\\n");
await lock.release();`;
    const hs = Array.from({ length: 4 }, () => holder(f, body));
    expect(await Promise.all(hs.map((h) => h.done))).toEqual([0, 0, 0, 0]);
    const lines = readFileSync(journal, "utf8").trim().split("\n");
    expect(lines).toHaveLength(8);
    for (let i = 0; i < 8; i += 2) {
      const pid = (lines[i] as string).slice("enter ".length);
      expect([lines[i], lines[i + 1]]).toEqual([`enter ${pid}`, `leave ${pid}`]);
    }
    expect(new Set(lines.map((l) => l.split(" ")[1])).size).toBe(4);
    expect(existsSync(join(f, LOCK_FILE))).toBe(false);
  });

  it("a process that exits without releasing (a second Ctrl-C) removes its lock; a SIGKILL leaves a stale one", async () => {
    const f = folder();
    const exits = holder(f, "process.exit(3);");
    expect(await exits.done).toBe(3);
    expect(existsSync(join(f, LOCK_FILE))).toBe(false);

    const killed = holder(f, "setInterval(() => {}, 1000);");
    await killed.held;
    killed.child.kill("SIGKILL");
    await killed.done;
    expect(existsSync(join(f, LOCK_FILE))).toBe(true);
    const log = capture();
    const lock = await acquireWriteLock(f, { log: log.log });
    expect(log.lines.map((l) => [l.level, l.msg])).toEqual([
      ["warn", `removed a stale write lock: pid ${killed.child.pid} ("itb test-holder") is not running`],
    ]);
    await lock.release();
  });
});

describe("stale locks", () => {
  const here = (pid: number, extra: object = {}) => ({
    pid,
    hostname: hostname(),
    command: "itb pipeline --config old.jsonc",
    started: "2024-01-01T00:00:00.000Z",
    ...extra,
  });

  async function takenOver(f: string): Promise<string[]> {
    const log = capture();
    const lock = await acquireWriteLock(f, { log: log.log, staleMs: 60_000 });
    await lock.release();
    return log.lines.map((l) => l.msg ?? "");
  }

  it("a dead pid on this host", async () => {
    const f = folder();
    const pid = deadPid();
    writeLock(f, here(pid));
    expect(await takenOver(f)).toEqual([
      `removed a stale write lock: pid ${pid} ("itb pipeline --config old.jsonc") is not running`,
    ]);
  });

  it("a live pid whose process started at another time (the pid was reused)", async () => {
    const f = folder();
    const parent = process.ppid;
    writeLock(f, here(parent, { pid_start: (processStart(parent) ?? 0) + 1 }));
    expect(await takenOver(f)).toEqual([
      `removed a stale write lock: pid ${parent} ("itb pipeline --config old.jsonc") has exited; the pid now belongs to another process`,
    ]);
  });

  it("this process's own pid from an earlier process (a restarted container)", async () => {
    const f = folder();
    writeLock(f, here(process.pid, { pid_start: 1 }));
    expect(await takenOver(f)).toEqual([
      `removed a stale write lock: pid ${process.pid} ("itb pipeline --config old.jsonc") was an earlier process with this process's pid`,
    ]);
  });

  it("a lock from before the last reboot", async () => {
    const f = folder();
    writeLock(f, here(process.ppid, { boot_id: "00000000-0000-0000-0000-000000000000" }));
    expect(await takenOver(f)).toEqual([
      `removed a stale write lock: pid ${process.ppid} ("itb pipeline --config old.jsonc") took it before the system restarted`,
    ]);
  });

  it("another host's lock: held while refreshed, stale after staleMs without a refresh", async () => {
    const f = folder();
    const remote = { ...here(4242), hostname: "other-host" };
    const file = writeLock(f, remote, 30_000);
    const err = await acquireWriteLock(f, { staleMs: 60_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `another itb process (pid 4242 on other-host, "itb pipeline --config old.jsonc", since 2024-01-01T00:00:00.000Z) is writing ${f}; wait for it, or pass --wait`,
    );
    const t = new Date(Date.now() - 120_000);
    utimesSync(file, t, t);
    expect(await takenOver(f)).toEqual([
      'removed a stale write lock: host other-host has not refreshed it for 2 min (pid 4242, "itb pipeline --config old.jsonc")',
    ]);
  });

  it("an unreadable lock file is being written while young, stale when old", async () => {
    const f = folder();
    const file = writeLock(f, "");
    const err = await acquireWriteLock(f).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `another itb process (its lock file is being written) is writing ${f}; wait for it, or pass --wait`,
    );
    const t = new Date(Date.now() - 60_000);
    utimesSync(file, t, t);
    expect(await takenOver(f)).toEqual([
      "removed a stale write lock: the lock file cannot be read (its creator died)",
    ]);
  });

  it("a live holder on this host is not stale", async () => {
    const f = folder();
    writeLock(f, here(process.ppid, { pid_start: processStart(process.ppid) }));
    await expect(acquireWriteLock(f)).rejects.toBeInstanceOf(LockedError);
  });
});

describe("leftovers and the command line", () => {
  it("removes the temporary files of killed writers below a folder, and nothing else", async () => {
    const f = folder();
    const dead = deadPid();
    const files = {
      data: join(f, "data.parquet"),
      deadTmp: join(f, `.data.parquet.${dead}.0123456789ab.tmp`),
      nestedTmp: join(f, "MODELS", "high_10_lc", `.v0003.json.${dead}.ba9876543210.tmp`),
      staleAside: join(f, ".itb", "write.lock.stale-123-abcdef01"),
      ownTmp: join(f, `.features.parquet.${process.pid}.aaaaaaaaaaaa.tmp`),
      userTmp: join(f, "notes.tmp"),
    };
    for (const p of Object.values(files)) {
      mkdirSync(join(p, ".."), { recursive: true });
      writeFileSync(p, "x");
    }
    expect(await removeLeftoverFiles(f)).toEqual([files.deadTmp, files.staleAside, files.nestedTmp].sort());
    expect(
      Object.entries(files)
        .filter(([, p]) => existsSync(p))
        .map(([k]) => k),
    ).toEqual(["data", "ownTmp", "userTmp"]);
    expect(await removeLeftoverFiles(join(f, "absent"))).toEqual([]);
  });

  it("records the command line quoted where needed", () => {
    expect(commandLine(["pipeline", "--config", "a b.jsonc", "--symbols", "BTCUSDT,ETHUSDT"])).toBe(
      'itb pipeline --config "a b.jsonc" --symbols BTCUSDT,ETHUSDT',
    );
  });
});
