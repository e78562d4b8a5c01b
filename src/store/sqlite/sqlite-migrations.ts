/**
 * Versioned schema migrations for the SQLite store. The version lives in
 * `PRAGMA user_version`; migrations run on open inside one write transaction, so
 * processes opening a new file together apply each step exactly once.
 * Append new steps; never edit a released one.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
  /** Work that needs the schema as it stands (run after `sql`, in the same transaction). */
  readonly run?: (db: MigrationDb) => void;
}

/** What a migration step may do with the connection. */
export interface MigrationDb {
  exec(sql: string): unknown;
  prepare(sql: string): { all(...params: unknown[]): unknown[] };
}

/**
 * Rebuild `table` from its own stored definition (so columns and indexes that earlier
 * steps added are kept), changed by `define`; every row is copied as it is, rowids and
 * primary keys included.
 */
function rebuildTable(db: MigrationDb, table: string, define: (createSql: string) => string): void {
  const objects = db
    .prepare(
      "SELECT type, name, sql FROM sqlite_schema WHERE tbl_name = ? AND sql IS NOT NULL ORDER BY type = 'table' DESC",
    )
    .all(table) as { type: string; name: string; sql: string }[];
  const [create, ...dependents] = objects;
  if (create === undefined || create.type !== "table") throw new Error(`migration: no table ${table}`);
  const temp = `${table}_rebuild`;
  const renamed = create.sql.replace(new RegExp(`^CREATE TABLE\\s+"?${table}"?`, "i"), `CREATE TABLE ${temp}`);
  if (renamed === create.sql) throw new Error(`migration: cannot read the definition of ${table}`);
  db.exec(define(renamed));
  db.exec(`INSERT INTO ${temp} SELECT * FROM ${table}`);
  db.exec(`DROP TABLE ${table}`);
  db.exec(`ALTER TABLE ${temp} RENAME TO ${table}`);
  for (const object of dependents) db.exec(object.sql);
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "claims, events, counters",
    sql: `
      CREATE TABLE claims (
        key         TEXT PRIMARY KEY,
        agent       TEXT NOT NULL,
        token       INTEGER NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('active', 'completed', 'released', 'abandoned')),
        claimed_at  INTEGER NOT NULL,
        renewed_at  INTEGER,
        expires_at  INTEGER NOT NULL,
        ended_at    INTEGER,
        meta        TEXT,
        result      TEXT,
        commit_sha  TEXT,
        reason      TEXT
      );
      CREATE INDEX claims_state_expiry ON claims (state, expires_at);
      CREATE INDEX claims_agent ON claims (agent, state);

      CREATE TABLE events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        key         TEXT NOT NULL,
        agent       TEXT NOT NULL,
        token       INTEGER,
        commit_sha  TEXT,
        detail      TEXT
      );
      CREATE INDEX events_key ON events (key, id);
      CREATE INDEX events_agent ON events (agent, id);
      CREATE INDEX events_at ON events (at);

      CREATE TABLE counters (
        name   TEXT PRIMARY KEY,
        value  INTEGER NOT NULL
      );
      INSERT INTO counters (name, value) VALUES ('fencing_token', 0);
    `,
  },
  {
    version: 2,
    description: "path claims",
    sql: `
      CREATE TABLE path_claims (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        repo        TEXT NOT NULL,
        pattern     TEXT NOT NULL,
        agent       TEXT NOT NULL,
        mode        TEXT NOT NULL CHECK (mode IN ('exclusive', 'shared')),
        token       INTEGER NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('active', 'completed', 'released', 'abandoned')),
        claimed_at  INTEGER NOT NULL,
        renewed_at  INTEGER,
        expires_at  INTEGER NOT NULL,
        ended_at    INTEGER,
        reason      TEXT,
        commit_sha  TEXT,
        work_key    TEXT
      );
      CREATE INDEX path_claims_live ON path_claims (repo, state, expires_at);
      CREATE INDEX path_claims_agent ON path_claims (agent, state);
    `,
  },
  {
    version: 3,
    description: "tasks and category outcome statistics",
    sql: `
      CREATE TABLE tasks (
        id          TEXT PRIMARY KEY,
        title       TEXT NOT NULL,
        category    TEXT NOT NULL,
        priority    INTEGER NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('open', 'done')),
        blocked_by  TEXT NOT NULL DEFAULT '[]',
        paths       TEXT NOT NULL DEFAULT '[]',
        assignee    TEXT,
        meta        TEXT,
        source      TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        done_at     INTEGER
      );
      CREATE INDEX tasks_open ON tasks (state, category, priority DESC, created_at);
      CREATE TABLE category_stats (
        category    TEXT PRIMARY KEY,
        successes   REAL NOT NULL,
        failures    REAL NOT NULL,
        updated_at  INTEGER NOT NULL
      );
    `,
  },
  {
    version: 7,
    description:
      "fewer pages written per commit: events without AUTOINCREMENT, claims clustered by key, claim indexes for the live set and the listing order",
    // Each claim or completion wrote ~11 WAL pages; this step cuts it to ~8 (bench/pages.mjs)
    // without weakening a guarantee:
    // - events.id loses AUTOINCREMENT, whose sqlite_sequence row was one more page per commit.
    //   A plain INTEGER PRIMARY KEY takes max(id) + 1, so it could reuse an id only after the
    //   newest row were deleted. Events are append-only (no statement deletes one), so ids
    //   keep growing and are never reused; the rebuild keeps every id, and sqlite_sequence
    //   equals max(id) because no event was ever deleted.
    // - claims becomes WITHOUT ROWID: the row lives in its primary-key b-tree, where a rowid
    //   table kept a second b-tree (the key's unique index) written on every new key.
    // - The two claim indexes become one partial index of live claims, (expires_at) WHERE
    //   state = 'active': a grant adds an entry and an end removes it, where the full indexes
    //   moved each entry from ('active', …) to ('completed', …), touching more leaves. Live
    //   listings, `--agent` ones included, walk the live claims only.
    // - claims_recent (claimed_at DESC, key) is every listing's order: `list --state
    //   completed` and context's recent completions read the newest rows and stop (they
    //   sorted every completed claim: 0.3 s at 100,000 claims). Only a grant changes
    //   claimed_at, so completing, releasing and reaping never write it. Released and
    //   abandoned claims (rare) have partial indexes of their own in the same order, which
    //   a claim enters only when it is released, abandoned or reaped.
    // - events_selected: only `selected` events enter it (claims and completions never write
    //   it); it answers next's "recent selections", which otherwise walked the whole log.
    // The rebuild holds the write lock while it copies: 7.8 s for 1,000,000 events and
    // 100,000 claims on a loaded 2-core machine; other processes wait (busy timeout) meanwhile.
    sql: `
      DROP INDEX claims_state_expiry;
      DROP INDEX claims_agent;
    `,
    run(db) {
      rebuildTable(db, "events", (sql) => sql.replace(/\bAUTOINCREMENT\b/i, ""));
      db.exec("DELETE FROM sqlite_sequence WHERE name = 'events'");
      rebuildTable(db, "claims", (sql) => `${sql} WITHOUT ROWID`);
      db.exec(`
        CREATE INDEX claims_live ON claims (expires_at) WHERE state = 'active';
        CREATE INDEX claims_recent ON claims (claimed_at DESC, key);
        CREATE INDEX claims_released ON claims (claimed_at DESC, key) WHERE state = 'released';
        CREATE INDEX claims_abandoned ON claims (claimed_at DESC, key) WHERE state = 'abandoned';
        CREATE INDEX events_selected ON events (id) WHERE kind = 'selected';
      `);
    },
  },
  {
    version: 8,
    description: "server tokens (digests only)",
    sql: `
      CREATE TABLE tokens (
        id          INTEGER PRIMARY KEY,
        agent       TEXT NOT NULL,
        role        TEXT NOT NULL CHECK (role IN ('agent', 'admin', 'read-only')),
        hash        TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL,
        revoked_at  INTEGER
      );
    `,
  },
  {
    version: 9,
    description:
      "an index of live path claims granted with a work claim; the log's time index becomes a per-minute table of first event ids",
    // - path_claims_work: only active path claims with a work claim enter it, and leave it when
    //   they end: a plain path claim (an edit hook's) never writes it. reap finds the path
    //   claims of the claims it abandons through it in one UPDATE, where it looked each stale
    //   claim's up in turn.
    // - events_at took an entry, about a page, on every commit (bench/pages.mjs: 8.6 -> 7.6
    //   pages a commit without it). event_marks holds, per minute of `at`, the smallest event
    //   id of that minute: the store adds a row with the first event it logs in a minute
    //   (INSERT OR IGNORE: a read on every other event), so once a minute. "Since T" reads
    //   the events from the smallest first id of the minutes from T's on, which holds every
    //   event at or after T whatever the order of times and ids. Built here from the log as it is.
    sql: `
      CREATE INDEX path_claims_work ON path_claims (work_key, agent) WHERE state = 'active' AND work_key IS NOT NULL;
      CREATE TABLE event_marks (
        minute    INTEGER PRIMARY KEY,
        first_id  INTEGER NOT NULL
      );
      INSERT INTO event_marks (minute, first_id) SELECT at / 60000, min(id) FROM events GROUP BY at / 60000;
      DROP INDEX events_at;
    `,
  },
  {
    version: 10,
    description: "the listing indexes of claims in ascending claimed_at: grants append at their end",
    // claims_recent was (claimed_at DESC, key): every grant, the newest claimed_at, went in at
    // the index's first leaf, and SQLite rebalanced that full leaf with its neighbours on most
    // inserts (bench/pages.mjs: 1.5-1.7 pages of the index per grant). (claimed_at, key DESC)
    // holds the same order read backwards (claimed_at DESC, key ASC: every listing's order, still
    // read from the index and stopped at the limit), and a grant appends at its last leaf: ~1.1
    // pages. The released and abandoned indexes turn the same way: reap abandons expired claims
    // oldest first, which went in at the first leaf of the descending index one after another
    // (a rebalance of three leaves per claim; 100,000 in one reap). Rebuilt here from the table.
    sql: `
      DROP INDEX claims_recent;
      DROP INDEX claims_released;
      DROP INDEX claims_abandoned;
      CREATE INDEX claims_recent ON claims (claimed_at, key DESC);
      CREATE INDEX claims_released ON claims (claimed_at, key DESC) WHERE state = 'released';
      CREATE INDEX claims_abandoned ON claims (claimed_at, key DESC) WHERE state = 'abandoned';
    `,
  },
  {
    version: 11,
    description: "the open-tasks index holds the task id: next passes over claimed tasks without reading their rows",
    // next walks a category's open tasks in priority order and passes over the ones whose
    // claim is live, checking the claim by the task's id. With the id in the index, SQLite
    // reads a passed-over task's row not at all (its table seek is deferred until a column
    // outside the index is needed): the candidate walk with 150 claimed tasks in a 300-task
    // backlog took about 25% less (345 -> 260 us, /tmp micro-benchmark, medians of 15 rounds).
    sql: `
      DROP INDEX tasks_open;
      CREATE INDEX tasks_open ON tasks (state, category, priority DESC, created_at, id);
    `,
  },
  {
    version: 12,
    description: "claim states checked without a temporary table: every write of claims and path_claims built one",
    // SQLite checks `state IN ('active', 'completed', 'released', 'abandoned')` (more than two
    // values) by building an ephemeral b-tree of the four values on every statement that writes
    // the column: each grant built two (the insert's and the upsert's), each completion and path
    // claim one; about 10,000 instructions a grant under callgrind, 4% of a claim through `baton
    // serve`. The same check written as comparisons (`state = 'active' OR ...`) builds nothing.
    // The values on disk do not change; the tables are rebuilt because SQLite cannot alter a
    // CHECK (rebuildTable keeps every row, id and index; path_claims' AUTOINCREMENT counter is
    // carried over, so an id deleted at the end is never handed out again).
    sql: "",
    run(db) {
      const states = (sql: string): string =>
        sql.replace(
          "CHECK (state IN ('active', 'completed', 'released', 'abandoned'))",
          "CHECK (state = 'active' OR state = 'completed' OR state = 'released' OR state = 'abandoned')",
        );
      rebuildTable(db, "claims", states);
      const [counter] = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'path_claims'").all() as {
        seq: number;
      }[];
      rebuildTable(db, "path_claims", states);
      db.exec(`
        DELETE FROM sqlite_sequence WHERE name = 'path_claims';
        INSERT INTO sqlite_sequence (name, seq)
          SELECT 'path_claims', max(${Math.floor(Number(counter?.seq ?? 0))}, coalesce(max(id), 0)) FROM path_claims;
      `);
    },
  },
];

/** The schema version this build of Baton writes. */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]?.version ?? 0;
