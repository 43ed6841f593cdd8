import type { Logger } from "../core/log.js";
import type { Accounts } from "./account.js";
import type { VirtualClock } from "./clock.js";
import type { Dataset } from "./dataset.js";
import type { Faults } from "./faults.js";
import type { FuturesAccounts } from "./futuresAccount.js";
import type { WeightLimiter } from "./limiter.js";
import type { RequestLog } from "./requests.js";
import type { FormingMode } from "./series.js";
import type { UserStreams } from "./userStreams.js";

/** Live WebSocket figures for /admin/state. */
export interface StreamStats {
  connections: number;
  subscriptions: number;
  eventsSent: number;
}

/**
 * Everything a route handler may read or change: market data, the clock, the spot and futures
 * accounts (balances, positions, orders, trades) the signed trading endpoints act on, and the
 * user-data streams.
 */
export interface SimState {
  clock: VirtualClock;
  data: Dataset;
  faults: Faults;
  requests: RequestLog;
  limiter: WeightLimiter;
  accounts: Accounts;
  /** USD-M futures accounts, one per spot account (same keys), for the /fapi signed endpoints. */
  futures: FuturesAccounts;
  /** User-data streams: a market's account publishes its events with `userStreams.publish(apiKey, market, payload)`. */
  userStreams: UserStreams;
  forming: FormingMode;
  log: Logger;
  streams: () => StreamStats;
}
