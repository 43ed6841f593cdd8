import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, expect, it } from "vitest";
import { ROOT } from "../helpers/paths.js";

/**
 * `npm run demo` compiles only when dist/ is out of date (scripts/buildIfStale.mjs), checked
 * here on a folder of stand-in files with chosen modification times.
 */

const dir = mkdtempSync(join(tmpdir(), "itb-stale-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(path: string, seconds: number): void {
  const full = join(dir, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, "");
  utimesSync(full, seconds, seconds);
}

function check(): string {
  const r = spawnSync(process.execPath, [resolve(ROOT, "scripts/buildIfStale.mjs"), "--check", dir], {
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

it("dist is stale when a source is newer than its output, an output is missing, or the build config changed", () => {
  file("tsconfig.json", 1_000);
  file("package-lock.json", 1_000);
  file("src/cli/run.ts", 2_000);
  file("src/core/types.d.ts", 9_000); // declarations have no output
  file("src/data/store/index.ts", 2_000);
  file("dist/cli/run.js", 3_000);
  file("dist/data/store/index.js", 3_000);
  expect(check()).toBe("fresh");
  file("src/data/store/index.ts", 4_000);
  expect(check()).toBe("stale");
  file("dist/data/store/index.js", 5_000);
  expect(check()).toBe("fresh");
  file("src/cli/progress.ts", 2_000); // a new source, never compiled
  expect(check()).toBe("stale");
  file("dist/cli/progress.js", 5_000);
  expect(check()).toBe("fresh");
  file("package-lock.json", 4_000); // newer than the oldest output (dist/cli/run.js)
  expect(check()).toBe("stale");
  file("dist/cli/run.js", 5_000);
  expect(check()).toBe("fresh");
  // the dashboard's scripts: web/src compiles to dist/web
  file("web/src/market.ts", 6_000);
  expect(check()).toBe("stale");
  file("dist/web/market.js", 7_000);
  expect(check()).toBe("fresh");
  file("web/tsconfig.json", 8_000);
  expect(check()).toBe("stale");
});
