import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { Clock } from "../../src/core/clock.js";
import { type Logger, noProgress, silentLogger } from "../../src/core/log.js";
import { ledgerFile } from "../../src/live/ledger/file.js";
import { openSqliteLedger } from "../../src/live/ledger/sqlite.js";
import type { CandleRecord } from "../../src/live/ledger/types.js";
import { runService, type ServiceOptions, type ServiceRun } from "../../src/live/service.js";
import { runPipeline } from "../../src/pipeline/graph/matrix.js";
import type { Simulator, VirtualClock } from "../../src/simulator/index.js";
import { SAMPLE } from "../helpers/paths.js";
import { liveConfig } from "./liveConfig.js";

/**
 * What the model-reload and retraining tests share: a data folder with two weeks of the
 * sample's BTCUSDT spot and ETHUSDT perpetual candles before T0, the models of liveConfig
 * trained on them (version 1, current) and a walk-forward run over them (run 1, the current
 * models' walk-forward AUC), copied for each served run; the service on the simulator's
 * virtual clock; a logger that keeps what it is told.
 */
export const MIN = 60_000;
/** The stores end here; the service follows the simulator from here on. */
export const T0 = Date.UTC(2023, 2, 20);
export const HISTORY_START = "2023-03-06";
export const ROLLING = { prediction_size: 1440, prediction_steps: 2 };

export interface Fixture {
  root: string;
  /** A fresh copy of the data folder and a config file for it (patched). */
  copy(label: string, patch?: (c: Record<string, unknown>) => void): { dir: string; config: string };
}

export async function buildFixture(sim: Simulator): Promise<Fixture> {
  const root = mkdtempSync(join(tmpdir(), "itb-reload-fixture-"));
  const config = (data: string) => {
    const c = liveConfig(data, sim.url, HISTORY_START, "2023-03-20");
    c.rolling_predict = { ...ROLLING };
    c.serve = { address: "127.0.0.1:0", websocket: false };
    return c;
  };
  const file = join(root, "build.json");
  writeFileSync(file, JSON.stringify(config(join(root, "data"))));
  const run = await runPipeline(
    { configFile: file, archive: SAMPLE, source: "import", predict: "rolling", to: "predict-rolling" },
    { log: silentLogger, progress: noProgress, clock: { now: () => Date.now() }, itbVersion: "test" },
  );
  expect(run.failed).toBe(0);
  let n = 0;
  return {
    root,
    copy(label, patch) {
      const dir = join(root, `${label}-${++n}`);
      cpSync(join(root, "data"), join(dir, "data"), { recursive: true });
      const c = config(join(dir, "data"));
      patch?.(c);
      const path = join(dir, "live.json");
      writeFileSync(path, JSON.stringify(c, null, 2));
      return { dir, config: path };
    },
  };
}

/** The service's Clock on the simulator's virtual clock: waits end when a test moves it past their time. */
export function serviceClock(v: VirtualClock): Clock {
  return {
    now: () => v.now(),
    waitUntil: (time, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        const done = () => {
          off();
          clearInterval(timer);
          signal?.removeEventListener("abort", onAbort);
        };
        const check = () => {
          if (v.now() >= time) {
            done();
            resolve();
          }
        };
        const onAbort = () => {
          done();
          reject(signal?.reason);
        };
        const off = v.onChange(check);
        // a running clock (speed > 0) moves without telling
        const timer = setInterval(check, 5);
        signal?.addEventListener("abort", onAbort, { once: true });
        check();
      }),
  };
}

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
  obj: Record<string, unknown>;
  /** The virtual time when it was logged. */
  at: number;
}

/** A logger that keeps every line, stamped with the virtual time. */
export function captureLog(v: VirtualClock): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine["level"]) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, msg: msg ?? "", obj: obj as Record<string, unknown>, at: v.now() });
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * A served run on the virtual clock: the service starts at T0 (its stores end there) and
 * `step` moves the exchange's clock one candle on and waits until the service processed it.
 */
export interface ServedRun {
  records: CandleRecord[];
  log: ReturnType<typeof captureLog>;
  /** Moves the clock past the close of the next candle and waits for its record. */
  step(): Promise<CandleRecord>;
  /** Stops the service and returns its result. */
  stop(): Promise<ServiceRun>;
}

export async function serve(
  sim: Simulator,
  config: string,
  extra: Partial<ServiceOptions> = {},
): Promise<ServedRun> {
  sim.clock.set(T0 + 30_000);
  const log = captureLog(sim.clock);
  const records: CandleRecord[] = [];
  const waiting = new Map<number, (r: CandleRecord) => void>();
  const controller = new AbortController();
  let ready: () => void = () => undefined;
  const isReady = new Promise<void>((r) => {
    ready = r;
  });
  const running = runService({
    configFiles: [config],
    log,
    clock: serviceClock(sim.clock),
    signal: controller.signal,
    openLedger: async (folder) => openSqliteLedger(ledgerFile({ data_folder: folder })),
    pollMs: 60_000,
    delayMs: 0,
    websocket: false,
    itbVersion: "test",
    onProcessed: (_m, rec) => {
      const r = structuredClone(rec);
      records.push(r);
      waiting.get(r.candle.time)?.(r);
    },
    onReady: () => ready(),
    ...extra,
  });
  running.catch(() => ready());
  await Promise.race([isReady, running]);
  let next = T0;
  return {
    records,
    log,
    step: async () => {
      const t = next;
      next += MIN;
      const got = new Promise<CandleRecord>((resolve) => waiting.set(t, resolve));
      sim.clock.set(t + MIN + 30_000);
      let timer: NodeJS.Timeout | undefined;
      const rec = await Promise.race([
        got,
        running.then((r) => {
          throw new Error(`the service ended: ${JSON.stringify(r.failed)}`);
        }),
        new Promise<never>((_, fail) => {
          timer = setTimeout(
            () =>
              fail(
                new Error(
                  `the candle of ${new Date(t).toISOString()} did not come within 60 s; the log's end:\n${log.lines
                    .slice(-8)
                    .map((l) => JSON.stringify(l))
                    .join("\n")}`,
                ),
              ),
            60_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      waiting.delete(t);
      return rec;
    },
    stop: async () => {
      controller.abort();
      return running;
    },
  };
}
