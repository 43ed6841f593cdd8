import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempPathFor } from "../../src/data/atomic.js";
import {
  frameFileInfo,
  readFrame,
  withTempPath,
  writeFileAtomic,
  writeFrame,
} from "../../src/data/store/index.js";
import { BTC_2023_03, expectSameFrame, klinesFrame, tempDir } from "./storeFixtures.js";

const ROOT = join(import.meta.dirname, "..", "..");
/** The child script is compiled on its own (with the store it imports) so it runs under plain node. */
const BUILD = join(ROOT, "node_modules", ".cache", "itb-store-test");
const CHILD = join(BUILD, "test", "data", "storeWriteChild.js");

let tmp: { dir: string; remove: () => void };
beforeAll(() => {
  tmp = tempDir("atomic");
});
afterAll(() => tmp.remove());

const path = (name: string) => join(tmp.dir, name);

describe("writeFileAtomic", () => {
  it("creates parent folders, writes text and bytes, replaces, and leaves no temporary file", async () => {
    const file = path("a/b/c.json");
    await writeFileAtomic(file, '{"v":1}');
    expect(readFileSync(file, "utf8")).toBe('{"v":1}');
    await writeFileAtomic(file, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(file)]).toEqual([1, 2, 3]);
    expect(readdirSync(dirname(file))).toEqual(["c.json"]);
  });

  it("names its temporary file after the target, hidden, in the same folder, ending .tmp", () => {
    const tmpFile = tempPathFor("/data/BTCUSDT/klines.parquet");
    expect(dirname(tmpFile)).toBe("/data/BTCUSDT");
    expect(basename(tmpFile)).toMatch(/^\.klines\.parquet\.\d+\.[0-9a-f]{12}\.tmp$/);
    expect(tempPathFor("/x/y")).not.toBe(tempPathFor("/x/y"));
  });
});

describe("withTempPath", () => {
  it("renames what the writer wrote over the target and returns its result", async () => {
    const file = path("w/out.txt");
    const result = await withTempPath(file, async (tmpFile) => {
      expect(dirname(tmpFile)).toBe(dirname(file));
      writeFileSync(tmpFile, "new");
      return 42;
    });
    expect(result).toBe(42);
    expect(readFileSync(file, "utf8")).toBe("new");
  });

  it("removes the temporary file and keeps the target when the writer fails", async () => {
    const file = path("fail/out.txt");
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, "old");
    const boom = new Error("boom");
    await expect(
      withTempPath(file, async (tmpFile) => {
        writeFileSync(tmpFile, "half");
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(readFileSync(file, "utf8")).toBe("old");
    expect(readdirSync(dirname(file))).toEqual(["out.txt"]);
  });

  it("fails, leaving nothing behind, when the rename cannot replace the target", async () => {
    const file = path("dir-target");
    mkdirSync(join(file, "inside"), { recursive: true });
    await expect(withTempPath(file, async (tmpFile) => writeFileSync(tmpFile, "x"))).rejects.toThrow();
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

describe("a write killed part-way", () => {
  beforeAll(() => {
    mkdirSync(BUILD, { recursive: true });
    // Outside the repo's package scope (node_modules), so say that these files are ES modules.
    writeFileSync(join(BUILD, "package.json"), '{ "type": "module" }\n');
    const config = {
      extends: join(ROOT, "tsconfig.json"),
      compilerOptions: { noEmit: false, rootDir: ROOT, outDir: BUILD, sourceMap: false },
      include: [],
      files: [join(ROOT, "test", "data", "storeWriteChild.ts")],
    };
    writeFileSync(join(BUILD, "tsconfig.json"), JSON.stringify(config));
    execFileSync(
      process.execPath,
      [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(BUILD, "tsconfig.json")],
      {
        stdio: "pipe",
      },
    );
  }, 120_000);

  async function killMidWrite(file: string, rows: number, cols: number): Promise<void> {
    const child: ChildProcess = spawn(process.execPath, [CHILD, file, String(rows), String(cols)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const dir = dirname(file);
    const oldRows = (await frameFileInfo(file))?.rows;
    const deadline = Date.now() + 60_000;
    // Kill once the temporary file holds a few megabytes: the write is then well under way.
    let partialSize = 0;
    for (;;) {
      if (Date.now() > deadline || child.exitCode !== null) break;
      const partial = readdirSync(dir).find((f) => f.endsWith(".tmp"));
      partialSize =
        partial === undefined ? 0 : (statSync(join(dir, partial), { throwIfNoEntry: false })?.size ?? 0);
      if (partialSize > 4_000_000) break;
      // Meanwhile every reader of the target sees the old file, whole.
      expect((await frameFileInfo(file))?.rows).toBe(oldRows);
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill("SIGKILL");
    await exited;
    expect(err).toBe("");
    expect(out).toBe("writing\n");
    expect(partialSize).toBeGreaterThan(4_000_000);
  }

  it.each([
    ["Parquet", "klines.parquet", 4_000_000, 20],
    ["CSV", "klines.csv", 1_000_000, 10],
  ])("leaves the previous %s file intact", async (_, name, rows, cols) => {
    const dir = path(`kill-${name}`);
    const file = join(dir, name);
    const old = klinesFrame(BTC_2023_03);
    await writeFrame(file, old);
    await killMidWrite(file, rows, cols);
    expectSameFrame(await readFrame(file), old);
    // At most the killed write's temporary file is left, hidden and named so no reader takes it for data.
    const others = readdirSync(dir).filter((f) => f !== name);
    expect(others.length).toBeLessThanOrEqual(1);
    for (const f of others)
      expect(f).toMatch(new RegExp(`^\\.${name.replace(".", "\\.")}\\.\\d+\\.[0-9a-f]+\\.tmp$`));
    // A later write succeeds over the leftover and is itself whole.
    await writeFrame(file, old.slice(0, 100));
    expectSameFrame(await readFrame(file), old.slice(0, 100));
  });
});
