import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "../helpers/paths.js";

/**
 * Every itb run builds the whole command tree, so a command file imports commander and light
 * modules only (option parsers, constants); what its action needs loads when the action runs
 * (src/cli/actions/). One static import of an implementation (the pipeline, the live service,
 * BullMQ, DuckDB, ...) in a command file would load it for every command and every --help:
 * this test then fails, naming the module.
 */

/** Modules outside src/cli and src/core that hold nothing but constants shown in help texts. */
const CONSTANTS = [
  "config/secretEnv.js",
  "live/ledger/types.js",
  "pipeline/queue/defaults.js",
  "simulator/defaults.js",
];

it("itb --help loads commander and the command tree only, no command's implementation", () => {
  const dir = mkdtempSync(join(tmpdir(), "itb-startup-"));
  try {
    const log = join(dir, "resolved.txt");
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        resolve(ROOT, "test/fixtures/resolve-log/register.mjs"),
        resolve(ROOT, "dist/cli/run.js"),
        "--help",
      ],
      { encoding: "utf8", env: { ...process.env, ITB_RESOLVE_LOG: log } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: itb /);
    const urls = [...new Set(readFileSync(log, "utf8").trim().split("\n"))];
    const dist = `file://${resolve(ROOT, "dist")}/`;
    const ours = urls.filter((u) => u.startsWith(dist)).map((u) => u.slice(dist.length));
    // The hook sees the CLI's own modules, every command file among them: it works.
    const commands = readdirSync(resolve(ROOT, "src/cli/commands")).map((f) => f.replace(/\.ts$/, ".js"));
    expect(ours).toEqual(
      expect.arrayContaining(["cli/main.js", ...commands.map((f) => `cli/commands/${f}`)]),
    );

    const packages = [
      ...new Set(urls.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? [])),
    ];
    expect(packages).toEqual(["commander"]);
    const heavy = ours.filter(
      (f) =>
        !((f.startsWith("cli/") && !f.startsWith("cli/actions/")) || f.startsWith("core/")) &&
        !CONSTANTS.includes(f),
    );
    expect(heavy).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
