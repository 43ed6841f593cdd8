export { ccxtBinanceUrls } from "./ccxt.js";
export { type ClockState, type RealTime, VirtualClock } from "./clock.js";
export { type FaultRule, type FaultState, Faults, parseFaultRules, parseFaultSpec } from "./faults.js";
export type { RecordedRequest, RequestLog } from "./requests.js";
export type { FormingMode } from "./series.js";
export { type Simulator, type SimulatorOptions, startSimulator } from "./server.js";
export type { StreamStats } from "./state.js";
export type { StreamOptions } from "./streams.js";
