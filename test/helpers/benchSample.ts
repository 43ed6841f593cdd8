import { resolve } from "node:path";
import { benchFeatures, benchLabels, loadBenchFrame } from "../../src/bench/workload.js";
import type { Frame } from "../../src/core/frame.js";

/**
 * The bundled sample (BTCUSDT spot 1m, 2023-02..04) on the 1-minute grid with the bench's 20
 * features and two labels computed, as the model tests train on it.
 */
export async function benchSampleFrame(): Promise<{ frame: Frame; features: string[]; labels: string[] }> {
  const frame = await loadBenchFrame(
    resolve(import.meta.dirname, "../../sample/binance-vision"),
    "2023-02",
    3,
  );
  const features = benchFeatures(frame);
  const labels = benchLabels(frame);
  return { frame, features, labels };
}
