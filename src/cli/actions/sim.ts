import type { Command } from "commander";
import { cacheFolder, storageCredentials } from "../../config/index.js";
import { UsageError } from "../../core/errors.js";
import { isoTime, monthKey, parseTime } from "../../core/time.js";
import type { Market } from "../../data/archive/source.js";
import { isSharedFolder, openMirror } from "../../data/storage/mirror.js";
import { type FaultRule, parseFaultSpec, startSimulator } from "../../simulator/index.js";
import type { SimCliOptions } from "../commands/sim.js";
import { contextOf } from "../context.js";
import { untilStopped } from "../interrupts.js";

/** `USDT=10000,BTC=0.5` as starting balances. */
function balances(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(",")) {
    const [asset, amount] = part.split("=");
    if (asset === undefined || !/^[A-Z0-9]{1,20}$/.test(asset.trim()) || amount === undefined) {
      throw new UsageError(`invalid --balance "${text}": expected ASSET=AMOUNT,... e.g. USDT=10000,BTC=0`);
    }
    out[asset.trim()] = number(amount, `--balance amount of ${asset.trim()}`, 0);
  }
  return out;
}

function participation(text: string): number {
  const n = number(text, "--participation", 0, 1);
  if (n === 0) throw new UsageError(`invalid --participation "${text}": expected a share above 0, at most 1`);
  return n;
}

function number(text: string, what: string, min: number, max = Number.POSITIVE_INFINITY): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(
      `invalid ${what} "${text}": expected a number from ${min}${Number.isFinite(max) ? ` to ${max}` : ""}`,
    );
  }
  return n;
}

/** `6000` for both markets, or `spot=6000,um=2400`. */
function weightLimits(text: string | undefined): Partial<Record<Market, number>> | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) {
    const n = number(text, "--weight-limit", 1);
    return { spot: n, um: n };
  }
  const out: Partial<Record<Market, number>> = {};
  for (const part of text.split(",")) {
    const [k, v] = part.split("=");
    if ((k !== "spot" && k !== "um") || v === undefined) {
      throw new UsageError(`invalid --weight-limit "${text}": expected N or spot=N,um=M`);
    }
    out[k] = number(v, "--weight-limit", 1);
  }
  return out;
}

/** `itb sim`. */
export async function simAction(opts: SimCliOptions, cmd: Command): Promise<void> {
  const ctx = contextOf(cmd);
  if (opts.archive === undefined && opts.dataFolder === undefined) {
    throw new UsageError(
      "nothing to serve: give --archive DIR (Binance's archive layout) or --data-folder DIR",
    );
  }
  const faults: FaultRule[] = opts.fault.flatMap((f) => parseFaultSpec(f));
  const sim = await startSimulator({
    archive: opts.archive,
    dataFolder: opts.dataFolder === undefined ? undefined : await localStores(opts.dataFolder),
    storeMarket: opts.storeMarket,
    timeColumn: opts.timeColumn,
    verify: opts.verify,
    port: number(opts.port, "--port", 0, 65535),
    host: opts.host,
    start: opts.start === undefined ? undefined : parseTime(opts.start, "--start"),
    speed: number(opts.speed, "--speed", 0),
    faults,
    forming: opts.forming,
    streams: { formingEveryMs: number(opts.formingEvery, "--forming-every", 0) },
    weightLimits: weightLimits(opts.weightLimit),
    preload: opts.preload,
    accounts: [{ apiKey: opts.apiKey, apiSecret: opts.apiSecret, balances: balances(opts.balance) }],
    participation: participation(opts.participation),
    log: ctx.log,
  });
  const symbols = sim.data
    .symbols()
    .map(
      (e) =>
        `${e.symbol} ${e.market}${e.first !== undefined && e.end !== undefined ? ` ${monthKey(e.first)}..${monthKey(e.end - 1)}` : ""}`,
    );
  const now = sim.clock.now();
  process.stdout.write(
    `itb sim: Binance-compatible exchange on ${sim.url}\n` +
      `  symbols: ${symbols.join(", ")}\n` +
      `  virtual time: ${isoTime(now)}, speed ${sim.clock.speed}x${faults.length > 0 ? `, ${faults.length} fault rule(s)` : ""}\n` +
      `  REST: ${sim.url}/api/v3/klines, ${sim.url}/fapi/v1/klines   streams: ${sim.wsUrl}/ws, ${sim.wsUrl}/fstream/ws\n` +
      `  archive: ${sim.url}/data/...   admin: ${sim.url}/admin/state\n` +
      `  trading: ${sim.url}/api/v3/order, account key ${opts.apiKey}, balances ${opts.balance}\n` +
      `  futures: ${sim.url}/fapi/v1/order, /fapi/v1/algoOrder, same key, USDT wallet from the balances\n` +
      "  Ctrl-C to stop\n",
  );
  await untilStopped();
  await sim.close();
  process.stdout.write("itb sim: stopped\n");
}

/**
 * The folder of symbol stores to serve: a local folder as given; a shared one (az://) mirrored
 * first, just its stores (`<SYMBOL>/klines.parquet` or `.csv`), credentials from AZURE_STORAGE_CONNECTION_STRING
 * (or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY).
 */
async function localStores(dataFolder: string): Promise<string> {
  if (!isSharedFolder(dataFolder)) return dataFolder;
  const mirror = await openMirror(dataFolder, storageCredentials(undefined), cacheFolder());
  await mirror.storage.check();
  await mirror.pullWhere((key) => /^[A-Z0-9]{2,20}\/klines\.(parquet|csv)$/.test(key));
  return mirror.root;
}
