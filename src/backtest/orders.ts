/** The engine's order execution lives in trading/fillModel.ts (shared with the simulated venue). */
export {
  type Broker,
  emptyFill,
  LIMIT,
  MARKET,
  type OrderKind,
  type OrderSide,
  type PriceFill as Fill,
  roundPrice,
  roundQty,
  roundToIncrement,
  SimBroker,
  type SimBrokerOptions,
  STOP,
} from "../trading/fillModel.js";
