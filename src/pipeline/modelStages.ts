/**
 * The model stages' I/O: read the matrix, train, write the store (`itb train`, trainStage.ts);
 * read features, apply the current models, write predictions and metrics (`itb predict`,
 * predictStage.ts); walk forward over the matrix on worker threads, keep every step's models,
 * write out-of-sample predictions and metrics (`itb predict-rolling`, rollingStage.ts). The
 * computations are the pure functions of src/models.
 */

export { type ModelStageContext, pruneStore } from "./modelStageShared.js";
export { formatPredictRun, type ModelPrediction, type PredictRun, runPredict } from "./predictStage.js";
export { formatRollingRun, type RollingRun, runPredictRolling } from "./rollingStage.js";
export { formatTrainRun, runTrain, type TrainRun } from "./trainStage.js";
