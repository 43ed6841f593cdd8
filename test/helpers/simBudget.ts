/**
 * The request-weight budget per minute a test's simulator announces: a hundred times
 * Binance's. The service paces its REST requests by the budget the exchange announces (as it
 * must with Binance), so a test that drives hundreds of candles in a row on a virtual clock would
 * otherwise spend most of its time waiting on Binance's real pacing. Tests of the pacing itself
 * set their own budgets.
 */
export const LOOPBACK_BUDGET = { spot: 600_000, um: 600_000 } as const;
