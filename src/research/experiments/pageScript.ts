/**
 * The experiments page's static parts: its stylesheet and the script that draws the charts with
 * ECharts (SVG renderer) from the embedded JSON. Plain ES5-style JavaScript in a string, inlined
 * as is; it reads only `#page-data` and `window.echarts`, and sets `body[data-charts]` to
 * "ready" once every chart is drawn.
 */

export const PAGE_CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
  padding: 16px 24px 48px; color: #1d2430; background: #f6f7f9; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #dfe3e8; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.meta { color: #5b6472; font-size: 13px; margin-bottom: 12px; }
.note { color: #5b6472; font-size: 13px; margin: 4px 0 8px; max-width: 1100px; }
.chart { background: #fff; border: 1px solid #dfe3e8; border-radius: 6px; width: 100%; height: 360px; }
.smalls { display: flex; flex-wrap: wrap; gap: 12px; }
.small { width: 420px; }
.small-title { font-size: 13px; font-weight: 600; margin: 2px 0; word-break: break-all; }
.chart.param-chart { height: 260px; }
.tables { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.odds { max-width: 700px; }
.odds h3 { margin-top: 0; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
th, td { border: 1px solid #dfe3e8; padding: 3px 8px; }
th { background: #eef1f4; text-align: left; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.trials tr.best td { background: #fff4d6; font-weight: 600; }
td.status-pruned { color: #b26a00; }
td.status-failed { color: #c62828; }
#report-error, .warn { color: #c62828; font-weight: 600; }
`;

export const PAGE_SCRIPT = `
(function () {
  "use strict";
  var errorBox = document.getElementById("report-error");
  function fail(msg) { if (errorBox) errorBox.textContent = msg; throw new Error(msg); }
  var E = window.echarts;
  if (!E) fail("the chart library did not load");
  var data = JSON.parse(document.getElementById("page-data").textContent);
  var COLORS = { complete: "#1f6fd1", pruned: "#e69f00", failed: "#d63b3b" };
  var charts = [];
  function label(v) { return typeof v === "string" ? v : JSON.stringify(v); }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function fmt(v) { return v === null || v === undefined ? "-" : Number(v).toFixed(4); }
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) fail("no element #" + id);
    var c = E.init(el, null, { renderer: "svg" });
    option.animation = false;
    c.setOption(option);
    charts.push(c);
    return c;
  }
  function base() {
    return {
      grid: { left: 64, right: 24, top: 36, bottom: 44 },
      tooltip: { trigger: "item" },
      textStyle: { fontSize: 12 }
    };
  }

  function objectiveChart(x) {
    var values = x.trials.map(function (t) { return num(t.value); }).filter(function (v) { return v !== null; });
    var low = values.length ? Math.min.apply(null, values) : 0;
    var series = ["complete", "pruned", "failed"].map(function (s) {
      return {
        name: s, type: "scatter", symbolSize: s === "failed" ? 9 : 7,
        symbol: s === "failed" ? "triangle" : "circle",
        itemStyle: { color: COLORS[s] },
        data: x.trials.filter(function (t) { return t.status === s; }).map(function (t) {
          return { value: [t.number, s === "failed" || num(t.value) === null ? low : t.value], trial: t };
        })
      };
    });
    series.push({
      name: "best so far", type: "line", step: "end", showSymbol: false, lineStyle: { color: "#1b9e4b", width: 2 },
      itemStyle: { color: "#1b9e4b" }, tooltip: { show: false },
      data: x.trials.map(function (t, i) { return [t.number, x.runningBest[i]]; })
    });
    var best = x.trials.filter(function (t) { return t.number === x.bestTrial; });
    series.push({
      name: "best trial", type: "scatter", symbol: "diamond", symbolSize: 16, z: 5,
      itemStyle: { color: "#1d2430" },
      data: best.map(function (t) { return { value: [t.number, t.value], trial: t }; })
    });
    var o = base();
    o.legend = { top: 4 };
    o.xAxis = { type: "value", name: "trial", nameLocation: "middle", nameGap: 26, minInterval: 1 };
    o.yAxis = { type: "value", name: x.objective, scale: true };
    o.tooltip.formatter = function (p) {
      var t = p.data && p.data.trial;
      if (!t) return "";
      return "trial #" + t.number + " (" + t.status + ")<br>value " + fmt(t.value) + "<br>" +
        Object.keys(t.params).map(function (k) { return k + " = " + JSON.stringify(t.params[k]); }).join("<br>");
    };
    o.series = series;
    chart("objective-" + x.id, o);
  }

  function foldsChart(x) {
    var boxes = x.foldSpread;
    var cats = boxes.map(function (b) { return "#" + b.trial; });
    var o = base();
    o.xAxis = { type: "category", data: cats, name: "trial", nameLocation: "middle", nameGap: 26 };
    o.yAxis = { type: "value", name: x.objective, scale: true };
    o.tooltip.formatter = function (p) {
      var b = boxes[p.dataIndex];
      if (!b) return "";
      return "trial #" + b.trial + ": " + b.n + " fold(s)<br>min " + fmt(b.box[0]) + "<br>median " + fmt(b.box[2]) + "<br>max " + fmt(b.box[4]);
    };
    o.series = [{
      name: "folds", type: "boxplot",
      itemStyle: { color: "#dbe8fa", borderColor: "#1f6fd1" },
      data: boxes.map(function (b) {
        var item = { value: b.box };
        if (b.trial === x.bestTrial) item.itemStyle = { color: "#fbd5d5", borderColor: "#c62828", borderWidth: 2 };
        return item;
      })
    }];
    chart("folds-" + x.id, o);
  }

  function importanceChart(x) {
    var imp = x.importance.slice().reverse();
    var o = base();
    o.grid.left = 200;
    o.xAxis = { type: "value", min: 0, max: 1, name: "share of variance (ε²)", nameLocation: "middle", nameGap: 26 };
    o.yAxis = { type: "category", data: imp.map(function (p) { return p.param; }),
      axisLabel: { width: 180, overflow: "truncate" } };
    o.tooltip.formatter = function (p) {
      var q = imp[p.dataIndex];
      return q.param + "<br>ε² " + q.importance.toFixed(3) + ", η² " + q.eta2.toFixed(3) + " over " + q.trials + " trials, " + q.groups.length + " groups (" + q.kind + ")";
    };
    o.series = [{ name: "importance", type: "bar", itemStyle: { color: "#6a4fb3" },
      data: imp.map(function (p) { return p.importance; }) }];
    chart("importance-" + x.id, o);
  }

  function paramCharts(x) {
    x.params.forEach(function (p, i) {
      var pts = x.trials.filter(function (t) { return t.status === "complete" && num(t.value) !== null && t.params[p] !== undefined; });
      var numeric = pts.every(function (t) { return typeof t.params[p] === "number"; });
      var o = base();
      o.grid = { left: 56, right: 16, top: 16, bottom: 32 };
      var cats = [];
      if (numeric) {
        var xs = pts.map(function (t) { return t.params[p]; });
        var positive = xs.length > 0 && xs.every(function (v) { return v > 0; });
        var wide = positive && Math.max.apply(null, xs) / Math.min.apply(null, xs) >= 100;
        o.xAxis = { type: wide ? "log" : "value", scale: true };
      } else {
        pts.forEach(function (t) { var k = label(t.params[p]); if (cats.indexOf(k) < 0) cats.push(k); });
        o.xAxis = { type: "category", data: cats };
      }
      o.yAxis = { type: "value", scale: true };
      o.tooltip.formatter = function (q) { return "trial #" + q.data.trial + "<br>" + p + " = " + label(q.data.param) + "<br>value " + fmt(q.data.value[1]); };
      function point(t) {
        return { value: [numeric ? t.params[p] : label(t.params[p]), t.value], trial: t.number, param: t.params[p] };
      }
      o.series = [
        { type: "scatter", symbolSize: 6, itemStyle: { color: COLORS.complete, opacity: 0.75 },
          data: pts.filter(function (t) { return t.number !== x.bestTrial; }).map(point) },
        { type: "scatter", symbol: "diamond", symbolSize: 14, itemStyle: { color: "#1d2430" },
          data: pts.filter(function (t) { return t.number === x.bestTrial; }).map(point) }
      ];
      chart("param-" + x.id + "-" + i, o);
    });
  }

  function compareChart() {
    var o = base();
    o.legend = { top: 4 };
    o.xAxis = { type: "value", name: "trial", nameLocation: "middle", nameGap: 26, minInterval: 1 };
    o.yAxis = { type: "value", scale: true };
    o.tooltip = { trigger: "axis" };
    o.series = data.experiments.map(function (x) {
      return { name: x.id, type: "line", step: "end", showSymbol: false,
        data: x.trials.map(function (t, i) { return [t.number, x.runningBest[i]]; }) };
    });
    chart("compare-best", o);
  }

  try {
    data.experiments.forEach(function (x) {
      objectiveChart(x);
      foldsChart(x);
      importanceChart(x);
      paramCharts(x);
    });
    if (data.experiments.length > 1) compareChart();
  } catch (e) {
    fail("a chart could not be drawn: " + (e && e.message ? e.message : String(e)));
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.body.setAttribute("data-charts", "ready");
})();
`;
