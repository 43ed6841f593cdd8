import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/core/errors.js";
import { exampleFeatureGenerator as g } from "../../src/features/exampleFeature.js";
import { type ResolvedSet, runSetsSync, streamSets } from "../../src/features/featureSets.js";
import { sampleCandles } from "../helpers/candles.js";

/** The original's `common.my_feature_example:my_feature_example`, built in so its samples run. */

const set = (config: Record<string, unknown>): ResolvedSet => ({
  name: "common.my_feature_example:my_feature_example",
  generator: g,
  column_prefix: "",
  feature_prefix: "",
  config,
});

describe("the original's example feature", () => {
  it("adds or multiplies by the parameter, named as the original names it; the stream equals the batch", async () => {
    const frame = await sampleCandles();
    const sets = [
      set({ columns: "close", function: "add", parameter: 2.0, names: "close_add" }),
      set({ columns: "volume", function: "mul", parameter: 0.5 }),
    ];
    const batch = frame.slice(0);
    expect(runSetsSync(batch, sets).map((r) => r.columns)).toEqual([["close_add"], ["volume_mul"]]);
    const close = frame.get("close");
    const volume = frame.get("volume");
    const added = batch.get("close_add");
    const multiplied = batch.get("volume_mul");
    for (let i = 0; i < frame.length; i += 997) {
      expect(added[i]).toBe((close[i] as number) + 2.0);
      expect(multiplied[i]).toBe((volume[i] as number) * 0.5);
    }
    const streamed = streamSets(frame, sets);
    expect(Array.from(streamed.get("close_add"))).toEqual(Array.from(added));
    expect(Array.from(streamed.get("volume_mul"))).toEqual(Array.from(multiplied));
  });

  it("refuses what the original refuses", () => {
    expect(() => g.outputs({ columns: ["close"], function: "add", parameter: 1 })).toThrow(
      new ConfigError('my_feature_example: columns must be one column name, found ["close"]'),
    );
    expect(() => g.outputs({ columns: "close", function: "sub", parameter: 1 })).toThrow(
      'my_feature_example: function must be "add" or "mul", found "sub"',
    );
    expect(() => g.outputs({ columns: "close", function: "mul", parameter: "2" })).toThrow(
      'my_feature_example: parameter must be a number, found "2"',
    );
  });
});
