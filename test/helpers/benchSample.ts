import { resolve } from "node:path";
import { benchFeatures, benchLabels } from "../../src/bench/workload.js";
import type { Frame } from "../../src/core/frame.js";
import { loadArchiveMonths } from "../../src/data/archive/import.js";
import { mergeSources } from "../../src/data/merge.js";

/**
 * The bundled sample (BTCUSDT spot 1m, 2023-02..04) on the 1-minute grid with the bench's 20
 * features and two labels computed, as the model tests train on it.
 */
export async function benchSampleFrame(): Promise<{ frame: Frame; features: string[]; labels: string[] }> {
  const klines = await loadArchiveMonths(
    resolve(import.meta.dirname, "../../sample/binance-vision"),
    "BTCUSDT",
    "spot",
    "1m",
    ["2023-02", "2023-03", "2023-04"],
  );
  const { frame } = mergeSources([{ name: "BTCUSDT", prefix: "", frame: klines }], {
    freqMs: 60_000,
    interpolate: false,
    maxGap: 0,
  });
  const features = benchFeatures(frame);
  const labels = benchLabels(frame);
  return { frame, features, labels };
}
