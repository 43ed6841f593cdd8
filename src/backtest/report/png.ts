import { createRequire } from "node:module";
import type { BacktestResult, Bars, Metrics } from "../types.js";
import { buyHoldEquity, chartValues, chooseBuckets, lastPerBucket } from "./data.js";
import { fmt, fmtTime, plural } from "./format.js";

export interface EquityPngInput {
  title: string;
  bars: Bars;
  result: BacktestResult;
  /** Pixels; default 1200 × 600. */
  width?: number;
  height?: number;
  /** At most this many points per line (bars are bucketed, last value per bucket). Default 2000. */
  maxPoints?: number;
  /** The scores were predicted on the models' training rows: the title says IN-SAMPLE. */
  inSample?: boolean;
  /** The holdout: a dashed line at its first bar (ms), and its own numbers first in the subtitle. */
  holdout?: { start: number; metrics: Metrics };
}

/**
 * ECharts and resvg load on the first chart, not with every command that imports this module:
 * together they take about a second to load, which `itb merge --help` should not pay. Every
 * server-side chart (this one, the notifications' diagram) loads them through here, once.
 */
const require = createRequire(import.meta.url);
let charts: { echarts: typeof import("echarts"); Resvg: typeof import("@resvg/resvg-js").Resvg } | undefined;
export function libraries(): NonNullable<typeof charts> {
  charts ??= {
    echarts: require("echarts") as typeof import("echarts"),
    Resvg: (require("@resvg/resvg-js") as typeof import("@resvg/resvg-js")).Resvg,
  };
  return charts;
}

/** Font family asked for in the SVG; resvg falls back to any system font when it is missing. */
export const FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

/** The numbers under the title: the holdout's first when there is one, then the whole run's. */
function subtitle(m: Metrics, holdout: EquityPngInput["holdout"]): string {
  const whole =
    `profit ${fmt(m.profitPct, 2)} %   max drawdown ${fmt(m.maxDrawdownPct, 2)} %   ` +
    `buy & hold ${fmt(m.buyHoldPct, 2)} %   ${plural(m.trades, "trade")}`;
  if (holdout === undefined) return whole;
  const h = holdout.metrics;
  return (
    `holdout from ${fmtTime(holdout.start)} UTC: profit ${fmt(h.profitPct, 2)} %   buy & hold ${fmt(h.buyHoldPct, 2)} %   ${plural(h.trades, "trade")}\n` +
    `whole range (thresholds chosen on its first part): ${whole}`
  );
}

/**
 * The chart as SVG, rendered by ECharts on the server (no DOM, no animation): strategy equity
 * against buy and hold from the same capital, the title carrying profit % and max drawdown.
 */
export function renderEquitySvg(input: EquityPngInput): string {
  const width = input.width ?? 1200;
  const height = input.height ?? 600;
  const { bars, result } = input;
  const m = result.metrics;
  const b = chooseBuckets(bars.time, input.maxPoints ?? 2000, result.options.barMs);
  const times = b.time;
  const equity = chartValues(lastPerBucket(result.equity, b), 8);
  const hold = chartValues(lastPerBucket(buyHoldEquity(bars, result.options.initialCapital), b), 8);
  const pairs = (v: (number | null)[]): [number, number | null][] =>
    Array.from(times, (t, i) => [t, v[i] ?? null] as [number, number | null]);

  const chart = libraries().echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: "#ffffff",
      textStyle: { fontFamily: FONT },
      title: {
        text: input.inSample ? `${input.title} — IN-SAMPLE` : input.title,
        subtext: subtitle(m, input.holdout),
        left: 16,
        top: 10,
        textStyle: { fontSize: 18, fontFamily: FONT, color: "#1d2430" },
        subtextStyle: { fontSize: 13, fontFamily: FONT, color: "#5b6472" },
      },
      legend: {
        data: ["strategy", "buy & hold"],
        right: 24,
        top: 16,
        itemGap: 24,
        textStyle: { fontFamily: FONT },
      },
      grid: { left: 70, right: 30, top: input.holdout !== undefined ? 100 : 80, bottom: 40 },
      xAxis: { type: "time", axisLabel: { fontFamily: FONT, hideOverlap: true } },
      yAxis: { type: "value", scale: true, axisLabel: { fontFamily: FONT } },
      series: [
        {
          name: "strategy",
          type: "line",
          showSymbol: false,
          lineStyle: { width: 2, color: "#1f6fd1" },
          itemStyle: { color: "#1f6fd1" },
          data: pairs(equity),
          ...(input.holdout !== undefined
            ? {
                markLine: {
                  silent: true,
                  symbol: "none",
                  lineStyle: { color: "#b26a00", type: "dashed", width: 1.5 },
                  label: {
                    formatter: "holdout",
                    position: "insideEndTop",
                    fontFamily: FONT,
                    color: "#b26a00",
                  },
                  data: [{ xAxis: input.holdout.start }],
                },
              }
            : {}),
        },
        {
          name: "buy & hold",
          type: "line",
          showSymbol: false,
          lineStyle: { width: 1.5, color: "#9aa3ad" },
          itemStyle: { color: "#9aa3ad" },
          data: pairs(hold),
        },
      ],
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/**
 * The equity chart as PNG bytes: ECharts SVG rasterised by resvg at exactly width × height.
 * Text needs a system font (resvg loads the installed ones; Debian: fonts-dejavu-core); without
 * any font the image still renders, only without text. Deterministic: the same input gives the
 * same bytes.
 */
export function renderEquityPng(input: EquityPngInput): Buffer {
  const svg = renderEquitySvg(input);
  const resvg = new (libraries().Resvg)(svg, {
    background: "#ffffff",
    fitTo: { mode: "width", value: input.width ?? 1200 },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return resvg.render().asPng();
}
