import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { readFrame } from "../../src/data/store/index.js";
import { itb, spawnItb } from "../helpers/cli.js";
import { ROOT, SAMPLE } from "../helpers/paths.js";

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
  "models",
  "signals",
  "simulate",
  "report",
  "pipeline",
  "config",
  "ledger",
  "status",
  "pause",
  "resume",
  "flatten",
];

describe("itb CLI", () => {
  it("--help lists every command with a one-line summary", () => {
    const r = itb(["--help"]);
    expect(r.status).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b.*\\S`, "m"));
  });

  it("every command's --help shows an example", async () => {
    const commands = [
      ["demo"],
      ["import"],
      ["download"],
      ["sim"],
      ["telegram-sim"],
      ["merge"],
      ["features"],
      ["labels"],
      ["lookahead"],
      ["train"],
      ["predict-rolling"],
      ["signals"],
      ["simulate"],
      ["report"],
      ["pipeline"],
      ["config", "check"],
      ["config", "schema"],
      ["ledger", "export"],
      ["status"],
      ["pause"],
      ["resume"],
      ["flatten"],
      ["ui"],
      ["worker"],
    ];
    // four processes at a time: each is mostly the CLI's start-up
    const runs: { c: string[]; r: Awaited<ReturnType<typeof spawnItb>["done"]> }[] = [];
    for (let i = 0; i < commands.length; i += 4) {
      const batch = commands.slice(i, i + 4);
      runs.push(
        ...(await Promise.all(batch.map(async (c) => ({ c, r: await spawnItb([...c, "--help"]).done })))),
      );
    }
    expect(runs.map((x) => x.c.join(" "))).toEqual(commands.map((c) => c.join(" ")));
    for (const { c, r } of runs) {
      expect(r.status, c.join(" ")).toBe(0);
      expect(r.stdout, c.join(" ")).toMatch(/Examples?:\n {2}itb /);
    }
  });

  it("an unknown command is a usage error with status 2", () => {
    const r = itb(["frobnicate"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it("a broken config exits 2 with the JSON path and no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "itb-cli-"));
    const file = join(dir, "bad.jsonc");
    writeFileSync(file, '{ "symbol": "BTCUSDT", "label_horizon": "120", // comment\n }');
    const r = itb(["config", "check", file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`config ${file} is invalid:`);
    expect(r.stderr).toContain('label_horizon: expected a non-negative integer, found "120"');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("a missing config file exits 2 with a clear message", () => {
    const r = itb(["merge", "--config", "no/such/config.jsonc"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("config file not found");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("config check prints the resolved config with secrets masked", () => {
    const r = itb(["config", "check", "configs/btcusdt-1m.jsonc"], {
      env: { ITB_API_KEY: "very-secret-key-123", ITB_API_SECRET: "also-secret-456" },
    });
    expect(r.status).toBe(0);
    const cfg = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(cfg.symbol).toBe("BTCUSDT");
    expect(cfg.api_key).toBe("***");
    expect(r.stdout + r.stderr).not.toContain("very-secret-key-123");
    expect(r.stdout + r.stderr).not.toContain("also-secret-456");
    expect(typeof cfg.config_hash).toBe("string");
  });

  it("config check compiles the signal sets: a mistake exits 2 with its path; grid thresholds count as parameters", () => {
    const dir = mkdtempSync(join(tmpdir(), "itb-cli-"));
    const rule = (parameters: object) => ({
      generator: "threshold_rule",
      config: { columns: "trade_score", names: ["buy", "sell"], parameters },
    });
    const write = (name: string, extra: object) => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify({ symbol: "BTCUSDT", ...extra }));
      return file;
    };
    const bad = itb([
      "config",
      "check",
      write("bad.json", {
        signal_sets: [
          { generator: "combine", config: { columns: ["high_20_lc"], names: "trade_score" } },
          rule({ buy_signal_threshold: 0.1, sell_signal_threshold: -0.1 }),
        ],
      }),
    ]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/signal_sets\[0\]\.config\.columns/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const missing = itb([
      "config",
      "check",
      write("missing.json", { signal_sets: [rule({ buy_signal_threshold: 0.1 })] }),
    ]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/signal_sets\[0\]\.config\.parameters\.sell_signal_threshold/);
    const searched = itb([
      "config",
      "check",
      write("searched.json", {
        signal_sets: [rule({})],
        simulate_model: {
          grid: { buy_signal_threshold: [0.1], sell_signal_threshold: "np.linspace(-0.1, -0.3, 3)" },
        },
      }),
    ]);
    expect(searched.stderr).toBe("");
    expect(searched.status).toBe(0);
  });

  it("config schema writes a JSON Schema", () => {
    const r = itb(["config", "schema"]);
    expect(r.status).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(["symbol", "freq", "data_sources"]),
    );
  });

  it("import then merge on the bundled sample, then a re-import is a no-op", () => {
    const dir = mkdtempSync(join(tmpdir(), "itb-cli-"));
    const config = join(dir, "cfg.jsonc");
    writeFileSync(
      config,
      JSON.stringify({
        symbol: "BTCUSDT",
        freq: "1m",
        data_folder: join(dir, "data"),
        data_sources: [
          { folder: "BTCUSDT", file: "klines", column_prefix: "" },
          { folder: "ETHUSDT", file: "klines", column_prefix: "eth", market: "um" },
        ],
      }),
    );
    const args = [
      "--log-format",
      "json",
      "--config",
      config,
      "--source",
      SAMPLE,
      "--from",
      "2023-03",
      "--to",
      "2023-04",
    ];
    const imp = itb(["import", ...args]);
    expect(imp.stderr).not.toContain("internal error");
    expect(imp.status).toBe(0);
    expect(imp.stdout).toContain("BTCUSDT: 44,560 rows added");
    const store = resolve(dir, "data/BTCUSDT/klines.parquet");
    const before = statSync(store).mtimeMs;
    const again = itb(["import", ...args]);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain("BTCUSDT: 0 rows added");
    expect(statSync(store).mtimeMs).toBe(before);

    const merge = itb(["merge", "--log-format", "json", "--config", config]);
    expect(merge.status).toBe(0);
    expect(merge.stdout).toContain("gap 2023-03-24T12:40:00Z .. 2023-03-24T13:59:00Z  80 bar(s)");
    const gaps = JSON.parse(readFileSync(join(dir, "data/BTCUSDT/data.gaps.json"), "utf8"));
    expect(gaps.rows).toBe(44_640);
    expect(gaps.sources[0].gaps).toEqual([
      { start: "2023-03-24T12:40:00.000Z", end: "2023-03-24T13:59:00.000Z", bars: 80, interpolated: false },
    ]);
    // The gap is also in the structured log, one line per gap.
    const logged = merge.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { msg: string; bars?: number });
    expect(logged.filter((l) => l.msg === "gap in source data").map((l) => l.bars)).toEqual([80]);
    expect(existsSync(join(dir, "data/BTCUSDT/data.parquet"))).toBe(true);
  });

  it("merge aggregates imported 1m candles for a 1h config", async () => {
    const dir = mkdtempSync(join(tmpdir(), "itb-cli-"));
    const config = join(dir, "cfg.jsonc");
    writeFileSync(config, JSON.stringify({ symbol: "BTCUSDT", freq: "1h", data_folder: join(dir, "data") }));
    const imp = itb([
      "import",
      "--config",
      config,
      "--interval",
      "1m",
      "--source",
      SAMPLE,
      "--from",
      "2023-03",
      "--to",
      "2023-04",
    ]);
    expect(imp.status).toBe(0);
    const merge = itb(["merge", "--config", config]);
    expect(merge.status).toBe(0);
    const data = await readFrame(join(dir, "data/BTCUSDT/data.parquet"));
    // 31 days of hours; 13:00 on 2023-03-24 has no 1m candle at all, so it is a NaN row.
    expect(data.length).toBe(744);
    const i = data.lowerBound(Date.UTC(2023, 2, 24, 13));
    expect(Number.isNaN(data.get("close")[i] as number)).toBe(true);
    expect(data.get("close")[i + 1]).toBe(27989.06); // Binance's own 1h close for 14:00
  });

  it("the demo config and sample are part of the package", () => {
    expect(existsSync(resolve(ROOT, "configs/demo.jsonc"))).toBe(true);
    expect(existsSync(SAMPLE)).toBe(true);
  });
});
