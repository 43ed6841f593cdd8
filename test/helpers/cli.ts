import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { ROOT } from "./paths.js";

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (bin/itb over the compiled dist/) as a child process. */
export function itb(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const r = spawnSync(process.execPath, [resolve(ROOT, "bin/itb"), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface CliExit {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliProcess {
  child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr (or stdout) matches `pattern`; rejects after `timeoutMs` or when the process ends first. */
  waitFor(pattern: RegExp, opts?: { stream?: "stdout" | "stderr"; timeoutMs?: number }): Promise<void>;
  done: Promise<CliExit>;
}

/** Starts the real CLI as a child process without waiting (for signals and concurrent runs). */
/** Children still running when the test file's process exits are killed (a failed test may leave one waiting). */
const running = new Set<ReturnType<typeof spawn>>();
process.once("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

export function spawnItb(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): CliProcess {
  const child = spawn(process.execPath, [resolve(ROOT, "bin/itb"), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.on("exit", () => running.delete(child));
  let out = "";
  let err = "";
  let ended = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
    notify();
  });
  child.stderr?.on("data", (b: Buffer) => {
    err += b.toString();
    notify();
  });
  const done = new Promise<CliExit>((ok) => {
    child.on("close", (status, signal) => {
      ended = true;
      notify();
      ok({ status, signal, stdout: out, stderr: err });
    });
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    done,
    waitFor: (pattern, o = {}) =>
      new Promise<void>((ok, fail) => {
        const text = () => (o.stream === "stdout" ? out : err);
        const timer = setTimeout(() => {
          listeners.delete(check);
          fail(new Error(`timed out waiting for ${pattern}; stderr so far:\n${err}`));
        }, o.timeoutMs ?? 60_000);
        function check() {
          if (pattern.test(text())) {
            clearTimeout(timer);
            listeners.delete(check);
            ok();
          } else if (ended) {
            clearTimeout(timer);
            listeners.delete(check);
            fail(new Error(`the process ended before ${pattern}; stderr:\n${err}`));
          }
        }
        listeners.add(check);
        check();
      }),
  };
}
