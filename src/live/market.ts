import { dirname } from "node:path";
import { backtestOptionsOf, type Config, configFreq, type LoadedConfig } from "../config/index.js";
import { RiskManagementSchema } from "../config/sections.js";
import type { Clock } from "../core/clock.js";
import { DataError, errorMessage, ItbError, LockedError } from "../core/errors.js";
import type { Frame } from "../core/frame.js";
import { KLINE_COLUMNS } from "../core/klines.js";
import type { Logger } from "../core/log.js";
import { noProgress } from "../core/log.js";
import { isoTime } from "../core/time.js";
import type { Candle, ExecutionEvent, Fill, Order, SignalBar, Trade } from "../core/trading.js";
import type { Waker } from "../core/waker.js";
import { acquireWriteLock } from "../data/lock.js";
import { runDownload } from "../data/runDownload.js";
import { mergeStores } from "../data/runMerge.js";
import type { BinanceExecution, ExchangeExecutionSnapshot } from "../exchange/ccxt/execution.js";
import { type ClosedCandle, closedCandles } from "../exchange/closedCandles.js";
import type { MarketData } from "../exchange/marketData.js";
import type { ResolvedSet } from "../features/featureSets.js";
import type { ModelArtifact } from "../models/artifact.js";
import { resolveFeatureSets } from "../pipeline/generators.js";
import { resolveSignalSets } from "../pipeline/signalStages.js";
import type { SignalStep } from "../signals/index.js";
import { RiskGuard, type RiskLimits, type RiskState } from "../trading/risk.js";
import { SimulatedExecution, splitSymbol } from "../trading/simulatedExecution.js";
import type { VenueSnapshot } from "../trading/simulatedVenue.js";
import { Trader, type TraderAction, type TraderSnapshot } from "../trading/trader.js";
import { CandleChain } from "./chain.js";
import { tradesOf } from "./ledger/tradeRows.js";
import type { CandleRecord, Ledger, MarketKey } from "./ledger/types.js";
import { loadCurrentModels, type ModelWatch, watchCurrentModels } from "./models.js";
import { ChartHistory } from "./notify/chartHistory.js";
import { MarketNotifier, type NotifyState, STATS_MS } from "./notify/notifier.js";
import { type NotifyPlan, notifies } from "./notify/plan.js";
import { type OutputPlan, planOutputs, type TradingMode } from "./outputs.js";
import type { Portfolio } from "./portfolio.js";
import { type ReconcilePolicy, reconcile } from "./reconcile.js";
import { TradingSession } from "./session.js";

/**
 * One market of the live service: one config at one symbol and frequency. `prepare` loads the
 * models, back-fills every data source over REST to the last closed candle, merges the stores
 * in memory and warms the streams by replaying that history (so the first new candle's
 * features equal the batch features over the same history), restores the paper trader from
 * the ledger and processes, as catch-up, the stored candles the ledger has not seen. `run`
 * then follows the exchange candle by candle, each exactly once, in order, recorded in one
 * ledger transaction with its scores, signals, decisions, orders, fills and equity.
 */
export interface MarketDeps {
  log: Logger;
  clock: Clock;
  /** The ledger, opened on first use (after the start-up checks and the back-fill). */
  ledger: () => Promise<Ledger>;
  /** The exchange for each data source's market (spot, um). */
  marketData: (market: "spot" | "um") => MarketData;
  /** The console output logs candles at debug (a terminal table shows them). */
  quietCandles?: boolean;
  /** A client with few retries for the start-up check (default: marketData). */
  probe?: (market: "spot" | "um") => MarketData;
  signal: AbortSignal;
  /** Pokes the closed-candle polls of a source when its WebSocket sees a candle close. */
  waker?: (source: { symbol: string; market: "spot" | "um" }) => Waker | undefined;
  /** Told after every processed candle (the terminal table, metrics, tests), with its features. */
  onProcessed?: (rec: CandleRecord, stages: StageTimes, features: Float64Array) => void;
  /** Longest wait between two looks at the exchange's clock, ms (default 1000). */
  pollMs?: number;
  /** Wait after a candle's close before asking for it, ms (default 1000). */
  delayMs?: number;
  /** Back-fill the klines stores over REST at start-up (default true). */
  backfill?: boolean;
  /** Told after a candle with notifications is recorded (its data folder's delivery looks at once). */
  notified?: () => void;
  /** All markets' positions (the risk limits across markets). */
  portfolio?: Portfolio;
  /**
   * The exchange execution of a market that trades live (and whose balance a shadow market
   * reads), made by the service from the config's venue, keys and --live; orders decided
   * before `inDoubtBefore` are looked up before they are sent.
   */
  execution?: (config: Config, inDoubtBefore: number) => Promise<BinanceExecution>;
  /** The WebSocket base of a live market's user-data stream (none: fills by polling alone). */
  userStream?: (config: Config) => string | undefined;
  /** Told of each operator request the market took (the API's event stream). */
  onControl?: (request: "pause" | "resume" | "exit") => void;
}

/** Milliseconds each stage of one candle took. */
export interface StageTimes {
  features: number;
  scores: number;
  signals: number;
  trading: number;
  ledger: number;
  total: number;
}

/** What the ledger keeps to resume a market: the Trader's and its execution's state. */
interface MarketState {
  trader?: TraderSnapshot;
  /** paper and shadow: the simulated venue. */
  venue?: VenueSnapshot;
  /** live: the orders the exchange adapter tracks. */
  exchange?: ExchangeExecutionSnapshot;
  /** The notifiers' bands, chart periods and last daily summary. */
  notify?: NotifyState;
  /** The risk limits' loss breaker. */
  risk?: RiskState;
}

export class MarketRunner {
  readonly key: MarketKey;
  readonly config: Config;
  private readonly configFile: string;
  private readonly stepMs: number;
  private chain: CandleChain | undefined;
  private paper: Trading | undefined;
  /** The last finite close (marks the position when a candle has none). */
  private lastClose = Number.NaN;
  /** The candle being decided on (the risk limits' view of the market). */
  private deciding: Candle | undefined;
  /** Entries the risk limits refused on the candle being processed. */
  private refusals: { rule: string; reason: string }[] = [];
  private outputs: OutputPlan | undefined;
  private models: ModelWatch | undefined;
  private notifier: MarketNotifier | undefined;
  /** The candles and scores the charts draw (with a diagram output). */
  private charts: { history: ChartHistory; picks: { signal: boolean; index: number }[] } | undefined;
  /** The last candle's record (commands and status). */
  private lastRec: CandleRecord | undefined;
  /** Operator requests (/pause, /resume, /forceexit), applied at the next candle. */
  private controls: ("pause" | "resume" | "exit")[] = [];
  /** The open time of the last candle processed (or warmed), NaN before any. */
  private last = Number.NaN;
  /** The candle time the klines stores were last brought up to date at (NaN: not yet while serving). */
  private storeRefreshedAt = Number.NaN;
  private refreshing: Promise<void> | undefined;
  /** What happened during the candle being processed, for its ledger record. */
  private pending = { actions: [] as TraderAction[], orders: new Map<string, Order>(), fills: [] as Fill[] };
  private trades: Trade[] = [];
  private inputsOf: ((row: Float64Array, values: (name: string) => number) => void) | undefined;
  private row = new Float64Array(0);
  private ledger: Ledger | undefined;
  /** What `check` loaded for `prepare`. */
  private loaded: { artifacts: ModelArtifact[]; sets: ResolvedSet[]; steps: SignalStep[] } | undefined;

  constructor(
    loaded: LoadedConfig,
    private readonly deps: MarketDeps,
  ) {
    this.config = loaded.config;
    this.configFile = loaded.file;
    this.key = { symbol: loaded.config.symbol, freq: loaded.config.freq };
    this.stepMs = configFreq(loaded.config).ms;
  }

  /** The time of the last candle processed. */
  get lastTime(): number {
    return this.last;
  }

  /** The feature columns the chain makes, in the order `onProcessed` gives them. */
  get featureColumns(): readonly string[] {
    return this.chain?.featureColumns ?? [];
  }

  /** The last processed candle's record. */
  get lastRecord(): CandleRecord | undefined {
    return this.lastRec;
  }

  /** Trades on paper. */
  get tradesOnPaper(): boolean {
    return this.paper !== undefined;
  }

  /** New entries blocked (/pause), counting a request not yet applied. */
  get paused(): boolean {
    const asked = this.controls.filter((c) => c !== "exit").at(-1);
    return asked === undefined ? this.paper?.trader.entriesStopped === true : asked === "pause";
  }

  /**
   * An operator's request, applied when the next candle is processed (between candles the
   * Trader's state does not change): `pause` blocks new entries (exits still go out), `resume`
   * allows them again, `exit` closes the position at market. False when the market does not trade.
   */
  control(request: "pause" | "resume" | "exit"): boolean {
    if (this.paper === undefined) return false;
    this.controls.push(request);
    this.deps.onControl?.(request);
    return true;
  }

  /** The candles and chart scores of the recent past (with a diagram output). */
  get chartRows(): ChartHistory | undefined {
    return this.charts?.history;
  }

  private chartHistory(plan: NotifyPlan, chain: CandleChain): MarketRunner["charts"] {
    if (plan.diagrams.length === 0 || plan.telegram === undefined) return undefined;
    const columns = [...new Set(plan.diagrams.map((d) => d.score_column_names[0] as string))];
    const picks = columns.map((c) => {
      const signal = chain.signalColumns.indexOf(c);
      const score = chain.scoreColumns.indexOf(c);
      if (signal < 0 && score < 0) {
        this.deps.log.warn(
          { market: this.name, column: c },
          "the chart's score column is not a score or signal: drawn empty",
        );
      }
      return signal >= 0 ? { signal: true, index: signal } : { signal: false, index: score };
    });
    const rows =
      Math.max(...plan.diagrams.map((d) => Math.ceil((d.nrows * d.resamplingMs) / this.stepMs))) + 2;
    return { history: new ChartHistory(rows, columns), picks };
  }

  private pushChart(
    time: number,
    open: number,
    high: number,
    low: number,
    close: number,
    out: { scores: ArrayLike<number>; signals: ArrayLike<number> },
  ): void {
    const c = this.charts;
    if (c === undefined) return;
    const values = c.picks.map((p) =>
      p.index < 0 ? Number.NaN : ((p.signal ? out.signals : out.scores)[p.index] ?? Number.NaN),
    );
    c.history.push(time, open, high, low, close, values);
  }

  /** The notifications the config's outputs ask for (after check). */
  get notifyPlan(): NotifyPlan | undefined {
    return this.outputs?.notify;
  }

  get name(): string {
    return `${this.key.symbol} ${this.key.freq}`;
  }

  /**
   * The start-up checks that need no data: the outputs, the current models and their contract
   * against the feature sets, the signal sets. A mistake ends the start before anything is
   * fetched or written.
   */
  async check(): Promise<void> {
    const c = this.config;
    this.outputs = planOutputs(c);
    // the exchange answers and knows every source's symbol (an unknown market fails here)
    for (const ds of c.data_sources) {
      const md = (this.deps.probe ?? this.deps.marketData)(ds.market);
      const now = await md.serverTime(ds.market);
      await md.fetchKlines(ds.folder, ds.market, configFreq(c).binance, now - 3 * this.stepMs, 2);
    }
    const artifacts = await loadCurrentModels(c);
    const sets = await resolveFeatureSets(c.feature_sets, dirname(this.configFile));
    const steps = await resolveSignalSets(c, this.configFile);
    // the merged table's columns, as merge names them: each source's kline columns, prefixed
    const columns = c.data_sources.flatMap((ds) =>
      KLINE_COLUMNS.filter((k) => k !== "ignore").map((k) =>
        ds.column_prefix === "" ? k : `${ds.column_prefix}_${k}`,
      ),
    );
    new CandleChain(sets, columns, artifacts, steps, this.outputs.columns);
    this.loaded = { artifacts, sets, steps };
  }

  async prepare(): Promise<void> {
    const c = this.config;
    const log = this.deps.log;
    if (this.loaded === undefined) await this.check();
    const { artifacts, sets, steps } = this.loaded as NonNullable<MarketRunner["loaded"]>;
    const outputs = this.outputs as OutputPlan;

    if (this.deps.backfill !== false) await this.backfill();
    const { frame } = await mergeStores(c, log);
    const chain = new CandleChain(sets, frame.columnNames, artifacts, steps, outputs.columns);
    this.chain = chain;
    this.models = watchCurrentModels(c, artifacts);
    this.row = new Float64Array(chain.inputs.length);
    const inputs = chain.inputs;
    this.inputsOf = (row, value) => {
      for (let k = 0; k < inputs.length; k++) row[k] = value(inputs[k] as string);
    };

    this.ledger = await this.deps.ledger();
    const lastRecorded = await this.ledger.last(this.key);
    if (outputs.paper !== undefined) {
      this.paper = await this.createTrading(outputs.mode ?? "paper", lastRecorded?.state, lastRecorded?.time);
    }
    if (notifies(outputs.notify)) {
      const saved = (lastRecorded?.state ?? {}) as MarketState;
      const since = (lastRecorded?.time ?? 0) - STATS_MS;
      this.notifier = new MarketNotifier(outputs.notify, this.key, this.name, this.stepMs, {
        ...(saved.notify === undefined ? {} : { saved: saved.notify }),
        trades: tradesOf(await this.ledger.read("trades", { market: this.key, from: since })),
        ...(outputs.mode === undefined ? {} : { mode: outputs.mode }),
      });
    }

    this.charts = this.chartHistory(outputs.notify, chain);
    // the charts' prices of the warm-up rows (only with a chart to draw)
    const ohlc =
      this.charts === undefined
        ? undefined
        : (["open", "high", "low", "close"].map((name) =>
            frame.has(name) ? frame.get(name) : new Float64Array(frame.length).fill(Number.NaN),
          ) as [Float64Array, Float64Array, Float64Array, Float64Array]);

    // Warm the streams over the history the ledger has seen (or all of it on a first start);
    // what is stored after the ledger's last candle is processed now, as catch-up.
    const n = frame.length;
    const until = lastRecorded?.time ?? (n > 0 ? (frame.time[n - 1] as number) : Number.NEGATIVE_INFINITY);
    const cols = inputs.map((name) => frame.get(name));
    let k = 0;
    const t0 = performance.now();
    for (; k < n && (frame.time[k] as number) <= until; k++) {
      for (let j = 0; j < cols.length; j++) this.row[j] = (cols[j] as Float64Array)[k] as number;
      const out = chain.update(this.row);
      this.last = frame.time[k] as number;
      if (ohlc !== undefined) {
        const [o, h, l, c] = ohlc;
        this.pushChart(this.last, o[k] as number, h[k] as number, l[k] as number, c[k] as number, out);
      }
    }
    if (lastRecorded !== undefined && lastRecorded.time > this.last) {
      log.warn(
        {
          market: this.name,
          ledger: isoTime(lastRecorded.time),
          store: Number.isNaN(this.last) ? null : isoTime(this.last),
        },
        "the ledger is ahead of the klines stores: the streams are warmed on less history than was processed",
      );
      this.last = lastRecorded.time;
    }
    log.info(
      {
        market: this.name,
        warmed: k,
        seconds: Math.round(performance.now() - t0) / 1000,
        models: artifacts.map((a) => a.name),
        paper: this.paper !== undefined,
        last: Number.isNaN(this.last) ? null : isoTime(this.last),
      },
      "market ready",
    );
    // the catch-up candles were received now, by the exchange's clock (how stale they are)
    const own = c.data_sources.find((d) => d.column_prefix === "") ?? c.data_sources[0];
    const receivedAt =
      k < n && own !== undefined ? await this.deps.marketData(own.market).serverTime(own.market) : Number.NaN;
    for (; k < n; k++) {
      this.deps.signal.throwIfAborted();
      const i = k;
      const candle: ClosedCandle = { ...this.candleOf(frame, i), receivedAt, values: {}, missing: false };
      await this.process(candle, (name) => frame.get(name)[i] as number, true);
    }
  }

  /** Follows the exchange from the next candle on, until the signal aborts. */
  async run(): Promise<void> {
    const c = this.config;
    const freq = configFreq(c);
    const from = Number.isNaN(this.last) ? undefined : this.last + this.stepMs;
    const feeds = c.data_sources.map((ds) => {
      const md = this.deps.marketData(ds.market);
      const wake = this.deps.waker?.({ symbol: ds.folder, market: ds.market });
      return {
        ds,
        it: closedCandles(md, {
          symbol: ds.folder,
          market: ds.market,
          interval: freq.binance,
          intervalMs: this.stepMs,
          from: from ?? this.alignedNow(),
          clock: this.deps.clock,
          delayMs: this.deps.delayMs ?? 1000,
          maxWaitMs: this.deps.pollMs ?? 1000,
          signal: this.deps.signal,
          ...(wake === undefined ? {} : { wake }),
          onRetry: (err, ms) =>
            this.deps.log.warn(
              { market: this.name, source: ds.folder, retry_ms: ms, err: String(err) },
              "exchange unreachable, retrying",
            ),
        })[Symbol.asyncIterator](),
      };
    });
    // which source and kline column each merged column the chain reads comes from
    const picks = new Map<string, { feed: number; column: string }>();
    for (const name of this.chain?.inputs ?? []) {
      const f = feeds.findIndex(
        (x) => x.ds.column_prefix !== "" && name.startsWith(`${x.ds.column_prefix}_`),
      );
      if (f >= 0) {
        const prefix = (feeds[f] as (typeof feeds)[number]).ds.column_prefix;
        picks.set(name, { feed: f, column: name.slice(prefix.length + 1) });
      } else {
        const own = feeds.findIndex((x) => x.ds.column_prefix === "");
        if (own >= 0) picks.set(name, { feed: own, column: name });
      }
    }
    try {
      for (;;) {
        // one candle of every source at the same grid time (the feeds yield every grid time)
        const got: ClosedCandle[] = [];
        for (const f of feeds) {
          const r = await f.it.next();
          if (r.done) return;
          got.push(r.value);
        }
        const t = (got[0] as ClosedCandle).time;
        if (got.some((g) => g.time !== t)) {
          throw new DataError(
            `${this.name}: the data sources' candles are out of step (${got.map((g) => isoTime(g.time)).join(", ")})`,
          );
        }
        if (t <= this.last) continue; // already processed (a restart's overlap)
        this.refreshStoreIfDue(t);
        const main = got[0] as ClosedCandle;
        const catchUp = main.receivedAt >= t + 2 * this.stepMs;
        await this.process(
          main,
          (name) => {
            const pick = picks.get(name);
            return pick === undefined
              ? Number.NaN
              : ((got[pick.feed] as ClosedCandle).values[pick.column] ?? Number.NaN);
          },
          catchUp,
        );
      }
    } finally {
      for (const f of feeds) await f.it.return?.(undefined);
      await this.refreshing;
    }
  }

  /**
   * Every serve.store_refresh_minutes, brings the klines stores up to date in the background
   * (the download code: incremental, atomic, under the folder's write lock), so that a batch run
   * or a retraining sees the candles served. A store another process is writing is left for the
   * next time; a failure is logged and does not stop the market (the ledger holds every candle).
   */
  private refreshStoreIfDue(t: number): void {
    const everyMs = this.config.serve.store_refresh_minutes * 60_000;
    if (everyMs <= 0 || this.refreshing !== undefined) return;
    if (Number.isNaN(this.storeRefreshedAt)) this.storeRefreshedAt = t;
    if (t - this.storeRefreshedAt < everyMs) return;
    this.storeRefreshedAt = t;
    this.refreshing = this.backfill({ wait: false })
      .catch((err: unknown) => {
        if (this.deps.signal.aborted) return;
        this.deps.log.warn(
          { market: this.name, err: errorMessage(err) },
          "the klines stores could not be brought up to date; trying again later",
        );
      })
      .finally(() => {
        this.refreshing = undefined;
      });
  }

  /** One closed candle through every stage, recorded in one ledger transaction. */
  private async process(candle: Candle, value: (name: string) => number, catchUp: boolean): Promise<void> {
    const chain = this.chain;
    const inputsOf = this.inputsOf;
    if (chain === undefined || inputsOf === undefined) throw new ItbError(`${this.name}: not prepared`);
    const t0 = performance.now();
    const changed = await this.models?.poll(this.deps.log);
    if (changed !== undefined) {
      try {
        chain.replaceModels(changed);
      } catch (err) {
        this.deps.log.error(
          { market: this.name, err: errorMessage(err) },
          "new models refused; the models in use stay",
        );
      }
    }
    inputsOf(this.row, value);
    const out = chain.update(this.row);
    this.pushChart(candle.time, candle.open, candle.high, candle.low, candle.close, out);
    const t1 = performance.now();
    const index = Math.round(candle.time / this.stepMs);
    let t2 = t1;
    const paper = this.paper;
    if (Number.isFinite(candle.close)) this.lastClose = candle.close;
    if (paper !== undefined) {
      if (paper.sim !== undefined) paper.sim.onCandle(this.key.symbol, candle);
      else await paper.exchange?.onCandle(this.key.symbol, candle);
      for (const c of this.controls.splice(0)) {
        if (c === "pause") await paper.session.act(paper.trader.stopEntries());
        else if (c === "resume") paper.trader.resumeEntries();
        else await paper.session.act(paper.trader.flatten(candle.time, "manual"));
        this.deps.log.info({ market: this.name, request: c }, "operator request applied");
      }
      const bar: SignalBar = { index, ...candleOnly(candle), buy: out.buy, sell: out.sell };
      this.deciding = candle;
      await paper.session.decide(bar);
      paper.sim?.settleDecisions(this.key.symbol);
      await paper.session.settled();
      t2 = performance.now();
    }
    const rec: CandleRecord = {
      market: this.key,
      candle: candleOnly(candle),
      catchUp,
      scores: Object.fromEntries(chain.scoreColumns.map((c, k) => [c, out.scores[k] as number])),
      signals: Object.fromEntries(chain.signalColumns.map((c, k) => [c, out.signals[k] as number])),
      buy: out.buy,
      sell: out.sell,
      actions: this.pending.actions,
      orders: [...this.pending.orders.values()],
      fills: this.pending.fills,
      trades: this.trades,
      equity: this.equity(candle.close),
      state: this.state(),
      processedAt: this.deps.clock.now(),
      latencyMs: 0,
    };
    if (this.notifier !== undefined) {
      const outbox = this.notifier.onCandle(rec);
      for (const r of this.refusals) outbox.push(...this.notifier.refusal(r.rule, r.reason, candle.time));
      if (outbox.length > 0) rec.outbox = outbox;
      (rec.state as MarketState).notify = this.notifier.snapshot();
    }
    rec.latencyMs = performance.now() - t0;
    await (this.ledger as Ledger).record(rec);
    const t3 = performance.now();
    this.last = candle.time;
    this.lastRec = rec;
    this.deps.portfolio?.set(this.name, Math.abs(rec.equity.quantity * candle.close));
    this.pending = { actions: [], orders: new Map(), fills: [] };
    this.trades = [];
    this.refusals = [];
    if (rec.outbox !== undefined) this.deps.notified?.();
    this.outputs?.console(this.deps.log, this.name, rec, this.deps.quietCandles);
    this.deps.onProcessed?.(
      rec,
      { features: t1 - t0, scores: 0, signals: 0, trading: t2 - t1, ledger: t3 - t2, total: t3 - t0 },
      out.features,
    );
  }

  private equity(close: number): CandleRecord["equity"] {
    const p = this.paper;
    if (p === undefined)
      return { equity: Number.NaN, cash: Number.NaN, position: 0, quantity: 0, entryPrice: Number.NaN };
    const s = p.trader.state;
    const last = Number.isNaN(close) ? this.lastClose : close;
    return {
      equity: s.position === 0 ? s.cash : p.trader.equityAt(last),
      cash: s.cash,
      position: s.position,
      quantity: s.quantity,
      entryPrice: s.entryPrice,
    };
  }

  private state(): MarketState {
    const p = this.paper;
    if (p === undefined) return {};
    return {
      trader: p.trader.snapshot(),
      ...(p.sim === undefined ? {} : { venue: p.sim.snapshot(this.key.symbol) }),
      ...(p.exchange === undefined ? {} : { exchange: p.exchange.snapshot(this.key.symbol) }),
      ...(p.risk === undefined ? {} : { risk: p.risk.snapshot() }),
    };
  }

  /** How the market trades (after check), or undefined when it does not. */
  get tradingMode(): TradingMode | undefined {
    return this.outputs?.mode;
  }

  /**
   * The Trader and its execution for the market's mode. Paper and shadow simulate (shadow
   * starts from the exchange's real quote balance and sends nothing); live trades through the
   * exchange adapter: the keys are checked, the orders saved with the last candle are asked
   * about (fills while the service was down reach the Trader), and what the ledger cannot
   * explain is reconciled by `trade_model.reconcile`.
   */
  private async createTrading(mode: TradingMode, saved: unknown, lastTime?: number): Promise<Trading> {
    const o = backtestOptionsOf(this.config);
    const state = (saved ?? {}) as MarketState;
    const tm = this.config.trade_model;
    const freq = configFreq(this.config).binance;
    const symbol = this.key.symbol;
    let exchange: BinanceExecution | undefined;
    let cash = o.initialCapital;
    if (mode !== "paper") {
      if (this.deps.execution === undefined) throw new ItbError(`${this.name}: no exchange to trade on`);
      exchange = await this.deps.execution(this.config, this.alignedNow());
      await exchange.start([symbol]);
      if (state.trader === undefined) cash = (await exchange.balances())[splitSymbol(symbol).quote] ?? 0;
      if (mode === "shadow") {
        await exchange.close();
        exchange = undefined;
      }
    }
    const sim =
      exchange === undefined
        ? new SimulatedExecution({
            fillAt: o.fillAt,
            takerFee: o.takerFee,
            makerFee: o.makerFee,
            slippageBps: o.slippageBps,
            filters: o.filters,
            cash,
          })
        : undefined;
    // live: no entry on stale data, whatever the config says (the limits' defaults at least)
    const limits =
      this.config.risk_management ?? (mode === "live" ? RiskManagementSchema.parse({}) : undefined);
    const risk = limits === undefined ? undefined : new RiskGuard(riskLimits(limits), state.risk);
    const pct = tm?.percentage_used_for_trade;
    const stake =
      mode !== "paper" && pct !== undefined ? { mode: "compound" as const, fraction: pct / 100 } : o.stake;
    const trader: Trader = new Trader({
      symbol,
      direction: o.direction,
      stake,
      stopLoss: o.stopLoss,
      takeProfit: o.takeProfit,
      trailingStop: o.trailingStop,
      cash,
      // the freq in the id: two markets of one symbol deciding at the same bar time place two orders
      idPrefix: mode === "live" ? `itb${freq}` : `${mode}${freq}`,
      onTrade: (t) => {
        this.trades.push(t);
        risk?.onTrade(t, trader.cashBalance - t.pnl);
      },
      ...(risk === undefined ? {} : { entryCheck: (e) => this.checkEntry(risk, trader, e.notional) }),
    });
    if (state.trader !== undefined) trader.restore(state.trader);
    if (sim !== undefined && state.venue !== undefined) sim.restore(symbol, state.venue);
    const port = exchange ?? (sim as SimulatedExecution);
    const session = new TradingSession(
      trader,
      port,
      (e) => this.onEvent(e),
      (a) => this.pending.actions.push(a),
    );
    if (exchange !== undefined) {
      if (state.exchange !== undefined) await exchange.restore(symbol, state.exchange);
      await session.settled();
      await reconcile({
        market: this.name,
        symbol,
        idPrefix: `itb${freq}-${symbol}-`,
        since: lastTime ?? exchange.serverNow() - 24 * 3_600_000,
        barMs: this.stepMs,
        exchange,
        trader,
        session,
        policy: (tm?.reconcile as ReconcilePolicy | undefined) ?? "halt",
        decidedAt: this.alignedNow() - this.stepMs,
        log: this.deps.log,
      });
      exchange.pollEvery((tm?.poll_seconds ?? 5) * 1000);
      const wsBase = this.deps.userStream?.(this.config);
      if (wsBase !== undefined) exchange.listen(wsBase, this.deps.signal);
    }
    return {
      mode,
      trader,
      session,
      ...(sim === undefined ? {} : { sim }),
      ...(exchange === undefined ? {} : { exchange }),
      ...(risk === undefined ? {} : { risk }),
    };
  }

  /** Releases the exchange adapter (the service's end). */
  async close(): Promise<void> {
    await this.paper?.exchange?.close();
  }

  /** The risk limits on an entry about to go out; the reason when refused (logged). */
  private checkEntry(risk: RiskGuard, trader: Trader, notional: number): string | undefined {
    const c = this.deciding;
    if (c === undefined) return undefined;
    const portfolio = this.deps.portfolio;
    // the exchange's time when the candle was fetched (a simulator's clock may be far from ours)
    const received = (c as Partial<ClosedCandle>).receivedAt;
    const v = risk.checkEntry({
      now: received ?? this.deps.clock.now(),
      barMs: this.stepMs,
      lastCandleTime: c.time,
      lastCandleMissing: Number.isNaN(c.close),
      lastClose: c.close,
      notional,
      price: c.close,
      positionNotional: 0, // the Trader enters from flat only
      totalExposure: portfolio?.exposureBesides(this.name) ?? 0,
      openMarkets: portfolio?.openBesides(this.name) ?? 0,
      marketOpen: false,
      equity: trader.cashBalance,
    });
    if (v.ok) return undefined;
    this.refusals.push({ rule: v.rule, reason: v.reason });
    this.deps.log.warn(
      { market: this.name, candle: isoTime(c.time), rule: v.rule, reason: v.reason },
      "entry refused by risk_management",
    );
    return v.reason;
  }

  private onEvent(e: ExecutionEvent): void {
    this.pending.orders.set(e.order.clientOrderId, e.order);
    if (e.type === "fill") this.pending.fills.push(e.fill);
  }

  private candleOf(frame: Frame, i: number): Candle {
    const v = (c: string) => (frame.has(c) ? (frame.get(c)[i] as number) : Number.NaN);
    return {
      time: frame.time[i] as number,
      open: v("open"),
      high: v("high"),
      low: v("low"),
      close: v("close"),
      volume: v("volume"),
    };
  }

  /** The open time of the candle in progress now, on the grid (a start without history). */
  private alignedNow(): number {
    const now = this.deps.clock.now();
    return Math.floor(now / this.stepMs) * this.stepMs;
  }

  /**
   * Back-fills every data source's klines store over REST, holding its folder's write lock
   * (waiting for it at start-up; skipping a busy store when `wait` is false).
   */
  private async backfill(o: { wait: boolean } = { wait: true }): Promise<void> {
    const c = this.config;
    for (const ds of c.data_sources) {
      let lock: Awaited<ReturnType<typeof acquireWriteLock>>;
      try {
        lock = await acquireWriteLock(`${c.data_folder}/${ds.folder}`, {
          wait: o.wait,
          signal: this.deps.signal,
          log: this.deps.log,
        });
      } catch (err) {
        if (o.wait || !(err instanceof LockedError)) throw err;
        this.deps.log.info(
          { market: this.name, source: ds.folder },
          "klines store busy; refreshed next time",
        );
        continue;
      }
      try {
        // to the last closed candle, whatever download_end says (it bounds batch runs)
        await runDownload(
          { ...c, download_end: undefined, data_sources: [ds] },
          {},
          {
            log: this.deps.log,
            progress: noProgress,
            signal: this.deps.signal,
            marketData: this.deps.marketData(ds.market),
          },
        );
      } finally {
        await lock.release();
      }
    }
  }
}

/** A market's Trader and how its orders are carried out. */
interface Trading {
  mode: TradingMode;
  trader: Trader;
  session: TradingSession;
  risk?: RiskGuard;
  /** paper and shadow: the simulated venue. */
  sim?: SimulatedExecution;
  /** live: the exchange. */
  exchange?: BinanceExecution;
}

/** The config's risk_management as the guard's limits. */
function riskLimits(r: NonNullable<Config["risk_management"]>): RiskLimits {
  const cb = r.circuit_breaker;
  return {
    maxConsecutiveLosses: cb.max_consecutive_losses,
    maxDailyLosses: cb.max_daily_losses,
    maxDailyLossPercent: cb.max_daily_loss_percent,
    cooldownMs: cb.cooldown_minutes * 60_000,
    staleBars: r.stale_bars,
    ...(r.max_position_notional === undefined ? {} : { maxPositionNotional: r.max_position_notional }),
    ...(r.max_total_exposure === undefined ? {} : { maxTotalExposure: r.max_total_exposure }),
    ...(r.max_open_markets === undefined ? {} : { maxOpenMarkets: r.max_open_markets }),
    ...(r.min_notional === undefined ? {} : { minNotional: r.min_notional }),
    ...(r.max_notional === undefined ? {} : { maxNotional: r.max_notional }),
    ...(r.price_band === undefined ? {} : { priceBand: r.price_band }),
  };
}

function candleOnly(c: Candle): Candle {
  return { time: c.time, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume };
}
