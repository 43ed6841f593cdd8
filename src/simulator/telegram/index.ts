export { maskToken, tokenBotId } from "./bot.js";
export { startTelegramSim } from "./server.js";
// The other shapes (FaultControl, FaultState, CallbackAnswer, PhotoFile, ...) are in types.ts.
export type { RequestRecord, SentMessage, TelegramSim, TelegramSimOptions, UserUpdate } from "./types.js";
