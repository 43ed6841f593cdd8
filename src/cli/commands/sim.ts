import { type Command, Option } from "commander";
import { cacheFolder, storageCredentials } from "../../config/index.js";
import { UsageError } from "../../core/errors.js";
import { isoTime, monthKey, parseTime } from "../../core/time.js";
import type { Market } from "../../data/archive/source.js";
import { isSharedFolder, openMirror } from "../../data/storage/mirror.js";
import {
  DEFAULT_ACCOUNT,
  DEFAULT_PARTICIPATION,
  type FaultRule,
  parseFaultSpec,
  startSimulator,
} from "../../simulator/index.js";
import { contextOf } from "../context.js";

interface SimCliOptions {
  archive?: string;
  dataFolder?: string;
  storeMarket: Market;
  timeColumn?: string;
  port: string;
  host: string;
  start?: string;
  speed: string;
  fault: string[];
  forming: "full" | "open";
  formingEvery: string;
  weightLimit?: string;
  verify: boolean;
  preload: boolean;
  apiKey: string;
  apiSecret: string;
  balance: string;
  participation: string;
}

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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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

export function registerSimCommand(program: Command): void {
  program
    .command("sim")
    .summary(
      "run a Binance-compatible exchange on loopback that replays stored candles under a virtual clock",
    )
    .description(
      "Serves real stored candles as Binance does: spot (/api/v3) and USD-M futures (/fapi/v1) exchangeInfo " +
        "and klines (1m aggregated to 3m..1w), kline WebSocket streams (/ws, /stream, /fstream/...), the archive's " +
        "/data/... files, and trading for one account (--api-key, --api-secret, --balance): spot market, limit, " +
        "stop and OCO orders filling as candles close (at most --participation of each candle's volume); USD-M " +
        "futures orders, conditional stops (algoOrder), leverage, margin type and positions on a USDT wallet of " +
        "its USDT balance; and the user-data streams (/api/v3/userDataStream, /fapi/v1/listenKey, /ws/<listenKey>). " +
        "Virtual time starts at --start and runs at --speed. Faults (429/418/5xx, delays, dropped connections and " +
        "streams, requests carried out but answered with a failure) can be injected by flag or at POST " +
        "/admin/faults; /admin/clock moves time, /admin/requests lists every request. Runs until Ctrl-C. See docs/simulator.md.",
    )
    .option("--archive <dir>", "folder in Binance's archive layout (e.g. sample/binance-vision)")
    .option(
      "--data-folder <dir>",
      "data folder of symbol stores (<dir>/<SYMBOL>/klines.parquet); az://container/prefix: from Azure Blob Storage through a local cache (AZURE_STORAGE_CONNECTION_STRING)",
    )
    .addOption(
      new Option("--store-market <market>", "market of the --data-folder symbols")
        .choices(["spot", "um"])
        .default("spot"),
    )
    .option("--time-column <name>", "time column of the stores (default timestamp)")
    .option("--port <port>", "port (0: any free port)", "9900")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option(
      "--start <time>",
      "virtual start time, e.g. 2023-03-01 or 2023-03-24T12:00 (default: end of the data)",
    )
    .option("--speed <x>", "virtual seconds per real second (0 freezes the clock)", "1")
    .option(
      "--fault <spec>",
      "inject a fault, repeatable: status=429,nth=3+4 | status=418,retry-after=120,method=POST,path=/api/v3/order | status=503,every=5 | " +
        "delay=2000,rate=0.1,seed=7 | drop,path=/api/v3/klines,nth=2 | ws-disconnect,nth=3 | ws-skip,nth=5 | " +
        "accept-fail=503,path=/api/v3/order,nth=1 (carried out, then answered 503) | accept-fail=timeout,method=DELETE,path=/api/v3/order " +
        "(a cancel done, no answer) | drop-user[,nth=N] (closes every user-data WebSocket once; listen keys stay valid) | JSON",
      collect,
      [],
    )
    .addOption(
      new Option("--forming <mode>", "forming candle: the full stored bar, or just its open (no lookahead)")
        .choices(["full", "open"])
        .default("full"),
    )
    .option("--forming-every <ms>", "real ms between forming-candle stream updates (0: none)", "2000")
    .option("--weight-limit <n>", "request weight per minute: N, or spot=N,um=M (default spot=6000,um=2400)")
    .option("--no-verify", "load archive zips without checking their .CHECKSUM files")
    .option("--preload", "load every symbol before listening", false)
    .option("--api-key <key>", "API key of the spot trading account", DEFAULT_ACCOUNT.apiKey)
    .option(
      "--api-secret <secret>",
      "API secret of the account (signs requests; never printed)",
      DEFAULT_ACCOUNT.apiSecret,
    )
    .option(
      "--balance <assets>",
      "starting balances, e.g. USDT=10000,BTC=0",
      Object.entries(DEFAULT_ACCOUNT.balances)
        .map(([a, v]) => `${a}=${v}`)
        .join(","),
    )
    .option(
      "--participation <share>",
      "share of a 1m candle's volume a resting order may fill per candle (0 < share <= 1); larger orders fill over several candles",
      String(DEFAULT_PARTICIPATION),
    )
    .addHelpText(
      "after",
      "\nExample:\n  itb sim --archive sample/binance-vision --start 2023-03-24T12:00 --speed 60 --fault status=429,path=/api/v3/klines,nth=3\n" +
        "  then: curl 'http://127.0.0.1:9900/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=5'",
    )
    .action(async (opts: SimCliOptions, cmd: Command) => {
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
      await new Promise<void>((done) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          done();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await sim.close();
      process.stdout.write("itb sim: stopped\n");
    });
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
