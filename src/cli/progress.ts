import cliProgress from "cli-progress";
import type { Logger, Progress, ProgressFactory } from "../core/log.js";

/**
 * A bar on an interactive terminal; otherwise a log line at most every `intervalMs` (and at the
 * end), so unattended runs leave a readable trail instead of control characters.
 */
export function createProgress(log: Logger, interactive = process.stderr.isTTY === true): ProgressFactory {
  return (label, unit) => (interactive ? barProgress(label, unit) : logProgress(log, label, unit));
}

/** Bars on screen: a process that quits at once stops them, so the cursor is shown again. */
const activeBars = new Set<cliProgress.SingleBar>();

/** Stops every bar on screen: the cursor is shown again and the bar's line ended. */
export function restoreTerminal(): void {
  for (const bar of activeBars) bar.stop();
  activeBars.clear();
}

function barProgress(label: string, unit: string): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(10)} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = 0;
  let rows = 0;
  const rate = () => {
    const s = (Date.now() - started) / 1000;
    return s > 0 && rows > 0 ? `${Math.round(rows / s).toLocaleString("en-US")} rows/s` : "";
  };
  return {
    start(total, payload) {
      started = Date.now();
      rows = Number(payload?.rows ?? 0);
      bar.start(total, 0, { rate: rate() });
      activeBars.add(bar);
    },
    update(value, payload) {
      if (payload?.rows !== undefined) rows = Number(payload.rows);
      bar.update(value, { rate: rate() });
    },
    stop() {
      activeBars.delete(bar);
      bar.stop();
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
      payload = p ?? payload;
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
