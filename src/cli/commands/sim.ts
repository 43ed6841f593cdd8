import { type Command, Option } from "commander";
import type { Market } from "../../data/archive/source.js";
import { DEFAULT_ACCOUNT, DEFAULT_PARTICIPATION } from "../../simulator/defaults.js";

export interface SimCliOptions {
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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
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
    .option("--data-folder <dir>", "data folder of symbol stores (<dir>/<SYMBOL>/klines.parquet)")
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
      const { simAction } = await import("../actions/sim.js");
      await simAction(opts, cmd);
    });
}
