// Runs the vitest suite and ends with one plain summary line ("Tests: N passed, N failed,
// N skipped") so CI logs and humans read the same count; the exit status is vitest's.
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = join(tmpdir(), `itb-vitest-${process.pid}.json`);
const args = [
  "vitest",
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${out}`,
  ...process.argv.slice(2),
];
const run = spawnSync("npx", args, { stdio: "inherit" });
let summary = "Tests: 0 passed, 1 failed (vitest produced no results)";
try {
  const r = JSON.parse(readFileSync(out, "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  summary = `Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`;
  rmSync(out, { force: true });
} catch {}
process.stdout.write(`\n${summary}\n`);
process.exit(run.status ?? 1);
