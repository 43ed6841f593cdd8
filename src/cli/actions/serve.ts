import { resolve } from "node:path";
import type { Command } from "commander";
import { configFreq, loadConfig } from "../../config/index.js";
import { loadMarketConfigs } from "../../config/markets.js";
import { SystemClock } from "../../core/clock.js";
import { InterruptedError, ItbError, UsageError } from "../../core/errors.js";
import { ledgerLocation, openLedgerOf } from "../../live/ledger/open.js";
import type { Ledger } from "../../live/ledger/types.js";
import type { MarketRunner } from "../../live/market.js";
import { ServiceMetrics } from "../../live/metrics.js";
import { runService } from "../../live/service.js";
import { EventHub, publishRecord } from "../../server/api/events.js";
import { createSource, marketId } from "../../server/api/source.js";
import type { Readiness } from "../../server/ops.js";
import type { ServeCliOptions } from "../commands/serve.js";
import { contextOf, requireLocalData } from "../context.js";
import { catchInterrupts } from "../interrupts.js";
import { LiveTable } from "../liveTable.js";
import { list } from "../options.js";
import { stderrLine } from "../terminalLine.js";
import { VERSION } from "../version.js";

/** `itb serve`. */
export async function serveAction(opts: ServeCliOptions, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  const g = cmd.optsWithGlobals<{ logFormat: string }>();
  const files = opts.config;
  if (files.length === 0) throw new UsageError("missing --config FILE");
  const configs = files.map((f) => loadConfig(f));
  for (const c of configs) requireLocalData(c);
  const first = (configs[0] as (typeof configs)[number]).config;
  const marketConfigs = files.flatMap((f) =>
    loadMarketConfigs(f, {
      ...(list(opts.symbols) === undefined ? {} : { symbols: list(opts.symbols) }),
      ...(list(opts.freqs) === undefined ? {} : { freqs: list(opts.freqs) }),
    }),
  );
  const interrupts = catchInterrupts(ctx.log, "finishing the candle in flight");
  const metrics = new ServiceMetrics();
  const clock = new SystemClock();
  let markets: readonly MarketRunner[] = [];
  const readiness = (): Readiness => {
    if (markets.length === 0) return { ready: false, reasons: { service: "warming up" } };
    const reasons: Record<string, string> = {};
    const now = clock.now();
    for (const m of markets) {
      const step = configFreq(m.config).ms;
      const age = now - (m.lastTime + step);
      const allowed = 2 * step + m.config.serve.delay_ms + 10_000;
      if (Number.isNaN(m.lastTime)) reasons[m.name] = "no candle processed yet";
      else if (age > allowed) reasons[m.name] = `last candle closed ${Math.round(age / 1000)} s ago`;
    }
    return { ready: Object.keys(reasons).length === 0, reasons };
  };
  const ledgers = new Map<string, Ledger>();
  const stopped = new Map<string, string>();
  const hub = new EventHub();
  // the service closes its ledgers as it stops: the API reads the markets' memory from then on
  interrupts.signal.addEventListener("abort", () => ledgers.clear(), { once: true });
  const source = createSource({
    mode: "serve",
    version: VERSION,
    now: () => clock.now(),
    markets: marketConfigs.map((m) => ({ config: m.config, file: m.file })),
    configs: configs.map((c) => ({ config: c.config, file: c.file })),
    ledgerOf: async (folder) => ledgers.get(resolve(folder)),
    service: {
      runners: () => markets,
      reasons: () => readiness().reasons,
      stopped: () => stopped,
    },
  });
  // Fastify loads with the commands that serve (not with every itb command)
  const { apiTokensOf, startApiServer } = await import("../../server/api/app.js");
  const { registerPages } = await import("../../server/pages.js");
  const ops = await startApiServer({
    address: opts.address ?? first.serve.address,
    source,
    hub,
    tokens: apiTokensOf(configs.map((c) => c.config)),
    corsOrigins: first.serve.cors_origins,
    log: ctx.log,
    registerPages,
    ops: {
      registry: metrics.registry,
      readiness,
      control: (action, symbol) => (source.control?.apply(action, symbol) ?? []).map((m) => m.name),
    },
  });
  ctx.log.info({ url: ops.url }, "operations endpoints: /healthz /readyz /metrics; the API: /api/v1");
  const line = stderrLine();
  const table =
    line.interactive && g.logFormat !== "json" ? new LiveTable(line, () => clock.now()) : undefined;
  const lag = setInterval(() => {
    for (const m of markets) {
      if (!Number.isNaN(m.lastTime)) {
        metrics.lag.set({ market: m.name }, (clock.now() - (m.lastTime + configFreq(m.config).ms)) / 1000);
      }
    }
  }, 1000).unref();
  try {
    let run: Awaited<ReturnType<typeof runService>>;
    try {
      run = await runService({
        configFiles: files,
        ...(list(opts.symbols) === undefined ? {} : { symbols: list(opts.symbols) }),
        ...(list(opts.freqs) === undefined ? {} : { freqs: list(opts.freqs) }),
        log: ctx.log,
        clock,
        signal: interrupts.signal,
        metrics,
        itbVersion: VERSION,
        ...(table === undefined ? {} : { quietCandles: true }),
        ...(opts.websocket === false ? { websocket: false } : {}),
        ...(opts.live === true ? { live: true } : {}),
        openLedger: async (folder, url) => {
          const place = { data_folder: folder, ledger_url: url };
          const ledger = await openLedgerOf(place);
          ctx.log.info({ ledger: ledgerLocation(place) }, "ledger open");
          ledgers.set(resolve(folder), ledger);
          return ledger;
        },
        onMarketStopped: (m, error) => stopped.set(m.name, error),
        onControl: (m, action) =>
          hub.publish({ name: "control", market: marketId(m.config), data: { action } }),
        onReady: (ms) => {
          markets = ms;
          for (const m of ms) {
            table?.add(m.name, configFreq(m.config).ms, m.config.backtest.initial_capital);
          }
          ctx.log.info({ markets: ms.map((m) => m.name) }, "serving");
        },
        onProcessed: (m, rec) => {
          table?.update(m.name, rec);
          publishRecord(hub, marketId(m.config), rec);
        },
      });
    } catch (err) {
      // Ctrl-C or SIGTERM during the start (a back-fill, the warm-up): nothing half-done to keep
      if (interrupts.signal.aborted && (err instanceof InterruptedError || isAbort(err))) {
        ctx.log.info({}, "stopped during the start; the ledger is as it was");
        return;
      }
      throw err;
    }
    if (!interrupts.signal.aborted && run.failed.length > 0) {
      throw new ItbError(
        `${run.failed.length} market(s) stopped: ${run.failed.map((f) => `${f.market}: ${f.error}`).join("; ")}`,
      );
    }
    if (interrupts.signal.aborted)
      ctx.log.info({}, "stopped: the ledger is complete up to the last candle processed");
  } finally {
    clearInterval(lag);
    table?.close();
    await ops.close();
    interrupts.dispose();
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === "AbortError" || err.cause instanceof InterruptedError);
}
