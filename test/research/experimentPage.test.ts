import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { overfitOdds } from "../../src/backtest/overfit.js";
import { buildPageData, foldBox, renderExperimentsHtml } from "../../src/research/experiments/page.js";
import {
  type ExperimentView,
  experimentView,
  openExperimentStore,
  rankedTrials,
  requireExperiments,
} from "../../src/research/experiments/read.js";
import {
  ExperimentStore,
  experimentStoreFile,
  experimentsFolder,
} from "../../src/research/experiments/store.js";
import { formatCompare, formatList, formatShow } from "../../src/research/experiments/text.js";
import { writeToyExperiment } from "../helpers/experiments.js";

/**
 * What `itb experiments` reads and draws, on toy tuning runs written through the store's API:
 * the best trial, holdout and odds of an experiment, the odds of an unfinished one computed from
 * its trials, and the page's data (running best, fold boxes, importance) and HTML.
 */

let dir = "";
let folder = "";
let views: ExperimentView[] = [];
const GENERATED = "2026-01-11T00:00:00.000Z";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "itb-exp-page-"));
  folder = experimentsFolder(dir, "BTCUSDT");
  const store = ExperimentStore.open(experimentStoreFile(folder));
  writeToyExperiment(store, { name: "auc <b>wide</b>", trials: 60, seed: 1 });
  writeToyExperiment(store, { objective: "profit", trials: 40, seed: 2, days: 64 });
  // the same run as the second, stopped before the end: nothing chosen, no odds recorded
  writeToyExperiment(store, { objective: "profit", trials: 40, seed: 2, days: 64, end: "interrupted" });
  store.close();
  const r = openExperimentStore(folder);
  views = r.experiments().map((e) => experimentView(r, folder, e));
  r.close();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("an experiment as read from the store", () => {
  it("counts the trials, takes the chosen trial as best and reads the holdout and the recorded odds", () => {
    const [a] = views as [ExperimentView];
    expect(a.trials).toHaveLength(60);
    expect(a.counts.complete + a.counts.pruned + a.counts.failed).toBe(60);
    // every 13th trial fails: 12, 25, 38, 51
    expect(a.counts.failed).toBe(4);
    expect(a.counts.pruned).toBeGreaterThan(5);
    expect(a.best?.number).toBe(a.experiment.bestTrial);
    expect(a.best?.value).toBe(rankedTrials(a.trials)[0]?.value);
    expect(a.holdoutValue).toBeCloseTo((a.best?.value as number) - 0.02, 12);
    // an auc run's series are its 4 folds: too few for PBO, which the odds say
    expect(a.odds.source).toBe("recorded");
    expect(a.odds.pbo).toBeNull();
    expect(a.odds.reading[0]).toBe("no PBO: 4 days, fewer than 16 (4 blocks of 4 days)");
    expect(a.durationS).toBe(
      (Date.parse(a.experiment.finished as string) - Date.parse(a.experiment.created)) / 1000,
    );
  });

  it("computes the odds of an unfinished run from its complete trials: those the finished run recorded", () => {
    const [, done, stopped] = views as [ExperimentView, ExperimentView, ExperimentView];
    expect(stopped.experiment.status).toBe("interrupted");
    expect(stopped.experiment.bestTrial).toBeNull();
    expect(stopped.best?.number).toBe(done.best?.number);
    expect(done.odds.source).toBe("recorded");
    expect(stopped.odds.source).toBe("computed");
    expect(done.odds.pbo).not.toBeNull();
    expect(stopped.odds.pbo).toBe(done.odds.pbo);
    expect(stopped.odds.dsr).toBe(done.odds.dsr);
    expect(stopped.odds.trials).toBe(done.counts.complete);
    expect(stopped.odds.periods).toBe(64);
    // and those are CSCV's over the complete trials' series, selecting the best
    const complete = done.trials.filter((t) => t.status === "complete");
    const returns = Float64Array.from(complete.flatMap((t) => t.series as number[]));
    const odds = overfitOdds(
      returns,
      complete.length,
      64,
      complete.findIndex((t) => t.number === done.best?.number),
    );
    expect(done.odds.pbo).toBe(odds.pbo?.pbo);
    expect(done.odds.dsr).toBe(odds.deflated?.dsr);
    expect(stopped.holdoutValue).toBeNull();
  });

  it("names the known ids for an unknown one, and says so when there are none", () => {
    const r = openExperimentStore(folder);
    try {
      expect(() => requireExperiments(r, ["exp-0009"])).toThrow(
        "no experiment exp-0009: the known ones are exp-0001, exp-0002, exp-0003",
      );
    } finally {
      r.close();
    }
    const empty = experimentsFolder(dir, "ETHUSDT");
    ExperimentStore.open(experimentStoreFile(empty)).close();
    const e = openExperimentStore(empty);
    try {
      expect(() => requireExperiments(e, ["exp-0001"])).toThrow(
        /^no experiment exp-0001: .*experiments\.sqlite holds no experiments$/,
      );
    } finally {
      e.close();
    }
    expect(() => openExperimentStore(join(dir, "nowhere"))).toThrow(
      /^no experiments recorded: .*nowhere\/experiments\.sqlite does not exist \(run itb tune first\)$/,
    );
  });
});

describe("the page's data", () => {
  it("gives fold boxes as R's quantile type 7", () => {
    // quantile(c(1, 2, 3, 4)) in R: 1.00 1.75 2.50 3.25 4.00
    expect(foldBox(3, [4, 1, null, 3, 2])).toEqual({ trial: 3, n: 4, box: [1, 1.75, 2.5, 3.25, 4] });
    expect(foldBox(0, [0.6])).toEqual({ trial: 0, n: 1, box: [0.6, 0.6, 0.6, 0.6, 0.6] });
    expect(foldBox(1, [null])).toBeNull();
  });

  it("holds the running best, a box per trial with folds, and the importance, for each experiment", () => {
    const data = buildPageData(views, GENERATED);
    expect(data.title).toBe("Experiments exp-0001, exp-0002, exp-0003");
    for (const [k, x] of data.experiments.entries()) {
      const v = views[k] as ExperimentView;
      expect(x.trials.map((t) => t.number)).toEqual(v.trials.map((t) => t.number));
      let best = Number.NEGATIVE_INFINITY;
      v.trials.forEach((t, i) => {
        if (t.status === "complete") best = Math.max(best, t.value as number);
        expect(x.runningBest[i]).toBe(best === Number.NEGATIVE_INFINITY ? null : best);
      });
      expect(x.runningBest[x.runningBest.length - 1]).toBe(v.best?.value);
      expect(x.foldSpread.map((b) => b.trial)).toEqual(
        v.trials.filter((t) => t.folds.length > 0).map((t) => t.number),
      );
      for (const b of x.foldSpread) {
        const t = v.trials.find((u) => u.number === b.trial);
        const values = (t?.folds ?? []).map((f) => f.value as number);
        expect(b.box[0]).toBe(Math.min(...values));
        expect(b.box[4]).toBe(Math.max(...values));
        expect(b.n).toBe(values.length);
      }
      // the toy objective depends on C alone (19 to 31 complete trials, most near its peak)
      expect(x.importance[0]?.param).toBe("algorithms[0].params.C");
      expect(x.importance[0]?.importance).toBeGreaterThan(0.4);
      for (const p of x.importance.slice(1)) expect(p.importance, p.param).toBeLessThan(0.15);
    }
    expect(data.sharedParams).toEqual([
      "algorithms[0].params.C",
      "algorithms[0].params.max_depth",
      "label.horizon",
      "train_features",
    ]);
  });

  it("embeds that data in a page that loads nothing and escapes every string", () => {
    const html = renderExperimentsHtml(views, GENERATED);
    const json = /<script id="page-data" type="application\/json">(.*?)<\/script>/s.exec(html)?.[1] as string;
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(buildPageData(views, GENERATED))));
    // outside the inlined library: no script, stylesheet or image to fetch
    const page = html.replace(/<script>[\s\S]*?<\/script>/g, "");
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img|url\(/);
    expect(html).toContain("auc &lt;b&gt;wide&lt;/b&gt;");
    expect(html).not.toContain("<b>wide</b>");
    for (const v of views) {
      const rows = html.match(
        new RegExp(`<table class="trials" id="trials-${v.experiment.id}">.*?</table>`, "s"),
      )?.[0];
      expect(rows?.match(/<tr data-trial=/g)).toHaveLength(v.trials.length);
      if (v.experiment.bestTrial !== null)
        expect(rows).toContain(`<tr data-trial="${v.experiment.bestTrial}" class="best">`);
    }
    expect(html).toContain('id="compare-table"');
    expect(renderExperimentsHtml(views.slice(0, 1), GENERATED)).not.toContain('id="compare-table"');
  });
});

describe("the text", () => {
  it("lists each experiment on a line, and compares them with their shared best parameters", () => {
    const list = formatList(views, folder).split("\n");
    expect(list[0]).toMatch(/^id +name +created UTC +status +objective +trials c\/p\/f +best +holdout +PBO$/);
    expect(list).toHaveLength(4);
    expect(list[3]).toMatch(/^exp-0003 .* interrupted +profit +\d+\/\d+\/3 of 45 .* - +\d\.\d\d$/);
    const cmp = formatCompare(views.slice(1, 3));
    expect(cmp).toMatch(/^best parameters:$/m);
    expect(cmp).toMatch(/^ {2}algorithms\[0\]\.params\.C +\S+ +\S+$/m);
    const show = formatShow(views[1] as ExperimentView, { top: 3, all: false });
    expect(show).toMatch(/^top 3 of \d+ complete trials by value:$/m);
    expect(show).toMatch(/^ {2}PBO \d\.\d\d: /m);
    expect(show).toMatch(/^ {2}DSR \d\.\d\d: /m);
  });
});

describe("an experiment without trials", () => {
  it("shows what there is and says what is not there yet", () => {
    const f = experimentsFolder(dir, "SOLUSDT");
    const s = ExperimentStore.open(experimentStoreFile(f));
    writeToyExperiment(s, { trials: 0, seed: 9, end: "running" });
    const v = experimentView(s, f, s.experiments()[0] as NonNullable<ReturnType<typeof s.experiment>>);
    s.close();
    expect(v.best).toBeNull();
    expect(v.odds.source).toBe("none");
    expect(v.durationS).toBeNull();
    const lines = formatShow(v, { top: 10, all: false }).split("\n");
    expect(lines[0]).toBe("exp-0001: running, objective auc, created 2026-01-10 09:00 UTC");
    expect(lines).toContain("best trial: none (no complete trial)");
    expect(lines).toContain("holdout: none");
    expect(lines[lines.length - 1]).toBe(
      "overfitting odds: none recorded (the experiment is running), and too few complete trials with comparable series to compute them",
    );
    expect(formatList([v], f).split("\n")[1]).toMatch(
      /^exp-0001 +- +2026-01-10 09:00 +running +auc +0\/0\/0 of 5 +- +- +-$/,
    );
    const data = buildPageData([v], GENERATED);
    expect(data.experiments[0]?.runningBest).toEqual([]);
    expect(data.experiments[0]?.importance).toEqual([]);
  });
});
