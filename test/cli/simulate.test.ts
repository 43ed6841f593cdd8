import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { barsOf } from "../../src/backtest/bars.js";
import { runBacktest } from "../../src/backtest/engine.js";
import { deflatedSharpe, moments, type OverfitJson, pbo, sharpeRatio } from "../../src/backtest/overfit.js";
import type { BacktestOptions } from "../../src/backtest/types.js";
import { Frame } from "../../src/core/frame.js";
import { writeFrame } from "../../src/data/store/index.js";
import { sampleCandles } from "../helpers/candles.js";
import { itb } from "../helpers/cli.js";

/**
 * `itb simulate` end to end on real candles (BTCUSDT 2023-03 from the bundled sample) with two
 * causal scores standing in for model predictions: the up score rises after a fall below the
 * 60-bar mean, the down score after a rise above it, so the grid has trades to rank.
 */
let dir = "";

/** Causal scores from the close's distance to its 60-bar mean; the first 2000 rows stay NaN, as before a walk-forward's first predicted row. */
function scores(close: Float64Array): { up: Float64Array; down: Float64Array } {
  const n = close.length;
  const up = new Float64Array(n).fill(Number.NaN);
  const down = new Float64Array(n).fill(Number.NaN);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += close[i] as number;
    if (i >= 60) sum -= close[i - 60] as number;
    if (i < 2000) continue;
    const dev = ((close[i] as number) / (sum / 60) - 1) * 100;
    up[i] = 1 / (1 + Math.exp(4 * dev));
    down[i] = 1 / (1 + Math.exp(-4 * dev));
  }
  return { up, down };
}
let config = "";

/** trade_score = up − down, then a threshold rule with these parameters (the grid fills the rest). */
function signalSets(parameters: Record<string, number> = {}): object[] {
  return [
    {
      generator: "combine",
      config: { columns: ["up", "down"], names: "trade_score", combine: "difference" },
    },
    {
      generator: "threshold_rule",
      config: { columns: "trade_score", names: ["buy_signal_column", "sell_signal_column"], parameters },
    },
  ];
}

function writeConfig(name: string, extra: Record<string, unknown>): string {
  const file = join(dir, name);
  const base = {
    data_folder: dir,
    symbol: "BTCUSDT",
    freq: "1m",
    signal_sets: signalSets(),
    simulate_model: {
      topn_to_store: 3,
      grid: { buy_signal_threshold: "np.linspace(0.1, 0.3, 3)", sell_signal_threshold: [-0.1, -0.2, -0.3] },
    },
    backtest: { taker_fee: 0.001, slippage_bps: 1, direction: "long" },
  };
  writeFileSync(file, `// test config\n${JSON.stringify({ ...base, ...extra }, null, 2)}\n`);
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itb-simulate-"));
  const candles = await sampleCandles(["2023-03"]);
  const { up, down } = scores(candles.get("close"));
  const frame = new Frame(candles.time);
  for (const c of ["open", "high", "low", "close", "volume"]) frame.set(c, candles.get(c));
  frame.set("up", up);
  frame.set("down", down);
  mkdirSync(join(dir, "BTCUSDT"), { recursive: true });
  await writeFrame(join(dir, "BTCUSDT", "predictions.parquet"), frame);
  writeFileSync(
    join(dir, "BTCUSDT", "predictions.metrics.json"),
    JSON.stringify({ kind: "predict-rolling", in_sample: false }),
  );
  config = writeConfig("sim.jsonc", {});
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Json = {
  grid: { params: Record<string, number>; metrics: Record<string, number> }[];
  top: { params: Record<string, number>; metrics: Record<string, number> }[];
  best: { params: Record<string, number>; metrics: Record<string, number> };
  range: { start: string; end: string; rows: number };
  overfitting: OverfitJson;
  holdout: null | {
    start: string;
    rows: number;
    params: Record<string, number>;
    metrics: Record<string, number>;
  };
};
const readJson = (): Json =>
  JSON.parse(readFileSync(join(dir, "BTCUSDT", "simulation.json"), "utf8")) as Json;

describe("itb simulate and itb report", () => {
  it("backtests every cell, ranks them, and the best equals a direct backtest", async () => {
    const r = itb(["simulate", "--config", config, "--workers", "2"]);
    expect(r.stderr).not.toMatch(/IN-SAMPLE/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^9 cells of threshold_rule on 42,\d{3} rows/);
    expect(r.stdout).toMatch(/check it on later rows with --holdout DATE/);
    const j = readJson();
    expect(j.grid).toHaveLength(9);
    expect(j.top).toHaveLength(3);
    // The range starts at the first scored row (2000) and runs to the end of March.
    expect(j.range.start).toBe("2023-03-02T09:20:00Z");
    const ranked = [...j.grid].sort(
      (a, b) => (b.metrics.profitPctPerMonth as number) - (a.metrics.profitPctPerMonth as number),
    );
    expect(j.best.metrics.profitPctPerMonth).toBe(ranked[0]?.metrics.profitPctPerMonth);
    expect(j.grid.some((c) => (c.metrics.trades as number) > 0)).toBe(true);

    // The same cell backtested in this process gives the same numbers as the workers did.
    const candles = await sampleCandles(["2023-03"]);
    const n = candles.length;
    const close = candles.get("close");
    const { up, down } = scores(close);
    const buy = new Uint8Array(n);
    const sell = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const score = (up[i] as number) - (down[i] as number);
      buy[i] = score >= (j.best.params.buy_signal_threshold as number) ? 1 : 0;
      sell[i] = score <= (j.best.params.sell_signal_threshold as number) ? 1 : 0;
    }
    const options: BacktestOptions = {
      direction: "long",
      fillAt: "next_open",
      takerFee: 0.001,
      makerFee: 0.001,
      slippageBps: 1,
      initialCapital: 10_000,
      stake: { mode: "compound", fraction: 1 },
      barMs: 60_000,
    };
    const direct = runBacktest(barsOf(candles), { buy, sell }, options, {
      start: 2000,
      end: n,
      collectTrades: false,
    });
    expect(j.best.metrics.trades).toBe(direct.metrics.trades);
    expect(j.best.metrics.profitPct).toBeCloseTo(direct.metrics.profitPct, 10);

    // The overfitting odds, recomputed here from each cell's equity curve at the UTC day ends
    // (2023-03-02 .. 03-31: 30 days; 6 blocks of 5, as 16 blocks need 64 days).
    const o = j.overfitting;
    expect(o).toMatchObject({ trials: 9, days: 30, pbo_blocks: 6, pbo_combinations: 20 });
    expect(o.pbo_note).toBe("6 blocks, not 16: 30 days, 4 per block at least (16 blocks need 64 days)");
    const time = candles.time;
    const lastOfDay: number[] = [];
    for (let k = 2000; k < n; k++)
      if (
        k === n - 1 ||
        Math.floor((time[k + 1] as number) / 864e5) !== Math.floor((time[k] as number) / 864e5)
      )
        lastOfDay.push(k - 2000);
    const returns = j.grid.map((c) => {
      for (let i = 0; i < n; i++) {
        const score = (up[i] as number) - (down[i] as number);
        buy[i] = score >= (c.params.buy_signal_threshold as number) ? 1 : 0;
        sell[i] = score <= (c.params.sell_signal_threshold as number) ? 1 : 0;
      }
      const eq = runBacktest(barsOf(candles), { buy, sell }, options, { start: 2000, end: n }).equity;
      let prev = options.initialCapital;
      return lastOfDay.map((k) => {
        const r = (eq[k] as number) / prev - 1;
        prev = eq[k] as number;
        return r;
      });
    });
    const values = new Float64Array(30 * 9);
    returns.forEach((rs, c) => {
      rs.forEach((r, t) => {
        values[t * 9 + c] = r;
      });
    });
    expect(o.pbo).toBe(pbo({ periods: 30, trials: 9, values }, 6).pbo);
    const winner =
      returns[j.grid.findIndex((c) => JSON.stringify(c.params) === JSON.stringify(j.best.params))] ?? [];
    const m = moments(winner);
    const dsr = deflatedSharpe({
      sharpe: sharpeRatio(winner),
      trials: 9,
      varianceOfTrialSharpes: moments(returns.map(sharpeRatio)).variance,
      periods: 30,
      skew: m.skew,
      kurtosis: m.kurtosis,
    });
    expect(o.deflated_sharpe).toBeCloseTo(dsr.dsr, 12);
    expect(o.expected_max_sharpe_per_day).toBeCloseTo(dsr.expectedMaxSharpe, 12);
    expect(r.stdout).toMatch(
      /\noverfitting odds of the search: 9 cells \(trials\) over 30 days\n {2}6 blocks, not 16: /,
    );
    expect(r.stdout).toMatch(/\n {2}PBO \d\.\d\d: the best cell in sample .* of 20 splits/);
    expect(r.stdout).toMatch(/\n {2}DSR \d\.\d\d: .*the best expected of 9 cells without skill/);

    const csv = readFileSync(join(dir, "BTCUSDT", "simulation.csv"), "utf8")
      .trim()
      .split("\n");
    expect(csv[0]).toMatch(/^rank,buy_signal_threshold,sell_signal_threshold,profitPctPerMonth,/);
    // topn_to_store (3) rows after the header, as the original stored only its top cells
    expect(csv).toHaveLength(4);
  });

  it("itb report backtests the best cell with trades: same metrics, HTML, PNG and JSON written", () => {
    const best = readJson().best;
    const r = itb(["report", "--config", config]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/from simulation\)/);
    const report = JSON.parse(readFileSync(join(dir, "BTCUSDT", "report.json"), "utf8")) as {
      params: Record<string, number>;
      metrics: Record<string, number>;
      trades: { pnl: number }[];
    };
    expect(report.params).toEqual(best.params);
    // The lean grid run and the full run with trades kept agree on every metric.
    expect(report.metrics).toEqual(best.metrics);
    expect(report.trades).toHaveLength(best.metrics.trades as number);
    const html = readFileSync(join(dir, "BTCUSDT", "report.html"), "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/i);
    expect(html).not.toMatch(/src="https?:/);
    // the one link is the chart library's attribution, a link to follow, not a resource to load
    expect([...html.matchAll(/href="(https?:[^"]*)"/g)].map((m) => m[1])).toEqual([
      "https://www.tradingview.com/",
    ]);
    // the search's overfitting odds, in their own section
    expect(html).toContain('<tr><th>Trials (cells)</th><td class="num">9</td></tr>');
    expect(html).toMatch(/<ul id="overfit-reading"><li>6 blocks, not 16: .*<\/li><li>PBO /);
    const png = readFileSync(join(dir, "BTCUSDT", "report.png"));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    const own = itb(["report", "--config", config, "--params", "config"]);
    expect(own.status).toBe(2);
    expect(own.stderr).toMatch(/buy_signal_threshold: expected a number/);
  });

  it("the report uses the search's rows (data_start) and ignores a search the config has moved on from", () => {
    const narrowed = writeConfig("narrowed.jsonc", {
      simulate_model: {
        data_start: "2023-03-10",
        grid: { buy_signal_threshold: [0.1, 0.2], sell_signal_threshold: [-0.1, -0.2] },
      },
    });
    expect(itb(["simulate", "--config", narrowed]).status).toBe(0);
    const best = readJson().best;
    const r = itb(["report", "--config", narrowed]);
    expect(r.status).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "BTCUSDT", "report.json"), "utf8")) as {
      range: { start: string };
      metrics: Record<string, number>;
      params_from: string;
      params: Record<string, number>;
    };
    expect(report.range.start).toBe("2023-03-10T00:00:00Z");
    expect(report.metrics).toEqual(best.metrics);

    // Same rule, other fees: the search's best cell no longer applies.
    const moved = writeConfig("moved.jsonc", {
      signal_sets: signalSets({ buy_signal_threshold: 0.5, sell_signal_threshold: -0.5 }),
      simulate_model: {
        data_start: "2023-03-10",
        grid: { buy_signal_threshold: [0.1, 0.2], sell_signal_threshold: [-0.1, -0.2] },
      },
      backtest: { taker_fee: 0.002, slippage_bps: 1, direction: "long" },
    });
    const stale = itb(["report", "--config", moved]);
    expect(stale.status).toBe(0);
    expect(stale.stderr).toMatch(/out of date \(signal_sets, simulate_model or backtest changed since\)/);
    const own = JSON.parse(readFileSync(join(dir, "BTCUSDT", "report.json"), "utf8")) as typeof report;
    expect(own.params_from).toBe("config");
    expect(own.params).toEqual({ buy_signal_threshold: 0.5, sell_signal_threshold: -0.5 });
  });

  it("one thread and two threads give the same grid", () => {
    expect(itb(["simulate", "--config", config, "--workers", "1"]).status).toBe(0);
    const one = readJson().grid;
    const oneOdds = readJson().overfitting;
    expect(itb(["simulate", "--config", config, "--workers", "2"]).status).toBe(0);
    expect(readJson().grid).toEqual(one);
    expect(readJson().overfitting).toEqual(oneOdds);
  });

  it("--holdout optimises before the date and reports the best cell after it", () => {
    const r = itb(["simulate", "--config", config, "--holdout", "2023-03-20"]);
    expect(r.status).toBe(0);
    const j = readJson();
    expect(j.range.end).toBe("2023-03-19T23:59:00Z");
    expect(j.holdout?.start).toBe("2023-03-20T00:00:00Z");
    expect(j.holdout?.params).toEqual(j.best.params);
    expect(r.stdout).toMatch(/holdout 2023-03-20T00:00:00Z \.\. 2023-03-31T23:59:00Z/);
    const rep = itb(["report", "--config", config]);
    expect(rep.status).toBe(0);
    expect(rep.stdout).toMatch(/holdout from 2023-03-20T00:00:00Z: .* the thresholds were chosen before it/);
    const report = JSON.parse(readFileSync(join(dir, "BTCUSDT", "report.json"), "utf8")) as {
      holdout: {
        start: string;
        metrics: Record<string, number>;
        trades: unknown[];
        monthly: { month: string }[];
      };
      selection: { metrics: Record<string, number> };
    };
    // the report backtests the holdout on its own again: the search's numbers to the last digit
    expect(report.holdout.metrics).toEqual(j.holdout?.metrics);
    expect(report.holdout.trades).toHaveLength(j.holdout?.metrics.trades as number);
    expect(report.holdout.monthly.map((m) => m.month)).toEqual(["2023-03"]);
    expect(report.selection.metrics).toEqual(j.best.metrics);
    // the page: the holdout's headline first, with the numbers report.json has only in it before
    const html = readFileSync(join(dir, "BTCUSDT", "report.html"), "utf8");
    const holdoutLine = /<p class="headline" id="headline-holdout">(.*?)<\/p>/.exec(html)?.[1] ?? "";
    const holdoutProfit = j.holdout?.metrics.profitPct as number;
    expect(holdoutLine).toContain(
      `data-field="profitPct" data-value="${holdoutProfit}">${holdoutProfit.toFixed(2)} %`,
    );
    expect(html.indexOf('id="headline-holdout"')).toBeLessThan(html.indexOf('id="headline-selection"'));
    expect(html).toContain('<section id="holdout">');
    expect(html).toContain('"holdout":{"start":1679270400000,"time":1679270400}');
    const bad = itb(["simulate", "--config", config, "--holdout", "2023-05-01"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--holdout 2023-05-01: must fall inside the scored rows/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses in-sample predictions (exit 2, why and how to opt in), writing nothing", () => {
    const meta = join(dir, "BTCUSDT", "predictions.metrics.json");
    const sim = join(dir, "BTCUSDT", "simulation.json");
    const rep = join(dir, "BTCUSDT", "report.json");
    writeFileSync(meta, JSON.stringify({ kind: "predict", in_sample: true }));
    try {
      const before = [readFileSync(sim, "utf8"), readFileSync(rep, "utf8")];
      for (const command of ["simulate", "report"]) {
        const r = itb([command, "--config", config]);
        expect(r.status, command).toBe(2);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain(
          `error: ${join(dir, "BTCUSDT", "predictions.parquet")}: the predictions are IN-SAMPLE: they come from \`itb predict\`, which scores the current models on the rows they were trained on (${meta} says in_sample: true).`,
        );
        expect(r.stderr).toContain("Make walk-forward predictions with `itb predict-rolling`");
        expect(r.stderr).toContain(
          'or accept results marked IN-SAMPLE with --allow-in-sample or "simulate_model": { "allow_in_sample": true }.',
        );
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
      expect([readFileSync(sim, "utf8"), readFileSync(rep, "utf8")]).toEqual(before);
    } finally {
      writeFileSync(meta, JSON.stringify({ kind: "predict-rolling", in_sample: false }));
    }
  });

  it("with the opt-in, every number from in-sample predictions is marked IN-SAMPLE", () => {
    const meta = join(dir, "BTCUSDT", "predictions.metrics.json");
    writeFileSync(meta, JSON.stringify({ kind: "predict", in_sample: true }));
    try {
      const r = itb(["simulate", "--config", config, "--allow-in-sample"]);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/IN-SAMPLE predictions allowed \(allow_in_sample\)/);
      const out = r.stdout.split("\n");
      expect(out[0]).toBe(
        "IN-SAMPLE: the predictions were made on the models' training rows (allowed by allow_in_sample); every number below overstates what will trade",
      );
      const header = out.findIndex((l) => l.startsWith("rank\t"));
      expect(out[header]?.endsWith("\tsharpe\tpredictions")).toBe(true);
      // the nine ranked rows, each marked
      const rows = out.slice(header + 1, header + 10);
      expect(rows.every((l) => /^\d+\t.*\tIN-SAMPLE$/.test(l))).toBe(true);
      const j = JSON.parse(readFileSync(join(dir, "BTCUSDT", "simulation.json"), "utf8")) as {
        in_sample: boolean;
        predictions: { kind: string; inSample: boolean };
      };
      expect(j.in_sample).toBe(true);
      expect(j.predictions).toMatchObject({ kind: "predict", inSample: true });
      const csv = readFileSync(join(dir, "BTCUSDT", "simulation.csv"), "utf8")
        .trim()
        .split("\n");
      expect(csv[0]?.endsWith(",buyHoldPct,predictions")).toBe(true);
      expect(csv.slice(1).map((l) => l.split(",").at(-1))).toEqual(["IN-SAMPLE", "IN-SAMPLE", "IN-SAMPLE"]);

      const rep = itb(["report", "--config", config, "--allow-in-sample"]);
      expect(rep.status).toBe(0);
      const lines = rep.stdout.split("\n");
      expect(lines[0]).toMatch(/^IN-SAMPLE: the predictions were made on the models' training rows/);
      expect(lines[1]).toMatch(/^IN-SAMPLE backtest /);
      expect(lines[2]).toMatch(/^IN-SAMPLE profit /);
      const report = JSON.parse(readFileSync(join(dir, "BTCUSDT", "report.json"), "utf8")) as {
        in_sample: boolean;
      };
      expect(report.in_sample).toBe(true);
      const html = readFileSync(join(dir, "BTCUSDT", "report.html"), "utf8");
      expect(html).toMatch(/<title>IN-SAMPLE: BTCUSDT 1m/);
      expect(html).toContain('<p class="in-sample" id="in-sample-banner">IN-SAMPLE:');
      const headline = [...html.matchAll(/<p class="headline" id="[^"]+">(.*?)<\/p>/g)].map((m) => m[1]);
      expect(headline.length).toBeGreaterThan(0);
      for (const h of headline) expect(h).toMatch(/^<span class="mark">IN-SAMPLE<\/span> /);
      // every section heading carries the mark
      const headings = [...html.matchAll(/<h2>(.*?)<\/h2>/g)].map((m) => m[1] as string);
      expect(headings.length).toBeGreaterThanOrEqual(6);
      for (const h of headings) expect(h).toMatch(/ <span class="mark">IN-SAMPLE<\/span>$/);

      // the config key opts in as well; walk-forward predictions are never marked
      const keyed = writeConfig("in-sample.jsonc", {
        simulate_model: {
          topn_to_store: 3,
          allow_in_sample: true,
          grid: { buy_signal_threshold: [0.1, 0.2], sell_signal_threshold: [-0.1, -0.2] },
        },
      });
      const k = itb(["simulate", "--config", keyed]);
      expect(k.status).toBe(0);
      expect(k.stdout.split("\n")[0]).toMatch(/^IN-SAMPLE: /);
    } finally {
      writeFileSync(meta, JSON.stringify({ kind: "predict-rolling", in_sample: false }));
    }
    const clean = itb(["simulate", "--config", config, "--allow-in-sample"]);
    expect(clean.status).toBe(0);
    expect(clean.stdout).not.toMatch(/IN-SAMPLE/);
    expect(readFileSync(join(dir, "BTCUSDT", "simulation.csv"), "utf8")).toMatch(/,predict-rolling\n$/);
  });

  it("warns when the predictions' provenance does not show them out of sample", () => {
    const meta = join(dir, "BTCUSDT", "predictions.metrics.json");
    // `itb predict` on rows after the models' training: not in-sample, but not walk-forward either
    writeFileSync(meta, JSON.stringify({ kind: "predict", in_sample: false }));
    try {
      const r = itb(["simulate", "--config", config]);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/IN-SAMPLE RISK: the predictions come from `itb predict`/);
      expect(r.stdout).not.toMatch(/IN-SAMPLE/);
    } finally {
      writeFileSync(meta, JSON.stringify({ kind: "predict-rolling", in_sample: false }));
    }
  });

  it("min_trades: cells with fewer trades rank last; a cell without trades shows no numbers; the best's warnings are said", () => {
    const cfg = writeConfig("min-trades.jsonc", {
      simulate_model: {
        // a buy threshold the score (up − down, within ±1) never reaches: that cell cannot trade
        grid: { buy_signal_threshold: [0.1, 0.3, 1.5], sell_signal_threshold: [-0.1, -0.3] },
      },
    });
    const r = itb(["simulate", "--config", cfg]);
    expect(r.status).toBe(0);
    const j = JSON.parse(readFileSync(join(dir, "BTCUSDT", "simulation.json"), "utf8")) as Json & {
      min_trades: number;
      best_below_min_trades: boolean;
    };
    expect(j.min_trades).toBe(10);
    const trades = j.grid.map((c) => c.metrics.trades as number);
    expect(trades.filter((n) => n === 0)).toHaveLength(2);
    expect(trades.filter((n) => n >= 10).length).toBeGreaterThan(0);
    expect(j.best_below_min_trades).toBe(false);
    // the ranking (stdout, top) puts every cell with 10 trades or more first
    const out = r.stdout.split("\n");
    const header = out.findIndex((l) => l.startsWith("rank\t"));
    const rows = out.slice(header + 1, header + 7).map((l) => l.split("\t"));
    const enough = rows.map((row) => Number(row[5]) >= 10);
    expect(enough).toEqual([...enough].sort((a, b) => Number(b) - Number(a)));
    // no trades: no numbers, not 0.00
    const idle = rows.filter((row) => row[1] === "1.5");
    expect(idle).toHaveLength(2);
    for (const row of idle) expect(row.slice(3)).toEqual(["-", "-", "0", "-", "-", "-"]);
    const best = j.best.metrics;
    expect(r.stdout).toContain(
      `best: buy_signal_threshold=${j.best.params.buy_signal_threshold}, sell_signal_threshold=${j.best.params.sell_signal_threshold}: ${best.profitPct?.toFixed(2)} % (${best.profitPctPerMonth?.toFixed(2)} %/month), ${best.trades} trades, max drawdown ${best.maxDrawdownPct?.toFixed(2)} %; buy and hold ${best.buyHoldPct?.toFixed(2)} %`,
    );
    // March 2023: BTC rose 23 %; the best cell trails it, and the output says by how much
    expect(best.profitPct as number).toBeLessThan(best.buyHoldPct as number);
    expect(r.stdout).toContain(
      `  it trails buy and hold (${best.buyHoldPct?.toFixed(2)} %) by ${((best.buyHoldPct as number) - (best.profitPct as number)).toFixed(2)} points`,
    );
    const below = trades.filter((n) => n < 10).length;
    expect(r.stdout).toContain(
      `  ${below} of 6 cells have fewer than 10 trades and are ranked after the others`,
    );

    // no cell reaches min_trades: the best is said to rest on too few trades, here and in the report
    const strict = writeConfig("min-trades-strict.jsonc", {
      simulate_model: {
        min_trades: 100_000,
        grid: { buy_signal_threshold: [0.1, 0.3, 1.5], sell_signal_threshold: [-0.1, -0.3] },
      },
    });
    const s = itb(["simulate", "--config", strict]);
    expect(s.status).toBe(0);
    const sj = readJson() as Json & { best_below_min_trades: boolean };
    expect(sj.best_below_min_trades).toBe(true);
    expect(s.stdout).toContain(
      `  it rests on only ${sj.best.metrics.trades} trades (fewer than min_trades 100000): too few to tell an edge from luck`,
    );
    const rep = itb(["report", "--config", strict]);
    expect(rep.status).toBe(0);
    expect(rep.stdout).toContain("(fewer than min_trades 100000): too few to tell an edge from luck");
    const html = readFileSync(join(dir, "BTCUSDT", "report.html"), "utf8");
    expect(html).toContain(
      `<span class="warn" data-warn="few-trades">only ${sj.best.metrics.trades} trades: too few to tell an edge from luck (min_trades 100000)</span>`,
    );
    // the heatmap outlines the search's best cell and leaves the cells without trades empty
    expect(html).toMatch(
      new RegExp(
        `<td class="best few" data-best="true" [^>]*data-x="${sj.best.params.buy_signal_threshold}" data-y="${sj.best.params.sell_signal_threshold}"`,
      ),
    );
    expect(html.match(/<td class="empty" title="no trades" data-trades="0" data-x="1\.5"/g)).toHaveLength(2);
  });

  it("a bad grid value is a config error naming its path, before any work", () => {
    const bad = writeConfig("bad.jsonc", {
      simulate_model: {
        grid: { buy_signal_threshold: "np.arange(0, 1, __import__)", sell_signal_threshold: [-0.1] },
      },
    });
    const r = itb(["simulate", "--config", bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/simulate_model\.grid\.buy_signal_threshold/);
    expect(r.stderr).toMatch(/arange: cannot read argument "__import__"/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
