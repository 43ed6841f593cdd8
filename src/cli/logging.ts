import { createRequire } from "node:module";
import { pino } from "pino";
import type { Logger } from "../core/log.js";
import { stderrLine } from "./terminalLine.js";

export type LogFormat = "auto" | "json" | "pretty";

const PRETTY = { ignore: "pid,hostname" } as const;

/** pino-pretty, loaded only when logs are pretty: JSON logs (the default off a terminal) do without it. */
function pinoPretty(): typeof import("pino-pretty") {
  return createRequire(import.meta.url)("pino-pretty") as typeof import("pino-pretty");
}

/**
 * Structured logs on stderr (stdout stays free for command output such as a resolved config or
 * a JSON report). Pretty on a terminal, JSON lines otherwise, unless the user chooses. On a
 * terminal every line goes through stderr's status line, so it is written above a progress bar
 * or an open stage line instead of inside it.
 */
export function createLogger(level: string, format: LogFormat): Logger {
  const tty = process.stderr.isTTY === true;
  const usePretty = format === "pretty" || (format === "auto" && tty);
  if (tty) {
    const line = stderrLine();
    // pino-pretty's own stream formats on a later tick; formatting here keeps the order of
    // log lines and bar redraws exactly as they happen.
    const render = usePretty ? pinoPretty().prettyFactory({ ...PRETTY, colorize: true }) : (s: string) => s;
    return pino(
      { level, ...(usePretty ? {} : { base: undefined }) },
      { write: (s) => line.print(render(s)) },
    );
  }
  if (usePretty)
    return pino({ level }, pinoPretty()({ ...PRETTY, destination: 2, sync: true, colorize: false }));
  return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
}
