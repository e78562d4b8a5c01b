import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A real PostgreSQL server for the PostgreSQL half of the suite.
    globalSetup: ["test/setup/postgres.ts"],
    // Tests spawn real processes and open real databases: give them room, and
    // run files in separate processes so native handles never leak across files.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
