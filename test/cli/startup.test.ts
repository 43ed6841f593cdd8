import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "../helpers/paths.js";

/**
 * Every command starts by importing the whole CLI; the libraries only some commands use (the
 * chart renderer of the report's PNG, ccxt) load when they are used, so `itb --help` and the
 * first moments of `itb demo` do not pay for them.
 */
it("the CLI starts without loading ECharts, resvg or ccxt", () => {
  const dir = mkdtempSync(join(tmpdir(), "itb-startup-"));
  try {
    const log = join(dir, "resolved.txt");
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        resolve(ROOT, "test/fixtures/resolve-log/register.mjs"),
        resolve(ROOT, "dist/cli/run.js"),
        "merge",
        "--help",
      ],
      { encoding: "utf8", env: { ...process.env, ITB_RESOLVE_LOG: log } },
    );
    expect(r.status, r.stderr).toBe(0);
    const urls = readFileSync(log, "utf8").trim().split("\n");
    // The hook sees the CLI's own modules: it works.
    expect(urls).toContain(`file://${resolve(ROOT, "dist/cli/main.js")}`);
    expect(urls.filter((u) => /node_modules\/(echarts|zrender|@resvg|ccxt)\//.test(u))).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
