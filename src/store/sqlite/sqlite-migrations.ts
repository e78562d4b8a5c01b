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
];

/** The schema version this build of Baton writes. */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS[SQLITE_MIGRATIONS.length - 1]?.version ?? 0;
