// A custom feature generator, used from a config as
//   { "generator": "./examples/custom-generator.mjs:rangePct", "config": { "window": 10 } }
// (the path is relative to the config file's folder). It implements itb's FeatureGenerator
// contract: inputs and outputs named up front, a batch over whole columns, the warm-up after
// which the streaming twin equals the batch, and the streaming twin the live engine feeds one
// closed candle at a time. `itb lookahead --config FILE` checks both properties for it.

/** @typedef {import("../dist/features/generator.js").FeatureGenerator} FeatureGenerator */

/** Mean of the bar range (high − low) as a percentage of close, over `window` bars. */
/** @type {FeatureGenerator} */
export const rangePct = {
  inputs: () => ["high", "low", "close"],
  outputs: (config) => [`range_pct_${config.window ?? 10}`],
  warmup: (config) => (config.window ?? 10) - 1,

  batch(frame, config) {
    const w = Number(config.window ?? 10);
    const high = frame.get("high");
    const low = frame.get("low");
    const close = frame.get("close");
    const out = new Float64Array(frame.length).fill(Number.NaN);
    let sum = 0;
    for (let i = 0; i < frame.length; i++) {
      sum += ((high[i] - low[i]) / close[i]) * 100;
      if (i >= w) sum -= ((high[i - w] - low[i - w]) / close[i - w]) * 100;
      if (i >= w - 1) out[i] = sum / w;
    }
    return [out];
  },

  stream(config) {
    const w = Number(config.window ?? 10);
    const ring = new Float64Array(w);
    let n = 0;
    let sum = 0;
    return {
      next(values, out) {
        const [high, low, close] = values;
        const v = ((high - low) / close) * 100;
        const slot = n % w;
        if (n >= w) sum -= ring[slot];
        ring[slot] = v;
        sum += v;
        n++;
        out[0] = n >= w ? sum / w : Number.NaN;
      },
    };
  },
};
