import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { benchFeatures, benchLabels } from "../../src/bench/workload.js";
import { type RollingPredict, type RollingSettings, rollingSettingsOf } from "../../src/config/index.js";
import { ConfigError } from "../../src/core/errors.js";
import { Frame } from "../../src/core/frame.js";
import { silentLogger } from "../../src/core/log.js";
import { mergeSources } from "../../src/data/merge.js";
import { frameFromShared, planRolling, runRollingStep, shareFrame } from "../../src/models/rolling.js";
import { modelSpecs } from "../../src/models/train.js";
import { sampleCandles } from "../helpers/candles.js";

const MINUTE = 60_000;
const T0 = Date.UTC(2023, 2, 1);
const grid = (n: number) => Float64Array.from({ length: n }, (_, i) => T0 + i * MINUTE);
const rp = (o: Partial<RollingPredict>): RollingSettings | undefined =>
  rollingSettingsOf(o as RollingPredict);
const limits = { labelHorizon: 10, trainLength: 0 };

describe("walk-forward plan (rolling_predict)", () => {
  it("any one of prediction_start, prediction_size and prediction_steps is derived from the other two", () => {
    const time = grid(1000);
    const all = planRolling(
      time,
      rp({ prediction_start: 400, prediction_size: 100, prediction_steps: 5 }),
      limits,
    );
    expect([all.predictionStart, all.predictionSize, all.predictionSteps]).toEqual([400, 100, 5]);
    const noStart = planRolling(
      time,
      rp({ prediction_start: null, prediction_size: 100, prediction_steps: 3 }),
      limits,
    );
    expect([noStart.predictionStart, noStart.steps.length]).toEqual([700, 3]);
    const noSize = planRolling(time, rp({ prediction_start: 400, prediction_steps: 4 }), limits);
    expect(noSize.predictionSize).toBe(150);
    const noSteps = planRolling(time, rp({ prediction_start: 400, prediction_size: 250 }), limits);
    expect(noSteps.predictionSteps).toBe(2);
    expect(noSteps.steps.map((s) => [s.predictStart, s.predictEnd])).toEqual([
      [400, 650],
      [650, 900],
    ]);
  });

  it("data_start/data_end cut the table; a row prediction_start counts from data_start; a time is the row at or after it", () => {
    const time = grid(1000);
    const p = planRolling(
      time,
      rp({ data_start: 100, data_end: 900, prediction_start: 300, prediction_size: 100 }),
      limits,
    );
    expect([p.dataStart, p.dataEnd, p.predictionStart, p.predictionSteps]).toEqual([100, 900, 400, 5]);
    expect(p.steps[0]?.trainStart).toBe(100);
    const t = planRolling(
      time,
      rp({ prediction_start: "2023-03-01 10:00", prediction_size: 60, prediction_steps: 2 }),
      limits,
    );
    expect(t.predictionStart).toBe(600);
    expect(() =>
      planRolling(time, rp({ prediction_start: "2023-03-02 10:00", prediction_size: 60 }), limits),
    ).toThrow(
      "rolling_predict.prediction_start: 2023-03-02T10:00:00.000Z is after the table's last row (2023-03-01T00:00:00.000Z .. 2023-03-01T16:39:00.000Z)",
    );
  });

  it("a date that is not a row resolves to the first row at or after it, as the original's filter", () => {
    // 1000 one-minute rows from 2023-03-01 00:00 with rows 100..159 missing (a halt).
    const time = Float64Array.from(grid(1000).filter((_, i) => i < 100 || i >= 160));
    // Inside the halt: the first row after it (table row 100, 01:40 in time).
    const inGap = planRolling(
      time,
      rp({ data_start: "2023-03-01 01:50", prediction_size: 100, prediction_steps: 2 }),
      limits,
    );
    expect([inGap.dataStart, time[inGap.dataStart]]).toEqual([100, Date.UTC(2023, 2, 1, 2, 40)]);
    // Between two minutes, and before the table: the original's config-sample-1min has
    // "data_start": "2020-02-01 00:00:00", which keeps every row of later data.
    const between = planRolling(
      time,
      rp({ data_start: "2023-03-01 00:10:30", prediction_size: 100, prediction_steps: 2 }),
      limits,
    );
    expect(between.dataStart).toBe(11);
    const before = planRolling(
      time,
      rp({ data_start: "2020-02-01 00:00:00", prediction_size: 100, prediction_steps: 2 }),
      limits,
    );
    expect([before.dataStart, before.predictionStart]).toEqual([0, 740]);
    // data_end is exclusive: a time after the last row keeps every row; prediction_start in a gap.
    const ends = planRolling(
      time,
      rp({ data_end: "2030-01-01", prediction_start: "2023-03-01 01:45", prediction_size: 100 }),
      limits,
    );
    expect([ends.dataEnd, ends.predictionStart, ends.predictionSteps]).toEqual([940, 100, 8]);
    expect(() =>
      planRolling(
        time,
        rp({ data_start: "2023-03-01 05:00", prediction_start: "2023-03-01 01:00", prediction_size: 10 }),
        limits,
      ),
    ).toThrow(
      'rolling_predict.prediction_start: "2023-03-01 01:00" is before data_start (2023-03-01T05:00:00.000Z)',
    );
  });

  it("refuses plans it cannot run, saying why", () => {
    const time = grid(1000);
    expect(() => planRolling(time, undefined, limits)).toThrow(ConfigError);
    expect(() => planRolling(time, rp({ prediction_size: 100 }), limits)).toThrow(
      "rolling_predict: only one of prediction_start, prediction_size and prediction_steps may be null; the others define it",
    );
    expect(() =>
      planRolling(time, rp({ prediction_start: 800, prediction_size: 100, prediction_steps: 3 }), limits),
    ).toThrow(
      "rolling_predict: not enough data for 3 step(s) of 100 row(s) from row 800 of the 1000 rows used (200 row(s) available for prediction)",
    );
    expect(() =>
      planRolling(time, rp({ prediction_start: 10, prediction_size: 100, prediction_steps: 3 }), limits),
    ).toThrow(
      "rolling_predict: the first step has no rows to train on: it predicts from row 10 of the data and label_horizon is 10; start predicting later",
    );
  });

  it("purge: every step's training rows end label_horizon + 1 rows before its first predicted row", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 50, max: 5000 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 100 }),
        (n, h, size, steps, lead) => {
          const start = h + 1 + lead;
          if (start + size * steps > n) return;
          const plan = planRolling(
            grid(n),
            rp({ prediction_start: start, prediction_size: size, prediction_steps: steps }),
            {
              labelHorizon: h,
              trainLength: 0,
            },
          );
          expect(plan.steps).toHaveLength(steps);
          plan.steps.forEach((s, i) => {
            const lastTrainRow = s.trainEnd - 1;
            // The last training row's label window (row .. row + h) ends before the first predicted row...
            expect(lastTrainRow + h).toBeLessThan(s.predictStart);
            // ...and it is the latest row for which that holds: nothing allowed is wasted.
            expect(lastTrainRow).toBe(s.predictStart - h - 1);
            expect(s.predictEnd - s.predictStart).toBe(size);
            if (i > 0) expect(s.predictStart).toBe(plan.steps[i - 1]?.predictEnd);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("walk-forward steps on real data", () => {
  let frame: Frame;
  let features: string[];
  beforeAll(async () => {
    const merged = mergeSources([{ name: "BTCUSDT", prefix: "", frame: await sampleCandles(["2023-03"]) }], {
      freqMs: MINUTE,
      interpolate: false,
      maxGap: 0,
    });
    frame = merged.frame;
    features = benchFeatures(frame);
    benchLabels(frame);
  });

  it("each step's models trained only on rows whose labels end before the step, predictions for its rows only", async () => {
    const specs = modelSpecs({
      train_feature_sets: [],
      train_features: features,
      labels: ["high_20", "low_20"],
      algorithms: [{ name: "lc", algo: "lc", params: {}, train: { is_scale: true }, predict: {} }] as never,
    });
    const h = 120;
    const plan = planRolling(frame.time, rp({ prediction_size: 1440, prediction_steps: 3 }), {
      labelHorizon: h,
      trainLength: 10_000,
    });
    // The same table through shared memory, as the worker threads read it.
    const shared = frameFromShared(shareFrame(frame, [...features, "high_20", "low_20"]));
    const ctx = { configHash: "h", itbVersion: "t", createdAt: 0, run: 7, log: silentLogger };
    for (const step of plan.steps) {
      const result = await runRollingStep(shared, plan, step, specs, ctx);
      expect(result.models.map((m) => m.name)).toEqual(["high_20_lc", "low_20_lc"]);
      for (const m of result.models) {
        const a = m.artifact;
        if (a === null) throw new Error(`${m.name} skipped: ${m.skipped}`);
        // From the artifact's training window: no training label window reaches a predicted row.
        expect(a.training.last_row + h).toBeLessThan(step.predictStart);
        expect(Date.parse(a.training.label_end_time)).toBeLessThan(frame.time[step.predictStart] as number);
        expect(a.training.rows).toBe(10_000);
        expect(a.rolling).toEqual({
          run: 7,
          step: step.step,
          predict_first_row: step.predictStart,
          predict_last_row: step.predictEnd - 1,
          predict_first_time: new Date(frame.time[step.predictStart] as number).toISOString(),
          predict_last_time: new Date(frame.time[step.predictEnd - 1] as number).toISOString(),
        });
        expect(a.metrics.out_of_sample?.rows).toBeGreaterThan(0);
        expect(m.predictions.length).toBe(1440);
      }
    }
  });

  it("a model that cannot be trained in a step is skipped there: NaN predictions and the reason", async () => {
    const time = frame.time.slice(0, 3000);
    const f = new Frame(time, [
      ["x", frame.get("close").slice(0, 3000)],
      ["y", new Float64Array(3000)],
    ]);
    const specs = modelSpecs({
      train_feature_sets: [],
      train_features: ["x"],
      labels: ["y"],
      algorithms: [{ name: "lc", algo: "lc", params: {}, train: {}, predict: {} }] as never,
    });
    const plan = planRolling(time, rp({ prediction_size: 500, prediction_steps: 1 }), limits);
    const r = await runRollingStep(f, plan, plan.steps[0] as never, specs, {
      configHash: "h",
      itbVersion: "t",
      createdAt: 0,
      run: 1,
      log: silentLogger,
    });
    expect(r.models[0]?.artifact).toBeNull();
    expect(r.models[0]?.skipped).toMatch(/y_lc: the label has one class only/);
    expect(r.models[0]?.predictions.every((v) => Number.isNaN(v))).toBe(true);
  });
});
