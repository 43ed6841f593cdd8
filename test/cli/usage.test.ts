import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/main.js";
import { itb } from "../helpers/cli.js";
import { ROOT } from "../helpers/paths.js";
import { inPty } from "../helpers/pty.js";
import { renderScreen } from "../helpers/screen.js";

/** Help texts, usage errors and the first command to run, through the compiled CLI. */

const COMMANDS = [
  "demo",
  "import",
  "download",
  "sim",
  "telegram-sim",
  "merge",
  "features",
  "labels",
  "lookahead",
  "train",
  "predict",
  "predict-rolling",
  "signals",
  "simulate",
  "report",
  "pipeline",
];

/** The description of `itb <command> --help`: the paragraph between the usage line and "Options:". */
function descriptionLines(help: string): string[] {
  const lines = help.split("\n");
  const start = lines.findIndex((l) => l.startsWith("Usage: "));
  const end = lines.indexOf("Options:");
  return lines.slice(start + 1, end).filter((l) => l.trim() !== "");
}

let dir = "";
let config = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-usage-"));
  config = join(dir, "config.jsonc");
  writeFileSync(
    config,
    JSON.stringify({
      symbol: "BTCUSDT",
      freq: "1m",
      data_folder: join(dir, "data"),
      feature_sets: [
        { generator: "talib", config: { columns: ["close"], functions: ["SMA"], windows: [5] } },
      ],
      label_sets: [
        {
          generator: "highlow2",
          config: {
            columns: ["close", "high", "low"],
            function: "high",
            thresholds: [2.0],
            tolerance: 0.2,
            horizon: 120,
            names: ["high_20"],
          },
        },
      ],
    }),
  );
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("help texts", () => {
  /** Every command and subcommand with a description of its own. */
  const described = (): Command[] => {
    const all: Command[] = [];
    const walk = (c: Command) => {
      for (const sub of c.commands) {
        if (sub.description() !== "" && sub.description() !== sub.summary()) all.push(sub);
        walk(sub);
      }
    };
    walk(buildProgram());
    return all;
  };

  it("are not broken mid-sentence in the source: one line per paragraph when the terminal is wide", () => {
    const commands = described();
    expect(commands.map((c) => c.name())).toEqual(expect.arrayContaining(COMMANDS));
    for (const c of commands) {
      c.configureHelp({ helpWidth: 1000 });
      const text = descriptionLines(c.helpInformation());
      expect(text, c.name()).toHaveLength(1);
      expect(text[0], c.name()).toMatch(/^[A-Z].*\.$/);
    }
  });

  it("are wrapped to the width of the terminal (80 columns off a terminal)", async () => {
    for (const c of described()) {
      c.configureHelp({ helpWidth: 80 });
      const text = descriptionLines(c.helpInformation());
      expect(text.length, c.name()).toBeGreaterThan(1);
      for (const l of text) expect(l.length, `${c.name()}: ${l}`).toBeLessThanOrEqual(80);
    }
    // A real terminal: commander takes its width.
    const r = await inPty("bin/itb merge --help", { cols: 250, rows: 40 });
    expect(r.status).toBe(0);
    expect(descriptionLines(renderScreen(r.output, { cols: 250, rows: 40 }).lines.join("\n"))).toEqual([
      "Builds the regular grid at the config's freq from all data sources (column prefixes added), writes the merged table and a JSON gap report. Gaps stay NaN unless merge_interpolate is set.",
    ]);
  });

  it("npm run bench -- --help prints the options; an unknown option is a usage error without a stack", () => {
    const bench = (args: string[]) =>
      spawnSync(process.execPath, [resolve(ROOT, "dist/bench/main.js"), ...args], { encoding: "utf8" });
    const help = bench(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run bench -- \[options\]$/m);
    for (const o of ["--months <n>", "--data <dir>", "--reference <py>", "--json <file>", "--no-reference"]) {
      expect(help.stdout).toContain(`  ${o}`);
    }
    expect(help.stderr).toBe("");
    const bad = bench(["--frobnicate"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^bench: Unknown option '--frobnicate'/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(bad.stdout).toBe("");
  });
});

describe("usage errors", () => {
  it("a bad --freq or --freqs exits 2 before anything runs, naming the option", () => {
    for (const args of [
      ["pipeline", "--config", config, "--freq", "7x"],
      ["pipeline", "--config", config, "--freqs", "1m,7x"],
      ["merge", "--config", config, "--freq", "7x"],
      ["config", "check", config, "--freq", "7x"],
    ]) {
      const r = itb(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(
        /^error: option '--freqs? <(freq|list)>' argument '(1m,)?7x' is invalid\. unsupported frequency "7x"/,
      );
      expect(r.stdout, args.join(" ")).toBe("");
    }
  });

  it("merge, features and labels name the command to run first when their input is missing", () => {
    const data = join(dir, "data", "BTCUSDT");
    const cases: [string, string, string][] = [
      ["merge", "klines.parquet", "`itb import` or `itb download`"],
      ["features", "data.parquet", "`itb merge`"],
      ["labels", "features.parquet", "`itb features`"],
    ];
    for (const [command, file, first] of cases) {
      const r = itb([command, "--config", config]);
      expect(r.status, command).toBe(1);
      expect(r.stderr, command).toBe(`error: ${join(data, file)}: file not found; run ${first} first\n`);
    }
  });
});
