import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

/**
 * CLI tests run the compiled bin/itb, and the dashboard's pages load their scripts from
 * dist/web, so compile src/ and web/src once before the suite (`npm test` builds nowhere
 * else). Type errors are the typecheck step's business (tsc still emits), so they only warn here.
 */
export default function setup(): void {
  const root = resolve(import.meta.dirname, "..");
  for (const project of ["tsconfig.build.json", "web/tsconfig.json"]) {
    const r = spawnSync(process.execPath, [resolve(root, "node_modules/typescript/bin/tsc"), "-p", project], {
      cwd: root,
      encoding: "utf8",
    });
    if (r.status !== 0) {
      process.stderr.write(
        `warning: tsc reported errors while building ${project}:\n${r.stdout}${r.stderr}\n`,
      );
    }
  }
}
