import {
  followEvents,
  getJson,
  type MarketDetail,
  type MarketSummary,
  marketPath,
  type Status,
} from "./api.js";
import { type Column, debounce, fill, h, table } from "./dom.js";
import { isNum, num, pct, price, qty, sideName, signed, time, tone } from "./format.js";
import { badge, boot, controlButton, healthBadge, type PageContext } from "./shell.js";

/** `/`: every market's last candle, score, signal, position, P&L and health, updated live. */

/** Each market's score column (from its signal rule), asked once. */
const scoreColumns = new Map<string, string | null>();

function scoreOf(m: MarketSummary): number | null {
  const col = scoreColumns.get(m.id);
  if (col === undefined || col === null || m.last === null) return null;
  return m.last.signals[col] ?? m.last.scores[col] ?? null;
}

function signalBadge(m: MarketSummary): HTMLElement | string {
  if (m.last === null) return "–";
  if (m.last.buy) return badge("BUY", "buy");
  if (m.last.sell) return badge("SELL", "sell");
  return h("span", { class: "muted" }, "none");
}

function positionText(m: MarketSummary): HTMLElement {
  const p = m.position;
  if (p.side === 0) return h("span", { class: "muted" }, "flat");
  return h(
    "span",
    {},
    badge(sideName(p.side), p.side === 1 ? "buy" : "sell"),
    ` ${qty(p.quantity)} @ ${price(p.entry_price)}`,
  );
}

const COLUMNS: Column<MarketSummary>[] = [
  {
    title: "Market",
    cell: (m) => h("a", { href: `/market/${encodeURIComponent(m.id)}`, class: "market-link" }, m.id),
  },
  {
    title: "Trading",
    cell: (m) =>
      h(
        "span",
        { class: "badges" },
        m.trading === null ? h("span", { class: "muted" }, "signals only") : badge(m.trading, m.trading),
        m.paused === true ? badge("paused", "warn") : null,
      ),
  },
  { title: "Health", cell: (m) => healthBadge(m.health) },
  { title: "Last candle (UTC)", cell: (m) => time(m.last?.time), numeric: true },
  { title: "Close", cell: (m) => price(m.last?.close), numeric: true },
  {
    title: "Score",
    cell: (m) => num(scoreOf(m), 4),
    numeric: true,
    tone: (m) => tone(scoreOf(m)),
  },
  { title: "Signal", cell: signalBadge },
  { title: "Position", cell: positionText },
  { title: "Equity", cell: (m) => num(m.equity, 2), numeric: true },
  { title: "P&L", cell: (m) => signed(m.pnl, 2), numeric: true, tone: (m) => tone(m.pnl) },
  {
    title: "P&L %",
    cell: (m) => (isNum(m.pnl) && m.initial_capital > 0 ? pct(m.pnl / m.initial_capital) : "–"),
    numeric: true,
    tone: (m) => tone(m.pnl),
  },
];

async function overview(ctx: PageContext): Promise<void> {
  const { app, signal } = ctx;
  const summary = h("div", { class: "summary", id: "status" });
  const controls = h("div", { class: "controls", id: "controls" });
  const markets = h("section", { class: "card", id: "markets" });
  const live = h("span", { class: "live-dot", id: "live", title: "event stream" });
  fill(app, h("div", { class: "page-head" }, h("h1", {}, "Markets"), live, summary), controls, markets);

  const load = async (): Promise<void> => {
    const status = await getJson<Status>("/api/v1/status", { signal });
    const missing = status.markets.filter((m) => !scoreColumns.has(m.id));
    await Promise.all(
      missing.map(async (m) => {
        const d = await getJson<MarketDetail>(marketPath(m.id), { signal });
        scoreColumns.set(m.id, d.thresholds.score);
      }),
    );
    const totalPnl = status.markets.reduce((s, m) => s + (isNum(m.pnl) ? m.pnl : 0), 0);
    const trading = status.markets.filter((m) => m.trading !== null).length;
    fill(
      summary,
      h(
        "span",
        {},
        `${status.markets.length} ${status.markets.length === 1 ? "market" : "markets"}, ${trading} trading`,
      ),
      h("span", {}, "P&L ", h("b", { class: tone(totalPnl) ?? "" }, signed(totalPnl, 2))),
      h("span", {}, status.ready ? badge("ready", "good") : badge("not ready", "warn")),
      h("span", { class: "muted" }, `itb ${status.version} · ${time(status.now)} UTC`),
    );
    fill(
      markets,
      table(
        COLUMNS,
        status.markets,
        "No markets: the service has none configured, or none has a candle yet.",
      ),
    );
    document.body.dataset.markets = String(status.markets.length);
  };
  await load();
  const reload = () => void load().catch(() => {});
  if (ctx.canControl) {
    fill(
      controls,
      h("span", { class: "muted" }, "All markets:"),
      controlButton({
        label: "Pause entries",
        action: "pause",
        path: "/api/v1/control/pause",
        after: reload,
      }),
      controlButton({ label: "Resume", action: "resume", path: "/api/v1/control/resume", after: reload }),
      controlButton({
        label: "Flatten all",
        action: "flatten",
        path: "/api/v1/control/flatten",
        confirm: "Close every position at market from the next candle?",
        danger: true,
        after: reload,
      }),
    );
  }
  const refresh = debounce(() => void load().catch(() => {}), 400);
  void followEvents("/api/v1/events", () => refresh(), {
    signal,
    onState: (open) => live.classList.toggle("on", open),
  });
  // health turns stale without events: look again now and then
  const timer = setInterval(refresh, 30_000);
  signal.addEventListener("abort", () => clearInterval(timer));
}

boot(overview);
