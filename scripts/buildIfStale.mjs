// `npm run demo` compiles first only when dist/ is out of date: a source file (src/**/*.ts, or
// the dashboard's web/src/**/*.ts compiled to dist/web) has no compiled output or is newer than it, or a tsconfig or package-lock.json is newer than the
// oldest output. A fresh clone's `npm ci` has just compiled everything, and tsc takes seconds.
// `--check [root]` only prints "stale" or "fresh" (for the tests).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const check = process.argv[2] === "--check";
const root = resolve(
  check && process.argv[3] !== undefined ? process.argv[3] : join(import.meta.dirname, ".."),
);

function sources(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function stale() {
  let oldest = Number.POSITIVE_INFINITY;
  // the CLI (src → dist) and the dashboard's scripts (web/src → dist/web)
  for (const [from, to] of [
    ["src", "dist"],
    [join("web", "src"), join("dist", "web")],
  ]) {
    for (const src of sources(join(root, from))) {
      const out = join(root, to, relative(join(root, from), src).replace(/\.ts$/, ".js"));
      const built = mtime(out);
      if (built === undefined || built < mtime(src)) return true;
      oldest = Math.min(oldest, built);
    }
  }
  const inputs = [
    "tsconfig.json",
    "tsconfig.build.json",
    join("web", "tsconfig.json"),
    "package-lock.json",
  ].map((f) => mtime(join(root, f)));
  return inputs.some((t) => t !== undefined && t > oldest);
}

if (check) process.stdout.write(`${stale() ? "stale" : "fresh"}\n`);
else if (stale()) {
  const r = spawnSync("npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  process.exit(r.status ?? 1);
}
