import { setMaxListeners } from "node:events";
import { resolve } from "node:path";
import { configFreq, type LoadedConfig } from "../config/index.js";
import { readLedgerUrl } from "../config/ledgerUrl.js";
import { loadMarketConfigs } from "../config/markets.js";
import type { Clock } from "../core/clock.js";
import { ConfigError, errorMessage, UsageError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { Waker } from "../core/waker.js";
import { CcxtMarketData } from "../exchange/ccxt/adapter.js";
import { watchKlineCloses } from "../exchange/ccxt/klineStream.js";
import type { Market, MarketData } from "../exchange/marketData.js";
import { openExchangeExecution, userStreamBase } from "./exchangeTrading.js";
import { ledgerLocation } from "./ledger/open.js";
import type { CandleRecord, Ledger } from "./ledger/types.js";
import { type MarketDeps, MarketRunner, type StageTimes } from "./market.js";
import type { ServiceMetrics } from "./metrics.js";
import { startCommands } from "./notify/commands.js";
import {
  checkTelegram,
  type FolderNotify,
  type Notifications,
  type PumpHooks,
  sendChartNow,
  startNotifications,
} from "./notify/delivery.js";
import { type NotifyPlan, notifies } from "./notify/plan.js";
import { Portfolio } from "./portfolio.js";
import { type RetrainEvent, type Retraining, startRetraining } from "./retrain.js";

/**
 * `itb serve`: every market of one or more configs (each config's `symbols` × `freqs`) in one
 * process. Each market is prepared (models, back-fill, warm-up, catch-up) and then follows the
 * exchange on its own; a market that fails is logged and stops, the others go on. Markets of
 * one data folder share its ledger; markets of one exchange share its REST client.
 */
export interface ServiceOptions {
  configFiles: readonly string[];
  symbols?: readonly string[];
  freqs?: readonly string[];
  log: Logger;
  clock: Clock;
  signal: AbortSignal;
  /**
   * Opens the ledger of a data folder: the configs' `ledger_url` (PostgreSQL) when they have
   * one, else the folder's SQLite file (the CLI's openLedgerOf).
   */
  openLedger: (dataFolder: string, ledgerUrl: string | undefined) => Promise<Ledger>;
  /** The exchange's REST client (tests pass one pointing at a simulator). */
  marketData?: (config: LoadedConfig["config"], market: Market) => MarketData;
  onProcessed?: (market: MarketRunner, rec: CandleRecord, stages: StageTimes, features: Float64Array) => void;
  /** Called for each operator request a market took (API, POST /control, Telegram commands). */
  onControl?: (market: MarketRunner, request: "pause" | "resume" | "exit") => void;
  /** Called when a market stops with an error (the others go on). */
  onMarketStopped?: (market: MarketRunner, error: string) => void;
  /** Called once every market is prepared and following the exchange. */
  onReady?: (markets: readonly MarketRunner[]) => void;
  /** Overrides of the configs' serve.poll_ms and serve.delay_ms (tests). */
  pollMs?: number;
  delayMs?: number;
  /** The console output logs candles at debug (a terminal table shows them). */
  quietCandles?: boolean;
  /** Override of the configs' serve.websocket. */
  websocket?: boolean;
  metrics?: ServiceMetrics;
  /** The version the artifacts of scheduled retraining record (the CLI's). */
  itbVersion?: string;
  /** Notification delivery: its events and backoff (tests). */
  notify?: PumpHooks;
  /**
   * `itb serve --live`: markets whose trade_model.mode is "live" send orders to the real
   * account (without it, to the testnet or the config's exchange_url).
   */
  live?: boolean;
  /** Scheduled retraining (the configs' `schedule`): the compiled worker (tests: dist's), events. */
  retrain?: { workerUrl?: URL; onEvent?: (e: RetrainEvent) => void };
}

export interface ServiceRun {
  markets: MarketRunner[];
  /** Markets that stopped with an error, and why. */
  failed: { market: string; error: string }[];
}

export async function runService(o: ServiceOptions): Promise<ServiceRun> {
  // every market's feeds, waits and exchange clients listen on the one stop signal: with more
  // than ten markets Node would warn of a leak that is none
  setMaxListeners(0, o.signal);
  const loaded: LoadedConfig[] = [];
  for (const file of o.configFiles) {
    const markets = loadMarketConfigs(file, {
      ...(o.symbols === undefined ? {} : { symbols: o.symbols }),
      ...(o.freqs === undefined ? {} : { freqs: o.freqs }),
    });
    for (const m of markets) for (const w of m.warnings) o.log.warn({ config: m.file }, w);
    loaded.push(...markets);
  }
  checkCollisions(loaded);
  const ledgerUrls = ledgerUrlsOf(loaded);

  const ledgers = new Map<string, Promise<Ledger>>();
  const ledgerOf = (dataFolder: string) => {
    const key = resolve(dataFolder);
    let l = ledgers.get(key);
    if (l === undefined) {
      l = o.openLedger(key, ledgerUrls.get(key));
      ledgers.set(key, l);
    }
    return l;
  };
  // One exchange client per venue, URL and market, shared by the markets that use it; the
  // start-up check has its own with few retries (a "probe"): an unreachable exchange is an
  // error within seconds, not after the minutes the followers' retries may wait.
  const clients = new Map<string, MarketData>();
  const clientOf = (config: LoadedConfig["config"], market: Market, probe = false): MarketData => {
    if (o.marketData !== undefined) return o.marketData(config, market);
    const key = `${probe ? "probe " : ""}${config.venue} ${config.exchange_url ?? ""} ${market}`;
    let c = clients.get(key);
    if (c === undefined) {
      c = new CcxtMarketData({
        venue: config.venue,
        ...(config.exchange_url === undefined ? {} : { exchangeUrl: config.exchange_url }),
        ...(config.api_key === undefined ? {} : { apiKey: config.api_key }),
        ...(config.api_secret === undefined ? {} : { apiSecret: config.api_secret }),
        log: o.log,
        signal: o.signal,
        ...(probe ? { retry: { attempts: 3, baseMs: 250, capMs: 2000 } } : {}),
      });
      clients.set(key, c);
    }
    return c;
  };

  // One kline stream per source, symbol and interval, shared by the markets that read it.
  // A stream opens when the first market asks for its doorbell (as it starts to follow the
  // exchange) and closes when the service stops.
  const wakers = new Map<string, { waker: Waker; stream: Promise<{ done: Promise<void> } | undefined> }>();
  const wakerOf = (l: LoadedConfig, source: { symbol: string; market: Market }): Waker | undefined => {
    const c = l.config;
    if (!(o.websocket ?? c.serve.websocket)) return undefined;
    const interval = configFreq(c).binance;
    const key = `${c.venue} ${c.exchange_url ?? ""} ${source.market} ${source.symbol} ${interval}`;
    let w = wakers.get(key);
    if (w === undefined) {
      const waker = new Waker();
      w = {
        waker,
        stream: watchKlineCloses({
          venue: c.venue,
          exchangeUrl: c.exchange_url,
          market: source.market,
          symbol: source.symbol,
          interval,
          signal: o.signal,
          log: o.log,
          onCandle: () => waker.poke(),
          onReconnect: () => o.metrics?.reconnects.inc({ source: `${source.symbol} ${source.market}` }),
        }).catch((err: unknown) => {
          o.log.warn(
            { source: source.symbol, market: source.market, err: errorMessage(err) },
            "no kline stream; following the exchange by REST polling alone",
          );
          return undefined;
        }),
      };
      wakers.set(key, w);
    }
    return w.waker;
  };

  const runners: MarketRunner[] = [];
  const failed: ServiceRun["failed"] = [];
  const portfolio = new Portfolio();
  let retraining: Retraining | undefined;
  let notifications: Notifications | undefined;
  let commands: { done: Promise<void> }[] = [];
  // the bots stop with the service, also when it ends because every market failed
  const stopBots = new AbortController();
  try {
    for (const l of loaded) {
      const deps: MarketDeps = {
        log: o.log,
        clock: o.clock,
        ledger: () => ledgerOf(l.config.data_folder),
        marketData: (market) => clientOf(l.config, market),
        probe: (market) => clientOf(l.config, market, true),
        ...(o.quietCandles === true ? { quietCandles: true } : {}),
        signal: o.signal,
        waker: (source) => wakerOf(l, source),
        pollMs: o.pollMs ?? l.config.serve.poll_ms,
        delayMs: o.delayMs ?? l.config.serve.delay_ms,
        notified: () => notifications?.poke(l.config.data_folder),
        portfolio,
        execution: (config, inDoubtBefore) =>
          openExchangeExecution(config, {
            live: o.live === true,
            inDoubtBefore,
            log: o.log,
            signal: o.signal,
          }),
        // with the kline WebSockets off, the user-data stream is off too: REST polling alone
        userStream: (config) =>
          (o.websocket ?? config.serve.websocket) ? userStreamBase(config, o.live === true) : undefined,
      };
      const runner: MarketRunner = new MarketRunner(l, {
        ...deps,
        onControl: (request) => o.onControl?.(runner, request),
        onProcessed: (rec, st, f) => {
          if (o.metrics !== undefined) observe(o.metrics, runner.name, rec, st);
          o.onProcessed?.(runner, rec, st, f);
        },
      });
      runners.push(runner);
    }
    // Checked, then prepared one after the other: start-up errors (a missing model, a model for
    // other features, an unreachable exchange) end the command before any market trades, and
    // the checks before anything is fetched or written.
    for (const r of runners) await r.check();
    if (o.live === true && !runners.some((r) => r.tradingMode === "live")) {
      throw new UsageError(
        '--live: no market trades live (trade_model.mode "live" with a trader_binance output)',
      );
    }
    const folders = notifyFolders(runners);
    await checkTelegram(folders, o.log, o.signal);
    for (const r of runners) {
      if (o.signal.aborted) break;
      await r.prepare();
    }
    // the markets' sources' streams, opened here (the runners ask for theirs when they start
    // following) so that they are open before the markets wait on them
    for (const l of loaded)
      for (const ds of l.config.data_sources) wakerOf(l, { symbol: ds.folder, market: ds.market });
    for (const w of wakers.values()) await w.stream;
    notifications = startNotifications({
      folders,
      ledgerOf,
      charts: (folder, market) =>
        runners.find(
          (r) =>
            r.key.symbol === market.symbol &&
            r.key.freq === market.freq &&
            resolve(r.config.data_folder) === resolve(folder),
        )?.chartRows,
      log: o.log,
      signal: o.signal,
      hooks: {
        ...o.notify,
        onSettled: (e, status, err) => {
          o.metrics?.notifications.inc({ channel: e.channel, kind: e.kind, status });
          o.notify?.onSettled?.(e, status, err);
        },
        onDropped: (channel, count) => {
          o.metrics?.notificationsDropped.inc({ channel }, count);
          o.notify?.onDropped?.(channel, count);
        },
        onRetry: (e, f, wait) => {
          o.metrics?.notificationRetries.inc({ channel: e.channel });
          o.notify?.onRetry?.(e, f, wait);
        },
      },
    });
    commands = await startBots(runners, notifications, ledgerOf, {
      ...o,
      signal: AbortSignal.any([o.signal, stopBots.signal]),
    });
    for (const r of runners) o.metrics?.ready.set({ market: r.name }, 1);
    if (!o.signal.aborted) o.onReady?.(runners);
    retraining = startRetraining({
      markets: loaded,
      clock: o.clock,
      signal: o.signal,
      log: o.log,
      itbVersion: o.itbVersion ?? "unknown",
      ...o.retrain,
    });
    await Promise.all(
      runners.map(async (r) => {
        try {
          await r.run();
        } catch (err) {
          if (o.signal.aborted) return;
          failed.push({ market: r.name, error: errorMessage(err) });
          o.onMarketStopped?.(r, errorMessage(err));
          o.metrics?.errors.inc({ market: r.name });
          o.metrics?.ready.set({ market: r.name }, 0);
          o.log.error({ market: r.name, err: errorMessage(err) }, "market stopped");
        }
      }),
    );
  } finally {
    await retraining?.stop();
    for (const r of runners) await r.close().catch(() => undefined);
    await notifications?.stop();
    stopBots.abort();
    await Promise.all(commands.map((c) => c.done));
    for (const w of wakers.values()) await (await w.stream)?.done;
    for (const l of ledgers.values()) await (await l.catch(() => undefined))?.close();
    for (const c of clients.values()) await c.close();
  }
  return { markets: runners, failed };
}

/** One command bot per bot token, for the markets that notify through it. */
async function startBots(
  runners: readonly MarketRunner[],
  notifications: Notifications,
  ledgerOf: (folder: string) => Promise<Ledger>,
  o: ServiceOptions,
): Promise<{ done: Promise<void> }[]> {
  const bots = new Map<
    string,
    { t: NonNullable<NotifyPlan["telegram"]>; markets: MarketRunner[]; chats: Set<string> }
  >();
  for (const r of runners) {
    const t = r.notifyPlan?.telegram;
    if (t === undefined || !t.commands) continue;
    const key = `${t.apiUrl ?? ""} ${t.token}`;
    let b = bots.get(key);
    if (b === undefined) {
      b = { t, markets: [], chats: new Set() };
      bots.set(key, b);
    }
    b.markets.push(r);
    for (const c of t.chats) b.chats.add(c);
  }
  const out: { done: Promise<void> }[] = [];
  for (const b of bots.values()) {
    const dataFolders = [...new Set(b.markets.map((m) => m.config.data_folder))];
    out.push(
      await startCommands({
        token: b.t.token,
        ...(b.t.apiUrl === undefined ? {} : { apiUrl: b.t.apiUrl }),
        chats: [...b.chats],
        markets: b.markets,
        ledgers: () => Promise.all(dataFolders.map((f) => ledgerOf(f))),
        log: o.log,
        signal: o.signal,
        now: () => o.clock.now(),
        chart: async (m, chat) => {
          const tg = notifications.telegram(m.config.data_folder);
          const plan = m.notifyPlan;
          if (tg === undefined || plan === undefined) return false;
          return sendChartNow({
            ledger: await ledgerOf(m.config.data_folder),
            client: tg.client,
            ...(m.chartRows === undefined ? {} : { history: m.chartRows }),
            chat,
            market: m.key,
            plan,
            lastTime: m.lastTime,
          });
        },
      }),
    );
  }
  return out;
}

/** The data folders whose markets notify, with their plans. */
function notifyFolders(runners: readonly MarketRunner[]): FolderNotify[] {
  const by = new Map<string, FolderNotify & { plans: NotifyPlan[] }>();
  for (const r of runners) {
    const plan = r.notifyPlan;
    if (plan === undefined || !notifies(plan)) continue;
    const key = resolve(r.config.data_folder);
    let f = by.get(key);
    if (f === undefined) {
      f = { dataFolder: r.config.data_folder, plans: [] };
      by.set(key, f);
    }
    f.plans.push(plan);
  }
  return [...by.values()];
}

function observe(m: ServiceMetrics, market: string, rec: CandleRecord, st: StageTimes): void {
  m.processed.inc({ market, catch_up: String(rec.catchUp) });
  if (rec.catchUp) m.backfilled.inc({ market });
  if (rec.buy) m.signals.inc({ market, side: "buy" });
  if (rec.sell) m.signals.inc({ market, side: "sell" });
  for (const a of rec.actions)
    if (a.kind === "submit") m.paperOrders.inc({ market, purpose: a.order.purpose });
  for (const t of rec.trades) m.trades.inc({ market, outcome: t.pnl > 0 ? "win" : "loss" });
  // a halt's candle may leave the marks undefined: the gauges keep the last known values
  if (Number.isFinite(rec.equity.equity)) m.equity.set({ market }, rec.equity.equity);
  if (Number.isFinite(rec.equity.cash)) m.cash.set({ market }, rec.equity.cash);
  m.position.set({ market }, rec.equity.position);
  m.latency.observe({ stage: "features" }, st.features / 1000);
  m.latency.observe({ stage: "trading" }, st.trading / 1000);
  m.latency.observe({ stage: "ledger" }, st.ledger / 1000);
  m.latency.observe({ stage: "total" }, st.total / 1000);
}

/**
 * The ledger URL of each data folder (absent: the folder's SQLite file). The configs of one
 * data folder share its ledger, so they must name the same one; two data folders must not
 * share one Postgres ledger (server, database and schema), whose single writer would refuse
 * the second.
 */
function ledgerUrlsOf(loaded: readonly LoadedConfig[]): Map<string, string | undefined> {
  const urls = new Map<string, { url: string | undefined; file: string }>();
  const places = new Map<string, string>();
  for (const l of loaded) {
    const folder = resolve(l.config.data_folder);
    const url = l.config.ledger_url;
    const before = urls.get(folder);
    if (before === undefined) {
      urls.set(folder, { url, file: l.file });
      if (url === undefined) continue;
      const u = readLedgerUrl(url);
      const place =
        typeof u === "string"
          ? url
          : `${new URL(u.connectionString).host}${new URL(u.connectionString).pathname} ${u.schema}`;
      const other = places.get(place);
      if (other !== undefined) {
        const text = `${l.file}: data folders ${other} and ${folder} would share the ledger ${ledgerLocation({ data_folder: folder, ledger_url: url })}: give each data folder its own schema (?schema=)`;
        throw new ConfigError(text, [text]);
      }
      places.set(place, folder);
    } else if (before.url !== url) {
      const text = `${l.file} and ${before.file} share the data folder ${l.config.data_folder} but not its ledger (ledger_url): give them the same ledger_url, or another data_folder`;
      throw new ConfigError(text, [text]);
    }
  }
  return new Map([...urls].map(([folder, { url }]) => [folder, url]));
}

/** Two markets of the same data folder, symbol and freq would write one ledger market twice. */
function checkCollisions(loaded: readonly LoadedConfig[]): void {
  const seen = new Map<string, string>();
  for (const l of loaded) {
    const key = `${resolve(l.config.data_folder)} ${l.config.symbol} ${l.config.freq}`;
    const before = seen.get(key);
    if (before !== undefined) {
      const text = `${l.file} and ${before} both serve ${l.config.symbol} ${l.config.freq} in ${l.config.data_folder}: give one of them another data_folder`;
      throw new ConfigError(text, [text]);
    }
    seen.set(key, l.file);
  }
}
