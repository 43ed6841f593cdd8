/** The engine's order execution lives in trading/fillModel.ts (shared with the simulated venue). */
export {
  type Broker,
  emptyFill,
  LIMIT,
  MARKET,
  type OrderKind,
  type PriceFill as Fill,
  roundPrice,
  roundQty,
  SimBroker,
  STOP,
} from "../trading/fillModel.js";
