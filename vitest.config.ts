import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two test files at a time: most tests wait on processes, sockets and simulated exchanges,
    // so on the 2-core CI machine two workers finish the suite in about 10 minutes instead of
    // 15 to 16 (vitest's default there is one).
    maxWorkers: 2,
    globalSetup: ["test/globalSetup.ts"],
  },
});
