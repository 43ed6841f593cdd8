export { checkGbModel, type GbModel, type GbTree } from "./model.js";
export { type GbParams, gbParams } from "./params.js";
export { predictGb } from "./predict.js";
export { trainGb } from "./train.js";
