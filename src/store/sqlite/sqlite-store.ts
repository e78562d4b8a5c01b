/**
 * The embedded store: one SQLite file shared by every process on a machine.
 * WAL journal, a busy timeout, `synchronous=FULL` unless lowered. Every write is
 * one `BEGIN IMMEDIATE` transaction that reads the clock after taking the write
 * lock, so decisions are serialised and ordered by the time they were made. With
 * group commit (`baton serve`), concurrent writes share one such transaction, each
 * in its own savepoint, answered after it commits (sqlite-batch.ts).
 */
import { closeSync, existsSync, fdatasync, fdatasyncSync, fstatSync, mkdirSync, openSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type Database from "better-sqlite3";
import { BatonError, RETRY_BUSY } from "../../core/errors.js";
import type { TokenRecord } from "../../core/tokens.js";
import { TOKEN_COLUMNS, type TokenRow, toToken } from "../rows.js";
import type { HandoffInput, TokenInput } from "../store.js";
import { readStoredObject } from "../../core/schemas.js";
import type { BatonEvent, Claim, ClaimState, EventKind, PathClaim, Task, TaskState } from "../../core/types.js";
import { type AddedBlocker, type BlockerProblem, blockerProblem, startIds, toRead } from "../../core/blockers.js";
import { CLAIM_STATES } from "../../core/types.js";
import { patchTaskColumns, type StoredTaskColumns } from "../rows.js";
import type { TaskPatch, UpdateTaskOutcome } from "../store.js";
import { planPathClaim } from "../../core/path-plan.js";
import {
  CLAIM_COLUMNS,
  type ClaimRow,
  EVENT_COLUMNS,
  type EventRow,
  CANDIDATES_PER_CATEGORY,
  decayedStats,
  PATH_COLUMNS,
  type PathRow,
  pathDenials,
  pathDetail,
  pathEventKey,
  REAP_REASON,
  type ReapedColumns,
  inReapOrder,
  sortReaped,
  toReapedClaims,
  RECENT_SELECTIONS,
  type TaskRow,
  taskColumns,
  taskColumnValues,
  toClaim,
  toEvent,
  toPathClaim,
  toTask,
  withOutcome,
} from "../rows.js";
import type {
  ClaimInput,
  ClaimOutcome,
  NextContext,
  NextInput,
  NextOutcome,
  PutMode,
  RankedTask,
  PutTasksOutcome,
  TaskCounts,
  TaskFilter,
  TaskInput,
  TaskStateInput,
  TaskStateOutcome,
  EndInput,
  EventFilter,
  ListFilter,
  MutationOutcome,
  PathClaimInput,
  PathClaimOutcome,
  PathConflict,
  PathListFilter,
  PathSelector,
  ReapInput,
  RecordEventInput,
  RenewInput,
  ResolveInput,
  ResolveOutcome,
  SchemaStatus,
  Store,
  StoreCapabilities,
  Unwatch,
} from "../store.js";
import { GroupCommit, type GroupCommitOptions, type GroupCommitStats, type SyncOffLoop } from "./sqlite-batch.js";
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from "./sqlite-migrations.js";
import {
  ADVANCE_CLOCK_SQL,
  assertSameFile,
  CLOCK_MARK_SQL,
  fileIdentity,
  type FileIdentity,
  lostWalFrames,
  lostWalRefusal,
  repairLostWrites,
} from "./sqlite-guard.js";
import { isoString } from "../../core/time.js";

/** How hard SQLite syncs to disk. `full` survives power loss; `normal` may lose the last commits. */
export type SqliteSync = "full" | "normal";

export interface SqliteStoreOptions {
  /** Database file path (created with its folder if missing), or `:memory:`. */
  readonly path: string;
  /** How long to wait for a lock before failing with `STORE_BUSY`. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** Default `full`. */
  readonly synchronous?: SqliteSync;
  /** The clock, in epoch milliseconds. Default `Date.now`. Injectable for tests. */
  readonly clock?: () => number;
  /** Run pending migrations on open (default). `false` only reads the schema version. */
  readonly migrate?: boolean;
  /**
   * While events are watched ({@link SqliteStore.watchEvents}): how often the watch
   * connection reads `PRAGMA data_version` to see other processes' commits. Default 50 ms.
   */
  readonly watchPollMs?: number;
  /**
   * Group commit (off by default; `baton serve` turns it on): writes submitted in the same
   * turn of the event loop are decided one after another in one transaction, each in its
   * own savepoint, and answered after it commits. For a server answering many clients
   * concurrently; one caller awaiting each write gains nothing. See sqlite-batch.ts.
   */
  readonly groupCommit?: boolean | GroupCommitOptions;
}

/** Default interval of the `data_version` check while events are watched. */
const DEFAULT_WATCH_POLL_MS = 50;

/**
 * Checkpoint the WAL into the database every 10,000 pages (~10 MiB of 1 KiB pages) instead
 * of SQLite's 1,000. Each checkpoint copies the pages changed since the last one and syncs twice;
 * with ~7 pages a commit, the default checkpointed every ~140 commits and re-copied the
 * same hot pages (claims, index leaves, the counter) each time. Measured with
 * bench/throughput.mjs: 25-40% more claim+complete pairs/s at synchronous=NORMAL.
 * Counted in pages, checkpoints stay as many commits apart whatever the page size.
 */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;
/** After a checkpoint, a WAL that grew past this (a big import, a long reader) is truncated back. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;
/**
 * The page size of a new SQLite file, bytes. A commit writes every page it touched to the WAL,
 * checksummed, so its cost follows the page size: 1 KiB pages made a claim+complete pair 28-35%
 * faster than SQLite's default 4 KiB at synchronous=NORMAL, 10-20% at FULL, while the scale
 * queries stayed within their targets (docs/ARCHITECTURE.md). A file keeps the size it was
 * created with.
 */
export const PAGE_SIZE_BYTES = 1024;
/**
 * The page cache's ceiling, KiB (SQLite's default here is 16,000): filled only as pages are read.
 * A reap of 100,000 claims changes ~30 MiB of pages in one transaction; past the cache SQLite
 * spills dirty pages to the WAL mid-transaction and reads them back.
 */
const CACHE_KIB = 65_536;

/** Default lock wait before `STORE_BUSY`. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

const BUSY_CODES = new Set(["SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_RECOVERY", "SQLITE_LOCKED"]);

/** Translate a driver error into a BatonError with a stable code. */
function translateError(error: unknown, path: string): unknown {
  if (error instanceof BatonError) return error;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && code.startsWith("SQLITE_")) {
    const reason = error instanceof Error ? error.message : String(error);
    if (BUSY_CODES.has(code)) {
      return new BatonError(
        "STORE_BUSY",
        `the store at ${path} stayed locked past the busy timeout (${reason})`,
        { sqlite: code },
        { cause: error, hint: RETRY_BUSY },
      );
    }
    return new BatonError(
      "STORE_UNAVAILABLE",
      `the store at ${path} cannot be used: ${reason} (${code})`,
      { sqlite: code },
      { cause: error },
    );
  }
  return error;
}

// Load the driver with require() and hand it the addon's path: importing a
// CommonJS package from ESM runs a lexer over it, and the default addon lookup
// walks the stack and the filesystem. Together that is ~7 ms of every CLI call.
const requireCjs = createRequire(import.meta.url);
let driver: { Database: typeof Database; nativeBinding: string | undefined } | undefined;

function loadDriver(): { Database: typeof Database; nativeBinding: string | undefined } {
  if (driver === undefined) {
    const Database = requireCjs("better-sqlite3") as typeof import("better-sqlite3");
    let nativeBinding: string | undefined;
    try {
      const candidate = join(
        dirname(requireCjs.resolve("better-sqlite3/package.json")),
        "build",
        "Release",
        "better_sqlite3.node",
      );
      if (existsSync(candidate)) nativeBinding = candidate;
    } catch {
      nativeBinding = undefined;
    }
    driver = { Database, nativeBinding };
  }
  return driver;
}

/** Block the thread for `ms` milliseconds (used only while opening a new file). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Thrown inside a write transaction to undo it and answer with `value` instead. */
class Rollback {
  constructor(readonly value: unknown) {}
}

/** The start of a list query's WHERE clause: the state terms, judged at store time `now`. */
function stateFilter(states: readonly ClaimState[], now: number): { where: string[]; params: unknown[] } {
  const params: unknown[] = [];
  const terms = states.map((state) => {
    if (state === "active" || state === "expired") {
      params.push(now);
      return `(state = 'active' AND expires_at ${state === "active" ? ">" : "<="} ?)`;
    }
    params.push(state);
    return "state = ?";
  });
  return { where: terms.length > 0 ? [`(${terms.join(" OR ")})`] : [], params };
}

/** Per listed state: its WHERE term (live ones compare with the time `?`) and the index to read. */
const LIST_BY_STATE: Record<ClaimState, { term: string; index: string }> = {
  active: { term: "state = 'active' AND expires_at > ?", index: "claims_live" },
  expired: { term: "state = 'active' AND expires_at <= ?", index: "claims_live" },
  completed: { term: "state = 'completed'", index: "claims_recent" },
  released: { term: "state = 'released'", index: "claims_released" },
  abandoned: { term: "state = 'abandoned'", index: "claims_abandoned" },
};

// The hot statements' SQL, built once: #stmt looks statements up by their text, and a
// template rebuilt on every call was hashed again on every call.
/** What a group-commit batch remembers under its write lock (see SqliteStore's #batch). */
interface BatchMemo {
  now: number | undefined;
  token: number | undefined;
  /** Whether the counter row holds `token` (it is written once, before the batch commits). */
  tokenWritten: boolean;
}

/** The fencing-token counter: read, then set to the token drawn (#drawToken). */
const READ_TOKEN_SQL = "SELECT value FROM counters WHERE name = 'fencing_token'";
const SET_TOKEN_SQL = "UPDATE counters SET value = ? WHERE name = 'fencing_token'";

/** A claim's row by key. */
const CLAIM_ROW_SQL = `SELECT ${CLAIM_COLUMNS} FROM claims WHERE key = ?`;

/** A claims row read as an array in CLAIM_COLUMNS' order (see SqliteStore's #claimGet). */
function claimRowOf(r: unknown[]): ClaimRow {
  return {
    key: r[0] as string,
    agent: r[1] as string,
    token: r[2] as number,
    state: r[3] as ClaimRow["state"],
    claimed_at: r[4] as number,
    renewed_at: r[5] as number | null,
    expires_at: r[6] as number,
    ended_at: r[7] as number | null,
    meta: r[8] as string | null,
    result: r[9] as string | null,
    commit_sha: r[10] as string | null,
    reason: r[11] as string | null,
  };
}

/** A holder's claim of its own live key: the lease renewed. */
const RENEW_OWN_SQL = `UPDATE claims SET expires_at = ?, renewed_at = ?, meta = coalesce(?, meta)
  WHERE key = ? RETURNING ${CLAIM_COLUMNS}`;

/** A grant of a key that has no row: nothing happens when it has one (the caller then reads it). */
const GRANT_NEW_SQL = `INSERT INTO claims (key, agent, token, state, claimed_at, renewed_at, expires_at, meta)
  VALUES (?, ?, ?, 'active', ?, NULL, ?, ?) ON CONFLICT (key) DO NOTHING`;

/** A grant: the key's row inserted or replaced, with a new token (the caller builds the row it wrote). */
const GRANT_SQL = `INSERT INTO claims (key, agent, token, state, claimed_at, renewed_at, expires_at, meta)
  VALUES (?, ?, ?, 'active', ?, NULL, ?, ?)
  ON CONFLICT (key) DO UPDATE SET
    agent = excluded.agent, token = excluded.token, state = 'active',
    claimed_at = excluded.claimed_at, renewed_at = NULL, expires_at = excluded.expires_at,
    ended_at = NULL, meta = excluded.meta, result = NULL, commit_sha = NULL, reason = NULL`;

/** renew: the holder's live claim, the lease extended (a null TTL keeps its length). */
const RENEW_SQL = `UPDATE claims SET expires_at = ? + coalesce(?, expires_at - coalesce(renewed_at, claimed_at)), renewed_at = ?
  WHERE key = ? AND agent = ? AND state = 'active' AND expires_at > ?
  RETURNING ${CLAIM_COLUMNS}`;

/** complete: the claim ended as completed (its holder's live claim, checked on the row just read). */
const COMPLETE_SQL = "UPDATE claims SET state = 'completed', ended_at = ?, result = ?, commit_sha = ? WHERE key = ?";

/** Whether the holder has an active path claim granted with a work claim (path_claims_work). */
const HAS_LINKED_PATHS_SQL = "SELECT 1 FROM path_claims WHERE agent = ? AND work_key = ? AND state = 'active' LIMIT 1";

/** The holder's active path claims granted with a work claim, ended. */
const END_LINKED_PATHS_SQL = `UPDATE path_claims SET state = ?, ended_at = ?, commit_sha = coalesce(?, commit_sha)
  WHERE agent = ? AND work_key = ? AND state = 'active' RETURNING ${PATH_COLUMNS}`;

/** release / abandon: the holder's active claim ended (an expired one too). */
const END_SQL = `UPDATE claims SET state = ?, ended_at = ?, commit_sha = ?, reason = ?
  WHERE key = ? AND agent = ? AND state = 'active'
  RETURNING ${CLAIM_COLUMNS}`;

/** The claims a reap takes: active, expired at `?` (the cutoff) or before. Read through the live index. */
const REAP_WHERE = "state = 'active' AND expires_at <= ?";

/**
 * reap's read: the stale claims as one JSON array of columns ({@link ReapedColumns}), in the
 * live index's order. One JSON value because better-sqlite3 builds a JS object per row (most
 * of the time at 100,000 rows); columns because one parsed array per claim cost a third more.
 */
const REAP_READ_SQL = `SELECT json_array(json_group_array(key), json_group_array(agent), json_group_array(token),
    json_group_array(claimed_at), json_group_array(expires_at), json_group_array(meta),
    json_group_array(result), json_group_array(commit_sha))
  FROM claims INDEXED BY claims_live WHERE ${REAP_WHERE}`;

/**
 * An epoch-millisecond column `ms` as JavaScript's `toISOString()` writes it. `date()` and
 * integer arithmetic: `strftime('%f')` on a REAL took 1.5 µs a row, a third of reap's event
 * insert (bench/reap.mjs). Exact for 1970 to 9999; earlier times (never a stale claim's) take strftime.
 */
const isoSql = (ms: string): string =>
  `CASE WHEN ${ms} >= 0 THEN date(${ms} / 1000, 'unixepoch') || printf('T%02d:%02d:%02d.%03dZ', ${ms} / 3600000 % 24, ${ms} / 60000 % 60, ${ms} / 1000 % 60, ${ms} % 1000)
   ELSE strftime('%Y-%m-%dT%H:%M:%fZ', ${ms} / 1000.0, 'unixepoch') END`;

/** Whether any claim is there to reap (the cutoff `?`). */
const REAP_ANY_SQL = `SELECT 1 FROM claims INDEXED BY claims_live WHERE ${REAP_WHERE} LIMIT 1`;

/** reap's events, in reap order: `?` the time, the detail's head (`{` or `{"by":…,`), the cutoff. */
const REAP_EVENTS_SQL = `INSERT OR FAIL INTO events (at, kind, key, agent, token, detail)
  SELECT ?, 'reaped', key, agent, token, ? || '"expiredAt":"' || ${isoSql("expires_at")} || '"}'
  FROM claims WHERE ${REAP_WHERE} ORDER BY expires_at, key`;

/** reap's claims, abandoned: `?` the time, the reason, the cutoff. */
const REAP_CLAIMS_SQL = `UPDATE OR FAIL claims SET state = 'abandoned', ended_at = ?, reason = ? WHERE ${REAP_WHERE}`;

/**
 * The least string above every string that starts with `prefix`, in code point order (which
 * is SQLite's BINARY order of UTF-8): the last code point below U+10FFFF raised by one, what
 * follows it dropped. `null` when there is none (a prefix of U+10FFFF only).
 */
function prefixUpperBound(prefix: string): string | null {
  const points = [...prefix];
  while (points.length > 0) {
    const last = (points.pop() as string).codePointAt(0) as number;
    const next = last === 0xd7ff ? 0xe000 : last + 1;
    if (next <= 0x10ffff) return points.join("") + String.fromCodePoint(next);
  }
  return null;
}

/** SQLite's BINARY order of two keys (UTF-8 bytes), which UTF-16 comparison is not. */
function byteOrder(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** What the path planner reads of a live path claim. */
interface LivePathRow {
  id: number;
  pattern: string;
  agent: string;
  mode: "exclusive" | "shared";
}

/** The SQLite implementation of {@link Store}. Open it with {@link openSqliteStore}. */
export class SqliteStore implements Store {
  readonly capabilities: StoreCapabilities = { serverClock: false, multiMachine: false, watch: true };
  readonly description: string;
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #clock: () => number;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #rawStatements = new Map<string, Database.Statement>();
  /** The file opened (device, inode); undefined for `:memory:`. */
  readonly #identity: FileIdentity | undefined;
  /**
   * One transaction wrapper for every write: better-sqlite3 builds a wrapper per
   * `transaction()` call, which was ~12% of a claim+complete pair's CPU.
   */
  readonly #transaction: Database.Transaction<(body: () => unknown) => unknown>;
  /** With group commit on: the batcher every write goes through. */
  readonly #group: GroupCommit | undefined;
  /** With group commit at synchronous=FULL: the WAL's fsync, run off the event loop. */
  readonly #wal: WalSync | undefined;
  #closed = false;
  /** The watch (see {@link SqliteStore.watchEvents}); undefined while nobody watches. */
  #watch: SqliteWatch | undefined;
  readonly #watchPollMs: number;
  readonly #busyTimeoutMs: number;
  /** Whether the write being decided logged an event (whose time then records the clock's mark). */
  #logged = false;
  /**
   * The minute of `event_marks` known to hold its row (schema 9): its row was inserted, or found,
   * by a transaction of this connection that committed, so events of that minute skip the
   * INSERT OR IGNORE. Rows are never deleted. Off with group commit, where one operation's
   * savepoint can roll back while the batch commits.
   */
  #markedMinute = -1;
  /** The minute marked by the write being decided, known once it commits. */
  #markPending = -1;
  /** Live tokens found by tokenByHash, by digest, valid while `data_version` is `#tokensVersion`. */
  readonly #liveTokens = new Map<string, TokenRecord>();
  /**
   * While a group-commit batch holds the write lock: the last decision's time and the last
   * token drawn, which no other connection can change until the batch ends.
   */
  #batch: BatchMemo | undefined;
  #tokensVersion = -1;

  constructor(
    db: Database.Database,
    path: string,
    clock: () => number,
    identity?: FileIdentity,
    options: {
      watchPollMs?: number;
      busyTimeoutMs?: number;
      groupCommit?: GroupCommitOptions | false;
      /** The connection is at synchronous=FULL: with group commit, sync off the event loop instead. */
      syncFull?: boolean;
    } = {},
  ) {
    this.#db = db;
    this.#transaction = db.transaction((body: () => unknown) => body());
    if (options.groupCommit !== undefined && options.groupCommit !== false && options.syncFull === true) {
      // FULL's promise kept off the event loop: commit without the fsync, answer after one (sqlite-batch.ts).
      this.#wal = new WalSync(path);
      db.pragma("synchronous = NORMAL");
    }
    // With group commit the file is checked once a batch, under its lock (see #write).
    this.#group =
      options.groupCommit === undefined || options.groupCommit === false
        ? undefined
        : new GroupCommit(db, options.groupCommit, {
            begin: () => {
              if (this.#identity !== undefined) assertSameFile(this.#path, this.#identity);
              this.#batch = { now: undefined, token: undefined, tokenWritten: true };
            },
            // The token counter is written once a batch, with the last token drawn.
            finish: () => {
              const batch = this.#batch;
              if (batch !== undefined && !batch.tokenWritten) this.#stmt(SET_TOKEN_SQL).run(batch.token);
            },
            end: () => {
              this.#batch = undefined;
            },
            sync: this.#wal?.sync,
          });
    this.#path = path;
    this.#clock = clock;
    this.#identity = identity;
    this.description = `sqlite:${path}`;
    this.#watchPollMs = options.watchPollMs ?? DEFAULT_WATCH_POLL_MS;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  }

  /** Group-commit counts (batches committed, operations carried), or undefined when it is off. */
  get groupCommitStats(): GroupCommitStats | undefined {
    return this.#group?.stats;
  }

  /** The underlying connection, for tests and benchmarks that compare against bare SQL. */
  get database(): Database.Database {
    return this.#db;
  }

  /**
   * A statement that answers claims rows, read as arrays (`raw`) and built here: better-sqlite3
   * makes an object row by adding each column as a new property (twelve map transitions a
   * row, about a sixth of an in-process claim+complete pair's instructions under callgrind);
   * an array and one object literal cost less than half.
   */
  #claimGet(sql: string, ...params: unknown[]): ClaimRow | undefined {
    const row = this.#rawStmt(sql).get(...params) as unknown[] | undefined;
    return row === undefined ? undefined : claimRowOf(row);
  }

  /** {@link #claimGet} for every row. */
  #claimAll(sql: string, ...params: unknown[]): ClaimRow[] {
    return (this.#rawStmt(sql).all(...params) as unknown[][]).map(claimRowOf);
  }

  #rawStmt(sql: string): Database.Statement {
    let statement = this.#rawStatements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql).raw(true);
      this.#rawStatements.set(sql, statement);
    }
    return statement;
  }

  #stmt(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Run `fn` in one BEGIN IMMEDIATE transaction with the clock read after the lock. With
   * `rollbackable`, `fn` may throw a {@link Rollback} to undo everything and answer with its value.
   * With group commit on, `fn` runs in a savepoint of the next batch and the answer is a promise
   * settled after that batch commits (see sqlite-batch.ts).
   */
  #write<T>(fn: (now: number) => T, rollbackable = false): T | Promise<T> {
    if (this.#group !== undefined) {
      // The file check runs once for the whole batch, when it begins (GroupCommit's guard).
      this.#assertNotClosed();
      return this.#grouped(fn, rollbackable);
    }
    this.#assertOpen();
    try {
      this.#markPending = -1;
      const value = this.#transaction.immediate(() => this.#decide(fn)) as T;
      if (this.#markPending !== -1) this.#markedMinute = this.#markPending;
      // This process's own commits wake its watchers at once, not at the next data_version check.
      this.#watch?.committed();
      return value;
    } catch (error) {
      if (rollbackable && error instanceof Rollback) return error.value as T;
      throw translateError(error, this.#path);
    }
  }

  /** Group commit: `fn` is decided in the next batch's transaction, answered after it commits. */
  #grouped<T>(fn: (now: number) => T, rollbackable: boolean): Promise<T> {
    const recover = (error: unknown): T => {
      if (rollbackable && error instanceof Rollback) return error.value as T;
      throw translateError(error, this.#path);
    };
    const alone = (): T => {
      try {
        return this.#transaction.immediate(() => this.#decide(fn)) as T;
      } catch (error) {
        return recover(error);
      }
    };
    const answer = (this.#group as GroupCommit).submit(() => this.#decide(fn), recover, alone, rollbackable);
    // As without group commit: this process's commits wake its watchers at once. (Without a
    // watcher now, none is waiting: one started later reads the log when it starts, then
    // follows data_version.) Not a promise reaction a write otherwise.
    if (this.#watch !== undefined) {
      answer.then(
        () => this.#watch?.committed(),
        () => undefined,
      );
    }
    return answer;
  }

  /** A read, answered once what it saw is durable (with group commit syncing off the loop). */
  #read<T>(fn: (now: number) => T): T | Promise<T> {
    this.#assertOpen();
    let value: T;
    try {
      value = fn(this.#readTime());
    } catch (error) {
      throw translateError(error, this.#path);
    }
    return this.#group === undefined ? value : this.#group.afterDurable(value);
  }

  /**
   * A read that needs neither the clock nor the file check: the token lookup every server
   * request starts with (the operation that follows checks the file before it decides).
   */
  #lookup<T>(fn: () => T): T {
    this.#assertNotClosed();
    try {
      return fn();
    } catch (error) {
      throw translateError(error, this.#path);
    }
  }

  #assertOpen(): void {
    this.#assertNotClosed();
    if (this.#identity !== undefined) assertSameFile(this.#path, this.#identity);
  }

  #assertNotClosed(): void {
    if (this.#closed) throw new BatonError("STORE_CLOSED", "this Baton handle is closed; open a new one");
  }

  /**
   * Decide `fn` under the write lock at the clock, never earlier than the latest time recorded;
   * that time is recorded by the events `fn` logs (each at `now`), or, if it logs none, in the
   * `clock_ms` counter (sqlite-guard.ts).
   */
  #decide<T>(fn: (now: number) => T): T {
    // In a group-commit batch the time recorded is the previous decision's own `now` (each one
    // logs an event at it or advances clock_ms to it), so the clock is not read back from the
    // table again: that SELECT was one of a claim's seven statements.
    const now = this.#batch === undefined ? this.#readTime() : this.#batchTime(this.#batch);
    this.#logged = false;
    const value = fn(now);
    if (!this.#logged) this.#stmt(ADVANCE_CLOCK_SQL).run(now);
    if (this.#batch !== undefined) this.#batch.now = now;
    return value;
  }

  /** A batch's decision time: its first one reads the table, the next ones follow the last. */
  #batchTime(batch: BatchMemo): number {
    return batch.now === undefined ? this.#readTime() : Math.max(this.#clock(), batch.now);
  }

  /**
   * The next fencing token, under the write lock: the store-wide counter read and set (an
   * UPDATE ... RETURNING cost three times as much). In a group-commit batch the counter is
   * read once: nobody else writes while the batch holds the lock. A decision rolled back to
   * its savepoint after drawing leaves a gap, never a repeat (tokens only need to grow).
   */
  #drawToken(): number {
    const token = this.#nextToken();
    this.#takeToken(token);
    return token;
  }

  /** The token the next draw hands out (nothing taken yet). */
  #nextToken(): number {
    return (this.#batch?.token ?? (this.#stmt(READ_TOKEN_SQL).pluck().get() as number)) + 1;
  }

  /** Take `token` (the one {@link #nextToken} gave): the counter says so, or the batch will. */
  #takeToken(token: number): void {
    const batch = this.#batch;
    if (batch === undefined) this.#stmt(SET_TOKEN_SQL).run(token);
    else {
      batch.token = token;
      batch.tokenWritten = false;
    }
  }

  /** The clock, never earlier than the latest time recorded (the newest event's, or `clock_ms`). */
  #readTime(): number {
    return this.#stmt(CLOCK_MARK_SQL).pluck().get(this.#clock()) as number;
  }

  #toClaim(row: ClaimRow, now: number): Claim {
    return toClaim(row, now);
  }

  #row(key: string): ClaimRow | undefined {
    return this.#claimGet(CLAIM_ROW_SQL, key);
  }

  #event(
    now: number,
    kind: EventKind,
    key: string,
    agent: string,
    token: number | null,
    commit: string | null,
    detail: Record<string, unknown> | null,
  ): number | bigint {
    const { lastInsertRowid } = this.#stmt(
      "INSERT INTO events (at, kind, key, agent, token, commit_sha, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ).run(now, kind, key, agent, token, commit, detail === null ? null : JSON.stringify(detail));
    this.#logged = true;
    this.#markMinute(now, lastInsertRowid);
    return lastInsertRowid;
  }

  /**
   * Record `id` as the first event of `now`'s minute unless one is recorded (schema 9's
   * event_marks): called with every event logged, in id order, so each minute's row holds
   * its smallest id. A read, and a write once a minute.
   */
  #markMinute(now: number, id: number | bigint): void {
    const minute = Math.floor(now / 60_000);
    if (minute === this.#markedMinute) return;
    this.#stmt("INSERT OR IGNORE INTO event_marks (minute, first_id) VALUES (?, ?)").run(minute, id);
    if (this.#group === undefined) this.#markPending = minute;
  }

  async now(): Promise<Date> {
    return new Date(await this.#read((now) => now));
  }

  async claim(input: ClaimInput): Promise<ClaimOutcome> {
    return this.#write((now) => this.#claimAt(now, input));
  }

  /** The claim decision, inside a write transaction. */
  #claimAt(now: number, input: ClaimInput): ClaimOutcome {
    {
      // A key with no row yet (most grants: new work) is granted by one INSERT that does
      // nothing when the key has a row; only then is the row read and judged. (The read that
      // found nothing was one of a fresh grant's four statements.)
      const meta = input.meta === null ? null : JSON.stringify(input.meta);
      const next = this.#nextToken();
      if (this.#stmt(GRANT_NEW_SQL).run(input.key, input.agent, next, now, now + input.ttlMs, meta).changes === 1) {
        this.#takeToken(next);
        return this.#granted(now, input, next, meta, undefined);
      }
      const row = this.#row(input.key);
      if (row !== undefined && row.state === "active" && row.expires_at > now) {
        if (row.agent === input.agent) {
          const ttlMs = input.keepTtl === true ? row.expires_at - (row.renewed_at ?? row.claimed_at) : input.ttlMs;
          const renewed = this.#claimGet(
            RENEW_OWN_SQL,
            now + ttlMs,
            now,
            input.meta === null ? null : JSON.stringify(input.meta),
            input.key,
          ) as ClaimRow;
          this.#event(now, "renewed", input.key, input.agent, row.token, null, { ttlMs });
          return { outcome: "renewed", claim: this.#toClaim(renewed, now) };
        }
        this.#event(now, "denied", input.key, input.agent, null, null, {
          code: "CLAIM_HELD",
          holder: row.agent,
          holderToken: row.token,
          expiresAt: isoString(new Date(row.expires_at)),
        });
        return { outcome: "denied", claim: this.#toClaim(row, now), now: new Date(now) };
      }
      if (
        row !== undefined &&
        row.state === "completed" &&
        !input.reopen &&
        row.ended_at !== null &&
        row.ended_at > now - input.doneWindowMs
      ) {
        this.#event(now, "denied", input.key, input.agent, null, null, {
          code: "CLAIM_DONE",
          holder: row.agent,
          holderToken: row.token,
          completedAt: isoString(new Date(row.ended_at)),
        });
        return { outcome: "done", claim: this.#toClaim(row, now) };
      }
      const token = this.#drawToken();
      this.#stmt(GRANT_SQL).run(input.key, input.agent, token, now, now + input.ttlMs, meta);
      return this.#granted(now, input, token, meta, row);
    }
  }

  /** A grant's answer and its event, once GRANT_SQL or GRANT_NEW_SQL wrote the row (`row`: the one it replaced). */
  #granted(
    now: number,
    input: ClaimInput,
    token: number,
    meta: string | null,
    row: ClaimRow | undefined,
  ): ClaimOutcome {
    // The row as the grant wrote it, built here: RETURNING doubled the statement's cost.
    const granted: ClaimRow = {
      key: input.key,
      agent: input.agent,
      token,
      state: "active",
      claimed_at: now,
      renewed_at: null,
      expires_at: now + input.ttlMs,
      ended_at: null,
      meta,
      result: null,
      commit_sha: null,
      reason: null,
    };
    const previous = row === undefined ? null : this.#toClaim(row, now);
    this.#event(now, "granted", input.key, input.agent, token, null, {
      ttlMs: input.ttlMs,
      ...(previous === null
        ? {}
        : { previousAgent: previous.agent, previousState: previous.state, previousToken: previous.token }),
      ...(input.reopen && previous?.state === "completed" ? { reopened: true } : {}),
    });
    return { outcome: "granted", claim: this.#toClaim(granted, now), previous };
  }

  /** Why `agent` cannot act on `key` now (called after a guarded update matched nothing). */
  #notHeld(key: string, agent: string, now: number, allowExpired: boolean): MutationOutcome {
    return this.#notHeldRow(this.#row(key), agent, now, allowExpired);
  }

  /** Why `agent` cannot act on the claim whose row (read under the write lock) is `row`. */
  #notHeldRow(row: ClaimRow | undefined, agent: string, now: number, allowExpired: boolean): MutationOutcome {
    if (row === undefined) return { ok: false, code: "NOT_FOUND", claim: null };
    const claim = this.#toClaim(row, now);
    if (row.agent === agent && row.state === "active" && !allowExpired && row.expires_at <= now) {
      return { ok: false, code: "CLAIM_EXPIRED", claim };
    }
    return { ok: false, code: "NOT_HOLDER", claim };
  }

  async renew(input: RenewInput): Promise<MutationOutcome> {
    return this.#write((now): MutationOutcome => {
      // A null TTL keeps the lease length: the old expiry minus the old grant or renewal time.
      const row = this.#claimGet(RENEW_SQL, now, input.ttlMs, now, input.key, input.agent, now) as ClaimRow | undefined;
      if (row === undefined) return this.#notHeld(input.key, input.agent, now, false);
      this.#event(now, "renewed", input.key, input.agent, row.token, null, { ttlMs: row.expires_at - now });
      return { ok: true, claim: this.#toClaim(row, now) };
    });
  }

  async complete(input: EndInput): Promise<MutationOutcome> {
    return this.#write((now): MutationOutcome => {
      // The row read, judged and rewritten under the write lock; the completed row built here
      // from it (a guarded UPDATE ... RETURNING cost more than the read and a plain UPDATE).
      const held = this.#row(input.key);
      if (held === undefined || held.agent !== input.agent || held.state !== "active" || held.expires_at <= now) {
        return this.#notHeldRow(held, input.agent, now, false);
      }
      const row: ClaimRow = {
        ...held,
        state: "completed",
        ended_at: now,
        result: input.result ?? null,
        commit_sha: input.commit ?? null,
      };
      this.#stmt(COMPLETE_SQL).run(now, row.result, row.commit_sha, input.key);
      this.#event(
        now,
        "completed",
        input.key,
        input.agent,
        row.token,
        input.commit ?? null,
        input.result ? { result: input.result } : null,
      );
      if (input.key.startsWith("task:")) {
        this.#stmt("UPDATE tasks SET state = 'done', done_at = ?, updated_at = ? WHERE id = ? AND state = 'open'").run(
          now,
          now,
          input.key.slice("task:".length),
        );
      }
      this.#endLinkedPaths(now, input.key, input.agent, "released", input.commit ?? null);
      return { ok: true, claim: this.#toClaim(row, now) };
    });
  }

  /**
   * End the holder's active path claims granted with the work claim `workKey` (inside the
   * work claim's transaction): released (with the commit, if one is given) or abandoned.
   */
  #endLinkedPaths(
    now: number,
    workKey: string,
    holder: string,
    state: "released" | "abandoned",
    commit: string | null,
  ): void {
    // Most work claims have none: a read through the index of linked path claims is a third of
    // the UPDATE ... RETURNING that finds nothing.
    if (this.#stmt(HAS_LINKED_PATHS_SQL).get(holder, workKey) === undefined) return;
    const rows = this.#stmt(END_LINKED_PATHS_SQL).all(state, now, commit, holder, workKey) as PathRow[];
    rows.sort((a, b) => a.id - b.id);
    for (const row of rows) {
      this.#event(
        now,
        state,
        pathEventKey(row.pattern),
        holder,
        row.token,
        commit,
        pathDetail.endedWith(row.repo, workKey),
      );
    }
  }

  // Release and abandon accept an expired claim that nobody took over: the holder
  // is still the last one who had it, and saying so is better than silence.
  #end(input: EndInput, state: "released" | "abandoned"): Promise<MutationOutcome> {
    const outcome = this.#write((now): MutationOutcome => {
      const row = this.#claimGet(
        END_SQL,
        state,
        now,
        input.commit ?? null,
        input.reason ?? null,
        input.key,
        input.agent,
      ) as ClaimRow | undefined;
      if (row === undefined) return this.#notHeld(input.key, input.agent, now, true);
      this.#event(
        now,
        state,
        input.key,
        input.agent,
        row.token,
        input.commit ?? null,
        input.reason ? { reason: input.reason } : null,
      );
      this.#endLinkedPaths(now, input.key, input.agent, state, input.commit ?? null);
      return { ok: true, claim: this.#toClaim(row, now) };
    });
    return Promise.resolve(outcome);
  }

  async release(input: EndInput): Promise<MutationOutcome> {
    return this.#end(input, "released");
  }

  async abandon(input: EndInput): Promise<MutationOutcome> {
    return this.#end(input, "abandoned");
  }

  async reap(input: ReapInput): Promise<Claim[]> {
    return this.#write((now) => {
      const cutoff = now - input.minAgeMs;
      // The rows come in reap order straight from the live index (it holds the key after
      // expires_at), aggregated as the scan meets them; the order is checked and restored if
      // the planner ever walks them otherwise.
      let stale = JSON.parse(this.#stmt(REAP_READ_SQL).pluck().get(cutoff) as string) as ReapedColumns;
      if (stale[0].length === 0) return [];
      if (!inReapOrder(stale, byteOrder)) stale = sortReaped(stale, byteOrder);
      this.#reapAt(now, cutoff, input.by);
      return toReapedClaims(stale, now);
    });
  }

  async reapCount(input: ReapInput): Promise<number> {
    return this.#write((now) => {
      const cutoff = now - input.minAgeMs;
      if (this.#stmt(REAP_ANY_SQL).get(cutoff) === undefined) return 0;
      return this.#reapAt(now, cutoff, input.by);
    });
  }

  /**
   * Reap the claims active and expired at `cutoff` (some are), inside the write transaction,
   * set-based (no renewal or grant can come between the statements): the events inserted with
   * one INSERT ... SELECT, the linked path claims ended with one UPDATE, then the claims with
   * one. bench/reap.mjs. Returns how many claims it reaped.
   */
  #reapAt(now: number, cutoff: number, by: string | null): number {
    this.#markMinute(
      now,
      ((this.#stmt("SELECT max(id) AS id FROM events").get() as { id: number | null }).id ?? 0) + 1,
    );
    const head = by === null ? "{" : `${JSON.stringify({ by }).slice(0, -1)},`;
    this.#stmt(REAP_EVENTS_SQL).run(now, head, cutoff);
    this.#logged = true;
    this.#endReapedPaths(now, cutoff);
    return this.#stmt(REAP_CLAIMS_SQL).run(now, REAP_REASON, cutoff).changes;
  }

  /**
   * Abandon the path claims granted with the claims being reaped (still active, expired at
   * `cutoff`), with one UPDATE through the index of live linked path claims, and log them as
   * the per-claim ending did: by work claim in reap order (its expiry, then its key), then by id.
   */
  #endReapedPaths(now: number, cutoff: number): void {
    const rows = this.#stmt(
      `UPDATE path_claims SET state = 'abandoned', ended_at = ?
       WHERE state = 'active' AND work_key IS NOT NULL
         AND EXISTS (SELECT 1 FROM claims c WHERE c.key = path_claims.work_key AND c.agent = path_claims.agent
                       AND c.state = 'active' AND c.expires_at <= ?)
       RETURNING ${PATH_COLUMNS}, (SELECT expires_at FROM claims c WHERE c.key = path_claims.work_key) AS work_expires_at`,
    ).all(now, cutoff) as (PathRow & { work_expires_at: number })[];
    if (rows.length === 0) return;
    rows.sort(
      (a, b) =>
        a.work_expires_at - b.work_expires_at || byteOrder(a.work_key as string, b.work_key as string) || a.id - b.id,
    );
    for (const row of rows) {
      this.#event(
        now,
        "abandoned",
        pathEventKey(row.pattern),
        row.agent,
        row.token,
        null,
        pathDetail.endedWith(row.repo, row.work_key as string),
      );
    }
  }

  async resolve(input: ResolveInput): Promise<ResolveOutcome> {
    return this.#write((now): ResolveOutcome => {
      const row = this.#row(input.key);
      if (row === undefined) return { ok: false, code: "NOT_FOUND", claim: null };
      const expired = row.state === "active" && row.expires_at <= now;
      if (row.state !== "abandoned" && !expired)
        return { ok: false, code: "NOT_LOOSE_END", claim: this.#toClaim(row, now) };
      const resolved = this.#claimGet(
        `UPDATE claims SET state = 'released', ended_at = coalesce(ended_at, ?), reason = ?
         WHERE key = ? RETURNING ${CLAIM_COLUMNS}`,
        now,
        input.note === null ? "resolved" : `resolved: ${input.note}`,
        input.key,
      ) as ClaimRow;
      const previousState = expired ? "expired" : "abandoned";
      this.#event(now, "resolved", input.key, input.agent, row.token, null, {
        previousState,
        holder: row.agent,
        ...(input.note === null ? {} : { note: input.note }),
      });
      this.#endLinkedPaths(now, input.key, row.agent, "released", null);
      return { ok: true, claim: this.#toClaim(resolved, now), previousState };
    });
  }

  async handoff(input: HandoffInput): Promise<MutationOutcome> {
    return this.#write((now): MutationOutcome => {
      const row = this.#row(input.key);
      if (row === undefined || row.agent !== input.agent || row.state !== "active" || row.expires_at <= now) {
        return this.#notHeld(input.key, input.agent, now, false);
      }
      const token = this.#drawToken();
      const lease = row.expires_at - (row.renewed_at ?? row.claimed_at);
      const moved = this.#claimGet(
        `UPDATE claims SET agent = ?, token = ?, claimed_at = ?, renewed_at = NULL, expires_at = ?
         WHERE key = ? RETURNING ${CLAIM_COLUMNS}`,
        input.to,
        token,
        now,
        now + lease,
        input.key,
      ) as ClaimRow;
      const paths = this.#stmt(
        "UPDATE path_claims SET agent = ?, token = ?, expires_at = ? WHERE agent = ? AND work_key = ? AND state = 'active'",
      ).run(input.to, token, now + lease, input.agent, input.key).changes;
      this.#event(now, "handed_off", input.key, input.agent, token, null, {
        to: input.to,
        previousToken: row.token,
        ...(paths > 0 ? { paths } : {}),
        ...(input.note === null ? {} : { note: input.note }),
      });
      return { ok: true, claim: this.#toClaim(moved, now) };
    });
  }

  async get(key: string): Promise<Claim | null> {
    return this.#read((now) => {
      const row = this.#row(key);
      return row === undefined ? null : this.#toClaim(row, now);
    });
  }

  async list(filter: ListFilter): Promise<Claim[]> {
    return this.#read((now) => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.agent !== undefined) {
        where.push("agent = ?");
        params.push(filter.agent);
      }
      const prefixed = filter.prefix !== undefined && filter.prefix.length > 0;
      if (prefixed) {
        // Both ends of the key range: with `key >= ?` alone the primary-key scan ran from the
        // prefix to the last key (every `task:` claim for a `gate:` listing: 100 ms at 100,000).
        const upper = prefixUpperBound(filter.prefix as string);
        where.push(`key >= ?${upper === null ? "" : " AND key < ?"} AND substr(key, 1, ?) = ?`);
        params.push(filter.prefix, ...(upper === null ? [] : [upper]), filter.prefix.length, filter.prefix);
      }
      // One query per state, each through the index that holds that state's rows in listing
      // order or a small set (live claims), then merged: as one query with ORed states the
      // planner walked every claim for a rare state, or sorted every completed one.
      const states = filter.states.length > 0 ? [...new Set(filter.states)] : CLAIM_STATES;
      const rows = states.flatMap((state) => {
        const { term, index } = LIST_BY_STATE[state];
        const using = prefixed && index === "claims_recent" ? "" : ` INDEXED BY ${index}`;
        const sql = `SELECT ${CLAIM_COLUMNS} FROM claims${using} WHERE ${[term, ...where].join(" AND ")}
                     ORDER BY claimed_at DESC, key LIMIT ?`;
        const live = state === "active" || state === "expired" ? [now] : [];
        return this.#claimAll(sql, ...live, ...params, filter.limit);
      });
      if (states.length > 1) rows.sort((a, b) => b.claimed_at - a.claimed_at || byteOrder(a.key, b.key));
      return rows.slice(0, filter.limit).map((row) => this.#toClaim(row, now));
    });
  }

  async events(filter: EventFilter): Promise<BatonEvent[]> {
    return this.#read((now) => {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.key !== undefined) {
        where.push("key = ?");
        params.push(filter.key);
      }
      if (filter.agent !== undefined) {
        where.push("agent = ?");
        params.push(filter.agent);
      }
      if (filter.sinceMs !== undefined) {
        // From the first event of the window's first minute on (event_marks, schema 9): a
        // range of ids, which the key and agent indexes also read as one.
        const since = now - filter.sinceMs;
        where.push(
          "id >= (SELECT coalesce(min(first_id), 9007199254740991) FROM event_marks WHERE minute >= ?) AND at >= ?",
        );
        params.push(Math.floor(since / 60_000), since);
      }
      if (filter.kinds !== undefined && filter.kinds.length > 0) {
        where.push(`kind IN (${filter.kinds.map(() => "?").join(", ")})`);
        params.push(...filter.kinds);
      }
      if (filter.afterId !== undefined) {
        // A cursor: the oldest events after it, in id order (a follower pages forward).
        where.push("id > ?");
        params.push(filter.afterId, filter.limit);
        const sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(" AND ")} ORDER BY id ASC LIMIT ?`;
        return (this.#stmt(sql).all(...params) as EventRow[]).map(toEvent);
      }
      params.push(filter.limit);
      const sql = `SELECT ${EVENT_COLUMNS} FROM events
                   ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
      const rows = this.#stmt(sql).all(...params) as EventRow[];
      return rows.reverse().map(toEvent);
    });
  }

  /** Just what the planner needs of the repository's live path claims (fast on 10 000s). */
  #livePaths(repo: string, now: number): LivePathRow[] {
    const rows = this.#stmt(
      "SELECT id, pattern, agent, mode FROM path_claims WHERE repo = ? AND state = 'active' AND expires_at > ?",
    ).all(repo, now) as LivePathRow[];
    return rows.sort((a, b) => a.id - b.id);
  }

  /** Full path claims for the conflicts found, in the planner's order. */
  #conflictClaims(conflicts: readonly { pattern: string; held: LivePathRow }[], now: number): PathConflict[] {
    const ids = [...new Set(conflicts.map((c) => c.held.id))];
    const full = new Map<number, PathClaim>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.#stmt(
        `SELECT ${PATH_COLUMNS} FROM path_claims WHERE id IN (${chunk.map(() => "?").join(", ")})`,
      ).all(...chunk) as PathRow[];
      for (const row of rows) full.set(Number(row.id), toPathClaim(row, now));
    }
    return conflicts.map((c) => ({ pattern: c.pattern, held: full.get(c.held.id) as PathClaim }));
  }

  async claimPaths(input: PathClaimInput): Promise<PathClaimOutcome> {
    return this.#write((now) => this.#claimPathsAt(now, input));
  }

  /** The path-claim decision, inside a write transaction. */
  #claimPathsAt(now: number, input: PathClaimInput): PathClaimOutcome {
    {
      const plan = planPathClaim(this.#livePaths(input.repo, now), input);
      const conflicts = this.#conflictClaims(plan.conflicts, now);
      if (conflicts.length > 0 && !input.advisory) {
        for (const denial of pathDenials(input, conflicts)) {
          this.#event(now, "denied", denial.key, input.agent, null, null, denial.detail);
        }
        return { outcome: "conflict", conflicts };
      }
      let work: ClaimOutcome | null = null;
      let token: number | null = null;
      if (input.work !== null) {
        work = this.#claimAt(now, input.work);
        // Nothing of the paths is written yet; the work's denial stays in the log.
        if (work.outcome !== "granted" && work.outcome !== "renewed") return { outcome: "work_refused", work };
        token = work.claim.token;
      }
      const byPattern = new Map<string, PathRow>();
      for (const own of plan.renew) {
        const row = this.#stmt(
          `UPDATE path_claims SET expires_at = ?, renewed_at = ?, mode = ?, reason = coalesce(?, reason),
             work_key = coalesce(?, work_key)
           WHERE id = ? RETURNING ${PATH_COLUMNS}`,
        ).get(now + input.ttlMs, now, input.mode, input.reason, input.work?.key ?? null, own.id) as PathRow;
        this.#event(
          now,
          "renewed",
          pathEventKey(own.pattern),
          input.agent,
          row.token,
          null,
          pathDetail.renewed(input.repo, input.mode, input.ttlMs),
        );
        byPattern.set(own.pattern, row);
      }
      if (plan.insert.length > 0 && token === null) {
        token = this.#drawToken();
      }
      for (const pattern of plan.insert) {
        const row = this.#stmt(
          `INSERT INTO path_claims (repo, pattern, agent, mode, token, state, claimed_at, expires_at, reason, work_key)
           VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?) RETURNING ${PATH_COLUMNS}`,
        ).get(
          input.repo,
          pattern,
          input.agent,
          input.mode,
          token,
          now,
          now + input.ttlMs,
          input.reason,
          input.work?.key ?? null,
        ) as PathRow;
        const overridden = conflicts.filter((c) => c.pattern === pattern).length;
        this.#event(
          now,
          "granted",
          pathEventKey(pattern),
          input.agent,
          row.token,
          null,
          pathDetail.granted(input.repo, input.mode, input.ttlMs, input.work?.key ?? null, overridden),
        );
        byPattern.set(pattern, row);
      }
      return {
        outcome: "granted",
        claims: input.patterns.map((p) => toPathClaim(byPattern.get(p) as PathRow, now)),
        conflicts,
        work,
      };
    }
  }

  /** The agent's active path claims picked by the selector (all, or exact patterns). */
  #selectPaths(selector: PathSelector, onlyLive: boolean, now: number): PathRow[] {
    const rows = this.#stmt(
      `SELECT ${PATH_COLUMNS} FROM path_claims WHERE repo = ? AND agent = ? AND state = 'active'
         AND (? = 0 OR expires_at > ?) ORDER BY id`,
    ).all(selector.repo, selector.agent, onlyLive ? 1 : 0, now) as PathRow[];
    if (selector.patterns === null) return rows;
    const wanted = new Set(selector.patterns);
    return rows.filter((row) => wanted.has(row.pattern));
  }

  /**
   * Change each of the agent's selected path claims (only live ones when `live`) with one
   * UPDATE and log one event per claim: what renew, release and note-commit share.
   */
  async #updatePaths(
    input: PathSelector,
    live: boolean,
    kind: "renewed" | "released" | "committed",
    update: (now: number) => { set: string; params: unknown[] },
    event: (row: PathRow) => { commit: string | null; detail: Record<string, unknown> },
  ): Promise<PathClaim[]> {
    return this.#write((now) => {
      const { set, params } = update(now);
      const statement = this.#stmt(`UPDATE path_claims SET ${set} WHERE id = ? RETURNING ${PATH_COLUMNS}`);
      return this.#selectPaths(input, live, now).map((own) => {
        const row = statement.get(...params, own.id) as PathRow;
        const e = event(row);
        this.#event(now, kind, pathEventKey(row.pattern), input.agent, row.token, e.commit, e.detail);
        return toPathClaim(row, now);
      });
    });
  }

  renewPaths(input: PathSelector & { readonly ttlMs: number }): Promise<PathClaim[]> {
    return this.#updatePaths(
      input,
      true,
      "renewed",
      (now) => ({ set: "expires_at = ?, renewed_at = ?", params: [now + input.ttlMs, now] }),
      (row) => ({ commit: null, detail: pathDetail.renewed(input.repo, row.mode, input.ttlMs) }),
    );
  }

  releasePaths(input: PathSelector & { readonly commit: string | null }): Promise<PathClaim[]> {
    return this.#updatePaths(
      input,
      false,
      "released",
      (now) => ({ set: "state = 'released', ended_at = ?, commit_sha = ?", params: [now, input.commit] }),
      () => ({ commit: input.commit, detail: pathDetail.ended(input.repo) }),
    );
  }

  notePathCommit(input: PathSelector & { readonly commit: string }): Promise<PathClaim[]> {
    return this.#updatePaths(
      input,
      true,
      "committed",
      () => ({ set: "commit_sha = ?", params: [input.commit] }),
      () => ({ commit: input.commit, detail: pathDetail.committed(input.repo) }),
    );
  }

  async recordEvent(input: RecordEventInput): Promise<BatonEvent> {
    return this.#write((now) => {
      const id = this.#event(now, input.kind, input.key, input.agent, null, input.commit, input.detail);
      const row = this.#stmt(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`).get(id) as EventRow;
      return toEvent(row);
    });
  }

  async listPaths(filter: PathListFilter): Promise<PathClaim[]> {
    return this.#read((now) => {
      const { where, params } = stateFilter(filter.states, now);
      if (filter.repo !== undefined) {
        where.push("repo = ?");
        params.push(filter.repo);
      }
      if (filter.agent !== undefined) {
        where.push("agent = ?");
        params.push(filter.agent);
      }
      params.push(filter.limit);
      const sql = `SELECT ${PATH_COLUMNS} FROM path_claims ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                   ORDER BY claimed_at DESC, id DESC LIMIT ?`;
      return (this.#stmt(sql).all(...params) as PathRow[]).map((row) => toPathClaim(row, now));
    });
  }

  async reapPaths(input: ReapInput): Promise<PathClaim[]> {
    return this.#write((now) => {
      // One UPDATE for every stale path claim (expires_at is unchanged, so the returned rows
      // still say when each expired), then one event each in reap order.
      const rows = this.#stmt(
        `UPDATE path_claims SET state = 'abandoned', ended_at = ?, reason = coalesce(reason, 'reaped: expired without release')
         WHERE state = 'active' AND expires_at <= ? RETURNING ${PATH_COLUMNS}`,
      ).all(now, now - input.minAgeMs) as PathRow[];
      rows.sort((a, b) => a.expires_at - b.expires_at || a.id - b.id);
      return rows.map((row) => {
        this.#event(
          now,
          "reaped",
          pathEventKey(row.pattern),
          row.agent,
          row.token,
          null,
          pathDetail.reaped(row.repo, row.expires_at, input.by),
        );
        return toPathClaim(row, now);
      });
    });
  }

  // ---- tasks ----------------------------------------------------------------

  /** A task's columns with its derived state at time `?` (bound twice). */
  static readonly #TASK_SELECT = `SELECT t.id, t.title, t.category, t.priority, t.blocked_by, t.paths, t.assignee, t.meta,
      t.source, t.created_at, t.updated_at, t.done_at, c.agent AS holder,
      CASE WHEN t.state = 'done' THEN 'done'
           WHEN c.agent IS NOT NULL THEN 'claimed'
           WHEN EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(t.blocked_by) THEN t.blocked_by ELSE '[]' END) b LEFT JOIN tasks bt ON bt.id = b.value
                        WHERE bt.id IS NULL OR bt.state <> 'done') THEN 'blocked'
           ELSE 'ready' END AS derived
    FROM tasks t
    LEFT JOIN claims c ON c.key = 'task:' || t.id AND c.state = 'active' AND c.expires_at > ?`;

  async putTasks(tasks: readonly TaskInput[], mode: PutMode): Promise<PutTasksOutcome> {
    return this.#write((now): PutTasksOutcome => {
      const created: string[] = [];
      const updated: string[] = [];
      const unchanged: string[] = [];
      const find = this.#stmt(
        "SELECT title, category, priority, state, blocked_by, paths, assignee, meta, source FROM tasks WHERE id = ?",
      );
      const added: AddedBlocker[] = [];
      for (const task of tasks) {
        const existing = find.get(task.id) as Record<string, unknown> | undefined;
        if (existing !== undefined && mode === "add")
          throw new Rollback({ ok: false, code: "TASK_EXISTS", id: task.id });
        if (existing === undefined && mode === "update")
          throw new Rollback({ ok: false, code: "TASK_NOT_FOUND", id: task.id });
        const had = existing === undefined ? [] : (JSON.parse(String(existing.blocked_by)) as string[]);
        for (const blocker of task.blockedBy) if (!had.includes(blocker)) added.push({ id: task.id, blocker });
        const values = taskColumns(task);
        // Done is left only by task reopen (setTaskState): a re-import or an update never reopens.
        if (existing?.state === "done") values.state = "done";
        if (existing === undefined) {
          this.#stmt(
            `INSERT INTO tasks (id, title, category, priority, state, blocked_by, paths, assignee, meta, source, created_at, updated_at, done_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(task.id, ...taskColumnValues(values), now, now, task.done ? now : null);
          created.push(task.id);
        } else if (Object.entries(values).every(([k, v]) => existing[k] === v)) {
          unchanged.push(task.id);
        } else {
          this.#stmt(
            `UPDATE tasks SET title = ?, category = ?, priority = ?, state = ?, blocked_by = ?, paths = ?, assignee = ?, meta = ?, source = ?,
               updated_at = ?, done_at = CASE WHEN ? = 'done' THEN coalesce(done_at, ?) ELSE NULL END
             WHERE id = ?`,
          ).run(...taskColumnValues(values), now, values.state, now, task.id);
          updated.push(task.id);
        }
      }
      // Checked after the writes, in the same transaction: the batch's own tasks count as known.
      const problem = this.#blockerProblem(added);
      if (problem !== null) throw new Rollback({ ok: false, ...problem });
      return { ok: true, created, updated, unchanged };
    }, true);
  }

  async updateTask(patch: TaskPatch): Promise<UpdateTaskOutcome> {
    return this.#write((now): UpdateTaskOutcome => {
      // Read, patch and write inside one BEGIN IMMEDIATE transaction: no other writer in between.
      const row = this.#stmt(
        "SELECT title, category, priority, blocked_by, paths, assignee, meta FROM tasks WHERE id = ?",
      ).get(patch.id) as StoredTaskColumns | undefined;
      if (row === undefined) throw new Rollback({ ok: false, code: "TASK_NOT_FOUND", id: patch.id });
      const { columns: c, added, changed } = patchTaskColumns(row, patch);
      if (changed) {
        this.#stmt(
          "UPDATE tasks SET title = ?, category = ?, priority = ?, blocked_by = ?, paths = ?, assignee = ?, meta = ?, updated_at = ? WHERE id = ?",
        ).run(c.title, c.category, c.priority, c.blocked_by, c.paths, c.assignee, c.meta, now, patch.id);
        const problem = this.#blockerProblem(added.map((blocker) => ({ id: patch.id, blocker })));
        if (problem !== null) throw new Rollback({ ok: false, ...problem });
      }
      const task = this.#stmt(`${SqliteStore.#TASK_SELECT} WHERE t.id = ?`).get(now, patch.id) as TaskRow;
      return { ok: true, task: toTask(task), changed };
    }, true);
  }

  /** Read the blocker graph reachable from `added` (inside the caller's transaction) and judge it. */
  #blockerProblem(added: readonly AddedBlocker[]): BlockerProblem | null {
    if (added.length === 0) return null;
    const read = this.#stmt("SELECT blocked_by FROM tasks WHERE id = ?");
    const graph = new Map<string, string[]>();
    const missing = new Set<string>();
    let frontier = toRead(startIds(added), graph, missing);
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const id of frontier) {
        const row = read.get(id) as { blocked_by: string } | undefined;
        if (row === undefined) missing.add(id);
        else {
          const blockers = JSON.parse(row.blocked_by) as string[];
          graph.set(id, blockers);
          next.push(...blockers);
        }
      }
      frontier = toRead(next, graph, missing);
    }
    return blockerProblem(added, graph);
  }

  async getTask(id: string): Promise<Task | null> {
    return this.#read((now) => {
      const row = this.#stmt(`${SqliteStore.#TASK_SELECT} WHERE t.id = ?`).get(now, id) as TaskRow | undefined;
      return row === undefined ? null : toTask(row);
    });
  }

  async listTasks(filter: TaskFilter): Promise<Task[]> {
    return this.#read((now) => {
      const params: unknown[] = [now];
      const where: string[] = [];
      if (filter.category !== undefined) {
        where.push("category = ?");
        params.push(filter.category);
      }
      if (filter.states !== undefined && filter.states.length > 0) {
        where.push(`derived IN (${filter.states.map(() => "?").join(", ")})`);
        params.push(...filter.states);
      }
      params.push(filter.limit);
      const sql = `SELECT * FROM (${SqliteStore.#TASK_SELECT}) ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                   ORDER BY priority DESC, created_at, id LIMIT ?`;
      return (this.#stmt(sql).all(...params) as TaskRow[]).map(toTask);
    });
  }

  async liveClaimCount(): Promise<number> {
    return this.#read(
      (now) =>
        this.#stmt("SELECT count(*) FROM claims INDEXED BY claims_live WHERE state = 'active' AND expires_at > ?")
          .pluck()
          .get(now) as number,
    );
  }

  async taskCounts(): Promise<TaskCounts> {
    return this.#read((now) => {
      const rows = this.#stmt(`SELECT derived, count(*) AS n FROM (${SqliteStore.#TASK_SELECT}) GROUP BY derived`).all(
        now,
      ) as {
        derived: TaskState;
        n: number;
      }[];
      const counts = { ready: 0, blocked: 0, claimed: 0, done: 0 };
      for (const row of rows) counts[row.derived] = row.n;
      return counts;
    });
  }

  async setTaskState(input: TaskStateInput): Promise<TaskStateOutcome> {
    return this.#write((now): TaskStateOutcome => {
      if (this.#stmt("SELECT 1 FROM tasks WHERE id = ?").get(input.id) === undefined)
        return { ok: false, code: "TASK_NOT_FOUND" };
      const key = `task:${input.id}`;
      const before = this.#row(key);
      let changed: ClaimRow | null = null;
      if (input.done) {
        this.#stmt("UPDATE tasks SET state = 'done', done_at = ?, updated_at = ? WHERE id = ? AND state = 'open'").run(
          now,
          now,
          input.id,
        );
        if (before !== undefined && before.state === "active") {
          changed = this.#claimGet(
            `UPDATE claims SET state = 'completed', ended_at = ? WHERE key = ? RETURNING ${CLAIM_COLUMNS}`,
            now,
            key,
          ) as ClaimRow;
          this.#event(now, "completed", key, input.agent ?? before.agent, before.token, null, {
            via: "task done",
            holder: before.agent,
          });
          this.#endLinkedPaths(now, key, before.agent, "released", null);
        }
      } else {
        this.#stmt(
          "UPDATE tasks SET state = 'open', done_at = NULL, updated_at = ? WHERE id = ? AND state = 'done'",
        ).run(now, input.id);
        if (before !== undefined && before.state === "completed") {
          changed = this.#claimGet(
            `UPDATE claims SET state = 'released', reason = 'task reopened' WHERE key = ? RETURNING ${CLAIM_COLUMNS}`,
            key,
          ) as ClaimRow;
          this.#event(now, "reopened", key, input.agent ?? before.agent, before.token, null, {
            previousAgent: before.agent,
          });
        }
      }
      const task = toTask(this.#stmt(`${SqliteStore.#TASK_SELECT} WHERE t.id = ?`).get(now, input.id) as TaskRow);
      return { ok: true, task, claim: changed === null ? null : this.#toClaim(changed, now) };
    });
  }

  #nextContext(now: number): NextContext {
    const stats = decayedStats(
      this.#stmt("SELECT category, successes, failures, updated_at FROM category_stats").all() as {
        category: string;
        successes: number;
        failures: number;
        updated_at: number;
      }[],
      now,
    );
    const recent = (
      this.#stmt("SELECT detail FROM events WHERE kind = 'selected' ORDER BY id DESC LIMIT ?").all(
        RECENT_SELECTIONS,
      ) as {
        detail: string | null;
      }[]
    ).map((r) => String(readStoredObject(r.detail)?.category ?? ""));
    return { now, stats, recent };
  }

  async next(input: NextInput): Promise<NextOutcome> {
    const run = (now: number): NextOutcome => {
      const context = this.#nextContext(now);
      // Per category, walk the open tasks in index order (priority, then age) and keep the
      // first ready ones: a 100,000-task backlog is never scanned whole.
      const categories =
        input.category !== null
          ? [input.category]
          : (
              this.#stmt(
                `WITH RECURSIVE cats(c) AS (
                   SELECT min(category) FROM tasks WHERE state = 'open'
                   UNION ALL
                   SELECT (SELECT min(category) FROM tasks WHERE state = 'open' AND category > c) FROM cats WHERE c IS NOT NULL)
                 SELECT c FROM cats WHERE c IS NOT NULL`,
              ).all() as { c: string }[]
            ).map((r) => r.c);
      // Only what the ranking reads comes back for the candidates (up to 50 a category), as one
      // JSON array: a row object per candidate cost more than the walk itself. The whole row is
      // read for a task tried. A task without blockers (the common case) skips the blocker check.
      const pick = this.#stmt(
        `SELECT json_group_array(json_array(id, priority, created_at, assignee)) AS candidates FROM (
           SELECT t.id, t.priority, t.created_at, t.assignee
           FROM tasks t
           WHERE t.state = 'open' AND t.category = ?
             AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.key = 'task:' || t.id
                               AND ((c.state = 'active' AND c.expires_at > ?) OR (c.state = 'completed' AND c.ended_at > ?)))
             AND (t.blocked_by = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(t.blocked_by) THEN t.blocked_by ELSE '[]' END) b LEFT JOIN tasks bt ON bt.id = b.value
                             WHERE bt.id IS NULL OR bt.state <> 'done'))
           ORDER BY t.priority DESC, t.created_at
           LIMIT ?)`,
      );
      const ready: RankedTask[] = [];
      for (const category of categories) {
        const { candidates } = pick.get(category, now, now - input.doneWindowMs, CANDIDATES_PER_CATEGORY) as {
          candidates: string;
        };
        // In any order: the ranking is a total order (ties broken by id).
        for (const [id, priority, createdAt, assignee] of JSON.parse(candidates) as [
          string,
          number,
          number,
          string | null,
        ][]) {
          ready.push({ id, category, priority, createdAt: new Date(createdAt), assignee });
        }
      }
      const candidates = new Set(ready.map((t) => t.id));
      const ranked = input.rank(ready, context).filter((id) => candidates.has(id));
      const load = this.#stmt(
        `SELECT t.id, t.title, t.category, t.priority, t.blocked_by, t.paths, t.assignee, t.meta, t.source,
                t.created_at, t.updated_at, t.done_at, NULL AS holder, 'ready' AS derived
         FROM tasks t WHERE t.id = ?`,
      );
      const skipped: string[] = [];
      for (const id of ranked) {
        const task = toTask(load.get(id) as TaskRow);
        if (task.paths.length > 0 && input.repo === null) {
          skipped.push(id);
          continue;
        }
        if (input.dryRun) return { task, claim: null, paths: [], ranked, skipped, context };
        const work: ClaimInput = {
          key: `task:${id}`,
          agent: input.agent,
          ttlMs: input.ttlMs,
          meta: null,
          reopen: false,
          doneWindowMs: input.doneWindowMs,
        };
        if (task.paths.length > 0) {
          const outcome = this.#claimPathsAt(now, {
            repo: input.repo as string,
            agent: input.agent,
            patterns: task.paths,
            mode: "exclusive",
            ttlMs: input.ttlMs,
            reason: `task:${id}`,
            advisory: false,
            work,
          });
          if (outcome.outcome !== "granted" || outcome.work === null) {
            skipped.push(id);
            continue;
          }
          this.#selected(now, input.agent, task, outcome.work.claim.token);
          return {
            task: { ...task, state: "claimed", holder: input.agent },
            claim: outcome.work.claim,
            paths: outcome.claims,
            ranked,
            skipped,
            context,
          };
        }
        const claimed = this.#claimAt(now, work);
        if (claimed.outcome !== "granted" && claimed.outcome !== "renewed") {
          skipped.push(id);
          continue;
        }
        this.#selected(now, input.agent, task, claimed.claim.token);
        return {
          task: { ...task, state: "claimed", holder: input.agent },
          claim: claimed.claim,
          paths: [],
          ranked,
          skipped,
          context,
        };
      }
      return { task: null, claim: null, paths: [], ranked, skipped, context };
    };
    return input.dryRun ? this.#read(run) : this.#write(run);
  }

  #selected(now: number, agent: string, task: Task, token: number): void {
    this.#event(now, "selected", `task:${task.id}`, agent, token, null, {
      category: task.category,
      priority: task.priority,
    });
  }

  async recordOutcome(input: {
    readonly category: string;
    readonly outcome: "success" | "failure" | "noop";
  }): Promise<void> {
    return this.#write((now) => {
      const row = this.#stmt("SELECT successes, failures, updated_at FROM category_stats WHERE category = ?").get(
        input.category,
      ) as { successes: number; failures: number; updated_at: number } | undefined;
      const counts = withOutcome(row, input.outcome, now);
      this.#stmt(
        `INSERT INTO category_stats (category, successes, failures, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (category) DO UPDATE SET successes = excluded.successes, failures = excluded.failures, updated_at = excluded.updated_at`,
      ).run(input.category, counts.successes, counts.failures, now);
    });
  }

  async addToken(input: TokenInput): Promise<TokenRecord> {
    return this.#write((now) =>
      toToken(
        this.#stmt(
          `INSERT INTO tokens (agent, role, hash, created_at) VALUES (?, ?, ?, ?) RETURNING ${TOKEN_COLUMNS}`,
        ).get(input.agent, input.role, input.hash, now) as TokenRow,
      ),
    );
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.#read(() =>
      (this.#stmt(`SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY id`).all() as TokenRow[]).map(toToken),
    );
  }

  async revokeTokens(input: {
    readonly id?: number | undefined;
    readonly agent?: string | undefined;
  }): Promise<TokenRecord[]> {
    return this.#write((now) => {
      // Forget what tokenByHash remembered, before the revocation can be answered.
      this.#liveTokens.clear();
      return (
        this.#stmt(
          `UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL AND (id = ? OR agent = ?) RETURNING ${TOKEN_COLUMNS}`,
        ).all(now, input.id ?? null, input.agent ?? null) as TokenRow[]
      ).map(toToken);
    });
  }

  /**
   * The live token with this digest. A server looks one up on every request, so what it found
   * is remembered for as long as nothing else can have changed the tokens: until another
   * connection commits (`PRAGMA data_version` moves: `baton tokens revoke` from another
   * process) or this one revokes a token. Unknown digests are not remembered (random guesses
   * must not grow the memory); the lookup it saves was about 5% of a claim through the server.
   */
  async tokenByHash(hash: string): Promise<TokenRecord | null> {
    return this.#lookup(() => {
      const version = this.#stmt("PRAGMA data_version").pluck().get() as number;
      if (version !== this.#tokensVersion) {
        this.#liveTokens.clear();
        this.#tokensVersion = version;
      }
      const known = this.#liveTokens.get(hash);
      if (known !== undefined) return known;
      const row = this.#stmt(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE hash = ? AND revoked_at IS NULL`).get(hash) as
        TokenRow | undefined;
      if (row === undefined) return null;
      const record = toToken(row);
      this.#liveTokens.set(hash, record);
      return record;
    });
  }

  async schemaStatus(): Promise<SchemaStatus> {
    return this.#read(() => {
      const version = this.#db.pragma("user_version", { simple: true }) as number;
      return {
        version,
        supported: SQLITE_SCHEMA_VERSION,
        pending: SQLITE_MIGRATIONS.filter((m) => m.version > version).map(({ version, description }) => ({
          version,
          description,
        })),
        pages: { size: this.#db.pragma("page_size", { simple: true }) as number, newFiles: PAGE_SIZE_BYTES },
      };
    });
  }

  /**
   * Wake `onChange` after events are appended (see {@link Store.watchEvents}). Other
   * processes' commits are seen by a dedicated read connection that reads
   * `PRAGMA data_version` every `watchPollMs` (it changes when another connection commits;
   * reading it takes no write lock and reads no table); this process's own commits wake at once.
   * One watch connection serves every watcher of this store; it closes with the last one.
   */
  async watchEvents(onChange: () => void): Promise<Unwatch> {
    this.#assertOpen();
    if (this.#watch === undefined) {
      try {
        this.#watch = new SqliteWatch(this.#path, this.#watchPollMs, this.#busyTimeoutMs);
      } catch (error) {
        throw translateError(error, this.#path);
      }
    }
    const watch = this.#watch;
    const listener = (): void => onChange();
    watch.listeners.add(listener);
    return async () => {
      watch.listeners.delete(listener);
      if (watch.listeners.size === 0 && this.#watch === watch) {
        this.#watch = undefined;
        watch.stop();
      }
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Writes already submitted are decided and committed before the connection goes.
    this.#group?.flush();
    this.#closed = true;
    // And answered: their sync, when it runs off the event loop, completes first.
    await this.#group?.drained();
    this.#watch?.stop();
    this.#watch = undefined;
    this.#statements.clear();
    this.#rawStatements.clear();
    this.#db.close();
    this.#wal?.close();
  }
}

/**
 * The WAL file's fdatasync on libuv's thread pool, for group commit at synchronous=FULL. The
 * connection commits at NORMAL (SQLite writes the frames, and syncs only around checkpoints);
 * this makes them durable before anyone is answered. Linux syncs the file, not the descriptor,
 * so a descriptor of our own covers SQLite's writes. The file is looked up again when it was
 * replaced; when there is none, every commit is in the database file (a checkpoint synced it).
 */
class WalSync {
  readonly #path: string;
  #fd: number | undefined;
  #ino = -1;

  constructor(databasePath: string) {
    this.#path = `${databasePath}-wal`;
  }

  readonly sync: SyncOffLoop = {
    later: (done) => {
      let fd: number | null;
      try {
        fd = this.#descriptor();
      } catch (error) {
        return done(syncFailure(this.#path, error));
      }
      if (fd === null) return done(null);
      fdatasync(fd, (error) => done(error === null ? null : syncFailure(this.#path, error)));
    },
    now: () => {
      try {
        const fd = this.#descriptor();
        if (fd !== null) fdatasyncSync(fd);
        return null;
      } catch (error) {
        return syncFailure(this.#path, error);
      }
    },
  };

  /** The WAL's descriptor, opened again when the file was replaced; null when there is no WAL. */
  #descriptor(): number | null {
    const now = statSync(this.#path, { throwIfNoEntry: false });
    if (now === undefined) return null;
    if (this.#fd === undefined || now.ino !== this.#ino) {
      this.close();
      this.#fd = openSync(this.#path, "r");
      this.#ino = fstatSync(this.#fd).ino;
    }
    return this.#fd;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

function syncFailure(path: string, error: unknown): BatonError {
  const reason = error instanceof Error ? error.message : String(error);
  return new BatonError(
    "STORE_UNAVAILABLE",
    `the write could not be made durable (sync of ${path}): ${reason}`,
    { path },
    { cause: error },
  );
}

/**
 * The watch behind {@link SqliteStore.watchEvents}: a second connection to the file whose
 * `PRAGMA data_version` changes whenever any other connection (another process, or this
 * store's own) commits. `:memory:` has no other connection: only own commits wake.
 */
class SqliteWatch {
  readonly listeners = new Set<() => void>();
  readonly #db: Database.Database | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  #version = 0;
  #queued = false;
  #stopped = false;

  constructor(path: string, pollMs: number, busyTimeoutMs: number) {
    if (path !== ":memory:" && path !== "") {
      const { Database, nativeBinding } = loadDriver();
      this.#db = new Database(path, {
        fileMustExist: true,
        timeout: busyTimeoutMs,
        ...(nativeBinding === undefined ? {} : { nativeBinding }),
      });
      this.#version = this.#dataVersion();
      this.#timer = setInterval(() => this.#check(), pollMs);
    }
  }

  #dataVersion(): number {
    return (this.#db as Database.Database).pragma("data_version", { simple: true }) as number;
  }

  /** Compare data_version with the last one seen; wake on a change (or on an error: read again). */
  #check(): void {
    if (this.#stopped) return;
    let changed = true;
    if (this.#db !== undefined) {
      try {
        const version = this.#dataVersion();
        changed = version !== this.#version;
        this.#version = version;
      } catch {
        changed = true;
      }
    }
    if (changed) this.#wake();
  }

  #wake(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // A watcher's own failure is its business (see Store.watchEvents).
      }
    }
  }

  /** This process committed: check on the next turn (the writer's caller goes first; merged per turn). */
  committed(): void {
    if (this.#queued || this.#stopped) return;
    this.#queued = true;
    setImmediate(() => {
      this.#queued = false;
      this.#check();
    });
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.listeners.clear();
    this.#db?.close();
  }
}

/** Set WAL once per file. Changing the journal mode needs a lock the busy handler may not wait for. */
function enableWal(db: Database.Database, deadline: number): void {
  for (;;) {
    try {
      const mode = db.pragma("journal_mode", { simple: true });
      if (mode === "wal" || mode === "memory") return;
      db.pragma("journal_mode = WAL");
      return;
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      if (!BUSY_CODES.has(code) || Date.now() >= deadline) throw error;
      sleepSync(5 + Math.floor(Math.random() * 10));
    }
  }
}

function migrate(db: Database.Database, path: string, apply: boolean): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current === SQLITE_SCHEMA_VERSION) return;
  if (current > SQLITE_SCHEMA_VERSION) throw schemaTooNew(path, current);
  if (!apply) return;
  db.transaction(() => {
    // Re-read under the write lock: another process may have migrated meanwhile.
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SQLITE_SCHEMA_VERSION) throw schemaTooNew(path, version);
    for (const migration of SQLITE_MIGRATIONS) {
      if (migration.version <= version) continue;
      db.exec(migration.sql);
      migration.run?.(db);
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
}

function schemaTooNew(path: string, version: number): BatonError {
  return new BatonError(
    "SCHEMA_TOO_NEW",
    `the store at ${path} has schema version ${version}, newer than this Baton understands (${SQLITE_SCHEMA_VERSION}); upgrade Baton (npm install baton@latest) or point BATON_DB at another file`,
    { found: version, supported: SQLITE_SCHEMA_VERSION },
  );
}

/**
 * Open (creating if needed) the SQLite store at `options.path`, set WAL,
 * the busy timeout and the sync level, and run pending migrations.
 *
 * @throws BatonError `STORE_BUSY`, `STORE_UNAVAILABLE` or `SCHEMA_TOO_NEW`
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const path = options.path;
  let db: Database.Database | undefined;
  try {
    const onDisk = path !== ":memory:" && path !== "";
    if (onDisk) mkdirSync(dirname(path), { recursive: true });
    // Read the WAL index before SQLite opens the file: the first opener resets it.
    const lostFrames = onDisk ? lostWalFrames(path) : 0;
    if (lostFrames > 0 && options.migrate === false) throw lostWalRefusal(path, lostFrames);
    const { Database, nativeBinding } = loadDriver();
    db = new Database(path, { timeout: busyTimeoutMs, ...(nativeBinding === undefined ? {} : { nativeBinding }) });
    const identity = onDisk ? fileIdentity(path) : undefined;
    // Only a file with no page yet takes it (before WAL writes the header); others keep theirs.
    db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
    enableWal(db, Date.now() + busyTimeoutMs);
    db.pragma(`synchronous = ${options.synchronous === "normal" ? "NORMAL" : "FULL"}`);
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    db.pragma(`cache_size = -${CACHE_KIB}`);
    migrate(db, path, options.migrate !== false);
    if (options.migrate !== false) repairLostWrites(db, path, lostFrames);
    const groupCommit = options.groupCommit === true ? {} : (options.groupCommit ?? false);
    return new SqliteStore(db, path, options.clock ?? Date.now, identity, {
      busyTimeoutMs,
      groupCommit,
      syncFull: onDisk && options.synchronous !== "normal",
      ...(options.watchPollMs === undefined ? {} : { watchPollMs: options.watchPollMs }),
    });
  } catch (error) {
    db?.close();
    const translated = translateError(error, path);
    if (translated !== error) throw translated;
    if (error instanceof BatonError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new BatonError(
      "STORE_UNAVAILABLE",
      `cannot open the store at ${path}: ${reason}`,
      { path },
      { cause: error },
    );
  }
}

/** What {@link repackSqliteFile} did: the page size before and after, and the file's bytes. */
export interface RepackResult {
  readonly path: string;
  /** Whether the file was rewritten (false: it already had {@link PAGE_SIZE_BYTES} pages). */
  readonly rewritten: boolean;
  readonly pageSizeBefore: number;
  readonly pageSizeAfter: number;
  /** The file's bytes with its WAL's, before and after. */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/**
 * Rewrite an existing SQLite registry with this Baton's page size ({@link PAGE_SIZE_BYTES}):
 * opened as every command opens it first (migrations, the lost-WAL guard), then the WAL is
 * checkpointed, the file leaves WAL mode, `VACUUM` copies every row, index and the
 * schema version into pages of the new size, and WAL mode comes back. `VACUUM` is one
 * transaction: a crash leaves the file as it was or as it becomes, never between. It needs the
 * file to itself, so it is refused while any other connection (an agent, a hook, `baton serve`)
 * has it open; nothing is changed then.
 *
 * @throws BatonError `STORE_UNAVAILABLE` (no such file, not a database), `STORE_BUSY` (in use)
 */
export async function repackSqliteFile(path: string, options: { busyTimeoutMs?: number } = {}): Promise<RepackResult> {
  if (!existsSync(path)) {
    throw new BatonError("STORE_UNAVAILABLE", `no SQLite registry at ${path} to repack`, { path });
  }
  // Opened as every command opens it first: pending migrations run, and a lost WAL is found
  // and answered (the fencing counter raised) before a plain connection resets the evidence.
  await openSqliteStore({ path, ...options }).close();
  const bytesBefore = fileAndWalBytes(path);
  const { Database, nativeBinding } = loadDriver();
  let db: Database.Database | undefined;
  try {
    db = new Database(path, {
      fileMustExist: true,
      timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      ...(nativeBinding === undefined ? {} : { nativeBinding }),
    });
    const before = db.pragma("page_size", { simple: true }) as number;
    if (before === PAGE_SIZE_BYTES) {
      return {
        path,
        rewritten: false,
        pageSizeBefore: before,
        pageSizeAfter: before,
        bytesBefore,
        bytesAfter: bytesBefore,
      };
    }
    // Leaving WAL mode takes the file for this connection alone: with another one open SQLite
    // refuses (SQLITE_BUSY), or quietly stays in WAL (then the page size could not change).
    const mode = db.pragma("journal_mode = DELETE", { simple: true }) as string;
    if (mode !== "delete") throw inUse(path);
    db.pragma(`page_size = ${PAGE_SIZE_BYTES}`);
    db.exec("VACUUM");
    db.pragma("journal_mode = WAL");
    const after = db.pragma("page_size", { simple: true }) as number;
    db.close();
    db = undefined;
    return {
      path,
      rewritten: true,
      pageSizeBefore: before,
      pageSizeAfter: after,
      bytesBefore,
      bytesAfter: fileAndWalBytes(path),
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && BUSY_CODES.has(code)) throw inUse(path, error);
    const translated = translateError(error, path);
    if (translated instanceof BatonError) throw translated;
    const reason = error instanceof Error ? error.message : String(error);
    throw new BatonError("STORE_UNAVAILABLE", `cannot repack ${path}: ${reason}`, { path }, { cause: error });
  } finally {
    db?.close();
  }
}

/** The database file's bytes and its WAL's. */
function fileAndWalBytes(path: string): number {
  return statSync(path).size + (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0);
}

function inUse(path: string, cause?: unknown): BatonError {
  return new BatonError(
    "STORE_BUSY",
    `cannot repack ${path}: another connection has it open (an agent, a hook or baton serve); nothing was changed: stop them all, then repack again`,
    { path },
    { ...(cause === undefined ? {} : { cause }), hint: { action: "retry" } },
  );
}
