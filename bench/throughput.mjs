// Claim+complete throughput through Baton vs the bare SQL statements doing the
// same work, in the same run: SQLite at synchronous FULL and NORMAL; PostgreSQL
// with 1 connection and 8 concurrent connections (distinct and contended keys).
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bareSqlite, minimalSqlite } from "./bare.mjs";
import { resolve } from "node:path";
import { benchStores, fmt, LIB, median, pct, postgres, rate, table, tempDir } from "./lib.mjs";

const require = createRequire(import.meta.url);
const { openBaton } = await import(pathToFileURL(LIB).href);
// BATON_BENCH_COMPARE=path/to/another/dist/index.js: that build too, in the same alternating
// PostgreSQL rounds (before/after figures from one run on a shared machine). Its folder must
// resolve the same node_modules (a copy of dist inside this checkout, say).
const COMPARE = process.env.BATON_BENCH_COMPARE;
const other = COMPARE ? await import(pathToFileURL(resolve(COMPARE)).href) : null;
const HOUR = 3_600_000;

async function sqliteRows(ms) {
  const rows = [];
  for (const sync of ["full", "normal"]) {
    const dir = tempDir();
    const baton = await openBaton({ db: join(dir, "baton.db"), synchronous: sync });
    const schemaOnly = await openBaton({ db: join(dir, "bare.db") });
    await schemaOnly.close();
    const bare = bareSqlite(join(dir, "bare.db"), sync.toUpperCase());
    const minimal = minimalSqlite(join(dir, "minimal.db"), sync.toUpperCase());
    const viaBaton = async (i) => {
      await baton.claim(`task:${i}`, { as: "bench", ttl: HOUR });
      await baton.complete(`task:${i}`, { as: "bench", result: "ok" });
    };
    // Warm up all three, then alternate short rounds so drift (other load) hits all alike;
    // the figure is the median round.
    const runs = [viaBaton, bare.op, minimal.op];
    for (const op of runs) await rate(op, 200);
    const rounds = runs.map(() => []);
    for (let round = 0; round < 5; round++) {
      for (const [j, op] of runs.entries()) rounds[j].push(await rate((i) => op(`${round}:${i}`), ms / 5));
    }
    const [b, s, m] = rounds.map(median);
    rows.push([
      `SQLite synchronous=${sync.toUpperCase()}`,
      fmt(b),
      fmt(s),
      fmt(m),
      pct(b / s),
      pct(b / m),
      b / s >= 0.8 ? "met" : "MISSED",
    ]);
    await baton.close();
    bare.close();
    minimal.close();
  }
  return rows;
}

/** Bare pg: the same work as two statements (claim, complete), each one round trip. */
function barePg(pool, schema) {
  const s = `"${schema}"`;
  const claimSql = `WITH t AS (SELECT ${s}.now_ms() AS now),
    c AS (INSERT INTO ${s}.claims (key, agent, token, state, claimed_at, expires_at)
          SELECT $1, $2, nextval('${s}.fencing_token'), 'active', t.now, t.now + ${HOUR} FROM t
          ON CONFLICT (key) DO UPDATE SET agent = excluded.agent, token = nextval('${s}.fencing_token'),
            state = 'active', claimed_at = excluded.claimed_at, expires_at = excluded.expires_at, ended_at = NULL
          WHERE ${s}.claims.state <> 'active' OR ${s}.claims.expires_at <= excluded.claimed_at
          RETURNING key, agent, token, claimed_at),
    d AS (INSERT INTO ${s}.events (at, kind, key, agent, detail)
          SELECT t.now, 'denied', $1, $2, json_build_object('code', 'CLAIM_HELD') FROM t
          WHERE NOT EXISTS (SELECT 1 FROM c))
    INSERT INTO ${s}.events (at, kind, key, agent, token, detail)
      SELECT claimed_at, 'granted', key, agent, token, json_build_object('ttlMs', ${HOUR}) FROM c`;
  const completeSql = `WITH t AS (SELECT ${s}.now_ms() AS now),
    u AS (UPDATE ${s}.claims c SET state = 'completed', ended_at = t.now, result = 'ok' FROM t
          WHERE c.key = $1 AND c.agent = $2 AND c.state = 'active' AND c.expires_at > t.now
          RETURNING c.key, c.agent, c.token, t.now)
    INSERT INTO ${s}.events (at, kind, key, agent, token, detail)
      SELECT now, 'completed', key, agent, token, json_build_object('result', 'ok') FROM u`;
  return async (key, agent) => {
    // Named (prepared) statements: planned once per connection, as a careful hand-written client would.
    await pool.query({ name: `claim_${schema}`, text: claimSql, values: [key, agent] });
    await pool.query({ name: `complete_${schema}`, text: completeSql, values: [key, agent] });
  };
}

/** `workers` concurrent loops for `ms`; returns total ops/s. */
async function concurrent(workers, ms, op) {
  const rates = await Promise.all(Array.from({ length: workers }, (_, w) => rate((i) => op(w, i), ms)));
  return rates.reduce((a, b) => a + b, 0);
}

async function postgresRows(ms) {
  const pg = require("pg");
  const server = await postgres();
  const rows = [];
  try {
    for (const [label, workers, contended] of [
      ["1 connection", 1, false],
      ["8 connections, distinct keys", 8, false],
      ["8 connections, 4 contended keys", 8, true],
    ]) {
      const schema = `bench_${Date.now().toString(36)}_${workers}${contended ? "c" : "d"}`;
      const baton = await openBaton({ databaseUrl: server.url, schema, poolSize: workers });
      const otherBaton =
        other && (await other.openBaton({ databaseUrl: server.url, schema: `${schema}_cmp`, poolSize: workers }));
      const bareSchema = `${schema}_bare`;
      await (await openBaton({ databaseUrl: server.url, schema: bareSchema, poolSize: 1 })).close();
      const pool = new pg.Pool({ connectionString: server.url, max: workers });
      pool.on("error", () => undefined);
      const bare = barePg(pool, bareSchema);
      const key = (tag, w, i) => (contended ? `hot:${(w + i) % 4}` : `${tag}:${w}:${i}`);
      const viaBaton = async (w, i) => {
        const k = key("b", w, i);
        const agent = `w${w}`;
        const r = await baton.claim(k, { as: agent, ttl: HOUR, reopen: true });
        if (r.ok) await baton.complete(k, { as: agent, result: "ok" });
      };
      const viaBare = (w, i) => bare(key("s", w, i), `w${w}`);
      const viaOther = async (w, i) => {
        const k = key("o", w, i);
        const agent = `w${w}`;
        const r = await otherBaton.claim(k, { as: agent, ttl: HOUR, reopen: true });
        if (r.ok) await otherBaton.complete(k, { as: agent, result: "ok" });
      };
      await concurrent(workers, 300, viaBaton);
      await concurrent(workers, 300, viaBare);
      if (otherBaton) await concurrent(workers, 300, viaOther);
      // Short rounds (BATON_BENCH_ROUNDS, default 5), alternating, so the other load of a shared machine hits both alike; the
      // figures are the medians of the rounds, the ratio the median of the rounds' ratios.
      const rounds = Number(process.env.BATON_BENCH_ROUNDS ?? 5);
      const byRound = [];
      for (let round = 0; round < rounds; round++) {
        const b = await concurrent(workers, ms / rounds, (w, i) => viaBaton(w, `${round}:${i}`));
        const s = await concurrent(workers, ms / rounds, (w, i) => viaBare(w, `${round}:${i}`));
        const o = otherBaton ? await concurrent(workers, ms / rounds, (w, i) => viaOther(w, `${round}:${i}`)) : 0;
        byRound.push([b, s, o]);
      }
      const b = median(byRound.map(([x]) => x));
      const s = median(byRound.map(([, y]) => y));
      const ratio = median(byRound.map(([x, y]) => x / y));
      rows.push([`PostgreSQL, ${label}`, fmt(b), fmt(s), "", pct(ratio), "", ratio >= 0.8 ? "met" : "MISSED"]);
      if (otherBaton) {
        const o = median(byRound.map(([, , z]) => z));
        const otherRatio = median(byRound.map(([, y, z]) => z / y));
        rows.push([
          `  same, ${COMPARE}`,
          fmt(o),
          fmt(s),
          "",
          pct(otherRatio),
          "",
          otherRatio >= 0.8 ? "met" : "MISSED",
        ]);
        await otherBaton.close();
      }
      await baton.close();
      await pool.end();
    }
  } finally {
    await server.stop();
  }
  return rows;
}

export async function run({ quick }) {
  const ms = quick ? 1000 : 3000;
  const stores = benchStores();
  const rows = [
    ...(stores.includes("sqlite") ? await sqliteRows(ms) : []),
    ...(stores.includes("postgresql") ? await postgresRows(ms) : []),
  ];
  return {
    name: "throughput",
    rows,
    text: table(
      "Claim+complete pairs/s, in process (target: Baton >= 80% of the bare SQL on its schema; minimal = one claims row + one event row, no extra index)",
      ["store", "Baton", "bare SQL", "minimal bare SQL", "vs bare", "vs minimal", "target"],
      rows,
    ),
  };
}
