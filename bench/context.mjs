// baton context with 1,000 live claims and a large audit log, vs an empty registry;
// and a claim with the near-duplicate check against 10,000 live claims in its
// namespace, vs the same claim with the check off. SQLite and PostgreSQL.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fmt, LIB, median, postgres, table, tempDir } from "./lib.mjs";

const require = createRequire(import.meta.url);
const { openBaton } = await import(pathToFileURL(LIB).href);

async function time(fn, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn(i);
    times.push(performance.now() - start);
  }
  return median(times);
}

async function fillEvents(options, baton, count) {
  const t0 = Date.now() - 2 * 86_400_000;
  if (options.db !== undefined) {
    const Database = require("better-sqlite3");
    const db = new Database(options.db);
    const insert = db.prepare("INSERT INTO events (at, kind, key, agent, token, detail) VALUES (?, ?, ?, ?, ?, ?)");
    db.transaction(() => {
      for (let i = 0; i < count; i++) insert.run(t0 + i, i % 5 === 0 ? "denied" : "granted", `old:${i % 50_000}`, `agent-${i % 500}`, i, null);
    })();
    db.close();
  } else {
    const pg = require("pg");
    const client = new pg.Client({ connectionString: options.databaseUrl });
    await client.connect();
    await client.query(
      `INSERT INTO "${options.schema}".events (at, kind, key, agent, token)
       SELECT $1::bigint + g, CASE WHEN g % 5 = 0 THEN 'denied' ELSE 'granted' END, 'old:' || (g % 50000), 'agent-' || (g % 500), g
       FROM generate_series(1, $2::int) g`,
      [t0, count],
    );
    await client.query(`ANALYZE "${options.schema}".events`);
    await client.end();
  }
}

export async function run({ quick }) {
  const events = quick ? 100_000 : 1_000_000;
  const live = quick ? 2_000 : 10_000;
  const server = await postgres();
  const rows = [];
  try {
    const targets = [
      ["SQLite", () => ({ db: join(tempDir(), "ctx.db"), synchronous: "normal" })],
      ["PostgreSQL", () => ({ databaseUrl: server.url, schema: `bench_ctx_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}` })],
    ];
    for (const [name, make] of targets) {
      const emptyOptions = make();
      const empty = await openBaton(emptyOptions);
      const base = await time(() => empty.context({ as: "me", cwd: tempDir() }), 20);
      await empty.close();
      const options = make();
      const baton = await openBaton(options);
      for (let i = 0; i < 1000; i++) await baton.claim(`task:${i}`, { as: `agent-${i % 50}`, similar: "off" });
      await fillEvents(options, baton, events);
      const cwd = tempDir();
      const full = await time(() => baton.context({ as: "agent-1", cwd }), 20);
      rows.push([`${name}: context, 1,000 live claims, ${fmt(events)} events`, fmt(base, 1), fmt(full, 1), `${(full / base).toFixed(1)}x`, name === "SQLite" ? (full < 50 ? "met (< 50 ms)" : "MISSED (< 50 ms)") : ""]);
      // Similarity: 10,000 live claims in one namespace, topic keys made of words (numbered
      // keys skip the check in warn mode, so they would measure nothing).
      const word = (n) => {
        let w = "";
        do {
          w += String.fromCharCode(97 + (n % 26));
          n = Math.floor(n / 26);
        } while (n > 0);
        return `${w}x`;
      };
      for (let i = 0; i < live; i++) await baton.claim(`topic:${word(i)}-${word(i * 7 + 3)}-notes`, { as: `agent-${i % 50}`, similar: "off" });
      const plain = await time((i) => baton.claim(`topic:plain-${word(i + 50_000)}-draft`, { as: "bench", similar: "off" }), 30);
      const checked = await time((i) => baton.claim(`topic:checked-${word(i + 90_000)}-draft`, { as: "bench", similar: "warn" }), 30);
      rows.push([`${name}: claim with similarity check, ${fmt(live)} live in namespace`, fmt(plain, 1), fmt(checked, 1), `${(checked / plain).toFixed(1)}x`, ""]);
      await baton.close();
    }
  } finally {
    await server.stop();
  }
  return {
    name: "context",
    rows,
    text: table(
      "Session context and near-duplicate checks (median ms; baseline: empty registry / check off)",
      ["measure", "baseline ms", "loaded ms", "ratio", "target"],
      rows,
    ),
  };
}
