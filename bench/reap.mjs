// reap of 100,000 claims expired for over a day (target: under 1 s on both stores), vs a
// reap of 1,000; 1,000 live claims stay untouched beside them. Each round also times the row
// work alone on the same data: one bare INSERT … SELECT of the events and one bare UPDATE of
// the claims in one transaction, no answer (the floor a reap of this schema cannot go below),
// and this build's reap with `claims: false` (counted, not read back: baton serve's reaper).
//
// BATON_BENCH_BASELINE=DIR: also time the build in DIR (a checkout with dist/ built, e.g. an
// older commit's), alternating with this one round by round, so both meet the same load.
// BATON_BENCH_ROUNDS: rounds (default 3, 1 with --quick); each figure is the median.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fillClaims, fmt, LIB, median, postgres, table, storeTargets } from "./lib.mjs";

const require = createRequire(import.meta.url);
const DAY = 86_400_000;

/** `count` claims that expired two days ago and 1,000 live ones. */
function staleAndLive(count) {
  const t0 = Date.now() - 3 * DAY;
  const now = Date.now();
  const row = (key, i, claimedAt, expiresAt) => ({
    key,
    agent: `agent-${i % 100}`,
    token: i + 1,
    state: "active",
    claimedAt,
    expiresAt,
  });
  return [
    ...Array.from({ length: count }, (_, i) => row(`stale:${i}`, i, t0 + i, t0 + DAY + i)),
    ...Array.from({ length: 1000 }, (_, i) => row(`live:${i}`, count + i, now, now + DAY)),
  ];
}

/** One reap of `count` on fresh data; `counted`: with `claims: false` (the count only, as baton serve's reaper asks). */
async function timeReap(openBaton, make, count, counted = false) {
  const options = make();
  const baton = await openBaton(options);
  await fillClaims(options, staleAndLive(count));
  const start = performance.now();
  const r = await baton.reap(counted ? { as: "bench", claims: false } : { as: "bench" });
  const ms = performance.now() - start;
  const n = counted ? r.count : r.reaped.length;
  if (n !== count) throw new Error(`reaped ${n}, expected ${count}`);
  await baton.close();
  return ms;
}

const FLOOR_REASON = "reaped: expired without completion";
const FLOOR_DETAIL = '{"by":"bench","expiredAt":"2026-01-01T00:00:00.000Z"}';

/** The row work alone: the same events and the same claim changes, bare SQL, one transaction, nothing answered. */
async function timeFloor(openBaton, make, count) {
  const options = make();
  // Open as timeReap does (so the log and the WAL stand as they do for a reap), closed at the end.
  const baton = await openBaton(options);
  await fillClaims(options, staleAndLive(count));
  const cutoff = Date.now() - DAY;
  if (options.db !== undefined) {
    const Database = require("better-sqlite3");
    const db = new Database(options.db);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
    const start = performance.now();
    db.transaction(() => {
      db.prepare(
        `INSERT OR FAIL INTO events (at, kind, key, agent, token, detail)
         SELECT ?, 'reaped', key, agent, token, ? FROM claims WHERE state = 'active' AND expires_at <= ?`,
      ).run(Date.now(), FLOOR_DETAIL, cutoff);
      db.prepare(
        "UPDATE OR FAIL claims SET state = 'abandoned', ended_at = ?, reason = ? WHERE state = 'active' AND expires_at <= ?",
      ).run(Date.now(), FLOOR_REASON, cutoff);
    }).immediate();
    const ms = performance.now() - start;
    db.close();
    await baton.close();
    return ms;
  }
  const pg = require("pg");
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  const s = `"${options.schema}"`;
  const start = performance.now();
  await client.query(
    `WITH u AS (
       UPDATE ${s}.claims SET state = 'abandoned', ended_at = $1, reason = $2
         WHERE state = 'active' AND expires_at <= $3 RETURNING key, agent, token)
     INSERT INTO ${s}.events (at, kind, key, agent, token, detail) SELECT $1, 'reaped', key, agent, token, $4::json FROM u`,
    [Date.now(), FLOOR_REASON, cutoff, FLOOR_DETAIL],
  );
  const ms = performance.now() - start;
  await client.end();
  await baton.close();
  return ms;
}

export async function run({ quick }) {
  const big = quick ? 20_000 : 100_000;
  const rounds = Number(process.env.BATON_BENCH_ROUNDS ?? (quick ? 1 : 3));
  const builds = [["this build", LIB]];
  if (process.env.BATON_BENCH_BASELINE) {
    builds.push(["baseline", join(process.env.BATON_BENCH_BASELINE, "dist", "index.js")]);
  }
  const libs = [];
  for (const [label, lib] of builds) libs.push([label, (await import(pathToFileURL(lib).href)).openBaton]);
  const server = await postgres();
  const rows = [];
  try {
    const targets = storeTargets(server.url, "reap", "full");
    for (const [name, make] of targets) {
      const small = new Map(libs.map(([label]) => [label, []]));
      const large = new Map(libs.map(([label]) => [label, []]));
      const floor = [];
      const counted = [];
      for (let round = 0; round < rounds; round++) {
        // Each round in the other order (ABBA…): on a shared machine the load drifts within a round.
        for (const [label, openBaton] of round % 2 === 0 ? libs : [...libs].reverse()) {
          small.get(label).push(await timeReap(openBaton, make, 1000));
          large.get(label).push(await timeReap(openBaton, make, big));
        }
        counted.push(await timeReap(libs[0][1], make, big, true));
        floor.push(await timeFloor(libs[0][1], make, big));
      }
      for (const [label] of libs) {
        const ms = median(large.get(label));
        rows.push([
          `${name}: reap ${fmt(big)} expired claims (${label})`,
          fmt(median(small.get(label)), 1),
          fmt(ms, 0),
          large
            .get(label)
            .map((x) => fmt(x, 0))
            .join(" / "),
          `${(ms / median(small.get(label))).toFixed(0)}x`,
          `${(ms / median(floor)).toFixed(2)}x`,
          ms < 1000 ? "met (< 1 s)" : "MISSED (< 1 s)",
        ]);
      }
      rows.push([
        `${name}: the same, counted only (this build, claims: false)`,
        "",
        fmt(median(counted), 0),
        counted.map((x) => fmt(x, 0)).join(" / "),
        "",
        `${(median(counted) / median(floor)).toFixed(2)}x`,
        median(counted) < 1000 ? "met (< 1 s)" : "MISSED (< 1 s)",
      ]);
      rows.push([
        `${name}: the row work alone (bare SQL, no answer)`,
        "",
        fmt(median(floor), 0),
        floor.map((x) => fmt(x, 0)).join(" / "),
        "",
        "1.00x",
        "",
      ]);
    }
  } finally {
    await server.stop();
  }
  return {
    name: "reap",
    rows,
    text: table(
      `reap (ms, one call, median of ${rounds} round${rounds === 1 ? "" : "s"}; baselines: a reap of 1,000, and the row work alone)`,
      ["measure", "1,000 ms", `${fmt(big)} ms`, "each round", "vs 1,000", "vs row work", "target"],
      rows,
    ),
  };
}
