// reap of 100,000 claims expired for over a day (target: under 1 s on both stores), vs a
// reap of 1,000; 1,000 live claims stay untouched beside them.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fmt, LIB, postgres, table, tempDir } from "./lib.mjs";

const require = createRequire(import.meta.url);
const { openBaton } = await import(pathToFileURL(LIB).href);
const DAY = 86_400_000;

/** `count` claims that expired two days ago, 1,000 live ones, straight into the tables. */
async function fill(options, count) {
  const t0 = Date.now() - 3 * DAY;
  if (options.db !== undefined) {
    const Database = require("better-sqlite3");
    const db = new Database(options.db);
    const insert = db.prepare(
      "INSERT INTO claims (key, agent, token, state, claimed_at, expires_at) VALUES (?, ?, ?, 'active', ?, ?)",
    );
    db.transaction(() => {
      for (let i = 0; i < count; i++) insert.run(`stale:${i}`, `agent-${i % 100}`, i + 1, t0 + i, t0 + DAY + i);
      for (let i = 0; i < 1000; i++) insert.run(`live:${i}`, `agent-${i % 100}`, count + i + 1, Date.now(), Date.now() + DAY);
      db.prepare("UPDATE counters SET value = ? WHERE name = 'fencing_token'").run(count + 1000);
    })();
    db.close();
  } else {
    const pg = require("pg");
    const client = new pg.Client({ connectionString: options.databaseUrl });
    await client.connect();
    const s = `"${options.schema}"`;
    await client.query(
      `INSERT INTO ${s}.claims (key, agent, token, state, claimed_at, expires_at)
       SELECT 'stale:' || g, 'agent-' || (g % 100), nextval('${s}.fencing_token'), 'active', $1::bigint + g, $1::bigint + ${DAY} + g
       FROM generate_series(1, $2::int) g`,
      [t0, count],
    );
    await client.query(
      `INSERT INTO ${s}.claims (key, agent, token, state, claimed_at, expires_at)
       SELECT 'live:' || g, 'agent-' || (g % 100), nextval('${s}.fencing_token'), 'active', $1::bigint, $1::bigint + ${DAY}
       FROM generate_series(1, 1000) g`,
      [Date.now()],
    );
    await client.query(`ANALYZE ${s}.claims`);
    await client.end();
  }
}

async function timeReap(make, count) {
  const options = make();
  const baton = await openBaton(options);
  await fill(options, count);
  const start = performance.now();
  const r = await baton.reap({ as: "bench" });
  const ms = performance.now() - start;
  if (r.reaped.length !== count) throw new Error(`reaped ${r.reaped.length}, expected ${count}`);
  await baton.close();
  return ms;
}

export async function run({ quick }) {
  const big = quick ? 20_000 : 100_000;
  const server = await postgres();
  const rows = [];
  try {
    const targets = [
      ["SQLite", () => ({ db: join(tempDir(), "reap.db"), synchronous: "full" })],
      ["PostgreSQL", () => ({ databaseUrl: server.url, schema: `bench_reap_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}` })],
    ];
    for (const [name, make] of targets) {
      const small = await timeReap(make, 1000);
      const large = await timeReap(make, big);
      rows.push([`${name}: reap ${fmt(big)} expired claims`, fmt(small, 1), fmt(large, 0), `${(large / small).toFixed(0)}x`, large < 1000 ? "met (< 1 s)" : "MISSED (< 1 s)"]);
    }
  } finally {
    await server.stop();
  }
  return {
    name: "reap",
    rows,
    text: table("reap (ms, one call; baseline: a reap of 1,000)", ["measure", "1,000 ms", "loaded ms", "ratio", "target"], rows),
  };
}
