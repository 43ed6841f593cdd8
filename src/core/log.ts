/**
 * The logging port. pino's logger satisfies it; pure code receives one instead of creating it,
 * so tests can capture what was logged.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/**
 * Progress of a long step: a bar on a terminal, periodic log lines otherwise. `total` and
 * `value` are in the unit the caller names (files, rows, ms of history). Payload: `rows`, the
 * rows processed so far (for a rate), and `source`, what the bar counts (e.g. "BTCUSDT spot").
 */
export interface Progress {
  start(total: number, payload?: Record<string, string | number>): void;
  update(value: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export type ProgressFactory = (label: string, unit: string) => Progress;

export const noProgress: ProgressFactory = () => ({ start() {}, update() {}, stop() {} });
