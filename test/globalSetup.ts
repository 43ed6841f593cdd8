import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

/** CLI tests run the compiled bin/itb, so compile src/ once before the suite. */
export default function setup(): void {
  const root = resolve(import.meta.dirname, "..");
  execFileSync(
    process.execPath,
    [resolve(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
}
