export { checkGbModel, type GbModel, type GbTree } from "./model.js";
export { GB_DEFAULTS, type GbParams, gbParams } from "./params.js";
export { predictGb } from "./predict.js";
export { type TrainGbOptions, trainGb } from "./train.js";
