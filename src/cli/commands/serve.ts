import type { Command } from "commander";
import { configFreq, loadConfig } from "../../config/index.js";
import { SystemClock } from "../../core/clock.js";
import { InterruptedError, ItbError, UsageError } from "../../core/errors.js";
import { ledgerLocation, openLedgerOf } from "../../live/ledger/open.js";
import type { MarketRunner } from "../../live/market.js";
import { ServiceMetrics } from "../../live/metrics.js";
import { runService } from "../../live/service.js";
import { type Readiness, startOpsServer } from "../../server/ops.js";
import { contextOf } from "../context.js";
import { catchInterrupts } from "../interrupts.js";
import { LiveTable } from "../liveTable.js";
import { stderrLine } from "../terminalLine.js";
import { VERSION } from "../version.js";

interface ServeCliOptions {
  config: string[];
  symbols?: string;
  freqs?: string;
  address?: string;
  websocket: boolean;
  live: boolean;
}

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .summary(
      "the online service: every closed candle → features → models → signals → paper trades, for many markets",
    )
    .description(
      "Runs every market of the config (symbols x freqs) or of several configs in one process. At start-up it " +
        "loads the current models, back-fills the klines over REST to the last closed candle and warms the " +
        "streams on the stored history, so that live numbers equal the batch pipeline's; it resumes after the " +
        "last candle its ledger (<data_folder>/ledger.sqlite, or ledger_url on PostgreSQL) recorded, processing missed candles as catch-up. " +
        "Then each closed candle (the kline WebSocket rings, REST fetches it in order, exactly once) goes " +
        "through features, models and signals to the outputs (console log, paper trading with " +
        "trader_simulation), recorded in one ledger transaction. A newly promoted model is picked up at the " +
        "next candle; a config's schedule section retrains its markets on a cron in a worker thread and " +
        "promotes the new models when their walk-forward AUC passes (docs/serve.md). /healthz, /readyz " +
        "and /metrics listen on serve.address. Ctrl-C or SIGTERM finishes the candle in flight and exits 0; " +
        "see docs/serve.md.",
    )
    .requiredOption(
      "-c, --config <file>",
      "JSONC config file (repeat for several configs)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option(
      "--symbols <list>",
      "comma-separated symbols, each a market (default: the config's symbols or symbol)",
    )
    .option("--freqs <list>", "comma-separated frequencies, each a market per symbol (default: the config's)")
    .option("--address <host:port>", "where /healthz, /readyz and /metrics listen (default: serve.address)")
    .option("--no-websocket", "follow the exchange by REST polling alone")
    .option(
      "--live",
      'send the orders of markets whose trade_model.mode is "live" to the real account (without it: the testnet, or exchange_url)',
      false,
    )
    .addHelpText(
      "after",
      "\nExamples:\n  itb serve --config configs/demo.jsonc\n  itb serve --config a.jsonc --config b.jsonc --address 127.0.0.1:0",
    )
    .action(async (opts: ServeCliOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const g = cmd.optsWithGlobals<{ logFormat: string }>();
      const files = opts.config;
      if (files.length === 0) throw new UsageError("missing --config FILE");
      const first = loadConfig(files[0] as string).config;
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
      const ops = await startOpsServer({
        address: opts.address ?? first.serve.address,
        registry: metrics.registry,
        readiness,
        control: (action, symbol) =>
          markets
            .filter((m) => symbol === undefined || m.key.symbol.toUpperCase() === symbol.toUpperCase())
            .filter((m) => m.control(action === "flatten" ? "exit" : action))
            .map((m) => m.name),
      });
      ctx.log.info({ url: ops.url }, "operations endpoints: /healthz /readyz /metrics");
      const line = stderrLine();
      const table =
        line.interactive && g.logFormat !== "json" ? new LiveTable(line, () => clock.now()) : undefined;
      const lag = setInterval(() => {
        for (const m of markets) {
          if (!Number.isNaN(m.lastTime)) {
            metrics.lag.set(
              { market: m.name },
              (clock.now() - (m.lastTime + configFreq(m.config).ms)) / 1000,
            );
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
              return ledger;
            },
            onReady: (ms) => {
              markets = ms;
              for (const m of ms) {
                table?.add(m.name, configFreq(m.config).ms, m.config.backtest.initial_capital);
              }
              ctx.log.info({ markets: ms.map((m) => m.name) }, "serving");
            },
            onProcessed: (m, rec) => table?.update(m.name, rec),
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
    });
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === "AbortError" || err.cause instanceof InterruptedError);
}
