import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { ROOT } from "./paths.js";

export interface PtyRun {
  status: number | null;
  /** Every byte the program wrote to the terminal (stdout and stderr, as a terminal shows them). */
  output: string;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Runs the real CLI (bin/itb) on a pseudo-terminal of `cols` × `rows`, through util-linux's
 * `script`, so stdout and stderr are TTYs as in a user's terminal. Asynchronous, so a simulator
 * in the test's own process can answer the CLI's requests meanwhile.
 */
export function itbInPty(
  args: readonly string[],
  opts: { cols?: number; rows?: number; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<PtyRun> {
  return inPty([process.execPath, resolve(ROOT, "bin/itb"), ...args].map(quote).join(" "), opts);
}

/** A shell command line on a pseudo-terminal (see itbInPty). */
export function inPty(
  command: string,
  opts: { cols?: number; rows?: number; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<PtyRun> {
  const size = `stty cols ${opts.cols ?? 120} rows ${opts.rows ?? 24}`;
  return new Promise((done, fail) => {
    const child = spawn("script", ["-qfec", `${size}; ${command}`, "/dev/null"], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("error", fail);
    child.on("close", (status) => {
      clearTimeout(timer);
      done({ status, output: Buffer.concat(chunks).toString("utf8") });
    });
  });
}
