import { FONT, libraries } from "../backtest/report/png.js";
import { ConfigError, DataError } from "../core/errors.js";
import { DAY_MS } from "../core/time.js";

/**
 * The score diagram sent to a chat: the last day (or week) of prices as a high–low band with
 * the close as a step line, buy and sell markers, and the primary score on a second axis with
 * its threshold lines and moving averages. Pure functions: data in, SVG or PNG bytes out.
 */

export interface DiagramInput {
  /** Drawn bold at the start of the title. */
  symbol: string;
  /** Follows the symbol in the title after ": ". */
  description?: string;
  /** Candle open times, epoch ms, ascending. */
  time: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  /** The primary score per candle; NaN where there is none. */
  score: Float64Array;
  /** Times (epoch ms) of buy and sell events, in any order. */
  buys: readonly number[];
  sells: readonly number[];
  /** Bucket length of the chart, e.g. 300000 (5 min) or 3600000 (1 h). */
  resamplingMs: number;
  /** Buckets to keep, the last ones: 288 × 5 min is one day. */
  nrows: number;
  /** Horizontal lines on the score axis. */
  scoreThresholds?: readonly number[];
  /** Windows (in buckets) of rolling means of the bucketed score, each drawn as a line. */
  scoreMa?: readonly number[];
  /** Pixels; default 1200 × 600. */
  width?: number;
  height?: number;
}

/** What the chart shows: one row per bucket, the last `nrows` of them. */
export interface DiagramRows {
  /** Bucket start times, epoch ms, one bucket apart. */
  time: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  score: Float64Array;
  /** One array per `scoreMa` window, in its order. */
  ma: Float64Array[];
  /** 1 where a buy (sell) event falls into the bucket. */
  buy: Uint8Array;
  sell: Uint8Array;
}

/** More buckets than this between the first and the last candle is a unit mistake, not a chart. */
const MAX_BUCKETS = 5_000_000;

function positiveInt(value: number, what: string): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`diagram: ${what} must be a positive whole number, got ${value}`);
  }
}

/**
 * Buckets of `resamplingMs` aligned to multiples of it since the epoch. pandas' `resample`
 * (which the original uses) anchors its buckets at midnight of the first day ('start_day'); for
 * bucket lengths that divide a day (1, 5, 15 min, 1 h, 4 h, 1 d …) that is the same alignment.
 * A bucket without candles (an exchange halt) is a row of NaN, as in pandas, so the rows are
 * always one bucket apart and `nrows` of them always span `nrows × resamplingMs`.
 *
 * Per bucket: open the first value, high the max, low the min, close the last (NaN ignored, as
 * pandas does); the score the max when all its values are > 0, the min when all are < 0,
 * otherwise the mean (NaN ignored; no value gives NaN). Each `scoreMa` window `w` is
 * `rolling(w).mean()` of the bucketed score: NaN until `w` buckets with a score. Buy and sell are
 * 1 when any event time falls into the bucket. Rolling means are taken on all buckets, then the
 * last `nrows` rows are kept.
 */
export function resampleForDiagram(input: DiagramInput): DiagramRows {
  const { time, resamplingMs: step } = input;
  const n = time.length;
  for (const [name, col] of [
    ["open", input.open],
    ["high", input.high],
    ["low", input.low],
    ["close", input.close],
    ["score", input.score],
  ] as const) {
    if (col.length !== n) {
      throw new DataError(
        `diagram for ${input.symbol}: column "${name}" has ${col.length} values, time has ${n}`,
      );
    }
  }
  positiveInt(step, "resamplingMs");
  positiveInt(input.nrows, "nrows");
  const windows = input.scoreMa ?? [];
  for (const w of windows) positiveInt(w, "each scoreMa window");

  const first = n === 0 ? 0 : Math.floor((time[0] as number) / step) * step;
  const last = n === 0 ? -step : Math.floor((time[n - 1] as number) / step) * step;
  const m = (last - first) / step + 1;
  if (!Number.isFinite(m) || m > MAX_BUCKETS) {
    throw new DataError(
      `diagram for ${input.symbol}: ${n} candles span more than ${MAX_BUCKETS} buckets of ${step} ms`,
    );
  }

  const open = new Float64Array(m).fill(Number.NaN);
  const high = new Float64Array(m).fill(Number.NaN);
  const low = new Float64Array(m).fill(Number.NaN);
  const close = new Float64Array(m).fill(Number.NaN);
  const score = new Float64Array(m).fill(Number.NaN);
  const count = new Uint32Array(m);
  const sum = new Float64Array(m);
  const smax = new Float64Array(m).fill(Number.NEGATIVE_INFINITY);
  const smin = new Float64Array(m).fill(Number.POSITIVE_INFINITY);
  let prev = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const t = time[i] as number;
    if (!(t >= prev)) {
      throw new DataError(
        `diagram for ${input.symbol}: candle times must ascend; row ${i} (${t}) follows ${prev}`,
      );
    }
    prev = t;
    const k = (Math.floor(t / step) * step - first) / step;
    const o = input.open[i] as number;
    const h = input.high[i] as number;
    const l = input.low[i] as number;
    const c = input.close[i] as number;
    const s = input.score[i] as number;
    if (Number.isNaN(open[k] as number) && !Number.isNaN(o)) open[k] = o;
    if (!Number.isNaN(h) && !(h <= (high[k] as number))) high[k] = h;
    if (!Number.isNaN(l) && !(l >= (low[k] as number))) low[k] = l;
    if (!Number.isNaN(c)) close[k] = c;
    if (!Number.isNaN(s)) {
      count[k] = (count[k] as number) + 1;
      sum[k] = (sum[k] as number) + s;
      if (s > (smax[k] as number)) smax[k] = s;
      if (s < (smin[k] as number)) smin[k] = s;
    }
  }
  for (let k = 0; k < m; k++) {
    const c = count[k] as number;
    if (c === 0) continue;
    const lo = smin[k] as number;
    const hi = smax[k] as number;
    score[k] = lo > 0 ? hi : hi < 0 ? lo : (sum[k] as number) / c;
  }

  const ma = windows.map((w) => rollingMean(score, w));

  const buy = new Uint8Array(m);
  const sell = new Uint8Array(m);
  const mark = (events: readonly number[], flags: Uint8Array): void => {
    for (const t of events) {
      if (!(t >= first && t < last + step)) continue;
      flags[(Math.floor(t / step) * step - first) / step] = 1;
    }
  };
  mark(input.buys, buy);
  mark(input.sells, sell);

  const from = Math.max(0, m - input.nrows);
  const times = new Float64Array(m - from);
  for (let k = 0; k < times.length; k++) times[k] = first + (from + k) * step;
  return {
    time: times,
    open: open.slice(from),
    high: high.slice(from),
    low: low.slice(from),
    close: close.slice(from),
    score: score.slice(from),
    ma: ma.map((a) => a.slice(from)),
    buy: buy.slice(from),
    sell: sell.slice(from),
  };
}

/** pandas `Series.rolling(w).mean()`: the mean of the last `w` values, NaN while any of them is NaN. */
function rollingMean(x: Float64Array, w: number): Float64Array {
  const out = new Float64Array(x.length).fill(Number.NaN);
  let valid = 0; // values without NaN ending at i
  for (let i = 0; i < x.length; i++) {
    valid = Number.isNaN(x[i] as number) ? 0 : valid + 1;
    if (valid < w) continue;
    let s = 0;
    for (let j = i - w + 1; j <= i; j++) s += x[j] as number;
    out[i] = s / w;
  }
  return out;
}

/**
 * Whether the diagram is due for a candle closing at `closeTime`: once per `notificationMs`
 * period (aligned to the epoch; a day starts at 00:00 UTC), on the first candle whose close time
 * falls into a period not yet sent, however late that candle is. `periodStart` is the start of
 * the candle's period; the caller stores it as `lastSentPeriodStart` once the diagram is sent.
 */
export function diagramDue(
  closeTime: number,
  lastSentPeriodStart: number | undefined,
  notificationMs: number,
): { due: boolean; periodStart: number } {
  positiveInt(notificationMs, "notificationMs");
  const periodStart = Math.floor(closeTime / notificationMs) * notificationMs;
  return { due: lastSentPeriodStart === undefined || lastSentPeriodStart < periodStart, periodStart };
}

const COLORS = {
  band: "#87ceeb", // skyblue
  close: "#0033cc",
  buy: "#00a000",
  sell: "#e00000",
  score: "#e00000",
  threshold: "#d3d3d3", // lightgray
  ma: "#ee82ee", // violet
  axis: "#333333",
  priceName: "#0033cc",
  scoreName: "#e00000",
} as const;

/** Plot-area margins, px: room for the price labels and name (left), the score's (right), the title (top). */
const GRID = { left: 95, right: 80, top: 50 } as const;

const two = (v: number): string => String(v).padStart(2, "0");

/** `HH:MM` (UTC), with `MM-DD ` before it when the chart spans more than a day. */
function timeLabel(ms: number, withDate: boolean): string {
  const d = new Date(ms);
  const hm = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
  return withDate ? `${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${hm}` : hm;
}

/**
 * The title as two texts meeting at one x: the bold symbol ends there (text-anchor end) and
 * ": description" starts there, so they never overlap, whatever the font's real widths (ECharts
 * estimates text widths on the server, and underestimates bold ones). The pair is centred on
 * the image by rough DejaVu Sans widths (0.72 em per bold character, 0.6 em per regular one).
 */
function titleTexts(symbol: string, description: string | undefined, width: number): object[] {
  const size = 14;
  const rest = description ? `: ${description}` : "";
  const x = Math.round(width / 2 + ((0.72 * symbol.length - 0.6 * rest.length) * size) / 2);
  const style = { fontSize: size, fontFamily: FONT, fill: "#1d2430", textVerticalAlign: "top" };
  const texts: object[] = [
    {
      type: "text",
      x,
      y: 14,
      silent: true,
      style: { ...style, text: symbol, fontWeight: "bold", textAlign: "right" },
    },
  ];
  if (rest)
    texts.push({ type: "text", x, y: 14, silent: true, style: { ...style, text: rest, textAlign: "left" } });
  return texts;
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/**
 * The diagram as SVG, rendered by ECharts on the server (no DOM, no animation). The x axis runs
 * from half a bucket before the first bucket's start to half a bucket after the last's: the
 * steps are centred on the bucket starts, as matplotlib's `steps-mid`.
 */
export function renderDiagramSvg(input: DiagramInput): string {
  const width = input.width ?? 1200;
  const height = input.height ?? 600;
  positiveInt(width, "width");
  positiveInt(height, "height");
  const rows = resampleForDiagram(input);
  const m = rows.time.length;
  if (m === 0) throw new DataError(`diagram for ${input.symbol}: no candles to draw`);
  const step = input.resamplingMs;
  const t0 = rows.time[0] as number;
  const tN = rows.time[m - 1] as number;
  const withDate = tN + step - t0 > DAY_MS;

  let lowMin = Number.POSITIVE_INFINITY;
  let highMax = Number.NEGATIVE_INFINITY;
  let scoreAbs = 0;
  for (let k = 0; k < m; k++) {
    const l = rows.low[k] as number;
    const h = rows.high[k] as number;
    const s = rows.score[k] as number;
    if (l < lowMin) lowMin = l;
    if (h > highMax) highMax = h;
    if (Math.abs(s) > scoreAbs) scoreAbs = Math.abs(s);
  }
  if (!(lowMin <= highMax)) {
    lowMin = 0;
    highMax = 1;
  }
  // a flat price still gets a visible axis: 1 % of the price (or 1) as its range
  const range = highMax > lowMin ? highMax - lowMin : Math.abs(highMax) * 0.01 || 1;
  const priceMin = lowMin - 0.05 * range;
  const priceMax = highMax + 0.005 * range;
  const thresholds = input.scoreThresholds ?? [];
  let scoreMax = scoreAbs;
  for (const th of thresholds) if (Math.abs(th) > scoreMax) scoreMax = Math.abs(th);
  const scoreLim = 1.2 * (scoreMax > 0 ? scoreMax : 1);

  const at = (values: ArrayLike<number>): [number, number | null][] =>
    Array.from(rows.time, (t, k) => [t, finiteOrNull(values[k] as number)]);
  const bandWidth = Array.from(rows.high, (h, k) => h - (rows.low[k] as number));
  const markers = (flags: Uint8Array): [number, number][] => {
    const out: [number, number][] = [];
    for (let k = 0; k < m; k++) {
      const c = rows.close[k] as number;
      if (flags[k] === 1 && Number.isFinite(c)) out.push([rows.time[k] as number, c]);
    }
    return out;
  };
  const noLine = { width: 0, opacity: 0 };
  const maWindows = input.scoreMa ?? [];

  const bottom = withDate ? 95 : 55;
  const chart = libraries().echarts.init(null, null, { renderer: "svg", ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      useUTC: true,
      backgroundColor: "#ffffff",
      textStyle: { fontFamily: FONT },
      graphic: titleTexts(input.symbol, input.description, width),
      grid: { left: GRID.left, right: GRID.right, top: GRID.top, bottom },
      xAxis: {
        type: "time",
        min: t0 - step / 2,
        max: tN + step / 2,
        // a label every ~80 px: every 2 h on a day at the default width
        splitNumber: Math.max(2, Math.round((width - GRID.left - GRID.right) / 80)),
        minInterval: step,
        splitLine: { show: false },
        // at the bottom of the plot, not at the score's zero
        axisLine: { show: true, onZero: false, lineStyle: { color: COLORS.axis } },
        axisTick: { show: true },
        axisLabel: {
          fontFamily: FONT,
          rotate: 90,
          hideOverlap: true,
          showMinLabel: false,
          showMaxLabel: false,
          formatter: (value: number) => timeLabel(value, withDate),
        },
      },
      yAxis: [
        {
          type: "value",
          min: priceMin,
          max: priceMax,
          name: "Close price",
          nameLocation: "middle",
          nameGap: 68,
          nameTextStyle: { color: COLORS.priceName, fontSize: 16, fontFamily: FONT },
          splitLine: { show: false },
          axisLine: { show: true, lineStyle: { color: COLORS.axis } },
          axisTick: { show: true },
          axisLabel: { fontFamily: FONT, showMinLabel: false, showMaxLabel: false },
        },
        {
          type: "value",
          position: "right",
          min: -scoreLim,
          max: scoreLim,
          name: "Intelligent Indicator",
          nameLocation: "middle",
          nameGap: 55,
          nameTextStyle: { color: COLORS.scoreName, fontSize: 16, fontFamily: FONT },
          splitLine: { show: false },
          axisLine: { show: true, lineStyle: { color: COLORS.axis } },
          axisTick: { show: true },
          axisLabel: { fontFamily: FONT, showMinLabel: false, showMaxLabel: false },
        },
      ],
      series: [
        // the high–low band: an invisible line at the low, and the high − low stacked on it, filled
        {
          name: "low",
          type: "line",
          step: "middle",
          stack: "band",
          showSymbol: false,
          silent: true,
          lineStyle: noLine,
          data: at(rows.low),
        },
        {
          name: "high–low",
          type: "line",
          step: "middle",
          stack: "band",
          showSymbol: false,
          silent: true,
          lineStyle: noLine,
          areaStyle: { color: COLORS.band, opacity: 0.4 },
          data: at(bandWidth),
        },
        {
          name: "close",
          type: "line",
          step: "middle",
          showSymbol: false,
          lineStyle: { width: 1, color: COLORS.close },
          itemStyle: { color: COLORS.close },
          data: at(rows.close),
        },
        {
          name: "buy",
          type: "scatter",
          symbol: "triangle",
          symbolSize: 12,
          itemStyle: { color: COLORS.buy, opacity: 0.7 },
          data: markers(rows.buy),
        },
        {
          name: "sell",
          type: "scatter",
          symbol: "triangle",
          symbolRotate: 180,
          symbolSize: 12,
          itemStyle: { color: COLORS.sell, opacity: 0.7 },
          data: markers(rows.sell),
        },
        ...maWindows.map((w, i) => ({
          name: `score mean ${w}`,
          type: "line" as const,
          yAxisIndex: 1,
          showSymbol: false,
          lineStyle: { width: 1, color: COLORS.ma },
          itemStyle: { color: COLORS.ma },
          data: at(rows.ma[i] as Float64Array),
        })),
        {
          name: "score",
          type: "line",
          yAxisIndex: 1,
          step: "middle",
          showSymbol: false,
          lineStyle: { width: 1, color: COLORS.score },
          itemStyle: { color: COLORS.score },
          data: at(rows.score),
          markLine: {
            silent: true,
            symbol: "none",
            label: { show: false },
            lineStyle: { color: COLORS.threshold, width: 3, type: "solid" },
            data: thresholds.filter(Number.isFinite).map((th) => ({ yAxis: th })),
          },
        },
      ],
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/**
 * The diagram as PNG bytes: the ECharts SVG rasterised by resvg at exactly width × height, with
 * the system fonts (see `renderEquityPng`). The same input gives the same bytes.
 */
export function renderDiagramPng(input: DiagramInput): Buffer {
  const svg = renderDiagramSvg(input);
  const resvg = new (libraries().Resvg)(svg, {
    background: "#ffffff",
    fitTo: { mode: "width", value: input.width ?? 1200 },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  });
  return resvg.render().asPng();
}
