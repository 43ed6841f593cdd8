import { describe, expect, it } from "vitest";
import { baseParameters, planSearch, rowOf, searchRange } from "../../src/backtest/search.js";
import {
  configSettings,
  gridAxes,
  holdoutOption,
  parseConfigText,
  rollingSettingsOf,
} from "../../src/config/index.js";
import { ConfigError, DataError, UsageError } from "../../src/core/errors.js";
import { sampleCandles } from "../helpers/candles.js";

/** A config as a user writes it: times as text, the grid in the original's numpy spellings. */
const TEXT = JSON.stringify({
  symbol: "BTCUSDT",
  freq: "5m",
  download_start: "2023-03",
  signal_sets: [
    {
      generator: "threshold_rule",
      config: {
        columns: "trade_score",
        names: ["buy", "sell"],
        parameters: { buy_signal_threshold: 0.05, sell_signal_threshold: -0.05 },
      },
    },
  ],
  simulate_model: {
    data_start: "2023-03-05 12:00",
    data_end: 6000,
    holdout: "2023-03-20",
    rank_by: "sharpe",
    grid: { sell_signal_threshold: [-0.01, -0.03], buy_signal_threshold: "np.linspace(0.0, 0.1, 3)" },
  },
  backtest: { stake_amount: 500, taker_fee: 0.0005, stop_loss: 0.02 },
  rolling_predict: {
    data_start: 10,
    prediction_start: "2023-03-22",
    prediction_size: 288,
    prediction_steps: null,
  },
});

describe("the config's typed settings, made once at load", () => {
  const loaded = parseConfigText(TEXT, "settings.jsonc", {}, {});
  const { search, backtest, download } = loaded.settings;

  it("are what loadConfig returns, and what configSettings makes of the config", () => {
    expect(loaded.settings).toEqual(configSettings(loaded.config));
  });

  it("hold every time as epoch ms (with the text a message quotes), rows as rows", () => {
    expect(download).toEqual({ start: Date.UTC(2023, 2, 1), end: undefined });
    expect(search.dataStart).toEqual({ time: Date.UTC(2023, 2, 5, 12), text: "2023-03-05 12:00" });
    expect(search.dataEnd).toEqual({ row: 6000 });
    expect(search.holdout).toEqual({ text: "2023-03-20", time: Date.UTC(2023, 2, 20) });
    expect(rollingSettingsOf(loaded.config.rolling_predict)).toEqual({
      dataStart: { row: 10 },
      dataEnd: undefined,
      predictionStart: { time: Date.UTC(2023, 2, 22), text: "2023-03-22" },
      predictionSize: 288,
      predictionSteps: undefined,
    });
  });

  it("parse the grid's axes (sorted by name) and resolve the defaults", () => {
    expect(search.grid).toEqual([
      { name: "buy_signal_threshold", values: [0, 0.05, 0.1] },
      { name: "sell_signal_threshold", values: [-0.01, -0.03] },
    ]);
    expect([search.rankBy, search.minTrades, search.topCells, search.buySellEqual]).toEqual([
      "sharpe",
      10,
      10,
      false,
    ]);
    expect(backtest).toMatchObject({
      direction: "long",
      fillAt: "next_open",
      takerFee: 0.0005,
      makerFee: 0.0005,
      stake: { mode: "fixed", amount: 500 },
      stopLoss: 0.02,
      barMs: 300_000,
    });
  });

  it("make the search's cells from the typed grid, the set's own parameters underneath", () => {
    const plan = planSearch(loaded.config.signal_sets, search);
    expect(plan.rule).toBe("threshold_rule");
    expect(baseParameters(plan.set)).toEqual({ buy_signal_threshold: 0.05, sell_signal_threshold: -0.05 });
    expect(plan.cells.map((c) => [c.buy_signal_threshold, c.sell_signal_threshold])).toEqual([
      [0, -0.01],
      [0, -0.03],
      [0.05, -0.01],
      [0.05, -0.03],
      [0.1, -0.01],
      [0.1, -0.03],
    ]);
    expect(() => planSearch(loaded.config.signal_sets, { ...search, grid: [] })).toThrow(
      "simulate_model.grid: missing",
    );
  });

  it("a --holdout the command line gives is read at the edge; one it cannot read is a usage error", () => {
    expect(holdoutOption("2023-03-20 06:00")).toEqual({
      text: "2023-03-20 06:00",
      time: Date.UTC(2023, 2, 20, 6),
    });
    expect(() => holdoutOption("next tuesday")).toThrow(UsageError);
    expect(() => holdoutOption("next tuesday")).toThrow('--holdout: cannot read the time "next tuesday"');
    expect(() => gridAxes({ buy_signal_threshold: "eval(1)" })).toThrow(ConfigError);
  });
});

describe("the rows a search runs on, from the typed bounds (real candles, BTCUSDT 2023-03)", () => {
  it("cut by data_start/data_end, narrowed to scored rows, split at the holdout", async () => {
    const frame = await sampleCandles();
    const time = frame.time;
    const n = time.length;
    const score = new Float64Array(n).fill(Number.NaN).fill(0.1, 100);
    const start = Date.UTC(2023, 2, 5, 12);
    expect(rowOf(time, { time: start, text: "x" }, 0)).toBe((start - (time[0] as number)) / 60_000);
    expect(rowOf(time, { row: n + 50 }, 0)).toBe(n);
    expect(rowOf(time, undefined, 7)).toBe(7);

    const holdout = { text: "2023-03-20", time: Date.UTC(2023, 2, 20) };
    const r = searchRange(time, [score], { dataStart: { row: 50 }, dataEnd: { row: 30_000 } }, holdout, "p");
    expect(r).toEqual({ start: 100, split: (holdout.time - (time[0] as number)) / 60_000, end: 30_000 });
    expect(() =>
      searchRange(
        time,
        [score],
        { dataStart: undefined, dataEnd: undefined },
        { text: "2023-05-01", time: Date.UTC(2023, 4, 1) },
        "p",
      ),
    ).toThrow(
      /^--holdout 2023-05-01: must fall inside the scored rows 2023-03-01T01:40:00Z \.\. 2023-03-31T23:59:00Z$/,
    );
    expect(() =>
      searchRange(
        time,
        [new Float64Array(n).fill(Number.NaN)],
        { dataStart: undefined, dataEnd: undefined },
        undefined,
        "p",
      ),
    ).toThrow(DataError);
  });
});
