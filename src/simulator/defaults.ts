import type { AccountConfig } from "./account.js";

/**
 * The simulator's defaults, apart from the accounts' code: `itb sim --help` shows them without
 * loading the simulator.
 */

/** The account a simulator has when none is configured. */
export const DEFAULT_ACCOUNT: AccountConfig = {
  apiKey: "itb-sim-key",
  apiSecret: "itb-sim-secret",
  balances: { USDT: 10_000 },
};

/** Share of a candle's volume a resting order may fill in that candle, by default. */
export const DEFAULT_PARTICIPATION = 0.1;
