import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { isPlainObject } from "../../config/format.js";
import { searchedSignalIndex } from "../../config/generatorConfigs.js";
import { type Config, configFreq, maskSecrets } from "../../config/index.js";
import { symbolOutputFile } from "../../data/paths.js";
import type { Ledger, LedgerTableName, MarketKey, TypedLedgerTable } from "../../live/ledger/types.js";
import type { MarketRunner } from "../../live/market.js";
import { ModelStore, modelRoot } from "../../pipeline/modelStore.js";

/**
 * Where the HTTP API's answers come from. `itb serve` gives the running markets (their state,
 * the service's ledgers, the kill switch); `itb ui` the stored results alone (the ledger if
 * there is one, the model store, the backtest outputs, the config files), without control.
 */
export interface ApiSource {
  readonly mode: "serve" | "ui";
  readonly version: string;
  now(): number;
  ready(): boolean;
  markets(): Promise<MarketSummary[]>;
  /** undefined: no such market (404). */
  market(id: string): Promise<MarketDetail | undefined>;
  candles(id: string, q: RangeQuery): Promise<CandlesBody | undefined>;
  table(id: string, table: LedgerTableName, q: RangeQuery): Promise<TypedLedgerTable | undefined>;
  position(id: string): Promise<PositionBody | undefined>;
  models(): Promise<ModelEntry[]>;
  results(): Promise<ResultEntry[]>;
  /** A result's content; undefined: none. */
  result(
    market: string,
    kind: string,
    name: string,
  ): Promise<{ type: "json"; body: unknown } | { type: "html"; body: string } | undefined>;
  configs(): Promise<{ file: string; config: Record<string, unknown> }[]>;
  /** The running service's controls (`itb serve` only). */
  readonly control?: ApiControl;
}

export interface ApiControl {
  /** The markets that took it: their ids (BTCUSDT-1m) and names (BTCUSDT 1m). */
  apply(action: "pause" | "resume" | "flatten", symbol?: string): { id: string; name: string }[];
  /** Whether the market took the force-exit; undefined when there is no such market. */
  exit(id: string): boolean | undefined;
  /** Promotes a model version of a market's store; undefined when there is no such market. */
  promote(
    market: string,
    name: string,
    version: number,
  ): Promise<{ name: string; version: number } | undefined>;
}

export interface RangeQuery {
  from?: number;
  to?: number;
  limit?: number;
}

type Nullable = number | null;

export interface MarketSummary {
  id: string;
  symbol: string;
  freq: string;
  trading: "paper" | "shadow" | "live" | null;
  paused: boolean | null;
  health: { status: "ok" | "warming up" | "stale" | "stopped" | "stored"; detail: string | null };
  last: null | {
    time: number;
    open: Nullable;
    high: Nullable;
    low: Nullable;
    close: Nullable;
    volume: Nullable;
    scores: Record<string, Nullable>;
    signals: Record<string, Nullable>;
    buy: boolean;
    sell: boolean;
  };
  position: { side: -1 | 0 | 1; quantity: number; entry_price: Nullable };
  equity: Nullable;
  cash: Nullable;
  initial_capital: number;
  pnl: Nullable;
}

export type MarketDetail = MarketSummary & {
  thresholds: { score: string | null; buy: Nullable; sell: Nullable };
};

export interface CandlesBody {
  market: string;
  columns: string[];
  rows: Nullable[][];
}

export interface PositionBody {
  side: -1 | 0 | 1;
  quantity: number;
  entry_price: Nullable;
  equity: Nullable;
  cash: Nullable;
}

export interface ModelEntry {
  market: string;
  name: string;
  current: number | null;
  versions: { version: number; created_at: string; algorithm: string; features: number; metrics: object }[];
}

export interface ResultEntry {
  market: string | null;
  kind: "simulation" | "report";
  name: string;
  created_at: string;
  summary: Record<string, unknown>;
}

/** One market the API knows of: a config at one symbol and frequency. */
export interface SourceMarket {
  config: Config;
  file: string;
}

export interface SourceOptions {
  mode: "serve" | "ui";
  version: string;
  now: () => number;
  markets: readonly SourceMarket[];
  /** The configs as loaded (one per file), for /config. */
  configs: readonly SourceMarket[];
  /** The ledger of a data folder, if there is one (serve: the service's, once open). */
  ledgerOf: (dataFolder: string) => Promise<Ledger | undefined>;
  /** serve: the running service. */
  service?: {
    runners: () => readonly MarketRunner[];
    /** Per market name ("BTCUSDT 1m"): why it is not ready; `service` while it starts. */
    reasons: () => Record<string, string>;
    stopped: () => ReadonlyMap<string, string>;
  };
}

export const DEFAULT_LIMIT = 1000;

/** `BTCUSDT-1m`: a market's id in URLs. */
export function marketId(config: Pick<Config, "symbol" | "freq">): string {
  return `${config.symbol}-${configFreq(config as Config).binance}`;
}

const n = (v: number | undefined): Nullable => (typeof v === "number" && Number.isFinite(v) ? v : null);
const nulls = (r: Record<string, number> | undefined): Record<string, Nullable> =>
  Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, n(v)]));

export function createSource(o: SourceOptions): ApiSource {
  const byId = new Map<string, SourceMarket>();
  for (const m of o.markets) if (!byId.has(marketId(m.config))) byId.set(marketId(m.config), m);
  const keyOf = (m: SourceMarket): MarketKey => ({ symbol: m.config.symbol, freq: m.config.freq });
  const runnerOf = (m: SourceMarket): MarketRunner | undefined =>
    o.service
      ?.runners()
      .find(
        (r) =>
          r.key.symbol === m.config.symbol &&
          configFreq(r.config).ms === configFreq(m.config).ms &&
          resolve(r.config.data_folder) === resolve(m.config.data_folder),
      );
  const nameOf = (m: SourceMarket) => `${m.config.symbol} ${m.config.freq}`;

  const health = (m: SourceMarket): MarketSummary["health"] => {
    const s = o.service;
    if (s === undefined) return { status: "stored", detail: null };
    const stopped = s.stopped().get(nameOf(m));
    if (stopped !== undefined) return { status: "stopped", detail: stopped };
    if (runnerOf(m) === undefined) return { status: "warming up", detail: null };
    const reason = s.reasons()[nameOf(m)];
    if (reason === undefined) return { status: "ok", detail: null };
    return { status: reason.startsWith("last candle") ? "stale" : "warming up", detail: reason };
  };

  const summary = async (m: SourceMarket): Promise<MarketSummary> => {
    const runner = runnerOf(m);
    const rec = runner?.lastRecord;
    const ledger = await o.ledgerOf(m.config.data_folder);
    const last =
      rec === undefined
        ? await ledger?.last(keyOf(m))
        : { ...rec, time: rec.candle.time, catchUp: rec.catchUp };
    const eq = last?.equity;
    const candle = last?.candle;
    const trading = runner?.tradingMode ?? null;
    const equity = n(eq?.equity);
    const initial = m.config.backtest.initial_capital;
    return {
      id: marketId(m.config),
      symbol: m.config.symbol,
      freq: configFreq(m.config).binance,
      trading,
      paused: runner?.tradesOnPaper === true ? runner.paused : null,
      health: health(m),
      last:
        last === undefined
          ? null
          : {
              time: last.time,
              open: n(candle?.open),
              high: n(candle?.high),
              low: n(candle?.low),
              close: n(candle?.close),
              volume: n(candle?.volume),
              scores: nulls(last.scores),
              signals: nulls(last.signals),
              buy: last.buy === true,
              sell: last.sell === true,
            },
      position: {
        side: eq?.position ?? 0,
        quantity: eq?.quantity ?? 0,
        entry_price: n(eq?.entryPrice),
      },
      equity,
      cash: n(eq?.cash),
      initial_capital: initial,
      pnl: equity === null ? null : equity - initial,
    };
  };

  const readTable = async (
    m: SourceMarket,
    table: LedgerTableName,
    q: RangeQuery,
  ): Promise<TypedLedgerTable> => {
    const ledger = await o.ledgerOf(m.config.data_folder);
    const limit = q.limit ?? DEFAULT_LIMIT;
    if (ledger === undefined) return { columns: [], types: [], rows: [] };
    let from = q.from;
    if (from === undefined && table === "signals") {
      // the latest `limit` candles: no need to read the whole history
      const step = configFreq(m.config).ms;
      const end = q.to ?? ((await ledger.last(keyOf(m)))?.time ?? 0) + step;
      from = end - limit * step;
    }
    const t = await ledger.read(table, {
      market: keyOf(m),
      ...(from === undefined ? {} : { from }),
      ...(q.to === undefined ? {} : { to: q.to }),
    });
    const rows = t.rows.length > limit ? t.rows.slice(t.rows.length - limit) : t.rows;
    return {
      columns: t.columns,
      types: t.types ?? [],
      rows: rows.map((r) => r.map((v) => (typeof v === "number" && !Number.isFinite(v) ? null : v))),
    };
  };

  // a version's file never changes once written: its summary is read once (by file and mtime)
  const versionCache = new Map<string, { mtimeMs: number; entry: ModelEntry["versions"][number] }>();
  const versionOf = async (store: ModelStore, name: string, v: number) => {
    const file = store.fileOf(name, v);
    const st = await stat(file);
    const hit = versionCache.get(file);
    if (hit !== undefined && hit.mtimeMs === st.mtimeMs) return hit.entry;
    const a = (await store.read(name, v)).artifact;
    const entry = {
      version: v,
      created_at: a.created_at,
      algorithm: a.algorithm.algo,
      features: a.features.length,
      metrics: a.metrics,
    };
    versionCache.set(file, { mtimeMs: st.mtimeMs, entry });
    return entry;
  };

  const models = async (): Promise<ModelEntry[]> => {
    const out: ModelEntry[] = [];
    const seen = new Set<string>();
    for (const m of byId.values()) {
      const root = modelRoot(m.config);
      if (seen.has(root)) continue;
      seen.add(root);
      const store = new ModelStore(root, { now: o.now });
      for (const name of await store.names()) {
        const versions: ModelEntry["versions"] = [];
        for (const v of await store.versions(name)) {
          try {
            versions.push(await versionOf(store, name, v));
          } catch {
            // an unreadable version is left out of the list (itb models check names it)
          }
        }
        out.push({
          market: marketId(m.config),
          name,
          current: (await store.current(name))?.version ?? null,
          versions,
        });
      }
    }
    return out;
  };

  const resultFiles = (m: SourceMarket) => ({
    simulation: symbolOutputFile(m.config, "simulation", "json"),
    report: symbolOutputFile(m.config, "report", "json"),
    html: symbolOutputFile(m.config, "report", "html"),
  });

  const results = async (): Promise<ResultEntry[]> => {
    const out: ResultEntry[] = [];
    const seen = new Set<string>();
    for (const m of byId.values()) {
      const files = resultFiles(m);
      if (seen.has(files.simulation)) continue;
      seen.add(files.simulation);
      const sim = await readJson(files.simulation);
      if (sim !== undefined) {
        out.push({
          market: marketId(m.config),
          kind: "simulation",
          name: "simulation",
          created_at: sim.at,
          summary: pick(sim.value, ["in_sample", "rank_by", "min_trades", "best", "holdout"]),
        });
      }
      const report = await readJson(files.report);
      if (report !== undefined) {
        const html = await stat(files.html).then(
          () => true,
          () => false,
        );
        out.push({
          market: marketId(m.config),
          kind: "report",
          name: "report",
          created_at: report.at,
          summary: { ...pick(report.value, ["in_sample", "parameters", "metrics"]), html },
        });
      }
    }
    return out;
  };

  const source: ApiSource = {
    mode: o.mode,
    version: o.version,
    now: o.now,
    ready: () => (o.service === undefined ? true : Object.keys(o.service.reasons()).length === 0),
    markets: () => Promise.all([...byId.values()].map(summary)),
    market: async (id) => {
      const m = byId.get(id);
      return m === undefined ? undefined : { ...(await summary(m)), thresholds: thresholdsOf(m.config) };
    },
    candles: async (id, q) => {
      const m = byId.get(id);
      if (m === undefined) return undefined;
      const t = await readTable(m, "signals", q);
      const skip = new Set(["timestamp", "symbol", "freq", "catch_up", "processed_at", "latency_ms"]);
      const keep = t.columns.map((c, i) => (skip.has(c) ? -1 : i)).filter((i) => i >= 0);
      const at = t.columns.indexOf("timestamp");
      return {
        market: id,
        columns: ["time", ...keep.map((i) => t.columns[i] as string)],
        rows: t.rows.map((r) => [r[at] as Nullable, ...keep.map((i) => r[i] as Nullable)]),
      };
    },
    table: async (id, table, q) => {
      const m = byId.get(id);
      return m === undefined ? undefined : readTable(m, table, q);
    },
    position: async (id) => {
      const m = byId.get(id);
      if (m === undefined) return undefined;
      const s = await summary(m);
      return { ...s.position, equity: s.equity, cash: s.cash };
    },
    models,
    results,
    result: async (id, kind, name) => {
      const m = byId.get(id);
      if (m === undefined) return undefined;
      const files = resultFiles(m);
      const file =
        kind === "simulation" && name === "simulation"
          ? files.simulation
          : kind === "report" && name === "report"
            ? files.report
            : kind === "report" && name === "html"
              ? files.html
              : undefined;
      if (file === undefined) return undefined;
      const text = await readFile(file, "utf8").catch(() => undefined);
      if (text === undefined) return undefined;
      return file === files.html ? { type: "html", body: text } : { type: "json", body: JSON.parse(text) };
    },
    configs: async () => {
      const seen = new Set<string>();
      const out: { file: string; config: Record<string, unknown> }[] = [];
      for (const c of o.configs) {
        if (seen.has(c.file)) continue;
        seen.add(c.file);
        out.push({ file: c.file, config: maskSecrets(c.config) });
      }
      return out;
    },
    ...(o.service === undefined ? {} : { control: control(o.service, byId, runnerOf) }),
  };
  return source;
}

function control(
  service: NonNullable<SourceOptions["service"]>,
  byId: ReadonlyMap<string, SourceMarket>,
  runnerOf: (m: SourceMarket) => MarketRunner | undefined,
): ApiControl {
  return {
    apply: (action, symbol) =>
      service
        .runners()
        .filter((r) => symbol === undefined || r.key.symbol.toUpperCase() === symbol.toUpperCase())
        .filter((r) => r.control(action === "flatten" ? "exit" : action))
        .map((r) => ({ id: marketId(r.config), name: r.name })),
    exit: (id) => {
      const m = byId.get(id);
      if (m === undefined) return undefined;
      const r = runnerOf(m);
      return r !== undefined && r.control("exit");
    },
    promote: async (id, name, version) => {
      const m = byId.get(id);
      if (m === undefined) return undefined;
      const pointer = await new ModelStore(modelRoot(m.config), { now: Date.now }).promote(name, version);
      return { name, version: pointer.version };
    },
  };
}

/** The signal rule's score column and thresholds (the rule simulate_model searches). */
function thresholdsOf(c: Config): MarketDetail["thresholds"] {
  const sets = c.signal_sets ?? [];
  const i = searchedSignalIndex(sets, c.simulate_model?.signal_generator);
  const set = sets[i] as { config?: unknown } | undefined;
  const cfg = isPlainObject(set?.config) ? set.config : {};
  const columns = cfg.columns;
  const score = typeof columns === "string" ? columns : Array.isArray(columns) ? String(columns[0]) : null;
  const p = isPlainObject(cfg.parameters) ? cfg.parameters : {};
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return { score, buy: num(p.buy_signal_threshold), sell: num(p.sell_signal_threshold) };
}

async function readJson(file: string): Promise<{ value: unknown; at: string } | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(file, "utf8"), stat(file)]);
    return { value: JSON.parse(text), at: st.mtime.toISOString() };
  } catch {
    return undefined;
  }
}

function pick(value: unknown, keys: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(value)) return {};
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in value) out[k] = value[k];
  return out;
}
