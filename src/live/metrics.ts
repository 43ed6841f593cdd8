import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The live service's Prometheus metrics (the standard text exposition, through prom-client),
 * on their own registry so that tests and several services in one process do not share
 * counters.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly processed = new Counter({
    name: "itb_candles_processed_total",
    help: "Closed candles processed, per market; catch_up=true for candles processed after their time (restart, outage).",
    labelNames: ["market", "catch_up"],
    registers: [this.registry],
  });
  readonly lag = new Gauge({
    name: "itb_candle_lag_seconds",
    help: "Seconds from the close of the market's last processed candle to now.",
    labelNames: ["market"],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "itb_tick_latency_seconds",
    help: "Time from a closed candle's arrival to its ledger record, per stage (features = features, scores and signals).",
    labelNames: ["stage"],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly reconnects = new Counter({
    name: "itb_websocket_reconnects_total",
    help: "Kline WebSocket connections reopened, per source.",
    labelNames: ["source"],
    registers: [this.registry],
  });
  readonly backfilled = new Counter({
    name: "itb_backfilled_candles_total",
    help: "Candles processed as catch-up (fetched over REST after their time), per market.",
    labelNames: ["market"],
    registers: [this.registry],
  });
  readonly signals = new Counter({
    name: "itb_signals_total",
    help: "Buy and sell signals, per market.",
    labelNames: ["market", "side"],
    registers: [this.registry],
  });
  readonly paperOrders = new Counter({
    name: "itb_paper_orders_total",
    help: "Orders the paper trader submitted, per market and purpose (entry, signal, stop_loss, ...).",
    labelNames: ["market", "purpose"],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "itb_errors_total",
    help: "Errors, per market (a market that stops counts one).",
    labelNames: ["market"],
    registers: [this.registry],
  });
  readonly notifications = new Counter({
    name: "itb_notifications_total",
    help: "Notifications settled, per channel (telegram, webhook), kind (score, diagram, order, trade, stats, daily) and status (sent, failed).",
    labelNames: ["channel", "kind", "status"],
    registers: [this.registry],
  });
  readonly notificationsDropped = new Counter({
    name: "itb_notifications_dropped_total",
    help: "Score and chart messages dropped because the queue was full (an outage longer than telegram.queue_limit messages), per channel.",
    labelNames: ["channel"],
    registers: [this.registry],
  });
  readonly notificationRetries = new Counter({
    name: "itb_notification_retries_total",
    help: "Notification attempts that will be retried (429, 5xx, timeouts, network), per channel.",
    labelNames: ["channel"],
    registers: [this.registry],
  });
  readonly equity = new Gauge({
    name: "itb_equity",
    help: "The market's equity after its last processed candle (cash plus the position at the close), in quote.",
    labelNames: ["market"],
    registers: [this.registry],
  });
  readonly cash = new Gauge({
    name: "itb_cash",
    help: "The market's cash after its last processed candle, in quote.",
    labelNames: ["market"],
    registers: [this.registry],
  });
  readonly position = new Gauge({
    name: "itb_position",
    help: "The market's position after its last processed candle: 1 long, -1 short, 0 flat.",
    labelNames: ["market"],
    registers: [this.registry],
  });
  readonly trades = new Counter({
    name: "itb_trades_total",
    help: "Closed trades, per market and outcome (win: net profit after fees above 0, else loss).",
    labelNames: ["market", "outcome"],
    registers: [this.registry],
  });
  readonly ready = new Gauge({
    name: "itb_market_ready",
    help: "1 once the market is warm and follows the exchange, 0 before and after.",
    labelNames: ["market"],
    registers: [this.registry],
  });
}
