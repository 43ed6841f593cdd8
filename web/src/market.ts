import {
  followEvents,
  getJson,
  type MarketDetail,
  marketPath,
  type Position,
  records,
  type Table,
} from "./api.js";
import { type Column, debounce, fill, h, table } from "./dom.js";
import { isNum, num, pct, price, qty, sideName, signed, time, timeSec, tone } from "./format.js";
import {
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  type IChartApi,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  LineSeries,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from "./lightweightCharts.js";
import { badge, boot, controlButton, healthBadge, type PageContext } from "./shell.js";

/**
 * `/market/{id}`: the candles with buy and sell signals and the fills as markers, the score in
 * its own pane with the rule's thresholds, kept up to date from the event stream; the position,
 * equity curve, orders, trades and fills; the controls of this market.
 */

type Row = Record<string, number | string | null>;

const COLORS = {
  up: "#16a34a",
  down: "#dc2626",
  buySignal: "#86efac",
  sellSignal: "#fca5a5",
  buyFill: "#15803d",
  sellFill: "#b91c1c",
  score: "#6d4fc2",
  equity: "#2563eb",
  grid: "#eef1f5",
  border: "#dde2e8",
  text: "#1f2937",
};

const sec = (ms: number): UTCTimestamp => Math.floor(ms / 1000) as UTCTimestamp;
const n = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const s = (v: unknown): string => (v === null || v === undefined ? "–" : String(v));

function chartOptions(height: number) {
  return {
    height,
    autoSize: true,
    layout: {
      background: { color: "#ffffff" },
      textColor: COLORS.text,
      fontSize: 12,
      attributionLogo: false,
      panes: { separatorColor: COLORS.border },
    },
    grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: COLORS.border, rightOffset: 3 },
    rightPriceScale: { borderColor: COLORS.border },
    crosshair: { mode: 0 },
  };
}

interface CandleEvent {
  market: string;
  time: number;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  volume: number | null;
  scores: Record<string, number | null>;
  signals: Record<string, number | null>;
  buy: boolean;
  sell: boolean;
}

/** The page's charts and what they hold, also for inspection from the console (and the tests). */
interface Dashboard {
  chart: IChartApi;
  equityChart: IChartApi;
  candles: ISeriesApi<"Candlestick">;
  score: ISeriesApi<"Line"> | null;
  equity: ISeriesApi<"Line">;
  markers: () => SeriesMarker<Time>[];
  lastTime: () => number | null;
}

declare global {
  interface Window {
    itbDashboard?: Dashboard;
  }
}

const ORDER_COLUMNS: Column<Row>[] = [
  { title: "Created (UTC)", cell: (r) => timeSec(n(r.created_at)), numeric: true },
  {
    title: "Side",
    cell: (r) => badge(s(r.side), r.side === "buy" ? "buy" : "sell"),
  },
  { title: "Type", cell: (r) => s(r.type) },
  { title: "Purpose", cell: (r) => s(r.purpose) },
  {
    title: "Quantity",
    // a market entry sized in the quote currency has no base quantity until it fills
    cell: (r) =>
      n(r.quantity) === null && n(r.quote_quantity) !== null
        ? `${num(n(r.quote_quantity), 2)} quote`
        : qty(n(r.quantity)),
    numeric: true,
  },
  { title: "Price", cell: (r) => price(n(r.price)), numeric: true },
  { title: "Status", cell: (r) => s(r.status) },
  { title: "Filled", cell: (r) => qty(n(r.filled_quantity)), numeric: true },
  { title: "Avg price", cell: (r) => price(n(r.average_price)), numeric: true },
];

const TRADE_COLUMNS: Column<Row>[] = [
  { title: "Entry (UTC)", cell: (r) => time(n(r.entry_time)), numeric: true },
  {
    title: "Side",
    cell: (r) => {
      const long = r.side === "long" || r.side === 1 || r.side === "buy";
      return badge(typeof r.side === "number" ? sideName(r.side) : s(r.side), long ? "buy" : "sell");
    },
  },
  { title: "Entry price", cell: (r) => price(n(r.entry_price)), numeric: true },
  { title: "Exit (UTC)", cell: (r) => time(n(r.exit_time)), numeric: true },
  { title: "Exit price", cell: (r) => price(n(r.exit_price)), numeric: true },
  { title: "Quantity", cell: (r) => qty(n(r.qty)), numeric: true },
  { title: "Fees", cell: (r) => num(n(r.fees), 4), numeric: true },
  { title: "P&L", cell: (r) => signed(n(r.pnl), 2), numeric: true, tone: (r) => tone(n(r.pnl)) },
  { title: "Return", cell: (r) => pct(n(r.ret)), numeric: true, tone: (r) => tone(n(r.ret)) },
  { title: "Exit", cell: (r) => s(r.exit_reason) },
];

const FILL_COLUMNS: Column<Row>[] = [
  { title: "Time (UTC)", cell: (r) => timeSec(n(r.time)), numeric: true },
  { title: "Side", cell: (r) => badge(s(r.side), r.side === "buy" ? "buy" : "sell") },
  { title: "Price", cell: (r) => price(n(r.price)), numeric: true },
  { title: "Quantity", cell: (r) => qty(n(r.quantity)), numeric: true },
  { title: "Fee", cell: (r) => num(n(r.fee), 4), numeric: true },
  { title: "Order", cell: (r) => h("code", {}, s(r.client_order_id)) },
];

function marketId(): string {
  const m = /^\/market\/([^/]+)\/?$/.exec(location.pathname);
  return m === null ? "" : decodeURIComponent(m[1] as string);
}

function stat(label: string, value: Node | string, id?: string, extra = ""): HTMLElement {
  return h(
    "div",
    { class: `stat ${extra}`.trim() },
    h("div", { class: "label" }, label),
    h("div", { class: "value", id }, value),
  );
}

async function market(ctx: PageContext): Promise<void> {
  const { app, signal } = ctx;
  const id = marketId();
  const path = marketPath(id);
  document.title = `${id} · itb`;

  const detail = await getJson<MarketDetail>(path, { signal });
  const badges = h("span", { class: "badges", id: "market-badges" });
  const stats = h("div", { class: "stats", id: "market-stats" });
  const controls = h("div", { class: "controls", id: "controls" });
  const live = h("span", { class: "live-dot", id: "live", title: "event stream" });
  const priceBox = h("div", { class: "chart", id: "chart-price" });
  const equityBox = h("div", { class: "chart small", id: "chart-equity" });
  const orders = h("div", { id: "orders" });
  const trades = h("div", { id: "trades" });
  const fills = h("div", { id: "fills" });
  const th = detail.thresholds;
  const legend = h(
    "div",
    { class: "legend" },
    h("i", { class: "sw buy-signal" }),
    "buy signal",
    h("i", { class: "sw sell-signal" }),
    "sell signal",
    h("i", { class: "sw buy-fill" }),
    "buy fill",
    h("i", { class: "sw sell-fill" }),
    "sell fill",
    th.score === null
      ? null
      : h(
          "span",
          {},
          h("i", { class: "sw score" }),
          `${th.score} (lower pane; buy ≥ ${num(th.buy, 3)}, sell ≤ ${num(th.sell, 3)})`,
        ),
  );
  fill(
    app,
    h(
      "div",
      { class: "page-head" },
      h("a", { href: "/", class: "back" }, "← Markets"),
      h("h1", { id: "market-title" }, id),
      badges,
      live,
    ),
    stats,
    controls,
    h("section", { class: "card" }, h("h2", {}, "Price and score"), legend, priceBox),
    h("section", { class: "card" }, h("h2", {}, "Equity"), equityBox),
    h("section", { class: "card" }, h("h2", {}, "Trades"), trades),
    h("section", { class: "card" }, h("h2", {}, "Orders"), orders),
    h("section", { class: "card" }, h("h2", {}, "Fills"), fills),
    h(
      "p",
      { class: "note" },
      "Charts drawn with ",
      h("a", { href: "https://www.tradingview.com/" }, "TradingView"),
      " Lightweight Charts™ (Apache License 2.0).",
    ),
  );

  // ---- charts ----
  const chart = createChart(priceBox, chartOptions(460));
  const candles = chart.addSeries(CandlestickSeries, {
    upColor: COLORS.up,
    downColor: COLORS.down,
    borderVisible: false,
    wickUpColor: COLORS.up,
    wickDownColor: COLORS.down,
  });
  const markerApi: ISeriesMarkersPluginApi<Time> = createSeriesMarkers(candles, []);
  let score: ISeriesApi<"Line"> | null = null;
  if (th.score !== null) {
    const lines = [th.buy, th.sell].filter(isNum);
    score = chart.addSeries(
      LineSeries,
      {
        color: COLORS.score,
        lineWidth: 1,
        priceLineVisible: false,
        lastValueVisible: true,
        priceFormat: { type: "price", precision: 3, minMove: 0.001 },
        autoscaleInfoProvider: (
          original: () => { priceRange: { minValue: number; maxValue: number } } | null,
        ) => {
          const r = original();
          let lo = r === null ? Number.POSITIVE_INFINITY : r.priceRange.minValue;
          let hi = r === null ? Number.NEGATIVE_INFINITY : r.priceRange.maxValue;
          for (const t of lines) {
            lo = Math.min(lo, t);
            hi = Math.max(hi, t);
          }
          if (!(lo <= hi)) return r;
          return { priceRange: { minValue: lo, maxValue: hi }, margins: { above: 12, below: 12 } };
        },
      },
      1,
    );
    if (isNum(th.buy)) {
      score.createPriceLine({
        price: th.buy,
        color: COLORS.up,
        lineWidth: 1,
        lineStyle: 2,
        axisLabelVisible: true,
        title: "buy",
      });
    }
    if (isNum(th.sell)) {
      score.createPriceLine({
        price: th.sell,
        color: COLORS.down,
        lineWidth: 1,
        lineStyle: 2,
        axisLabelVisible: true,
        title: "sell",
      });
    }
    chart.panes()[1]?.setHeight(130);
  }
  const equityChart = createChart(equityBox, chartOptions(220));
  const equity = equityChart.addSeries(LineSeries, {
    color: COLORS.equity,
    lineWidth: 2,
    priceLineVisible: false,
  });
  equity.createPriceLine({
    price: detail.initial_capital,
    color: "#94a3b8",
    lineWidth: 1,
    lineStyle: 2,
    axisLabelVisible: false,
    title: "initial capital",
  });

  // ---- state ----
  let lastTime: number | null = null;
  let prevBuy = false;
  let prevSell = false;
  let signalMarkers: SeriesMarker<Time>[] = [];
  let fillMarkers: SeriesMarker<Time>[] = [];
  let lastEquity = Number.NEGATIVE_INFINITY;
  const allMarkers = (): SeriesMarker<Time>[] =>
    [...signalMarkers, ...fillMarkers].sort((a, b) => (a.time as number) - (b.time as number));
  const drawMarkers = () => markerApi.setMarkers(allMarkers());

  const signalMarker = (t: number, buy: boolean, sell: boolean): SeriesMarker<Time> | null => {
    // a signal shows where it starts, not on every candle it lasts
    const m =
      buy && !prevBuy
        ? ({
            time: sec(t),
            position: "belowBar",
            shape: "arrowUp",
            color: COLORS.buySignal,
            size: 0.8,
          } as const)
        : sell && !prevSell
          ? ({
              time: sec(t),
              position: "aboveBar",
              shape: "arrowDown",
              color: COLORS.sellSignal,
              size: 0.8,
            } as const)
          : null;
    prevBuy = buy;
    prevSell = sell;
    return m;
  };

  const addCandle = (c: CandleEvent): void => {
    if (lastTime !== null && c.time < lastTime) return;
    const t = sec(c.time);
    if (isNum(c.open) && isNum(c.high) && isNum(c.low) && isNum(c.close)) {
      candles.update({ time: t, open: c.open, high: c.high, low: c.low, close: c.close });
    } else candles.update({ time: t });
    if (score !== null && th.score !== null) {
      const v = c.signals[th.score] ?? c.scores[th.score] ?? null;
      score.update(isNum(v) ? { time: t, value: v } : { time: t });
    }
    if (lastTime !== c.time) {
      const m = signalMarker(c.time, c.buy, c.sell);
      if (m !== null) {
        signalMarkers.push(m);
        drawMarkers();
      }
    }
    lastTime = c.time;
    document.body.dataset.lastCandle = String(c.time);
  };

  const loadCandles = async (): Promise<void> => {
    const t = await getJson<Table>(`${path}/candles?limit=1000`, { signal });
    const col = (name: string) => t.columns.indexOf(name);
    const [ti, oi, hi, li, ci] = ["time", "open", "high", "low", "close"].map(col) as number[];
    const si = th.score === null ? -1 : col(th.score);
    const bi = col("buy");
    const sj = col("sell");
    const candleData = [];
    const scoreData = [];
    signalMarkers = [];
    prevBuy = false;
    prevSell = false;
    for (const r of t.rows) {
      const tm = n(r[ti as number]);
      if (tm === null) continue;
      const o = n(r[oi as number]);
      const hh = n(r[hi as number]);
      const l = n(r[li as number]);
      const c = n(r[ci as number]);
      candleData.push(
        o !== null && hh !== null && l !== null && c !== null
          ? { time: sec(tm), open: o, high: hh, low: l, close: c }
          : { time: sec(tm) },
      );
      const v = si < 0 ? null : n(r[si]);
      scoreData.push(v === null ? { time: sec(tm) } : { time: sec(tm), value: v });
      const m = signalMarker(tm, r[bi] === 1, r[sj] === 1);
      if (m !== null) signalMarkers.push(m);
      lastTime = tm;
    }
    candles.setData(candleData);
    score?.setData(scoreData);
    drawMarkers();
    if (lastTime !== null) document.body.dataset.lastCandle = String(lastTime);
    document.body.dataset.candles = String(candleData.length);
  };

  const loadEquity = async (): Promise<void> => {
    const from = isNum(lastEquity) ? `&from=${lastEquity + 1}` : "";
    const t = await getJson<Table>(`${path}/equity?limit=5000${from}`, { signal });
    for (const r of records(t)) {
      const tm = n(r.timestamp);
      const v = n(r.equity);
      if (tm === null || tm <= lastEquity) continue;
      equity.update(v === null ? { time: sec(tm) } : { time: sec(tm), value: v });
      lastEquity = tm;
    }
  };

  const loadTables = async (): Promise<void> => {
    const [o, tr, f, pos, d] = await Promise.all([
      getJson<Table>(`${path}/orders?limit=200`, { signal }),
      getJson<Table>(`${path}/trades?limit=500`, { signal }),
      getJson<Table>(`${path}/fills?limit=1000`, { signal }),
      getJson<Position>(`${path}/position`, { signal }),
      getJson<MarketDetail>(path, { signal }),
    ]);
    const fillRows = records(f);
    fillMarkers = fillRows.flatMap((r): SeriesMarker<Time>[] => {
      const tm = n(r.timestamp) ?? n(r.time);
      if (tm === null) return [];
      const buy = r.side === "buy";
      return [
        {
          time: sec(tm),
          position: buy ? "belowBar" : "aboveBar",
          shape: buy ? "arrowUp" : "arrowDown",
          color: buy ? COLORS.buyFill : COLORS.sellFill,
          text: `${buy ? "B" : "S"} ${price(n(r.price))}`,
          id: `fill-${s(r.trade_id)}`,
        },
      ];
    });
    drawMarkers();
    fill(orders, table(ORDER_COLUMNS, records(o).reverse().slice(0, 50), "No orders yet."));
    fill(trades, table(TRADE_COLUMNS, records(tr).reverse(), "No closed trades yet."));
    fill(fills, table(FILL_COLUMNS, fillRows.slice().reverse().slice(0, 50), "No fills yet."));
    showSummary(d, pos);
    document.body.dataset.fills = String(fillRows.length);
  };

  const showSummary = (d: MarketDetail, pos: Position): void => {
    fill(
      badges,
      d.trading === null ? badge("signals only", "info") : badge(d.trading, d.trading),
      healthBadge(d.health),
      d.paused === true ? badge("paused", "warn") : null,
    );
    const posText =
      pos.side === 0
        ? h("span", { class: "muted" }, "flat")
        : h(
            "span",
            {},
            badge(sideName(pos.side), pos.side === 1 ? "buy" : "sell"),
            ` ${qty(pos.quantity)} @ ${price(pos.entry_price)}`,
          );
    const pnl = d.pnl;
    fill(
      stats,
      stat("Last candle (UTC)", time(d.last?.time), "stat-last"),
      stat("Close", price(d.last?.close), "stat-close"),
      stat("Position", posText, "stat-position", "wide"),
      stat("Equity", num(pos.equity ?? d.equity, 2), "stat-equity"),
      stat("Cash", num(pos.cash ?? d.cash, 2)),
      stat(
        "P&L",
        h(
          "span",
          { class: tone(pnl) ?? "" },
          signed(pnl, 2),
          isNum(pnl) && d.initial_capital > 0 ? h("small", {}, ` ${pct(pnl / d.initial_capital)}`) : null,
        ),
        "stat-pnl",
      ),
    );
  };

  showSummary(detail, { ...detail.position, equity: detail.equity, cash: detail.cash });
  await Promise.all([loadCandles(), loadEquity(), loadTables()]);
  // the last 240 candles at most, the whole history when it is shorter
  const shown = Number(document.body.dataset.candles ?? "0");
  if (shown <= 240) chart.timeScale().setVisibleLogicalRange({ from: -4, to: shown + 2 });
  else chart.timeScale().setVisibleLogicalRange({ from: shown - 240, to: shown + 2 });
  equityChart.timeScale().fitContent();

  if (ctx.canControl && detail.trading !== null) {
    const body = { symbol: detail.symbol };
    const after = () => void loadTables().catch(() => {});
    fill(
      controls,
      controlButton({ label: "Pause entries", action: "pause", path: "/api/v1/control/pause", body, after }),
      controlButton({ label: "Resume", action: "resume", path: "/api/v1/control/resume", body, after }),
      controlButton({
        label: "Flatten",
        action: "flatten",
        path: "/api/v1/control/flatten",
        body,
        confirm: `Close every ${detail.symbol} position at market from the next candle?`,
        danger: true,
        after,
      }),
      controlButton({
        label: "Exit this market",
        action: "exit",
        path: `${path}/exit`,
        confirm: `Force-exit ${id}'s position at the next candle?`,
        danger: true,
        after,
      }),
    );
  }

  const refresh = debounce(() => {
    void Promise.all([loadTables(), loadEquity()]).catch(() => {});
  }, 250);
  let opened = 0;
  void followEvents(
    `/api/v1/events?market=${encodeURIComponent(id)}`,
    (e) => {
      const d = e.data as { market?: unknown };
      if (d.market !== undefined && d.market !== id) return;
      if (e.event === "candle") addCandle(e.data as CandleEvent);
      if (e.event !== "message") refresh();
    },
    {
      signal,
      onState: (open) => {
        live.classList.toggle("on", open);
        // after a reconnect: what was missed while the stream was down
        if (open && ++opened > 1) void loadCandles().then(refresh, () => {});
      },
    },
  );

  signal.addEventListener("abort", () => {
    chart.remove();
    equityChart.remove();
    window.itbDashboard = undefined;
  });
  window.itbDashboard = {
    chart,
    equityChart,
    candles,
    score,
    equity,
    markers: allMarkers,
    lastTime: () => lastTime,
  };
}

boot(market);
