/**
 * Signal generators (`signal_sets`): smoothen, combine, threshold_rule, threshold_rule2 and
 * custom ones, in batch over frames and as an O(1) stream for the live engine. Pure: no files,
 * network or clock.
 */

export { BUILTIN_SIGNAL_GENERATORS, compileSignalSets, type SignalSetInput } from "./compile.js";
export { runSignalSets, runSignalSteps, type SignalRun, signalColumns } from "./run.js";

export { createSignalStream, type SignalStream } from "./stream.js";

export type { SignalRole, SignalStep } from "./types.js";
export { EwmMean, RollingMean } from "./windows.js";
