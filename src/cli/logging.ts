import { pino } from "pino";
import pretty from "pino-pretty";
import type { Logger } from "../core/log.js";

export type LogFormat = "auto" | "json" | "pretty";

/**
 * Structured logs on stderr (stdout stays free for command output such as a resolved config or
 * a JSON report). Pretty on a terminal, JSON lines otherwise, unless the user chooses.
 */
export function createLogger(level: string, format: LogFormat): Logger {
  const usePretty = format === "pretty" || (format === "auto" && process.stderr.isTTY === true);
  if (usePretty) {
    return pino(
      { level },
      pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY === true, ignore: "pid,hostname" }),
    );
  }
  return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
}
