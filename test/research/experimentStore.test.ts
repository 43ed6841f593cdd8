import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  ExperimentStore,
  experimentStoreFile,
  experimentsFolder,
  type TrialRecord,
} from "../../src/research/experiments/store.js";

const base = {
  name: null,
  configFile: "/x/config.jsonc",
  configHash: "abc",
  dataFingerprint: "rows=10",
  objective: "auc" as const,
  sampler: "tpe",
  seed: 7,
  trialsRequested: 3,
  space: { parameters: { "algorithms[0].params.C": { type: "float", low: 0.1, high: 10, log: true } } },
  settings: { folds: 4 },
};

const trial = (n: number, value: number | null): TrialRecord => ({
  experimentId: "exp-0001",
  number: n,
  status: value === null ? "failed" : "complete",
  params: { "algorithms[0].params.C": 0.5 + n },
  configHash: `h${n}`,
  value,
  folds: [
    {
      fold: 0,
      start: "2023-01-01T00:00:00.000Z",
      end: "2023-02-01T00:00:00.000Z",
      rows: 10,
      value,
      metrics: { auc: value },
    },
  ],
  rung: 0,
  started: "2023-01-01T00:00:00.000Z",
  finished: "2023-01-01T00:00:01.000Z",
  durationS: 1,
  series: value === null ? null : [value, Number.NaN],
  error: value === null ? "boom" : null,
});

describe("experiment store", () => {
  it("keeps experiments and trials across reopen, numbered in order", () => {
    const folder = experimentsFolder(mkdtempSync(join(tmpdir(), "itb-exp-")), "BTCUSDT");
    const file = experimentStoreFile(folder);
    const s = ExperimentStore.open(file);
    const a = s.createExperiment(base, new Date("2023-01-01T00:00:00Z"));
    const b = s.createExperiment({ ...base, name: "second" });
    expect([a.id, b.id]).toEqual(["exp-0001", "exp-0002"]);
    expect(a.status).toBe("running");
    s.addTrial(trial(0, 0.61));
    s.addTrial(trial(1, null));
    expect(() => s.addTrial(trial(1, 0.7))).toThrow(/cannot record trial 1 of exp-0001/);
    s.updateExperiment(a.id, { status: "finished", bestTrial: 0, overfit: { pbo: 0.25 } });
    s.close();

    const r = ExperimentStore.open(file, { readonly: true });
    const e = r.experiment("exp-0001");
    expect(e?.status).toBe("finished");
    expect(e?.bestTrial).toBe(0);
    expect(e?.overfit).toEqual({ pbo: 0.25 });
    expect(e?.space).toEqual(base.space);
    expect(e?.created).toBe("2023-01-01T00:00:00.000Z");
    const ts = r.trials("exp-0001");
    expect(ts.map((t) => [t.number, t.status, t.value])).toEqual([
      [0, "complete", 0.61],
      [1, "failed", null],
    ]);
    // Non-finite numbers are stored as null.
    expect(ts[0]?.series).toEqual([0.61, null]);
    expect(r.trialCounts().get("exp-0001")).toEqual({ complete: 1, pruned: 0, failed: 1 });
    expect(r.experiments().map((x) => x.name)).toEqual([null, "second"]);
    r.close();
  });

  it("says what is wrong with a missing or broken store", () => {
    const dir = mkdtempSync(join(tmpdir(), "itb-exp-"));
    expect(() => ExperimentStore.open(join(dir, "none.sqlite"), { readonly: true })).toThrow(
      /no experiments recorded: .*none\.sqlite does not exist/,
    );
    const bad = join(dir, "bad.sqlite");
    writeFileSync(bad, "not a database at all, just text ".repeat(200));
    expect(() => ExperimentStore.open(bad)).toThrow(/bad\.sqlite: cannot open the experiment store/);
  });
});
