import { tradeTier } from "../grid.js";
import type { GridCell, Metrics } from "../types.js";
import { escapeHtml, exact, fmt, plural } from "./format.js";
import { metricDecimals } from "./tables.js";

/** A threshold search over two parameters, coloured by one metric. */
export interface HeatmapGrid {
  xParam: string;
  yParam: string;
  cells: GridCell[];
  metric: keyof Metrics;
  /** The search's chosen cell (outlined); default: the best cell by `metric` among those with `minTrades`. */
  best?: Record<string, number>;
  /** Cells with fewer trades are drawn pale and hatched: shown, not ranked best. Default 0. */
  minTrades?: number;
}

/** Higher is better except for these (drawdowns, costs, refusals). */
const LOWER_IS_BETTER = new Set(["maxDrawdownPct", "buyHoldMaxDrawdownPct", "feesPaid", "rejectedOrders"]);

function heatColour(t: number, pale: boolean): string {
  // red (0) → yellow → green (1); pale for cells with too few trades to rank
  const hue = Math.round(120 * Math.min(1, Math.max(0, t)));
  return pale ? `hsl(${hue}, 30%, 90%)` : `hsl(${hue}, 70%, 78%)`;
}

const sameParams = (a: Record<string, number>, b: Record<string, number>): boolean =>
  Object.keys(b).every((k) => a[k] === b[k]);

export function heatmap(grid: HeatmapGrid): string {
  const { xParam, yParam, metric } = grid;
  const minTrades = grid.minTrades ?? 0;
  // optional metrics (absent in a cell) count as NaN
  const val = (c: GridCell): number => c.metrics[metric] ?? Number.NaN;
  const few = (c: GridCell): boolean => c.metrics.trades < minTrades;
  const xs = [...new Set(grid.cells.map((c) => c.params[xParam]).filter((v) => v !== undefined))].sort(
    (a, z) => a - z,
  );
  const ys = [...new Set(grid.cells.map((c) => c.params[yParam]).filter((v) => v !== undefined))].sort(
    (a, z) => a - z,
  );
  /** As the search ranks (rankCells): cells with enough trades first, those without any last, then by the metric. */
  function beats(a: GridCell, z: GridCell): boolean {
    const ta = tradeTier(a.metrics.trades, minTrades);
    const tz = tradeTier(z.metrics.trades, minTrades);
    if (ta !== tz) return ta < tz;
    const va = val(a);
    const vz = val(z);
    if (Number.isNaN(va)) return false;
    if (Number.isNaN(vz)) return true;
    return LOWER_IS_BETTER.has(metric) ? va < vz : va > vz;
  }
  const chosen =
    grid.best === undefined ? undefined : grid.cells.find((c) => sameParams(c.params, grid.best ?? {}));
  const at = new Map<string, GridCell>();
  for (const c of grid.cells) {
    const x = c.params[xParam];
    const y = c.params[yParam];
    // with more than two parameters, the best cell of each (x, y) pair is shown (the chosen one in its pair)
    if (x === undefined || y === undefined) continue;
    const key = `${x}|${y}`;
    const prev = at.get(key);
    if (prev === chosen && prev !== undefined) continue;
    if (!prev || c === chosen || beats(c, prev)) at.set(key, c);
  }
  let best: GridCell | undefined = chosen;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const c of at.values()) {
    if (chosen === undefined && (!best || beats(c, best))) best = c;
    const v = val(c);
    // the colours span the cells that traded: a cell without trades has no result to colour
    if (c.metrics.trades > 0 && Number.isFinite(v)) {
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
      const n = c.metrics.trades;
      const where = `data-trades="${n}" data-x="${exact(x)}" data-y="${exact(y)}" data-value="${exact(v)}"`;
      // no trades, no result: an empty cell, not a 0.00 that reads as one
      if (n === 0) return `<td class="empty" title="no trades" ${where}></td>`;
      let t = Number.isNaN(v) ? 0 : hi > lo ? (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo) : 1;
      if (LOWER_IS_BETTER.has(metric)) t = 1 - t;
      const classes = [...(c === best ? ["best"] : []), ...(few(c) ? ["few"] : [])];
      const attrs =
        (classes.length > 0 ? ` class="${classes.join(" ")}"` : "") +
        (c === best ? ' data-best="true"' : "") +
        (few(c)
          ? ` title="${plural(n, "trade")}: fewer than min_trades (${minTrades}), not ranked best"`
          : "");
      return `<td${attrs} style="background-color:${heatColour(t, few(c))}" ${where}>${fmt(v, d)}</td>`;
    });
    return `<tr><th>${exact(y)}</th>${cells.join("")}</tr>`;
  });
  const bestText = best
    ? `Best ${escapeHtml(metric)}: ${fmt(val(best), d)} at ${escapeHtml(xParam)} = ${exact(best.params[xParam] ?? Number.NaN)}, ${escapeHtml(yParam)} = ${exact(best.params[yParam] ?? Number.NaN)} (${plural(best.metrics.trades, "trade")}${few(best) ? `: no cell has min_trades ${minTrades}` : ""}).`
    : "No cells.";
  const key =
    minTrades > 0
      ? `Empty: no trades. Pale: fewer than min_trades (${minTrades}) trades, ranked after the others.`
      : "Empty: no trades.";
  return (
    `<p class="legend" id="heatmap-best">${bestText}</p>` +
    `<table class="heatmap" id="heatmap" data-grid-metric="${escapeHtml(metric)}"><thead>${head}</thead><tbody>\n${rows.join("\n")}\n</tbody></table>` +
    `<p class="note" id="heatmap-key">${key}</p>`
  );
}
