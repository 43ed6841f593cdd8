/**
 * The report page's static parts: the stylesheet and the script that draws the charts with
 * lightweight-charts (v5 API) from the embedded JSON. Plain ES5-style JavaScript in a string so
 * that it is inlined as is; it reads only `#report-data` and `window.LightweightCharts`.
 */

export const PAGE_CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
  padding: 16px 24px 48px; color: #1d2430; background: #f6f7f9; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #5b6472; font-size: 13px; margin-bottom: 12px; }
.meta span { margin-right: 16px; }
.note { color: #8a5a00; font-size: 13px; margin: 6px 0; }
.chart { background: #fff; border: 1px solid #dfe3e8; border-radius: 6px; width: 100%; position: relative; }
h3 { font-size: 14px; margin: 12px 0 6px; }
.headline { font-size: 14px; margin: 4px 0; }
.headline .warn, .warn { color: #b3261e; font-weight: 600; }
#headline-holdout { font-size: 16px; }
#holdout { border-left: 4px solid #b26a00; padding-left: 12px; }
.holdout-line { position: absolute; top: 0; width: 0; border-left: 2px dashed #b26a00; pointer-events: none; z-index: 2; }
.holdout-line span { position: absolute; top: 4px; left: 4px; font-size: 11px; color: #b26a00; white-space: nowrap;
  background: rgba(255, 255, 255, 0.8); padding: 0 3px; }
#chart-price { height: 560px; }
#chart-equity { height: 440px; }
.legend { font-size: 13px; margin: 4px 0; color: #5b6472; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin: 0 4px 0 12px; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #dfe3e8; padding: 3px 8px; }
th { background: #eef1f4; text-align: left; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.pos { color: #1b7e3f; }
td.neg { color: #c62828; }
.tables { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
table.heatmap td { text-align: right; min-width: 56px; font-variant-numeric: tabular-nums; }
table.heatmap td.best { outline: 3px solid #1d2430; outline-offset: -3px; font-weight: 700; }
table.heatmap td.few { color: #5b6472;
  background-image: repeating-linear-gradient(45deg, transparent 0 5px, rgba(29, 36, 48, 0.08) 5px 7px); }
table.heatmap td.empty { background: #fafbfc; }
.monthly-note { max-width: 560px; }
#report-error { color: #c62828; font-weight: 600; }
.mark { display: inline-block; background: #c62828; color: #fff; font-size: 12px; font-weight: 700;
  padding: 1px 6px; border-radius: 3px; vertical-align: middle; letter-spacing: 0.03em; }
.in-sample { background: #fdecea; border: 1px solid #c62828; color: #8e1c1c; padding: 8px 12px;
  border-radius: 6px; font-size: 14px; font-weight: 600; }
`;

export const PAGE_SCRIPT = `
(function () {
  "use strict";
  var errorBox = document.getElementById("report-error");
  function fail(msg) { if (errorBox) errorBox.textContent = msg; throw new Error(msg); }
  var LC = window.LightweightCharts;
  if (!LC) fail("the chart library did not load");
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var times = data.candles.time;

  function line(values) {
    var out = new Array(times.length);
    for (var i = 0; i < times.length; i++) {
      var v = values[i];
      out[i] = v === null ? { time: times[i] } : { time: times[i], value: v };
    }
    return out;
  }
  function chartOptions() {
    return {
      autoSize: true,
      // no logo in the charts (it covered the lower panes' lines): the page credits TradingView
      // below, with the link its licence asks for
      layout: { background: { type: "solid", color: "#ffffff" }, textColor: "#1d2430", fontSize: 12,
        attributionLogo: false },
      grid: { vertLines: { color: "#f0f2f5" }, horzLines: { color: "#f0f2f5" } },
      // a small minimum spacing lets fitContent show the whole run at first
      // room right of the last bar, so that a marker there (a position closed at the end) is whole
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#dfe3e8", minBarSpacing: 0.01,
        rightOffsetPixels: 24 },
      rightPriceScale: { borderColor: "#dfe3e8" },
      crosshair: { mode: 0 }
    };
  }

  var price = LC.createChart(document.getElementById("chart-price"), chartOptions());
  var c = data.candles;
  var candleData = new Array(times.length);
  for (var i = 0; i < times.length; i++) {
    candleData[i] = c.open[i] === null || c.close[i] === null
      ? { time: times[i] }
      : { time: times[i], open: c.open[i], high: c.high[i], low: c.low[i], close: c.close[i] };
  }
  var candles = price.addSeries(LC.CandlestickSeries, {
    upColor: "#26a69a", downColor: "#ef5350", borderVisible: false,
    wickUpColor: "#26a69a", wickDownColor: "#ef5350", priceLineVisible: false
  });
  candles.setData(candleData);
  if (data.markers.length > 0) LC.createSeriesMarkers(candles, data.markers);

  if (data.score) {
    var buyAt = data.score.buyThreshold;
    var sellAt = data.score.sellThreshold;
    var score = price.addSeries(LC.LineSeries, {
      color: "#6a4fb3", lineWidth: 1, priceLineVisible: false, lastValueVisible: false,
      // the thresholds are part of the range, with a margin: a threshold at (or beyond) the
      // score's extreme is drawn inside the pane, not on its border or outside it
      autoscaleInfoProvider: function (original) {
        var r = original();
        var lo = r === null ? Infinity : r.priceRange.minValue;
        var hi = r === null ? -Infinity : r.priceRange.maxValue;
        [buyAt, sellAt].forEach(function (t) {
          if (typeof t === "number") { lo = Math.min(lo, t); hi = Math.max(hi, t); }
        });
        if (!(lo <= hi)) return r;
        return { priceRange: { minValue: lo, maxValue: hi }, margins: { above: 14, below: 14 } };
      }
    }, 1);
    score.setData(line(data.score.values));
    if (typeof data.score.buyThreshold === "number") {
      score.createPriceLine({ price: data.score.buyThreshold, color: "#1b9e4b", lineWidth: 1, lineStyle: 2,
        axisLabelVisible: true, title: "buy" });
    }
    if (typeof data.score.sellThreshold === "number") {
      score.createPriceLine({ price: data.score.sellThreshold, color: "#d63b3b", lineWidth: 1, lineStyle: 2,
        axisLabelVisible: true, title: "sell" });
    }
    var panes = price.panes();
    if (panes.length > 1) panes[1].setHeight(150);
  }

  var equity = LC.createChart(document.getElementById("chart-equity"), chartOptions());
  var eq = equity.addSeries(LC.LineSeries, { color: "#1f6fd1", lineWidth: 2, priceLineVisible: false });
  eq.setData(line(data.equity));
  var bh = equity.addSeries(LC.LineSeries, { color: "#9aa3ad", lineWidth: 1, priceLineVisible: false });
  bh.setData(line(data.buyHold));
  var dd = equity.addSeries(LC.AreaSeries, {
    lineColor: "#d63b3b", topColor: "rgba(214,59,59,0.30)", bottomColor: "rgba(214,59,59,0.05)",
    lineWidth: 1, priceLineVisible: false, invertFilledArea: true
  }, 1);
  dd.setData(line(data.drawdown));
  var eqPanes = equity.panes();
  if (eqPanes.length > 1) eqPanes[1].setHeight(130);

  // one visible range for both charts (they share the bucket times, so logical indices match)
  var syncing = false;
  function follow(from, to) {
    from.timeScale().subscribeVisibleLogicalRangeChange(function (r) {
      if (syncing || r === null) return;
      syncing = true;
      to.timeScale().setVisibleLogicalRange(r);
      syncing = false;
    });
  }
  follow(price, equity);
  follow(equity, price);
  price.timeScale().fitContent();
  equity.timeScale().fitContent();

  // the holdout's first bar: a dashed line over every pane of both charts, kept in place when
  // the charts scroll, zoom or resize (the library has no vertical line of its own)
  function holdoutLine(chart, id) {
    var box = document.getElementById(id);
    var el = document.createElement("div");
    el.className = "holdout-line";
    var label = document.createElement("span");
    label.textContent = "holdout \u2192";
    el.appendChild(label);
    box.appendChild(el);
    function place() {
      var x = chart.timeScale().timeToCoordinate(data.holdout.time);
      if (x === null) { el.style.display = "none"; return; }
      el.style.display = "block";
      el.style.left = Math.round(x) + "px";
      el.style.height = Math.max(0, box.clientHeight - chart.timeScale().height()) + "px";
    }
    chart.timeScale().subscribeVisibleLogicalRangeChange(place);
    chart.timeScale().subscribeSizeChange(place);
    place();
  }
  if (data.holdout) {
    holdoutLine(price, "chart-price");
    holdoutLine(equity, "chart-equity");
  }
  // for inspection from the console (and the browser test)
  window.itbReport = { price: price, equity: equity, candles: candles, score: score || null, data: data };
  document.body.setAttribute("data-charts", "ready");
})();
`;
