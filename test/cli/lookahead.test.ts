import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { itb } from "../helpers/cli.js";
import { SAMPLE } from "../helpers/paths.js";

/**
 * `itb lookahead` as a CI step would run it: a custom generator that reads the next row makes
 * it exit 1 with the failing columns named; causal features exit 0.
 */

let dir = "";

function configWith(name: string, featureSets: object[]): string {
  const file = join(dir, `${name}.jsonc`);
  writeFileSync(
    file,
    JSON.stringify({
      symbol: "BTCUSDT",
      freq: "1m",
      data_folder: join(dir, "data"),
      download_start: "2023-03-01",
      download_end: "2023-04-01",
      feature_sets: featureSets,
    }),
  );
  return file;
}

const sma = { generator: "talib", config: { columns: ["close"], functions: ["SMA"], windows: [5] } };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-cli-lookahead-"));
  writeFileSync(
    join(dir, "leaky.mjs"),
    `// Reads the next row: a leak.
export const nextClose = {
  inputs: () => ["close"],
  outputs: () => ["next_close"],
  warmup: () => 0,
  batch: (f) => {
    const c = f.get("close");
    return [Float64Array.from(c, (_, i) => (i + 1 < c.length ? c[i + 1] : Number.NaN))];
  },
};
`,
  );
  const base = configWith("base", [sma]);
  expect(itb(["import", "--config", base, "--source", SAMPLE]).status).toBe(0);
  expect(itb(["merge", "--config", base]).status).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("itb lookahead", () => {
  it("exits 1 when a column peeks ahead, naming it", () => {
    const config = configWith("leaky", [sma, { generator: "./leaky.mjs:nextClose", config: {} }]);
    const r = itb(["lookahead", "--config", config, "--rows", "3000", "--checkpoints", "4"]);
    // (Without a streaming form for every set, no column is streamed.)
    expect(r.stdout).toMatch(
      /^ok {3}close_SMA_5: no lookahead, no streaming form\nFAIL next_close: PEEKS AHEAD, no streaming form {2}first at 2023-03-30T08:00:00\.000Z: batch 28723\.46, truncated NaN\n1 of 2 columns pass\n$/,
    );
    expect(r.stderr.trim().split("\n").at(-1)).toBe("error: 1 of 2 column(s) peek ahead: next_close");
    expect(r.status).toBe(1);
  });

  it("exits 0 when every column passes", () => {
    const r = itb([
      "lookahead",
      "--config",
      configWith("causal", [sma]),
      "--rows",
      "3000",
      "--checkpoints",
      "4",
    ]);
    expect(r.stdout).toBe("ok   close_SMA_5: no lookahead, stream = batch\n1 of 1 columns pass\n");
    expect(r.status, r.stderr).toBe(0);
  });
});
