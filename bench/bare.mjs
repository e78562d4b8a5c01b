// Bare-SQL baselines for the SQLite benchmarks: the same claim+complete pairs without Baton.
//
// - bareSqlite: the transactions Baton's SQLite store runs, on Baton's schema, nothing else
//   (what Baton's own code costs on top of its SQL).
// - minimalSqlite: what the seed system's kind of store costs: a minimal schema with one
//   claims row per key (a per-key counter as the token, the seed's "epoch") and one event row
//   per operation, no other index; a guarded upsert to claim, a guarded update to complete.
//   It gives up what Baton keeps (a store-wide token order, the done window, the audit
//   indexes for `log KEY` / `--agent` / `--since`), so it is the floor Baton is measured against.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const HOUR = 3_600_000;

function open(path, sync) {
  const Database = require("better-sqlite3");
  const db = new Database(path, { timeout: 5000 });
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${sync}`);
  return db;
}

/** Bare better-sqlite3 on a file Baton created: Baton's transactions, nothing else. */
export function bareSqlite(path, sync) {
  const db = open(path, sync);
  const row = db.prepare("SELECT * FROM claims WHERE key = ?");
  const bump = db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'fencing_token' RETURNING value");
  const upsert = db.prepare(
    `INSERT INTO claims (key, agent, token, state, claimed_at, renewed_at, expires_at, meta)
     VALUES (?, ?, ?, 'active', ?, NULL, ?, NULL)
     ON CONFLICT (key) DO UPDATE SET agent = excluded.agent, token = excluded.token, state = 'active',
       claimed_at = excluded.claimed_at, renewed_at = NULL, expires_at = excluded.expires_at, ended_at = NULL,
       meta = excluded.meta, result = NULL, commit_sha = NULL, reason = NULL RETURNING *`,
  );
  const event = db.prepare(
    "INSERT INTO events (at, kind, key, agent, token, commit_sha, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const complete = db.prepare(
    `UPDATE claims SET state = 'completed', ended_at = ?, result = ?, commit_sha = NULL
     WHERE key = ? AND agent = ? AND state = 'active' AND expires_at > ? RETURNING *`,
  );
  const claimTx = db.transaction((key, agent) => {
    const now = Date.now();
    row.get(key);
    const { value } = bump.get();
    upsert.get(key, agent, value, now, now + HOUR);
    event.run(now, "granted", key, agent, value, null, JSON.stringify({ ttlMs: HOUR }));
  });
  const completeTx = db.transaction((key, agent) => {
    const now = Date.now();
    const r = complete.get(now, "ok", key, agent, now);
    event.run(now, "completed", key, agent, r.token, null, JSON.stringify({ result: "ok" }));
  });
  return {
    db,
    op: async (i) => {
      claimTx.immediate(`bare:${i}`, "bench");
      completeTx.immediate(`bare:${i}`, "bench");
    },
    close: () => db.close(),
  };
}

/** The minimal schema (one claims row, one event row, no extra indexes) on a fresh file. */
export function minimalSqlite(path, sync) {
  const db = open(path, sync);
  db.exec(`
    CREATE TABLE IF NOT EXISTS claims (
      key TEXT PRIMARY KEY, agent TEXT NOT NULL, token INTEGER NOT NULL, state TEXT NOT NULL,
      expires_at INTEGER NOT NULL, ended_at INTEGER, result TEXT);
    CREATE TABLE IF NOT EXISTS events (
      id INTEGER PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
      agent TEXT NOT NULL, token INTEGER);`);
  const grant = db.prepare(
    `INSERT INTO claims (key, agent, token, state, expires_at) VALUES (?, ?, 1, 'active', ?)
     ON CONFLICT (key) DO UPDATE SET agent = excluded.agent, token = token + 1, state = 'active',
       expires_at = excluded.expires_at, ended_at = NULL, result = NULL
     WHERE state <> 'active' OR expires_at <= ?
     RETURNING token`,
  );
  const complete = db.prepare(
    `UPDATE claims SET state = 'completed', ended_at = ?, result = ?
     WHERE key = ? AND agent = ? AND state = 'active' AND expires_at > ? RETURNING token`,
  );
  const event = db.prepare("INSERT INTO events (at, kind, key, agent, token) VALUES (?, ?, ?, ?, ?)");
  const claimTx = db.transaction((key, agent) => {
    const now = Date.now();
    const r = grant.get(key, agent, now + HOUR, now);
    event.run(now, r === undefined ? "denied" : "granted", key, agent, r?.token ?? null);
  });
  const completeTx = db.transaction((key, agent) => {
    const now = Date.now();
    const r = complete.get(now, "ok", key, agent, now);
    if (r !== undefined) event.run(now, "completed", key, agent, r.token);
  });
  return {
    db,
    op: async (i) => {
      claimTx.immediate(`min:${i}`, "bench");
      completeTx.immediate(`min:${i}`, "bench");
    },
    close: () => db.close(),
  };
}
