import { isoTime } from "../core/time.js";
import type { CandleRecord } from "../live/ledger/types.js";
import { formatTable } from "../pipeline/graph/table.js";
import type { StatusLine } from "./terminalLine.js";

/**
 * `itb serve` on a terminal: one row per market (last candle, close, score, signal, position,
 * equity and P&L, lag), drawn as the status line's block so that log lines print above it and
 * it updates in place. Redrawn at most every `everyMs`.
 */
export class LiveTable {
  private readonly rows = new Map<string, Row>();
  private timer: NodeJS.Timeout | undefined;
  private lastDraw = 0;

  constructor(
    private readonly line: StatusLine,
    private readonly now: () => number,
    private readonly everyMs = 250,
  ) {}

  /** A market is known (prepared) before its first candle. */
  add(market: string, stepMs: number, initialCapital: number | undefined): void {
    if (!this.rows.has(market)) this.rows.set(market, { market, stepMs, initialCapital });
    this.draw();
  }

  update(market: string, rec: CandleRecord): void {
    const row = this.rows.get(market);
    if (row === undefined) return;
    row.rec = rec;
    this.draw();
  }

  /** The table as text (for tests and the final draw). */
  text(): string {
    const header = ["MARKET", "CANDLE UTC", "CLOSE", "SCORE", "SIGNAL", "POS", "EQUITY", "P&L", "LAG"];
    const body = [...this.rows.values()].map((r) => cells(r, this.now()));
    return formatTable([header, ...body], this.line.width).join("\n");
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.line.show("");
  }

  private draw(): void {
    if (!this.line.interactive) return;
    const wait = this.lastDraw + this.everyMs - Date.now();
    if (wait > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.draw();
      }, wait).unref();
      return;
    }
    this.lastDraw = Date.now();
    this.line.show(this.text());
  }
}

interface Row {
  market: string;
  stepMs: number;
  initialCapital: number | undefined;
  rec?: CandleRecord;
}

const num = (v: number, digits: number) =>
  Number.isFinite(v)
    ? v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "-";

function cells(r: Row, now: number): string[] {
  const rec = r.rec;
  if (rec === undefined) return [r.market, "warming up", "-", "-", "-", "-", "-", "-", "-"];
  // the score the signal comes from: the first signal column that is not a 0/1 flag, else the first model score
  const score =
    Object.entries(rec.signals).find(([, v]) => Number.isFinite(v) && v !== 0 && v !== 1)?.[1] ??
    Object.values(rec.scores)[0] ??
    Number.NaN;
  const signal = rec.buy ? (rec.sell ? "both" : "buy") : rec.sell ? "sell" : "-";
  const position = rec.equity.position === 1 ? "long" : rec.equity.position === -1 ? "short" : "flat";
  const pnl =
    r.initialCapital !== undefined && Number.isFinite(rec.equity.equity)
      ? `${((rec.equity.equity / r.initialCapital - 1) * 100).toFixed(2)}%`
      : "-";
  const lag = Math.max(0, Math.round((now - (rec.candle.time + r.stepMs)) / 1000));
  return [
    r.market,
    isoTime(rec.candle.time).slice(5, 16).replace("T", " "),
    num(rec.candle.close, 2),
    Number.isFinite(score) ? (score >= 0 ? `+${score.toFixed(3)}` : score.toFixed(3)) : "-",
    signal,
    position,
    num(rec.equity.equity, 2),
    pnl,
    compactSeconds(lag),
  ];
}

/** 42s, 12m, 5h, 3d: the lag in its largest whole unit. */
function compactSeconds(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
