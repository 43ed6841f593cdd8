import type { Logger, Progress, ProgressFactory } from "../core/log.js";
import { type StatusLine, stderrLine } from "./terminalLine.js";

/**
 * A bar on an interactive terminal; otherwise a log line at most every `intervalMs` (and at the
 * end), so unattended runs leave a readable trail instead of control characters.
 */
export function createProgress(log: Logger, interactive = process.stderr.isTTY === true): ProgressFactory {
  return (label, unit) =>
    interactive ? barProgress(stderrLine(), label, unit) : logProgress(log, label, unit);
}

/**
 * A process about to quit at once (a second Ctrl-C): the status line is cleared, so what it
 * writes last starts a fresh line. Bars never hide the cursor, so there is nothing else to undo.
 */
export function restoreTerminal(): void {
  stderrLine().show("");
}

/** The bar's width in characters, narrowed (down to MIN_BAR) when the line would not fit. */
const BAR_WIDTH = 20;
const MIN_BAR = 5;
/** Redraws at most this often: a download updates per page, an import per file. */
const REDRAW_MS = 100;

const count = (n: number) => Math.round(n).toLocaleString("en-US");

/** `42 s`, `3 min 05 s`, `1 h 02 min`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

/**
 * One bar's text: `BTCUSDT spot [██████░░░░░░░░░░░░░░] 30% | 38,000/128,160 1m bars | 52,000 rows/s | ETA 3 s`,
 * or at the end the elapsed time in place of the rate and ETA; the bar narrows to fit `width`.
 */
export function barText(
  s: {
    name: string;
    unit: string;
    value: number;
    total: number;
    seconds: number;
    rows: number;
    done: boolean;
  },
  width = Number.POSITIVE_INFINITY,
): string {
  const share = s.total > 0 ? Math.min(1, Math.max(0, s.value / s.total)) : s.done ? 1 : 0;
  const stats = [`${Math.floor(share * 100)}%`, `${count(s.value)}/${count(s.total)} ${s.unit}`];
  if (s.done) stats.push(formatDuration(s.seconds));
  else {
    if (s.rows > 0 && s.seconds > 0) stats.push(`${count(s.rows / s.seconds)} rows/s`);
    const eta = s.value > 0 && s.seconds > 0 ? (s.seconds * (s.total - s.value)) / s.value : undefined;
    stats.push(`ETA ${eta === undefined ? "-" : formatDuration(eta)}`);
  }
  const rest = stats.join(" | ");
  // name + " [" + bar + "] " + rest
  const room = width - [...s.name].length - 4 - [...rest].length;
  const barWidth = Math.max(MIN_BAR, Math.min(BAR_WIDTH, room));
  const filled = Math.round(share * barWidth);
  return `${s.name} [${"█".repeat(filled)}${"░".repeat(barWidth - filled)}] ${rest}`;
}

/**
 * A bar on the status line. It extends what the line showed when it started (an open
 * pipeline stage: "[BTCUSDT 1m] download ... BTCUSDT spot [███░░] ..."); when it stops, its final
 * line stays above and the line shows what it showed before. A `source` in the start payload
 * names what the bar counts (a data source) in place of the label.
 */
export function barProgress(line: StatusLine, label: string, unit: string, now = () => Date.now()): Progress {
  let base = "";
  let name = label;
  let started = 0;
  let total = 0;
  let value = 0;
  let rows = 0;
  let drawnAt = Number.NEGATIVE_INFINITY;
  let running = false;
  const text = (done: boolean) => {
    const prefix = base === "" ? "" : `${base} `;
    const seconds = (now() - started) / 1000;
    return `${prefix}${barText({ name, unit, value, total, seconds, rows, done }, line.width - [...prefix].length)}`;
  };
  /** A redraw held back by the rate limit, so the last value shown is the last value set. */
  let pending: NodeJS.Timeout | undefined;
  const draw = (force: boolean) => {
    const t = now();
    if (!force && t - drawnAt < REDRAW_MS) {
      if (pending === undefined) {
        pending = setTimeout(
          () => {
            pending = undefined;
            if (running) draw(true);
          },
          Math.max(1, REDRAW_MS - (t - drawnAt)),
        );
        pending.unref();
      }
      return;
    }
    if (pending !== undefined) {
      clearTimeout(pending);
      pending = undefined;
    }
    drawnAt = t;
    line.show(text(false));
  };
  return {
    start(t, payload) {
      base = line.current;
      name = typeof payload?.source === "string" ? payload.source : label;
      started = now();
      total = t;
      value = 0;
      rows = Number(payload?.rows ?? 0);
      running = true;
      draw(true);
    },
    update(v, payload) {
      if (!running) return;
      value = v;
      if (payload?.rows !== undefined) rows = Number(payload.rows);
      draw(false);
    },
    stop() {
      if (!running) return;
      running = false;
      if (pending !== undefined) {
        clearTimeout(pending);
        pending = undefined;
      }
      line.show(base);
      line.print(text(true));
    },
  };
}

function logProgress(log: Logger, label: string, unit: string, intervalMs = 5000): Progress {
  let total = 0;
  let last = 0;
  let started = 0;
  let value = 0;
  let payload: Record<string, string | number> | undefined;
  /** The value of the last line written (-1: none yet), so that stop does not repeat it. */
  let emitted = -1;
  const emit = () => {
    emitted = value;
    const seconds = (Date.now() - started) / 1000;
    log.info(
      { stage: label, done: value, total, unit, seconds: Math.round(seconds * 10) / 10, ...payload },
      "progress",
    );
  };
  return {
    start(t, p) {
      total = t;
      started = Date.now();
      last = started;
      payload = p;
    },
    update(v, p) {
      value = v;
      payload = p === undefined ? payload : { ...payload, ...p };
      const now = Date.now();
      if (now - last >= intervalMs) {
        last = now;
        emit();
      }
    },
    stop() {
      if (emitted !== value) emit();
    },
  };
}
