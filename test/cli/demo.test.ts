import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CliRun } from "../helpers/cli.js";
import { ROOT } from "../helpers/paths.js";

/**
 * `itb demo` downloads the bundled sample from its simulator on 127.0.0.1:9901, or on any free
 * port when that one is taken; either way the download stage's manifest is the same, so a second
 * run finds the download up to date.
 */

const dir = mkdtempSync(join(tmpdir(), "itb-demo-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI as a child process, asynchronously: the test keeps a port busy meanwhile. */
function itbAsync(args: readonly string[]): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [resolve(ROOT, "bin/itb"), ...args], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("error", fail);
    child.on("close", (status) => done({ status, stdout, stderr }));
  });
}

/** Holds 127.0.0.1:9901 (or finds it held by someone else already). */
async function occupy(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((done) => {
    server.once("error", () => done(undefined));
    server.listen(port, "127.0.0.1", () => done(server));
  });
}

function logs(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("itb demo", () => {
  it("falls back to a free port when 9901 is taken, and a second run still skips the download", async () => {
    const data = join(dir, "demo");
    const busy = await occupy(9901);
    let first: CliRun;
    try {
      first = await itbAsync(["demo", "--data-folder", data, "--to", "download"]);
    } finally {
      await new Promise<void>((done) => (busy === undefined ? done() : busy.close(() => done())));
    }
    expect(first.status, first.stderr).toBe(0);
    const served = logs(first.stderr).find(
      (l) => l.msg === "simulator serving the bundled sample on loopback",
    );
    expect(served?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(served?.url).not.toBe("http://127.0.0.1:9901");
    expect(logs(first.stderr).find((l) => l.msg === "stage done")).toMatchObject({
      stage: "download",
      status: "ran",
    });
    expect(first.stdout).toMatch(/^BTCUSDT 1m\s+ok\s+1\s+0\s+256,240\s/m);

    // 9901 is free now (unless another program holds it): the port differs, the manifest does not.
    const second = await itbAsync(["demo", "--data-folder", data, "--to", "download"]);
    expect(second.status, second.stderr).toBe(0);
    expect(logs(second.stderr).find((l) => l.msg === "stage skipped")).toMatchObject({
      stage: "download",
      status: "skipped",
      reason: "up to date",
    });
    expect(second.stdout).toMatch(/^BTCUSDT 1m\s+ok\s+0\s+1\s+256,240\s/m);
  });
});
