import type { Logger, ProgressFactory } from "../../src/core/log.js";

/** A logger and progress factory that record every call, for tests to assert on. */
export interface Captured {
  log: Logger;
  progress: ProgressFactory;
  lines: { level: string; obj: Record<string, unknown>; msg?: string | undefined }[];
  bars: { label: string; unit: string; calls: [string, ...unknown[]][] }[];
}

export function capture(): Captured {
  const lines: Captured["lines"] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  const bars: Captured["bars"] = [];
  const progress: ProgressFactory = (label, unit) => {
    const bar: Captured["bars"][number] = { label, unit, calls: [] };
    bars.push(bar);
    return {
      start: (total, payload) => bar.calls.push(["start", total, payload]),
      update: (value, payload) => bar.calls.push(["update", value, payload]),
      stop: () => bar.calls.push(["stop"]),
    };
  };
  return {
    log: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
    progress,
    lines,
    bars,
  };
}
