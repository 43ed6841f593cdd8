/**
 * The model stages' I/O: read the matrix, train, write the store (`itb train`, trainStage.ts);
 * read features, apply the current models, write predictions and metrics (`itb predict`,
 * predictStage.ts); walk forward over the matrix on worker threads, keep every step's models,
 * write out-of-sample predictions and metrics (`itb predict-rolling`, rollingStage.ts). The
 * computations are the pure functions of src/models.
 */

export type { ModelStageContext } from "./modelStageShared.js";
export { formatPredictRun, runPredict } from "./predictStage.js";
export { formatRollingRun, runPredictRolling } from "./rollingStage.js";
export { formatTrainRun, runTrain } from "./trainStage.js";
