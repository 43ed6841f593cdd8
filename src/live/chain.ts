import { DataError } from "../core/errors.js";
import { FeatureStream, type ResolvedSet } from "../features/featureSets.js";
import type { ModelArtifact } from "../models/artifact.js";
import { ScoreStream } from "../models/rowPredictor.js";
import { createSignalStream, type SignalStep, type SignalStream, signalColumns } from "../signals/index.js";

/**
 * Every stage of one market for one closed candle: the merged row → the feature sets' stream →
 * the models' scores → the signal sets' stream. The numbers are those the batch stages write
 * for the same row, bit for bit. The live service calls `update` once per closed candle, in
 * time order; `buy` and `sell` then say what the Trader is to decide on.
 */
export interface ChainRow {
  /** `featureColumns` order. */
  features: Float64Array;
  /** `scoreColumns` order (one per model, `<label>_<name>`). */
  scores: Float64Array;
  /** `signalColumns` order. */
  signals: Float64Array;
  buy: boolean;
  sell: boolean;
}

export class CandleChain {
  readonly featureStream: FeatureStream;
  private scoreStream: ScoreStream;
  readonly signalStream: SignalStream;
  /** The merged table's columns `update` reads, in order. */
  readonly inputs: readonly string[];
  readonly featureColumns: readonly string[];
  readonly scoreColumns: readonly string[];
  readonly signalColumns: readonly string[];
  /** The signal columns whose 1 means buy and sell (the threshold rule's outputs). */
  readonly buyColumn: string;
  readonly sellColumn: string;
  private readonly signalPicks: { from: 0 | 1 | 2; index: number }[];
  private readonly signalIn: Float64Array;
  private readonly signalOut: Float64Array;
  private readonly buyAt: number;
  private readonly sellAt: number;
  private readonly result: ChainRow;

  /** `tableColumns`: the merged table's columns (candles of every source, prefixed). */
  constructor(
    sets: readonly ResolvedSet[],
    tableColumns: readonly string[],
    artifacts: readonly ModelArtifact[],
    steps: readonly SignalStep[],
    /** The signal columns to trade on, when not the threshold rule's (trader_simulation's buy/sell_signal_column). */
    columns: { buy?: string | undefined; sell?: string | undefined } = {},
  ) {
    this.featureStream = new FeatureStream(sets, tableColumns);
    this.inputs = this.featureStream.inputs;
    this.featureColumns = this.featureStream.outputs;
    this.scoreStream = new ScoreStream(artifacts, this.featureColumns);
    this.scoreColumns = this.scoreStream.names;
    this.signalStream = createSignalStream(steps);
    this.signalColumns = this.signalStream.outputs;
    this.signalPicks = this.signalStream.inputs.map((name) => {
      const s = this.scoreColumns.indexOf(name);
      if (s >= 0) return { from: 1, index: s };
      const f = this.featureColumns.indexOf(name);
      if (f >= 0) return { from: 0, index: f };
      const t = this.inputs.indexOf(name);
      if (t >= 0) return { from: 2, index: t };
      throw new DataError(
        `signal sets read column "${name}", which neither the models (${this.scoreColumns.join(", ")}) nor the feature sets make`,
      );
    });
    const roles = signalColumns(steps);
    const buy = columns.buy ?? roles.filter((r) => r.role === "buy").at(-1)?.column;
    const sell = columns.sell ?? roles.filter((r) => r.role === "sell").at(-1)?.column;
    if (buy === undefined || sell === undefined) {
      throw new DataError("signal_sets make no buy and sell columns: add a threshold_rule set");
    }
    for (const c of [buy, sell]) {
      if (!this.signalColumns.includes(c)) {
        throw new DataError(
          `the signal column "${c}" to trade on is not one signal_sets make (${this.signalColumns.join(", ")})`,
        );
      }
    }
    this.buyColumn = buy;
    this.sellColumn = sell;
    this.buyAt = this.signalColumns.indexOf(buy);
    this.sellAt = this.signalColumns.indexOf(sell);
    this.signalIn = new Float64Array(this.signalPicks.length);
    this.signalOut = new Float64Array(this.signalColumns.length);
    this.result = {
      features: new Float64Array(0),
      scores: new Float64Array(0),
      signals: this.signalOut,
      buy: false,
      sell: false,
    };
  }

  /**
   * Scores from now on come from these models (a newly promoted version). They must make the
   * same score columns and need only features the feature sets make; otherwise a DataError and
   * the old models stay.
   */
  replaceModels(artifacts: readonly ModelArtifact[]): void {
    const next = new ScoreStream(artifacts, this.featureColumns);
    const names = next.names.join(", ");
    if (names !== this.scoreColumns.join(", ")) {
      throw new DataError(`the new models make the scores ${names}, not ${this.scoreColumns.join(", ")}`);
    }
    this.scoreStream = next;
  }

  /**
   * One closed candle's merged row (`inputs` order; NaN for a source without a candle). The
   * returned object and its arrays are overwritten by the next call.
   */
  update(row: ArrayLike<number>): ChainRow {
    const features = this.featureStream.update(row);
    const scores = this.scoreStream.update(features);
    const picks = this.signalPicks;
    const sin = this.signalIn;
    for (let k = 0; k < picks.length; k++) {
      const p = picks[k] as { from: 0 | 1 | 2; index: number };
      sin[k] = (p.from === 1 ? scores[p.index] : p.from === 0 ? features[p.index] : row[p.index]) as number;
    }
    this.signalStream.next(sin, this.signalOut);
    const r = this.result;
    r.features = features;
    r.scores = scores;
    r.buy = this.signalOut[this.buyAt] === 1;
    r.sell = this.signalOut[this.sellAt] === 1;
    return r;
  }
}
