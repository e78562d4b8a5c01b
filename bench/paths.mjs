// Path claims at scale: claiming 50 patterns against 10,000 live path claims of other
// agents, vs the same claim against an empty registry, on SQLite and PostgreSQL.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fmt, LIB, median, percentile, postgres, table, tempDir } from "./lib.mjs";

const { openBaton } = await import(pathToFileURL(LIB).href);

async function fill(baton, where, live) {
  // 100 agents, each holding 100 files spread over 1 000 folders, plus some globs.
  for (let a = 0; a < live / 100; a++) {
    const patterns = Array.from({ length: 100 }, (_, j) =>
      j % 10 === 0 ? `pkg${a}/mod${j}/**/*.ts` : `pkg${a}/mod${j}/file${j}.ts`,
    );
    const r = await baton.claimPaths(patterns, { ...where, as: `holder-${a}`, ttl: "2h" });
    if (!r.ok) throw new Error("fill conflicted");
  }
}

async function measure(baton, where, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    // 50 patterns in folders nobody holds, so the claim is granted and then released.
    const patterns = Array.from({ length: 50 }, (_, j) => (j % 5 === 0 ? `free${i}/d${j}/` : `free${i}/d${j}/f.ts`));
    const start = performance.now();
    const r = await baton.claimPaths(patterns, { ...where, as: "bench", ttl: "10m" });
    times.push(performance.now() - start);
    if (!r.ok) throw new Error("measure conflicted");
    await baton.releasePaths(null, { ...where, as: "bench" });
  }
  return { median: median(times), p95: percentile(times, 95) };
}

export async function run({ quick }) {
  const live = quick ? 2_000 : 10_000;
  const runs = quick ? 10 : 30;
  const repoDir = tempDir();
  execFileSync("git", ["init", "-q"], { cwd: repoDir });
  const where = { cwd: repoDir, repo: "root:bench" };
  const server = await postgres();
  const rows = [];
  try {
    const stores = [
      ["SQLite", () => ({ db: join(tempDir(), "paths.db"), synchronous: "normal" })],
      [
        "PostgreSQL",
        () => ({
          databaseUrl: server.url,
          schema: `bench_paths_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`,
        }),
      ],
    ];
    for (const [name, options] of stores) {
      const empty = await openBaton(options());
      const base = await measure(empty, where, runs);
      await empty.close();
      const full = await openBaton(options());
      await fill(full, where, live);
      const loaded = await measure(full, where, runs);
      await full.close();
      rows.push([
        name,
        fmt(base.median, 1),
        fmt(loaded.median, 1),
        fmt(loaded.p95, 1),
        `${(loaded.median / base.median).toFixed(1)}x`,
      ]);
    }
  } finally {
    await server.stop();
  }
  return {
    name: "paths",
    rows,
    text: table(
      `paths claim of 50 patterns against ${fmt(live)} live path claims (median of ${runs}; baseline: an empty registry)`,
      ["store", "empty: ms", `${fmt(live)} live: ms`, "p95 ms", "vs empty"],
      rows,
    ),
  };
}
