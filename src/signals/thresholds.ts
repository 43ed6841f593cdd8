import {
  configKeys,
  THRESHOLD_RULE_PARAMETERS,
  ThresholdRule2ConfigSchema,
  ThresholdRuleConfigSchema,
} from "../config/index.js";
import type { ConfigReader } from "./parse.js";
import type { SignalGenerator } from "./types.js";

/**
 * The threshold rules: scores in, 0/1 buy and sell columns out (the original's booleans; a
 * frame column is a Float64Array). A NaN score never signals.
 *   - threshold_rule:  buy = s >= buy_signal_threshold; sell = s <= sell_signal_threshold.
 *   - threshold_rule2: buy = s1 >= buy_signal_threshold && s2 >= buy_signal_threshold_2;
 *                      sell = s1 <= sell_signal_threshold && s2 <= sell_signal_threshold_2.
 */
export interface ThresholdConfig {
  /** One score column (threshold_rule) or two (threshold_rule2). */
  scores: string[];
  buy: string;
  sell: string;
  /** One threshold per score column. */
  buyThresholds: number[];
  sellThresholds: number[];
}

function parseNames(c: ConfigReader): [string, string] {
  return c.columns("names", { min: 2, max: 2, allowString: false }) as [string, string];
}

export function parseThresholdRule(c: ConfigReader): ThresholdConfig {
  c.allowOnly(configKeys(ThresholdRuleConfigSchema));
  const scores = c.columns("columns", { min: 1, max: 1, allowString: true });
  const [buy, sell] = parseNames(c);
  const p = c.object("parameters");
  p.allowOnly(THRESHOLD_RULE_PARAMETERS.threshold_rule);
  return {
    scores,
    buy,
    sell,
    buyThresholds: [p.number("buy_signal_threshold")],
    sellThresholds: [p.number("sell_signal_threshold")],
  };
}

export function parseThresholdRule2(c: ConfigReader): ThresholdConfig {
  c.allowOnly(configKeys(ThresholdRule2ConfigSchema));
  const scores = c.columns("columns", { min: 2, max: 2, allowString: false });
  const [buy, sell] = parseNames(c);
  const p = c.object("parameters");
  p.allowOnly(THRESHOLD_RULE_PARAMETERS.threshold_rule2);
  return {
    scores,
    buy,
    sell,
    buyThresholds: [p.number("buy_signal_threshold"), p.number("buy_signal_threshold_2")],
    sellThresholds: [p.number("sell_signal_threshold"), p.number("sell_signal_threshold_2")],
  };
}

/** 1 when every score is >= its buy threshold (NaN compares false, as in pandas). */
function allAtLeast(row: ArrayLike<number>, thr: readonly number[]): number {
  for (let k = 0; k < thr.length; k++) if (!((row[k] as number) >= (thr[k] as number))) return 0;
  return 1;
}

function allAtMost(row: ArrayLike<number>, thr: readonly number[]): number {
  for (let k = 0; k < thr.length; k++) if (!((row[k] as number) <= (thr[k] as number))) return 0;
  return 1;
}

export function thresholdGenerator(cfg: ThresholdConfig): SignalGenerator {
  const { buyThresholds: bt, sellThresholds: st } = cfg;
  return {
    inputs: cfg.scores,
    outputs: [cfg.buy, cfg.sell],
    roles: ["buy", "sell"],
    batch(inputs) {
      const n = inputs[0]?.length ?? 0;
      const buy = new Float64Array(n);
      const sell = new Float64Array(n);
      const row = new Float64Array(inputs.length);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < inputs.length; k++) row[k] = (inputs[k] as Float64Array)[i] as number;
        buy[i] = allAtLeast(row, bt);
        sell[i] = allAtMost(row, st);
      }
      return [buy, sell];
    },
    stream() {
      return {
        next(inputs, out) {
          out[0] = allAtLeast(inputs, bt);
          out[1] = allAtMost(inputs, st);
        },
      };
    },
  };
}
