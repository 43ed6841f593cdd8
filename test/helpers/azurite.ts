/**
 * Azurite for the tests: the queue bench's starter (src/bench/azurite.ts), a child process on a
 * free port, in memory, with its well-known development account.
 */
export { type Azurite, startAzurite } from "../../src/bench/azurite.js";
