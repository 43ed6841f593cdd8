import type { Logger } from "../core/log.js";
import type { VirtualClock } from "./clock.js";
import type { Dataset } from "./dataset.js";
import type { Faults } from "./faults.js";
import type { WeightLimiter } from "./limiter.js";
import type { RequestLog } from "./requests.js";
import type { FormingMode } from "./series.js";

/** Live WebSocket figures for /admin/state. */
export interface StreamStats {
  connections: number;
  subscriptions: number;
  eventsSent: number;
}

/**
 * Everything a route handler may read or change. Market data is here now; the account state
 * (balances, orders, fills) joins as one more member when the order endpoints arrive, so
 * handlers and the server pipeline keep their shape.
 */
export interface SimState {
  clock: VirtualClock;
  data: Dataset;
  faults: Faults;
  requests: RequestLog;
  limiter: WeightLimiter;
  forming: FormingMode;
  log: Logger;
  streams: () => StreamStats;
}
