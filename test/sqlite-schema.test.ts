/**
 * The SQLite schema's write-saving steps (migration 7): an existing database is rebuilt
 * with every event id and claim kept, event ids keep growing without AUTOINCREMENT, and
 * every hot query still finds its rows through an index.
 */
import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from "../src/store/sqlite/sqlite-migrations.js";
import { openSqliteStore, PAGE_SIZE_BYTES, repackSqliteFile } from "../src/store/sqlite/sqlite-store.js";
import { CLI, cleanEnv, cli, tempDir } from "./helpers.js";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3") as typeof import("better-sqlite3");
const HOUR = 3_600_000;

/** A database file at schema `version` made by the migrations up to it, as an older Baton left it. */
function databaseAt(version: number): string {
  const path = join(tempDir(), "old.db");
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  for (const m of SQLITE_MIGRATIONS.filter((m) => m.version <= version)) {
    db.exec(m.sql);
    m.run?.(db);
    db.pragma(`user_version = ${m.version}`);
  }
  db.close();
  return path;
}

describe("SQLite schema 7", () => {
  it("migrates an existing database keeping every event id, every claim and the token counter", async () => {
    const path = databaseAt(3);
    const now = Date.now();
    const old = new Database(path);
    const event = old.prepare("INSERT INTO events (at, kind, key, agent, token, detail) VALUES (?, ?, ?, ?, ?, ?)");
    for (let i = 0; i < 50; i++) event.run(now - 1000 + i, "granted", `k${i % 5}`, `a${i % 3}`, i + 1, '{"ttlMs":1}');
    old
      .prepare(
        "INSERT INTO claims (key, agent, token, state, claimed_at, expires_at, ended_at, meta, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run("live", "a1", 7, "active", now, now + HOUR, null, '{"x":1}', null);
    old
      .prepare(
        "INSERT INTO claims (key, agent, token, state, claimed_at, expires_at, ended_at, meta, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run("done", "a2", 8, "completed", now - 10, now + HOUR, now - 5, null, "ok");
    old.prepare("UPDATE counters SET value = 50 WHERE name = 'fencing_token'").run();
    const before = old.prepare("SELECT * FROM events ORDER BY id").all();
    old.close();

    const store = openSqliteStore({ path });
    const db = store.database;
    expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(db.prepare("SELECT * FROM events ORDER BY id").all()).toEqual(before);
    expect((await store.get("live"))?.meta).toEqual({ x: 1 });
    expect((await store.get("done"))?.result).toBe("ok");
    const schema = db.prepare("SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL").all() as {
      name: string;
      sql: string;
    }[];
    const sql = (name: string) => schema.find((o) => o.name === name)?.sql ?? "";
    expect(sql("events")).not.toMatch(/AUTOINCREMENT/i);
    expect(sql("claims")).toMatch(/WITHOUT ROWID/i);
    expect(schema.map((o) => o.name).sort()).toEqual(
      expect.arrayContaining([
        "events_key",
        "events_agent",
        "event_marks",
        "events_selected",
        "claims_live",
        "claims_recent",
      ]),
    );
    // Schema 9: no time index on the log; each minute's first event id, built from the log as it was.
    expect(schema.map((o) => o.name)).not.toContain("events_at");
    const marks = db.prepare("SELECT minute, first_id FROM event_marks ORDER BY minute").all() as {
      minute: number;
      first_id: number;
    }[];
    const firsts = db
      .prepare("SELECT at / 60000 AS minute, min(id) AS first_id FROM events GROUP BY at / 60000 ORDER BY minute")
      .all();
    expect(marks).toEqual(firsts);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_sequence WHERE name = 'events'").get()).toEqual({ n: 0 });

    const granted = await store.claim({
      key: "new",
      agent: "a1",
      ttlMs: HOUR,
      meta: null,
      reopen: false,
      doneWindowMs: 0,
    });
    expect(granted.claim.token).toBe(51);
    const [last] = await store.events({ key: "new", limit: 1 });
    expect(last?.id).toBe(51);
    await store.close();
  });

  it("gives every new event an id larger than all before it, across reopenings", async () => {
    const path = join(tempDir(), "ids.db");
    const ids: number[] = [];
    for (let round = 0; round < 3; round++) {
      const store = openSqliteStore({ path });
      for (let i = 0; i < 5; i++) {
        const key = `k${round}-${i}`;
        await store.claim({ key, agent: "a", ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: 0 });
        await store.complete({ key, agent: "a", result: "ok" });
      }
      ids.push(...(await store.events({ limit: 1000 })).map((e) => e.id).slice(ids.length));
      await store.close();
    }
    expect(ids).toHaveLength(30);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(30);
  });

  it("answers 'since' from each minute's first event id, across minutes and within one", async () => {
    let clock = Date.UTC(2026, 0, 1, 12, 0, 30);
    const store = openSqliteStore({ path: join(tempDir(), "since.db"), clock: () => clock });
    const at: number[] = [];
    for (const step of [0, 20_000, 45_000, 60_000, 1_000, 200_000]) {
      clock += step;
      at.push(clock);
      await store.claim({ key: `k${at.length}`, agent: "a", ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: 0 });
    }
    const end = clock;
    for (const t of [at[0] as number, (at[1] as number) + 1, at[3] as number, (at[4] as number) + 1, end, end + 1]) {
      const got = (await store.events({ sinceMs: end - t, limit: 100 })).map((e) => e.at.getTime());
      expect(got, `since ${new Date(t).toISOString()}`).toEqual(at.filter((a) => a >= t));
    }
    const marks = store.database.prepare("SELECT minute, first_id FROM event_marks ORDER BY minute").all();
    expect(marks).toEqual(
      store.database
        .prepare("SELECT at / 60000 AS minute, min(id) AS first_id FROM events GROUP BY 1 ORDER BY 1")
        .all(),
    );
    await store.close();
  });

  it("answers every hot query through an index, never a scan of the log or of all claims", async () => {
    const store = openSqliteStore({ path: join(tempDir(), "plan.db") });
    const plan = (sql: string, ...params: unknown[]) =>
      (store.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
        .map((r) => r.detail)
        .join(" | ");
    const live = "state = 'active' AND expires_at";
    expect(plan("SELECT * FROM claims WHERE key = ?", "k")).toMatch(/PRIMARY KEY/);
    expect(plan(`SELECT * FROM claims WHERE ${live} > ? ORDER BY claimed_at DESC LIMIT 10`, 1)).toMatch(/claims_live/);
    expect(plan(`SELECT * FROM claims WHERE ${live} > ? AND agent = ? LIMIT 10`, 1, "a")).toMatch(/claims_live/);
    expect(plan(`UPDATE claims SET state = 'abandoned' WHERE ${live} <= ?`, 1)).toMatch(/claims_live/);
    expect(
      plan(
        "SELECT * FROM claims INDEXED BY claims_recent WHERE state = 'completed' ORDER BY claimed_at DESC, key LIMIT 10",
      ),
    ).not.toMatch(/TEMP B-TREE/);
    expect(
      plan(
        "SELECT * FROM claims INDEXED BY claims_abandoned WHERE state = 'abandoned' ORDER BY claimed_at DESC, key LIMIT 10",
      ),
    ).not.toMatch(/TEMP B-TREE/);
    expect(plan("SELECT * FROM events WHERE key = ? ORDER BY id DESC LIMIT 10", "k")).toMatch(/events_key/);
    expect(plan("SELECT * FROM events WHERE agent = ? ORDER BY id DESC LIMIT 10", "a")).toMatch(/events_agent/);
    const since =
      "id >= (SELECT coalesce(min(first_id), 9007199254740991) FROM event_marks WHERE minute >= ?) AND at >= ?";
    expect(plan(`SELECT * FROM events WHERE ${since} ORDER BY id DESC LIMIT 10`, 1, 1)).toMatch(
      /SEARCH events USING INTEGER PRIMARY KEY \(rowid>\?\)/,
    );
    expect(plan(`SELECT * FROM events WHERE ${since} ORDER BY id DESC LIMIT 10`, 1, 1)).toMatch(
      /SEARCH event_marks USING INTEGER PRIMARY KEY/,
    );
    expect(plan("SELECT detail FROM events WHERE kind = 'selected' ORDER BY id DESC LIMIT 20")).toMatch(
      /events_selected/,
    );
    await store.close();
  });
});

describe("SQLite schema 10 and the writes of a commit", () => {
  it("migrates a schema-9 database to the ascending listing index, every claim kept and listed in the same order", async () => {
    const path = databaseAt(9);
    const now = Date.now();
    const old = new Database(path);
    const insert = old.prepare(
      "INSERT INTO claims (key, agent, token, state, claimed_at, expires_at, ended_at, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    // Ties in claimed_at (the same millisecond) list by key, ascending.
    const rows = [
      ["b", 1, now - 30],
      ["a", 2, now - 30],
      ["c", 3, now - 20],
      ["e", 4, now - 10],
      ["d", 5, now - 10],
    ] as const;
    for (const [key, token, at] of rows) insert.run(key, "a1", token, "completed", at, at + HOUR, at + 1, "ok");
    for (const [key, token, at] of rows) insert.run(`x${key}`, "a2", token + 10, "abandoned", at, at + 1, at + 1, null);
    for (const [key, token, at] of rows) insert.run(`r${key}`, "a3", token + 20, "released", at, at + 1, at + 1, null);
    const before = old.prepare("SELECT * FROM claims ORDER BY key").all();
    old.close();

    const store = openSqliteStore({ path });
    const db = store.database;
    expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(db.prepare("SELECT * FROM claims ORDER BY key").all()).toEqual(before);
    for (const name of ["claims_recent", "claims_released", "claims_abandoned"]) {
      const index = db.prepare("SELECT sql FROM sqlite_schema WHERE name = ?").pluck().get(name) as string;
      expect(index, name).toMatch(/\(claimed_at, key DESC\)/);
    }
    const listed = await store.list({ states: ["completed"], limit: 10 });
    expect(listed.map((c) => c.key)).toEqual(["d", "e", "c", "a", "b"]);
    expect((await store.list({ states: ["completed"], limit: 2 })).map((c) => c.key)).toEqual(["d", "e"]);
    expect((await store.list({ states: ["abandoned"], limit: 3 })).map((c) => c.key)).toEqual(["xd", "xe", "xc"]);
    expect((await store.list({ states: ["released", "abandoned"], limit: 4 })).map((c) => c.key)).toEqual([
      "rd",
      "re",
      "xd",
      "xe",
    ]);
    await store.close();
  });

  it("records the clock's mark in the events a write logs, not in the counters row, and never decides earlier", async () => {
    let clock = Date.UTC(2026, 0, 1, 12, 0, 0);
    const path = join(tempDir(), "mark.db");
    const ahead = openSqliteStore({ path, clock: () => clock });
    const claim = (store: typeof ahead, key: string, agent: string) =>
      store.claim({ key, agent, ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: 0 });
    await claim(ahead, "k1", "a");
    const counter = () =>
      ahead.database.prepare("SELECT value FROM counters WHERE name = 'clock_ms'").pluck().get() as number | undefined;
    const recorded = counter();
    clock += 60_000;
    // A completion logs an event at its time: the counters row (and its page) stays as it was.
    await ahead.complete({ key: "k1", agent: "a", result: "ok" });
    expect(counter()).toBe(recorded);
    const [completed] = await ahead.events({ key: "k1", kinds: ["completed"], limit: 1 });
    expect(completed?.at.getTime()).toBe(clock);
    // Another process whose clock is an hour behind decides at the newest event's time, not its own.
    const behind = openSqliteStore({ path, clock: () => clock - HOUR });
    const granted = await claim(behind, "k2", "b");
    expect(granted.claim.claimedAt.getTime()).toBe(clock);
    expect(granted.claim.expiresAt.getTime()).toBe(clock + HOUR);
    expect((await behind.now()).getTime()).toBe(clock);
    // A write that logs no event records its time in the counters row.
    clock += 5_000;
    await ahead.recordOutcome({ category: "c", outcome: "success" });
    expect(counter()).toBe(clock);
    expect((await behind.now()).getTime()).toBe(clock);
    await behind.close();
    await ahead.close();
  });

  it("keeps each minute's first event id when two processes log events in the same minutes", async () => {
    let clock = Date.UTC(2026, 0, 1, 12, 0, 10);
    const path = join(tempDir(), "marks.db");
    const one = openSqliteStore({ path, clock: () => clock });
    const two = openSqliteStore({ path, clock: () => clock });
    let n = 0;
    for (const step of [0, 5_000, 50_000, 1_000, 1_000, 70_000, 0, 200_000, 10]) {
      clock += step;
      for (const store of n % 3 === 0 ? [one, two] : n % 3 === 1 ? [two, one] : [two, two, one]) {
        await store.claim({ key: `k${n++}`, agent: "a", ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: 0 });
      }
    }
    const db = one.database;
    expect(db.prepare("SELECT minute, first_id FROM event_marks ORDER BY minute").all()).toEqual(
      db.prepare("SELECT at / 60000 AS minute, min(id) AS first_id FROM events GROUP BY 1 ORDER BY 1").all(),
    );
    await one.close();
    await two.close();
  });
});

describe("SQLite reap order", () => {
  it("reaps claims expired at the same time in key order (bytes), and logs them in that order", async () => {
    let clock = Date.UTC(2026, 0, 1, 12, 0, 0);
    const store = openSqliteStore({ path: join(tempDir(), "reap.db"), clock: () => clock });
    for (const key of ["b", "é", "a", "z", "\u{1F600}", "\uFFFD"]) {
      await store.claim({ key, agent: "a", ttlMs: 1000, meta: null, reopen: false, doneWindowMs: 0 });
    }
    await store.claim({ key: "first", agent: "a", ttlMs: 500, meta: null, reopen: false, doneWindowMs: 0 });
    clock += 10_000;
    const reaped = (await store.reap({ minAgeMs: 0, by: null })).map((c) => c.key);
    const bytes = ["a", "b", "z", "é", "\uFFFD", "\u{1F600}"];
    expect(reaped).toEqual(["first", ...bytes]);
    const logged = (await store.events({ kinds: ["reaped"], limit: 10 })).map((e) => e.key);
    expect(logged).toEqual(reaped);
    await store.close();
  });
});

describe("SQLite schema 12: claim states checked without a temporary table", () => {
  const ephemeral = (db: import("better-sqlite3").Database, sql: string, params: number): number =>
    (db.prepare(`EXPLAIN ${sql}`).all(...Array<null>(params).fill(null)) as { opcode: string }[]).filter(
      (op) => op.opcode === "OpenEphemeral",
    ).length;
  const GRANT = `INSERT INTO claims (key, agent, token, state, claimed_at, expires_at) VALUES (?, ?, ?, 'active', ?, ?)
    ON CONFLICT (key) DO UPDATE SET state = 'active', expires_at = excluded.expires_at`;
  const PATH = `INSERT INTO path_claims (repo, pattern, agent, mode, token, state, claimed_at, expires_at)
    VALUES (?, ?, ?, 'exclusive', ?, 'active', ?, ?)`;

  it("migrates a schema-11 database: every row, index and path-claim id kept, bad states still refused", async () => {
    const path = databaseAt(11);
    const now = Date.now();
    const old = new Database(path);
    expect(ephemeral(old, GRANT, 5)).toBe(2);
    expect(ephemeral(old, PATH, 6)).toBe(1);
    const claim = old.prepare(
      "INSERT INTO claims (key, agent, token, state, claimed_at, expires_at, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    ["active", "completed", "released", "abandoned"].forEach((state, i) =>
      claim.run(`k${i}`, "a", i + 1, state, now - i, now + HOUR, state === "active" ? null : now),
    );
    const pathClaim = old.prepare(PATH);
    for (let i = 0; i < 3; i++) pathClaim.run("root:r", `src/${i}.ts`, "a", 10 + i, now, now + HOUR);
    // The newest path claim deleted: its id must not be handed out again.
    old.prepare("DELETE FROM path_claims WHERE id = 3").run();
    const before = {
      claims: old.prepare("SELECT * FROM claims ORDER BY key").all(),
      paths: old.prepare("SELECT * FROM path_claims ORDER BY id").all(),
      indexes: old.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name").all(),
    };
    old.close();

    const store = openSqliteStore({ path });
    const db = store.database;
    expect(db.pragma("user_version", { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(db.prepare("SELECT * FROM claims ORDER BY key").all()).toEqual(before.claims);
    expect(db.prepare("SELECT * FROM path_claims ORDER BY id").all()).toEqual(before.paths);
    expect(db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' ORDER BY name").all()).toEqual(
      before.indexes,
    );
    expect(ephemeral(db, GRANT, 5)).toBe(0);
    expect(ephemeral(db, PATH, 6)).toBe(0);
    expect(ephemeral(db, "UPDATE claims SET state = 'completed' WHERE key = ?", 1)).toBe(0);
    expect(() =>
      db
        .prepare(
          "INSERT INTO claims (key, agent, token, state, claimed_at, expires_at) VALUES ('x', 'a', 9, 'gone', 1, 2)",
        )
        .run(),
    ).toThrow(/CHECK constraint failed/);
    expect(() => db.prepare("UPDATE path_claims SET state = 'done' WHERE id = 1").run()).toThrow(
      /CHECK constraint failed/,
    );
    expect(() => db.prepare("UPDATE path_claims SET mode = 'both' WHERE id = 1").run()).toThrow(
      /CHECK constraint failed/,
    );
    const next = db.prepare(PATH).run("root:r", "src/new.ts", "a", 20, now, now + HOUR);
    expect(Number(next.lastInsertRowid)).toBe(4);
    // The store works on the rebuilt tables: a grant, a completion, a listing by state.
    await store.claim({ key: "k9", agent: "b", ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: 0 });
    expect((await store.complete({ key: "k9", agent: "b", result: "ok", commit: null })).ok).toBe(true);
    expect((await store.list({ states: ["completed"], limit: 5 })).map((c) => c.key)).toEqual(["k9", "k1"]);
    await store.close();
  });
});

describe("SQLite page size", () => {
  it("creates a new file with 1 KiB pages, and leaves an existing file's size alone", async () => {
    const fresh = openSqliteStore({ path: join(tempDir(), "new.db") });
    expect(fresh.database.pragma("page_size", { simple: true })).toBe(PAGE_SIZE_BYTES);
    expect(PAGE_SIZE_BYTES).toBe(1024);
    await fresh.close();

    // An older Baton's file (SQLite's default 4 KiB) keeps its pages and still works: a
    // page size can only change by rewriting the whole file, which opening never does.
    const path = databaseAt(SQLITE_SCHEMA_VERSION);
    const old = openSqliteStore({ path });
    expect(old.database.pragma("page_size", { simple: true })).toBe(4096);
    const granted = await old.claim({ key: "k", agent: "a", ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: 0 });
    expect(granted.claim.agent).toBe("a");
    await old.close();
    const again = openSqliteStore({ path });
    expect(again.database.pragma("page_size", { simple: true })).toBe(4096);
    expect((await again.get("k"))?.agent).toBe("a");
    await again.close();
  });
});

describe("baton db repack", () => {
  /** A 4 KiB-page registry as an older Baton left it, with two claims and their events. */
  async function oldRegistry(): Promise<string> {
    const path = databaseAt(SQLITE_SCHEMA_VERSION);
    const store = openSqliteStore({ path });
    await store.claim({ key: "done", agent: "a", ttlMs: HOUR, meta: { n: 1 }, reopen: false, doneWindowMs: 0 });
    await store.complete({ key: "done", agent: "a", result: "ok", commit: null });
    await store.claim({ key: "live", agent: "b", ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: 0 });
    await store.close();
    return path;
  }
  const snapshot = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return {
        pageSize: db.pragma("page_size", { simple: true }),
        version: db.pragma("user_version", { simple: true }),
        claims: db.prepare("SELECT * FROM claims ORDER BY key").all(),
        events: db.prepare("SELECT * FROM events ORDER BY id").all(),
        counters: db.prepare("SELECT * FROM counters ORDER BY name").all(),
      };
    } finally {
      db.close();
    }
  };

  it("rewrites an older file with 1 KiB pages keeping every row, then has nothing to do", async () => {
    const path = await oldRegistry();
    const before = snapshot(path);
    expect(before.pageSize).toBe(4096);
    // db status says so, and what to run.
    expect(cli(["db", "status"], { env: { BATON_DB: path } }).stdout).toContain(
      "up to date\n  note: its pages are 4 KiB; new files get 1 KiB, which make commits faster: baton db repack rewrites it (every agent stopped)\n",
    );
    const r = cli(["db", "repack", "--json"], { env: { BATON_DB: path } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      rewritten: true,
      pageSizeBefore: 4096,
      pageSizeAfter: 1024,
    });
    expect(snapshot(path)).toEqual({ ...before, pageSize: 1024 });
    const store = openSqliteStore({ path });
    expect(store.database.pragma("journal_mode", { simple: true })).toBe("wal");
    const next = await store.claim({ key: "new", agent: "a", ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: 0 });
    expect(next.claim.token).toBe(3); // the fencing counter came along
    await store.close();
    const status = cli(["db", "status", "--json"], { env: { BATON_DB: path } });
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, pages: { size: 1024, newFiles: 1024 } });
    expect(cli(["db", "status"], { env: { BATON_DB: path } }).stdout).not.toContain("note:");
    const again = cli(["db", "repack"], { env: { BATON_DB: path } });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`sqlite:${path}: already 1 KiB pages, nothing to do\n`);
  });

  it("is refused, changing nothing, while another connection has the file open; and on PostgreSQL", async () => {
    const path = await oldRegistry();
    const before = snapshot(path);
    const open = openSqliteStore({ path }); // an agent's connection
    try {
      const r = cli(["db", "repack", "--json"], { env: { BATON_DB: path, BATON_BUSY_TIMEOUT: "100ms" } });
      expect(r.code).toBe(3);
      expect(JSON.parse(r.stdout || r.stderr)).toMatchObject({ ok: false, error: { code: "STORE_BUSY" } });
      expect(r.stdout + r.stderr).toContain("another connection has it open");
      expect(snapshot(path)).toEqual(before);
      expect(await open.get("live")).toMatchObject({ agent: "b", state: "active" });
    } finally {
      await open.close();
    }
    const pg = cli(["db", "repack", "--json"], { env: { BATON_DATABASE_URL: "postgres://127.0.0.1:1/none" } });
    expect(pg.code).toBe(2);
    expect(JSON.parse(pg.stdout || pg.stderr)).toMatchObject({ ok: false, error: { code: "BAD_OPTION" } });
    expect(pg.stdout + pg.stderr).toContain("PostgreSQL manages its own pages");
  });
});

describe("baton db repack, killed", () => {
  it("killed mid-VACUUM (its rollback journal on disk): the next open finds the file as it was", async () => {
    const path = databaseAt(SQLITE_SCHEMA_VERSION);
    const seed = new Database(path);
    const insert = seed.prepare("INSERT INTO events (at, kind, key, agent, token, detail) VALUES (?, ?, ?, ?, ?, ?)");
    seed.transaction(() => {
      for (let i = 0; i < 200_000; i++)
        insert.run(1_700_000_000_000 + i, "granted", `k${i % 5000}`, `a${i % 50}`, i, '{"ttlMs":1}');
      seed.prepare("UPDATE counters SET value = 200000 WHERE name = 'fencing_token'").run();
    })();
    seed.close();
    const count = () => {
      const db = new Database(path, { readonly: true });
      try {
        return {
          pageSize: db.pragma("page_size", { simple: true }),
          events: db.prepare("SELECT count(*) AS n, sum(token) AS tokens, max(id) AS last FROM events").get(),
          integrity: db.pragma("integrity_check", { simple: true }),
        };
      } finally {
        db.close();
      }
    };
    const before = count();
    const journal = `${path}-journal`;
    const child = spawn(process.execPath, [CLI, "db", "repack"], {
      env: cleanEnv({ BATON_DB: path }),
      stdio: "ignore",
    });
    // Kill it inside VACUUM's transaction, once its rollback journal holds over 64 KiB of the
    // old pages it is writing over.
    const journalBytes = (): number => statSync(journal, { throwIfNoEntry: false })?.size ?? 0;
    const killedMidway = await new Promise<boolean>((resolve) => {
      const poll = (): void => {
        if (journalBytes() > 64 * 1024) {
          child.kill("SIGKILL");
          resolve(true);
        } else if (child.exitCode !== null) resolve(false);
        else setImmediate(poll);
      };
      poll();
    });
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once("exit", resolve),
    );
    expect(killedMidway).toBe(true);
    // The next open finds every row as before, the old pages, a sound file.
    const store = openSqliteStore({ path });
    await store.close();
    expect(count()).toEqual(before);
    expect(existsSync(journal)).toBe(false);
    // And the repack, run again to its end, still works.
    expect(cli(["db", "repack"], { env: { BATON_DB: path } }).code).toBe(0);
    expect(count()).toEqual({ ...before, pageSize: 1024 });
  }, 60_000);
});

describe("baton db repack, any content", () => {
  it("keeps every row of every table, values larger than a page included (fast-check)", async () => {
    const entry = fc.record({
      key: fc.string({ minLength: 1, maxLength: 40 }).map((s) => `k:${s.replace(/\s/g, "_")}`),
      meta: fc.option(fc.string({ maxLength: 5000 }), { nil: null }),
      result: fc.option(fc.string({ maxLength: 4096 }), { nil: null }),
      complete: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 12 }), async (entries) => {
        const path = databaseAt(SQLITE_SCHEMA_VERSION);
        const store = openSqliteStore({ path });
        for (const [i, e] of entries.entries()) {
          const agent = `a${i % 3}`;
          const meta = e.meta === null ? null : { text: e.meta };
          const claimed = await store.claim({ key: e.key, agent, ttlMs: HOUR, meta, reopen: true, doneWindowMs: 0 });
          if (claimed.outcome === "granted" && e.complete)
            await store.complete({ key: e.key, agent, result: e.result, commit: null });
        }
        await store.close();
        const tables = (file: string) => {
          const db = new Database(file, { readonly: true });
          try {
            const names = db
              .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
              .pluck()
              .all() as string[];
            return Object.fromEntries(
              names.map((name) => [name, db.prepare(`SELECT * FROM "${name}" ORDER BY 1, 2`).all()]),
            );
          } finally {
            db.close();
          }
        };
        const before = tables(path);
        const r = await repackSqliteFile(path);
        expect(r).toMatchObject({ rewritten: true, pageSizeBefore: 4096, pageSizeAfter: 1024 });
        expect(tables(path)).toEqual(before);
      }),
      { numRuns: 12 },
    );
  }, 60_000);
});
