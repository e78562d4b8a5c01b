import { relative } from "node:path";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Longest file first across the three projects (vitest's own order runs the projects one
 * after another by name), so the two workers end together instead of one finishing a long
 * file alone. Durations come from vitest's results cache (the last run of each file); files
 * it has no duration for (new ones, a fresh clone) go first, larger files first.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const weigh = (spec: TestSpecification): [number, number] => {
      const key = `${spec.project.name}:${relative(root, spec.moduleId)}`;
      const duration = this.ctx.cache.getFileTestResults(key)?.duration;
      return duration === undefined ? [1, this.ctx.cache.getFileStats(key)?.size ?? 0] : [0, duration];
    };
    const weights = new Map(files.map((spec) => [spec, weigh(spec)]));
    return [...files].sort((a, b) => {
      const [ua, wa] = weights.get(a) ?? [0, 0];
      const [ub, wb] = weights.get(b) ?? [0, 0];
      return ub - ua || wb - wa;
    });
  }
}

/**
 * Test files that need the PostgreSQL server (the both-store tests and the
 * PostgreSQL-only ones). Only the `postgres` project starts it, so a run of other
 * files never waits for it. A new file that calls testDatabaseUrl() goes here, or
 * is named *pg*.test.ts / *postgres*.test.ts.
 */
const POSTGRES_FILES = [
  "test/contract/**/*.test.ts",
  "test/**/*{pg,postgres}*.test.ts",
  "test/cli-remote.test.ts",
  "test/cli-remote-gaps.test.ts",
  "test/context.test.ts",
  "test/fencing.test.ts",
  "test/gate-e2e.test.ts",
  "test/hostile-input.test.ts",
  "test/http.test.ts",
  "test/lifecycle.test.ts",
  "test/log-follow.test.ts",
  "test/paths-cli.test.ts",
  "test/paths-race.test.ts",
  "test/race-stores.test.ts",
  "test/reliability-linearizability.test.ts",
  "test/reliability-model.test.ts",
  "test/run.test.ts",
  "test/similarity.test.ts",
  "test/strict-lock.test.ts",
  "test/task-edit-race.test.ts",
  "test/tasks.test.ts",
];

/** In-process tests: no child processes, no git, no server. */
const UNIT_FILES = [
  "test/core.test.ts",
  "test/paths.test.ts",
  "test/docs.test.ts",
  "test/library.test.ts",
  "test/layers.test.ts",
];

export default defineConfig({
  test: {
    // Tests spawn real processes and open real databases: give them room, and run
    // them in child processes (forks), not worker threads, for the native addons.
    pool: "forks",
    // Two files at a time on two cores (vitest's default is cores - 1: one file at
    // a time here, with the CPU idle while a test waits for its processes).
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    sequence: { sequencer: LongestFirst },
    // A worker runs file after file without starting afresh (vitest's module runner,
    // better-sqlite3 and the source under test are loaded once per worker, ~0.3 s of CPU
    // a file here). So the helpers' per-file and per-test hooks are in a setup file,
    // which runs before every file; the other is the opt-in cost profile
    // (BATON_TEST_PROFILE=FILE: wall, CPU and processes per file).
    isolate: false,
    setupFiles: ["test/setup/per-file.ts", "test/setup/profile.ts"],
    projects: [
      { extends: true, test: { name: "unit", include: UNIT_FILES } },
      {
        extends: true,
        test: { name: "integration", include: ["test/**/*.test.ts"], exclude: [...UNIT_FILES, ...POSTGRES_FILES] },
      },
      {
        extends: true,
        // A real PostgreSQL server, started once for the files of this project.
        test: { name: "postgres", include: POSTGRES_FILES, globalSetup: ["test/setup/postgres.ts"] },
      },
    ],
  },
});
