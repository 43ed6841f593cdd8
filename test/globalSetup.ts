import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

/**
 * CLI tests run the compiled bin/itb, so compile src/ once before the suite (`npm test` builds
 * nowhere else). Type errors are the typecheck step's business (tsc still emits), so they only
 * warn here.
 */
export default function setup(): void {
  const root = resolve(import.meta.dirname, "..");
  const r = spawnSync(
    process.execPath,
    [resolve(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      encoding: "utf8",
    },
  );
  if (r.status !== 0)
    process.stderr.write(`warning: tsc reported errors while building dist/:\n${r.stdout}${r.stderr}\n`);
}
