/**
 * Opt-in per-file cost profile (BATON_TEST_PROFILE=FILE): after each test file, appends
 * one JSON line to FILE with the file's wall time, its worker's CPU seconds (`self`, which
 * includes the CLI calls run in worker threads) and its children's (every process it started
 * and waited for, from /proc/self/stat), how many processes it spawned (`spawns`; `cliSpawns`
 * of them the CLI), how many CLI calls ran in a thread (`cliThreads`, test/cli-thread/run.ts)
 * and the processes those started (`threadSpawns`: git, a `baton run` command), and the worker
 * threads those calls used (`threadWorkers`: a worker runs calls until one leaves something
 * behind, test/cli-thread/worker.cjs). Without the
 * variable this file does nothing.
 */
import childProcess from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { afterAll, beforeAll, expect } from "vitest";
import { threadCalls, threadSpawns, threadWorkers } from "../cli-thread/run.js";

const out = process.env.BATON_TEST_PROFILE;
if (out) {
  let spawns = 0;
  let cliSpawns = 0;
  const count = (args: unknown[]): void => {
    spawns++;
    if (Array.isArray(args[1]) && args[1].some((a) => typeof a === "string" && /baton\.js$|coordination$/.test(a)))
      cliSpawns++;
  };
  for (const name of ["spawn", "spawnSync", "execFile", "execFileSync"] as const) {
    const real = childProcess[name] as (...args: unknown[]) => unknown;
    (childProcess as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      count(args);
      return real.apply(childProcess, args);
    };
  }
  syncBuiltinESMExports();
  const ticks = (): number[] => {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime, stime, cutime, cstime are fields 14-17 (1-based); after the comm they start at index 11.
    return fields.slice(11, 15).map(Number);
  };
  let start = 0;
  let before: number[] = [];
  let threadsBefore = 0;
  let threadSpawnsBefore = 0;
  let workersBefore = 0;
  beforeAll(() => {
    start = Date.now();
    before = ticks();
    threadsBefore = threadCalls();
    threadSpawnsBefore = threadSpawns();
    workersBefore = threadWorkers();
  });
  afterAll(() => {
    const now = ticks();
    const d = now.map((v, i) => (v - (before[i] ?? 0)) / 100);
    appendFileSync(
      out,
      `${JSON.stringify({
        file: expect.getState().testPath,
        wall: (Date.now() - start) / 1000,
        self: +((d[0] ?? 0) + (d[1] ?? 0)).toFixed(2),
        children: +((d[2] ?? 0) + (d[3] ?? 0)).toFixed(2),
        spawns,
        cliSpawns,
        cliThreads: threadCalls() - threadsBefore,
        threadSpawns: threadSpawns() - threadSpawnsBefore,
        threadWorkers: threadWorkers() - workersBefore,
      })}\n`,
    );
  });
}
