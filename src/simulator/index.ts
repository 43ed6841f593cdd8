export { ccxtBinanceErrorsByPath, ccxtBinanceUrls } from "./ccxt.js";
export { VirtualClock } from "./clock.js";
export { type FaultRule, parseFaultSpec } from "./faults.js";
export type { RecordedRequest } from "./requests.js";

export { type Simulator, startSimulator } from "./server.js";
