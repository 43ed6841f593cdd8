import {
  configKeys,
  THRESHOLD_RULE_PARAMETERS,
  ThresholdRule2ConfigSchema,
  ThresholdRuleConfigSchema,
  type ThresholdRuleName,
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

// ------------------------------------------------------------------------ the rule

/**
 * The threshold rule, defined here only (the signal stage, the threshold search's columns and
 * the bench use it): a row buys when every score is at least its buy threshold and sells when
 * every score is at most its sell threshold. A NaN score never signals (NaN compares false, as
 * in pandas).
 */
export type ThresholdSide = "buy" | "sell";

/** The rule on one row of scores (`row[k]` against `thresholds[k]`): 1 when it fires, else 0. */
export function thresholdFires(
  side: ThresholdSide,
  row: ArrayLike<number>,
  thresholds: readonly number[],
): number {
  if (side === "buy") {
    for (let k = 0; k < thresholds.length; k++)
      if (!((row[k] as number) >= (thresholds[k] as number))) return 0;
  } else {
    for (let k = 0; k < thresholds.length; k++)
      if (!((row[k] as number) <= (thresholds[k] as number))) return 0;
  }
  return 1;
}

/**
 * The rule over whole score columns into `out` (0/1 per row), the same values as
 * `thresholdFires` row by row. One and two scores (threshold_rule, threshold_rule2) run in
 * loops of their own: the threshold search computes every distinct column of its grid.
 */
export function thresholdColumn(
  side: ThresholdSide,
  scores: readonly Float64Array[],
  thresholds: readonly number[],
  out: Uint8Array,
): Uint8Array {
  const n = out.length;
  const s1 = scores[0] as Float64Array;
  const t1 = thresholds[0] as number;
  if (thresholds.length === 1) {
    if (side === "buy") for (let i = 0; i < n; i++) out[i] = (s1[i] as number) >= t1 ? 1 : 0;
    else for (let i = 0; i < n; i++) out[i] = (s1[i] as number) <= t1 ? 1 : 0;
    return out;
  }
  if (thresholds.length === 2) {
    const s2 = scores[1] as Float64Array;
    const t2 = thresholds[1] as number;
    if (side === "buy")
      for (let i = 0; i < n; i++) out[i] = (s1[i] as number) >= t1 && (s2[i] as number) >= t2 ? 1 : 0;
    else for (let i = 0; i < n; i++) out[i] = (s1[i] as number) <= t1 && (s2[i] as number) <= t2 ? 1 : 0;
    return out;
  }
  const row = new Float64Array(thresholds.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < row.length; k++) row[k] = (scores[k] as Float64Array)[i] as number;
    out[i] = thresholdFires(side, row, thresholds);
  }
  return out;
}

/** The thresholds of a rule's parameters, in score order (threshold_rule: one each; threshold_rule2: two). */
export function ruleThresholds(
  rule: ThresholdRuleName,
  p: Readonly<Record<string, number>>,
): { buy: number[]; sell: number[] } {
  return rule === "threshold_rule"
    ? { buy: [p.buy_signal_threshold as number], sell: [p.sell_signal_threshold as number] }
    : {
        buy: [p.buy_signal_threshold as number, p.buy_signal_threshold_2 as number],
        sell: [p.sell_signal_threshold as number, p.sell_signal_threshold_2 as number],
      };
}

export function thresholdGenerator(cfg: ThresholdConfig): SignalGenerator {
  const { buyThresholds: bt, sellThresholds: st } = cfg;
  return {
    inputs: cfg.scores,
    outputs: [cfg.buy, cfg.sell],
    roles: ["buy", "sell"],
    batch(inputs) {
      const n = inputs[0]?.length ?? 0;
      const buy = Float64Array.from(thresholdColumn("buy", inputs, bt, new Uint8Array(n)));
      const sell = Float64Array.from(thresholdColumn("sell", inputs, st, new Uint8Array(n)));
      return [buy, sell];
    },
    stream() {
      return {
        next(inputs, out) {
          out[0] = thresholdFires("buy", inputs, bt);
          out[1] = thresholdFires("sell", inputs, st);
        },
      };
    },
  };
}
