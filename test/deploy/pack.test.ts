import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/paths.js";
import {
  copyParts,
  type DockerInstruction,
  execForm,
  itbCommandProblems,
  opsServer,
  readDockerfile,
} from "./deployFiles.js";

/**
 * The container image, without a container engine: the Dockerfile read and checked against the
 * repository and the CLI, and the npm package installed the way the image's build installs it
 * (`npm install <tarball> --omit=dev` into an empty folder), then `itb --help` and the offline
 * demo run from that install.
 */

const dockerfile = readDockerfile(readFileSync(resolve(ROOT, "Dockerfile"), "utf8"));
const stages: DockerInstruction[][] = [];
for (const ins of dockerfile) {
  if (ins.keyword === "FROM") stages.push([]);
  stages.at(-1)?.push(ins);
}
const runtime = stages.at(-1) as DockerInstruction[];
const only = (stage: DockerInstruction[], keyword: string) => stage.filter((i) => i.keyword === keyword);

describe("Dockerfile", () => {
  it("builds on node:20-bookworm-slim in two stages, compiling the native modules in the first", () => {
    expect(stages.map((s) => s[0]?.args)).toEqual([
      "node:20-bookworm-slim AS build",
      "node:20-bookworm-slim AS runtime",
    ]);
    const buildRuns = only(stages[0] as DockerInstruction[], "RUN").map((i) => i.args);
    expect(buildRuns.some((r) => /apt-get install .*python3 make g\+\+/.test(r))).toBe(true);
    // the image's install is the one the package test below repeats
    expect(buildRuns.some((r) => /npm install \/tmp\/itb-\*\.tgz --omit=dev/.test(r))).toBe(true);
    expect(only(runtime, "RUN").some((r) => /apt-get|npm (ci|install)/.test(r.args))).toBe(false);
  });

  it("puts the installed package's itb on the runtime stage's PATH", () => {
    // the folder the build stage installs the tarball in
    const build = stages[0] as DockerInstruction[];
    const installAt = build.findIndex((i) => i.keyword === "RUN" && /npm install \/tmp\/itb-/.test(i.args));
    const dir = build
      .slice(0, installAt)
      .filter((i) => i.keyword === "WORKDIR")
      .at(-1)?.args as string;
    expect(dir).toBe("/opt/itb");
    // copied whole into the runtime stage, whose PATH leads to its bin folder
    expect(only(runtime, "COPY").map((c) => c.args)).toEqual([`--from=build ${dir} ${dir}`]);
    const path = only(runtime, "ENV")
      .map((e) => /PATH=(\S+)/.exec(e.args)?.[1])
      .find((p) => p !== undefined);
    expect(path?.split(":")[0]).toBe(`${dir}/node_modules/.bin`);
  });

  it("copies only files that exist and that .dockerignore lets into the build context", () => {
    const ignored = readFileSync(resolve(ROOT, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    const stageNames = stages.map((s) => /\bAS\s+(\S+)$/i.exec(s[0]?.args ?? "")?.[1]);
    const checked: string[] = [];
    for (const ins of dockerfile.filter((i) => i.keyword === "COPY" || i.keyword === "ADD")) {
      const { flags, sources } = copyParts(ins.args);
      if (flags.from !== undefined) {
        expect(stageNames, `line ${ins.line}: --from=${flags.from}`).toContain(flags.from);
        continue;
      }
      for (const src of sources) {
        expect(existsSync(resolve(ROOT, src)), `line ${ins.line}: COPY ${src}`).toBe(true);
        const top = src.replace(/^\.\//, "").split("/")[0] as string;
        expect(ignored, `line ${ins.line}: ${src} is in .dockerignore`).not.toContain(top);
        checked.push(src);
      }
    }
    // what the build needs to compile and pack the package
    for (const need of [
      "package.json",
      "package-lock.json",
      "tsconfig.json",
      "tsconfig.build.json",
      "src",
      "web",
      "bin",
    ])
      expect(checked).toContain(need);
    // and every folder the package ships (package.json "files")
    const files = (JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")) as { files: string[] })
      .files;
    // (a folder shipped from inside a copied one, web/static in web, counts as copied)
    for (const f of files.filter((f) => f !== "dist")) {
      expect(
        checked.some((c) => c === f || f.startsWith(`${c}/`)),
        `${f} (package.json files) is not copied`,
      ).toBe(true);
    }
  });

  it("runs as a user of its own, not root, with the data folder as a volume", () => {
    const users = only(runtime, "USER").map((i) => i.args);
    expect(users.length).toBe(1);
    const user = (users[0] as string).split(":")[0] as string;
    expect(["root", "0", ""]).not.toContain(user);
    expect(only(runtime, "RUN").some((r) => new RegExp(`useradd .*\\b${user}$`).test(r.args))).toBe(true);
    const workdir = only(runtime, "WORKDIR").at(-1)?.args;
    expect(only(runtime, "VOLUME").map((v) => execForm(v.args))).toEqual([[workdir]]);
  });

  it("starts itb serve on the port its health check asks, and itb answers that path", async () => {
    const entry = execForm(only(runtime, "ENTRYPOINT")[0]?.args ?? "");
    expect(entry).toEqual(["itb"]);
    const cmd = execForm(only(runtime, "CMD")[0]?.args ?? "");
    expect(itbCommandProblems(cmd)).toEqual([]);
    expect(cmd[0]).toBe("serve");
    const address = cmd[cmd.indexOf("--address") + 1] as string;
    const port = Number(address.split(":").at(-1));
    expect(address).toBe(`0.0.0.0:${port}`);
    expect(only(runtime, "EXPOSE").map((e) => e.args)).toEqual([String(port)]);

    const health = only(runtime, "HEALTHCHECK");
    expect(health.length).toBe(1);
    const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[\w/]*)/.exec(health[0]?.args ?? "");
    expect(url).not.toBeNull();
    expect(Number(url?.[1])).toBe(port);
    // the path, asked of itb's operations server
    const ops = await opsServer(() => ({ ready: false, reasons: { service: "warming up" } }));
    try {
      const r = await fetch(`${ops.url}${url?.[2]}`);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ status: "ok" });
      expect((await fetch(`${ops.url}/health`)).status).toBe(404);
    } finally {
      await ops.close();
    }
  });
});

/** Compiled addons of the native dependencies, taken from the repository's own install. */
function copyNativeBuilds(into: string): string[] {
  const copied: string[] = [];
  for (const [pkg, addon] of [
    ["better-sqlite3", "better_sqlite3.node"],
    ["talib", "talib.node"],
  ] as const) {
    const from = resolve(ROOT, "node_modules", pkg);
    const to = join(into, "node_modules", pkg);
    if (!existsSync(to)) continue;
    const version = (dir: string) =>
      (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
    expect(version(to), `${pkg} installed from the tarball vs the repository's`).toBe(version(from));
    mkdirSync(join(to, "build", "Release"), { recursive: true });
    copyFileSync(join(from, "build", "Release", addon), join(to, "build", "Release", addon));
    copied.push(`${pkg}/${addon}`);
  }
  return copied;
}

describe("the npm package installed with its production dependencies only", () => {
  let dir: string;
  let app: string;
  let itbBin: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "itb-pack-"));
    // dist/ is built by the test run's global set-up; packing does not rebuild it
    const pack = spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0]?.filename as string);
    app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), '{"name":"itb-runtime","private":true}\n');
    // As the image's build stage, except that the native modules are not compiled again here
    // (talib and better-sqlite3 take about 3 minutes on 2 cores): their addons are copied from
    // the repository's install of the same versions.
    const install = spawnSync(
      "npm",
      ["install", tarball, "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"],
      { cwd: app, encoding: "utf8" },
    );
    expect(install.status, install.stderr).toBe(0);
    expect(copyNativeBuilds(app)).toEqual(["better-sqlite3/better_sqlite3.node", "talib/talib.node"]);
    itbBin = join(app, "node_modules", ".bin", "itb");
  }, 120_000);

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("holds the dependencies and none of the dev dependencies", () => {
    const pkg = JSON.parse(readFileSync(resolve(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const has = (name: string) => existsSync(join(app, "node_modules", name, "package.json"));
    expect(Object.keys(pkg.dependencies).filter((d) => !has(d))).toEqual([]);
    // a dev dependency may be there only as a production package's own dependency (fastify's ajv)
    const wanted = new Set<string>();
    const top = join(app, "node_modules");
    const folders = readdirSync(top).flatMap((d) =>
      d.startsWith("@") ? readdirSync(join(top, d)).map((s) => join(d, s)) : [d],
    );
    for (const d of folders) {
      const file = join(top, d, "package.json");
      if (!existsSync(file) || d === "itb") continue;
      const p = JSON.parse(readFileSync(file, "utf8")) as { dependencies?: Record<string, string> };
      for (const dep of Object.keys(p.dependencies ?? {})) wanted.add(dep);
    }
    expect(Object.keys(pkg.devDependencies).filter((d) => has(d) && !wanted.has(d))).toEqual([]);
    for (const shipped of ["dist/cli/run.js", "configs/demo.jsonc", "sample/binance-vision", "bin/itb"])
      expect(existsSync(join(app, "node_modules", "itb", shipped)), shipped).toBe(true);
    expect(existsSync(join(app, "node_modules", "itb", "src"))).toBe(false);
    expect(existsSync(join(app, "node_modules", "itb", "test"))).toBe(false);
  });

  it("itb --help lists the commands", () => {
    const r = spawnSync(itbBin, ["--help"], { cwd: app, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Usage: itb \[options\] \[command\]/);
    for (const c of ["demo", "pipeline", "serve", "sim"])
      expect(r.stdout).toMatch(new RegExp(`^ {2}${c} `, "m"));
  });

  it("runs the demo offline on the bundled sample", () => {
    const data = join(dir, "demo");
    const r = spawnSync(itbBin, ["demo", "--data-folder", data, "--log-format", "json"], {
      cwd: app,
      encoding: "utf8",
      // about 20 s alone; the margin is for a loaded CI machine
      timeout: 170_000,
    });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/^BTCUSDT 1m +ok /m);
    expect(r.stdout).toContain("1 market(s), 0 failed");
    expect(existsSync(join(data, "BTCUSDT", "report.html"))).toBe(true);
    expect(dirname(r.stdout.match(/^report: (.+)$/m)?.[1] ?? "")).toBe(join(data, "BTCUSDT"));
  }, 180_000);
});
