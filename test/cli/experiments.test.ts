import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ExperimentView,
  experimentView,
  openExperimentStore,
  rankedTrials,
} from "../../src/research/experiments/read.js";
import {
  ExperimentStore,
  experimentStoreFile,
  experimentsFolder,
} from "../../src/research/experiments/store.js";
import { listRow } from "../../src/research/experiments/text.js";
import { itb } from "../helpers/cli.js";
import { writeToyExperiment } from "../helpers/experiments.js";

/**
 * `itb experiments list|show|compare` as real processes on a store written through the store's
 * API (three toy tuning runs: an auc one, a profit one and the same profit run interrupted): their
 * lines and JSON against what the store holds, the pages they write, and their usage errors
 * (status 2, one line, no stack trace).
 */

let dir = "";
let config = "";
let folder = "";
let views: ExperimentView[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-cli-exp-"));
  const data = join(dir, "data");
  config = join(dir, "config.jsonc");
  writeFileSync(config, JSON.stringify({ symbol: "BTCUSDT", freq: "1m", data_folder: data }));
  folder = experimentsFolder(data, "BTCUSDT");
  const store = ExperimentStore.open(experimentStoreFile(folder));
  writeToyExperiment(store, { name: "wide C", trials: 60, seed: 1 });
  writeToyExperiment(store, { objective: "profit", trials: 40, seed: 2 });
  writeToyExperiment(store, { objective: "profit", trials: 40, seed: 2, end: "interrupted" });
  store.close();
  // an empty store of another market
  ExperimentStore.open(experimentStoreFile(experimentsFolder(data, "ETHUSDT"))).close();
  const r = openExperimentStore(folder);
  views = r.experiments().map((e) => experimentView(r, folder, e));
  r.close();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const view = (id: string) => views.find((v) => v.experiment.id === id) as ExperimentView;

function ok(args: string[]): string {
  const r = itb(["experiments", ...args]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout;
}

function usageError(args: string[], message: string | RegExp): void {
  const r = itb(["experiments", ...args]);
  expect(r.status, r.stderr).toBe(2);
  expect(r.stdout).toBe("");
  if (typeof message === "string") expect(r.stderr).toBe(`error: ${message}\n`);
  else expect(r.stderr.trim()).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe("itb experiments list", () => {
  it("prints one line per experiment, the same through --config and --store, and the rows as JSON", () => {
    const text = ok(["list", "--config", config]);
    expect(ok(["list", "--store", folder])).toBe(text);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(
      /^id +name +created UTC +status +objective +trials c\/p\/f +best +holdout +PBO$/,
    );
    for (const [i, v] of views.entries()) {
      const e = v.experiment;
      const c = v.counts;
      const best = v.best === null ? "-" : `${(v.best.value as number).toFixed(4)} \\(#${v.best.number}\\)`;
      const holdout = v.holdoutValue === null ? "-" : v.holdoutValue.toFixed(4);
      const pbo = v.odds.pbo === null ? "-" : v.odds.pbo.toFixed(2);
      expect(lines[i + 1]).toMatch(
        new RegExp(
          `^${e.id} +${e.name ?? "-"} +2026-01-10 09:00 +${e.status} +${e.objective} +${c.complete}/${c.pruned}/${c.failed} of ${e.trialsRequested} +${best} +${holdout} +${pbo}$`,
        ),
      );
    }
    expect(JSON.parse(ok(["list", "--config", config, "--json"]))).toEqual(
      JSON.parse(JSON.stringify(views.map(listRow))),
    );
  });

  it("says when a store holds no experiment", () => {
    expect(ok(["list", "--config", config, "--symbol", "ETHUSDT"])).toBe(
      `no experiments in ${experimentsFolder(join(dir, "data"), "ETHUSDT")}\n`,
    );
  });
});

describe("itb experiments show", () => {
  it("shows the settings, the best trial with its folds, the holdout, the odds' reading and the top trials", () => {
    const v = view("exp-0002");
    const b = v.best as NonNullable<ExperimentView["best"]>;
    const lines = ok(["show", "exp-0002", "--config", config, "--top", "5"]).trimEnd().split("\n");
    expect(lines[0]).toBe("exp-0002: finished, objective profit, created 2026-01-10 09:00 UTC, took 8m 47s");
    expect(lines).toContain(
      `best trial #${b.number}: ${(b.value as number).toFixed(4)} over 4 fold(s), rung 1`,
    );
    for (const f of b.folds) {
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^ {2}fold ${f.fold} +${f.start.slice(0, 10)} 00:00 \\.\\. ${f.end.slice(0, 10)} 00:00 +${f.rows} rows +${(f.value as number).toFixed(4)} +profit=${(f.value as number).toFixed(4)} trades=${f.metrics.trades}$`,
          ),
        ),
      );
    }
    expect(lines).toContain(`holdout: ${(v.holdoutValue as number).toFixed(4)} (rows=87840)`);
    // the odds as the run recorded them, a line each under their heading, as itb simulate prints them
    const at = lines.indexOf(`overfitting odds of the tuning: ${v.counts.complete} trials over 64 days`);
    expect(at).toBeGreaterThan(0);
    const reading = (v.experiment.overfit as { reading: string[] }).reading;
    expect(lines.slice(at + 1, at + 1 + reading.length)).toEqual(reading.map((r) => `  ${r}`));
    expect(reading[0]).toMatch(/^PBO \d\.\d\d: /);
    // the five best complete trials, best first
    const top = lines.indexOf(`top 5 of ${v.counts.complete} complete trials by value:`);
    expect(top).toBeGreaterThan(at);
    const rows = lines.slice(top + 2, top + 7).map((l) => l.trim().split(/ +/).slice(0, 3));
    expect(rows).toEqual(
      rankedTrials(v.trials)
        .slice(0, 5)
        .map((t) => [`#${t.number}`, "complete", (t.value as number).toFixed(4)]),
    );
    // then the failed trials with their errors
    const failed = v.trials.filter((t) => t.status === "failed");
    expect(lines.slice(top + 7)).toEqual([
      `${failed.length} failed trial(s):`,
      ...failed.map((t) => `  #${t.number}: ${t.error}`),
    ]);
    expect(failed).toHaveLength(3);
  });

  it("lists every trial with --trials, and gives the experiment, its best trial and top trials as JSON", () => {
    const v = view("exp-0001");
    const lines = ok(["show", "exp-0001", "--store", folder, "--trials"]).trimEnd().split("\n");
    const all = lines.indexOf("all 60 trials:");
    expect(lines.slice(all + 2, all + 62).map((l) => l.trim().split(/ +/)[0])).toEqual(
      v.trials.map((t) => `#${t.number}`),
    );
    // and every failed trial's error after them
    expect(lines.slice(all + 62)).toEqual([
      "4 failed trial(s):",
      ...v.trials.filter((t) => t.status === "failed").map((t) => `  #${t.number}: ${t.error}`),
    ]);
    const j = JSON.parse(ok(["show", "exp-0001", "--store", folder, "--json", "--top", "3"]));
    expect(j.experiment).toEqual(JSON.parse(JSON.stringify(v.experiment)));
    expect(j.best).toEqual(JSON.parse(JSON.stringify(v.best)));
    expect(j.trials).toEqual({ requested: 65, ...v.counts });
    expect(j.top_trials.map((t: { number: number }) => t.number)).toEqual(
      rankedTrials(v.trials)
        .slice(0, 3)
        .map((t) => t.number),
    );
    expect(j.importance[0].param).toBe("algorithms[0].params.C");
  });

  it("computes the odds of an interrupted run from its complete trials, and says so", () => {
    const text = ok(["show", "exp-0003", "--store", folder]);
    expect(text).toMatch(
      /^exp-0003: interrupted, objective profit, created 2026-01-10 09:00 UTC, ran for \d+m \d\ds$/m,
    );
    expect(text).toMatch(/^best trial #\d+ \(highest value so far; none chosen yet\): /m);
    expect(text).toMatch(/^holdout: none$/m);
    expect(text).toMatch(
      /^overfitting odds, computed now from the complete trials' series \(the experiment is interrupted\): \d+ trials over 64 days\n {2}PBO \d\.\d\d: .*\n {2}DSR \d\.\d\d: /m,
    );
  });

  it("writes the page into the experiment's folder with --html", () => {
    const file = join(folder, "exp-0002", "report.html");
    expect(existsSync(file)).toBe(false);
    const out = ok(["show", "exp-0002", "--config", config, "--html"]);
    expect(out.endsWith(`\nwrote ${file}\n`)).toBe(true);
    const html = readFileSync(file, "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html.match(/<tr data-trial=/g)).toHaveLength(40);
  });
});

describe("itb experiments compare", () => {
  it("puts experiments side by side with their shared best parameters, and writes their page", () => {
    const text = ok(["compare", "exp-0001", "exp-0002", "--config", config, "--html"]);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ +exp-0001 +exp-0002$/);
    const a = view("exp-0001").best as NonNullable<ExperimentView["best"]>;
    const b = view("exp-0002").best as NonNullable<ExperimentView["best"]>;
    const best = (t: typeof a) => `${(t.value as number).toFixed(4)} \\(#${t.number}\\)`;
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^best value +${best(a)} +${best(b)}$`)));
    expect(lines).toContainEqual(expect.stringMatching(/^PBO +- +\d\.\d\d$/));
    expect(lines).toContainEqual(expect.stringMatching(/^duration +13m 27s +8m 47s$/));
    expect(lines).toContain("best parameters:");
    expect(lines).toContain("note: the objectives differ: their values do not compare");
    const page = join(folder, "compare-exp-0001_exp-0002.html");
    expect(lines[lines.length - 1]).toBe(`wrote ${page}`);
    expect(readFileSync(page, "utf8")).toContain('id="compare-table"');
    const j = JSON.parse(ok(["compare", "exp-0002", "exp-0003", "--store", folder, "--json"]));
    expect(j.experiments.map((c: { id: string; best_value: number }) => [c.id, c.best_value])).toEqual([
      ["exp-0002", b.value],
      ["exp-0003", b.value],
    ]);
    expect(j.shared_params).toEqual([
      "algorithms[0].params.C",
      "algorithms[0].params.max_depth",
      "label.horizon",
      "train_features",
    ]);
  });

  it("with one id, compares its top trials parameter by parameter", () => {
    const v = view("exp-0001");
    const top = rankedTrials(v.trials).slice(0, 3);
    const lines = ok(["compare", "exp-0001", "--store", folder, "--top", "3"]).trimEnd().split("\n");
    expect(lines[0]).toBe(`exp-0001: top 3 of ${v.counts.complete} complete trials by value`);
    expect(lines[1]?.trim().split(/ +/)).toEqual(top.map((t) => `#${t.number}`));
    expect(lines[2]?.split(/ +/)).toEqual(["value", ...top.map((t) => (t.value as number).toFixed(4))]);
    expect(lines[5]).toMatch(/^algorithms\[0\]\.params\.C \(importance \d\.\d\d\) /);
    expect(lines).toHaveLength(9);
  });
});

describe("itb experiments errors", () => {
  it("names the known ids for an unknown one", () => {
    usageError(
      ["show", "exp-0042", "--config", config],
      "no experiment exp-0042: the known ones are exp-0001, exp-0002, exp-0003",
    );
    usageError(
      ["compare", "exp-0001", "exp-0009", "--store", folder],
      "no experiment exp-0009: the known ones are exp-0001, exp-0002, exp-0003",
    );
    usageError(
      ["show", "exp-0001", "--config", config, "--symbol", "ETHUSDT"],
      `no experiment exp-0001: ${experimentStoreFile(experimentsFolder(join(dir, "data"), "ETHUSDT"))} holds no experiments`,
    );
  });

  it("gives the store's own error when there is no store, and says what is missing or wrong in the command", () => {
    const none = join(dir, "nowhere");
    usageError(
      ["list", "--store", none],
      `no experiments recorded: ${join(none, "experiments.sqlite")} does not exist (run itb tune first)`,
    );
    usageError(["list"], "missing --config FILE or --store DIR");
    // a file that is not a store: a data problem (status 1), one line
    const bad = join(dir, "bad");
    mkdirSync(bad);
    writeFileSync(join(bad, "experiments.sqlite"), "");
    const r = itb(["experiments", "list", "--store", bad]);
    expect([r.status, r.stdout, r.stderr]).toEqual([
      1,
      "",
      `error: ${join(bad, "experiments.sqlite")}: cannot read the experiment store: no such table: experiments\n`,
    ]);
    usageError(
      ["list", "--config", config, "--store", folder],
      "give --config FILE or --store DIR, not both",
    );
    usageError(
      ["compare", "exp-0001", "exp-0001", "--store", folder],
      "an experiment is named twice: exp-0001 exp-0001",
    );
    usageError(
      ["show", "exp-0001", "--store", folder, "--top", "0"],
      /^error: option '--top <n>' argument '0' is invalid\. expected a whole number of 1 or more, found "0"/,
    );
  });
});

describe("itb experiments help", () => {
  it("is listed in itb --help, and each subcommand's help has a summary and an example", () => {
    const own = ok(["--help"]);
    for (const c of ["list [options]", "show [options] <id>", "compare [options] <ids...>"]) {
      expect(own).toMatch(new RegExp(`^ {2}${c.replace(/[[\].]/g, "\\$&")} +[a-z]`, "m"));
    }
    const top = itb(["--help"]);
    expect(top.stdout).toMatch(/^ {2}experiments +the tuning runs/m);
    for (const sub of ["list", "show", "compare"]) {
      const help = ok([sub, "--help"]);
      expect(help, sub).toMatch(/Example:\n {2}itb experiments /);
      expect(help, sub).toContain("See docs/experiments.md.");
    }
  });
});
