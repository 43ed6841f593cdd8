import type { GridCell, Metrics } from "../types.js";
import { escapeHtml, exact, fmt } from "./format.js";
import { metricDecimals } from "./tables.js";

/** A threshold search over two parameters, coloured by one metric. */
export interface HeatmapGrid {
  xParam: string;
  yParam: string;
  cells: GridCell[];
  metric: keyof Metrics;
}

/** Higher is better except for these (drawdowns, costs, refusals). */
const LOWER_IS_BETTER = new Set(["maxDrawdownPct", "buyHoldMaxDrawdownPct", "feesPaid", "rejectedOrders"]);

function heatColour(t: number): string {
  // red (0) → yellow → green (1)
  const hue = Math.round(120 * Math.min(1, Math.max(0, t)));
  return `hsl(${hue}, 70%, 78%)`;
}

export function heatmap(grid: HeatmapGrid): string {
  const { xParam, yParam, metric } = grid;
  // optional metrics (absent in a cell) count as NaN
  const val = (c: GridCell): number => c.metrics[metric] ?? Number.NaN;
  const xs = [...new Set(grid.cells.map((c) => c.params[xParam]).filter((v) => v !== undefined))].sort(
    (a, z) => a - z,
  );
  const ys = [...new Set(grid.cells.map((c) => c.params[yParam]).filter((v) => v !== undefined))].sort(
    (a, z) => a - z,
  );
  const at = new Map<string, GridCell>();
  for (const c of grid.cells) {
    const x = c.params[xParam];
    const y = c.params[yParam];
    // with more than two parameters, the best cell of each (x, y) pair is shown
    if (x === undefined || y === undefined) continue;
    const key = `${x}|${y}`;
    const prev = at.get(key);
    if (!prev || better(val(c), val(prev))) at.set(key, c);
  }
  function better(a: number, z: number): boolean {
    if (Number.isNaN(a)) return false;
    if (Number.isNaN(z)) return true;
    return LOWER_IS_BETTER.has(metric) ? a < z : a > z;
  }
  let best: GridCell | undefined;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const c of at.values()) {
    const v = val(c);
    if (!best || better(v, val(best))) best = c;
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const d = metricDecimals(metric);
  const head = `<tr><th>${escapeHtml(yParam)} \\ ${escapeHtml(xParam)}</th>${xs.map((x) => `<th>${exact(x)}</th>`).join("")}</tr>`;
  const rows = ys.map((y) => {
    const cells = xs.map((x) => {
      const c = at.get(`${x}|${y}`);
      if (!c) return `<td data-x="${exact(x)}" data-y="${exact(y)}"></td>`;
      const v = val(c);
      let t = Number.isNaN(v) ? 0 : hi > lo ? (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo) : 1;
      if (LOWER_IS_BETTER.has(metric)) t = 1 - t;
      const isBest = c === best;
      return `<td${isBest ? ' class="best" data-best="true"' : ""} style="background:${heatColour(t)}" data-x="${exact(x)}" data-y="${exact(y)}" data-value="${exact(v)}">${fmt(v, d)}</td>`;
    });
    return `<tr><th>${exact(y)}</th>${cells.join("")}</tr>`;
  });
  const bestText = best
    ? `Best ${escapeHtml(metric)}: ${fmt(val(best), d)} at ${escapeHtml(xParam)} = ${exact(best.params[xParam] ?? Number.NaN)}, ${escapeHtml(yParam)} = ${exact(best.params[yParam] ?? Number.NaN)}.`
    : "No cells.";
  return (
    `<p class="legend" id="heatmap-best">${bestText}</p>` +
    `<table class="heatmap" id="heatmap" data-grid-metric="${escapeHtml(metric)}"><thead>${head}</thead><tbody>\n${rows.join("\n")}\n</tbody></table>`
  );
}
