/**
 * The PostgreSQL store: one registry for agents on many machines. Every claim
 * operation is one statement, most of them one call of a PL/pgSQL function (see
 * pg-migrations.ts); claim and complete send their common case as a statement of
 * their own (see hotStatements). One round trip, one transaction, decided on the
 * server's clock after the row lock. The client's clock is never consulted.
 */
import { createRequire } from "node:module";
import type { Client, ClientConfig, Pool, PoolClient, PoolConfig, QueryResult } from "pg";
import { BatonError, RETRY_BUSY } from "../../core/errors.js";
import { readStoredObject } from "../../core/schemas.js";
import type { TokenRecord } from "../../core/tokens.js";
import { TOKEN_COLUMNS, type TokenRow, toToken } from "../rows.js";
import type { HandoffInput, TokenInput } from "../store.js";
import type { BatonEvent, Claim, ClaimState, PathClaim, Task, TaskState } from "../../core/types.js";
import { type AddedBlocker, type BlockerProblem, blockerProblem, startIds, toRead } from "../../core/blockers.js";
import { type PathMode, planPathClaim } from "../../core/path-plan.js";
import { patchTaskColumns, type StoredTaskColumns } from "../rows.js";
import type { TaskPatch, UpdateTaskOutcome } from "../store.js";
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
  RECENT_SELECTIONS,
  type TaskRow,
  taskColumns,
  taskColumnValues,
  toClaim,
  type ReapedColumns,
  toReapedClaims,
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
  NotHeldCode,
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
import { migrationSql, PG_EVENTS_CHANNEL, PG_MIGRATIONS, PG_SCHEMA_VERSION, quoteIdent } from "./pg-migrations.js";

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (any libpq-style URL pg accepts). */
  readonly url: string;
  /** The schema holding Baton's tables. Default `baton`. */
  readonly schema?: string;
  /** Connections in the pool. Default 10 (the CLI uses 1). */
  readonly poolSize?: number;
  /** Longest a statement may run before it is cancelled (`STORE_BUSY`). Default 30 000 ms. */
  readonly statementTimeoutMs?: number;
  /** Longest to wait for a row lock before `STORE_BUSY`. Default 5 000 ms. */
  readonly lockTimeoutMs?: number;
  /** Longest to wait for a connection. Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Run pending migrations on open (default). `false` only reads the schema version. */
  readonly migrate?: boolean;
}

/** Default schema name. */
export const DEFAULT_PG_SCHEMA = "baton";
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Serialization failures and deadlocks are retried this many times before STORE_BUSY. */
const MAX_ATTEMPTS = 5;
const RETRYABLE = new Set(["40001", "40P01"]);
/** How many claimed keys a handle remembers as existing (see PostgresStore's `#known`). */
const KNOWN_KEYS = 10_000;

// pg is loaded on first use: SQLite users never pay for it.
const requireCjs = createRequire(import.meta.url);
let pgModule: typeof import("pg") | undefined;

/**
 * `require("pg")` without the fetch stack. At load, pg 8 asks whether it runs in a
 * Cloudflare Worker: without a global `navigator` (Node 20 has none) it builds a `Response`,
 * and the first touch of that global loads undici with http, http2, zlib and web streams —
 * ~40 ms of CPU here, a third of `node -e 0`, in every process that opens PostgreSQL (each CLI
 * call). A `navigator` present only for the require answers first: not Cloudflare.
 */
function requirePg(): typeof import("pg") {
  const global = globalThis as { navigator?: unknown };
  if ("navigator" in globalThis) return requireCjs("pg") as typeof import("pg");
  global.navigator = { userAgent: "Node.js" };
  try {
    return requireCjs("pg") as typeof import("pg");
  } finally {
    delete global.navigator;
  }
}

function loadPg(): typeof import("pg") {
  if (pgModule === undefined) {
    try {
      pgModule = requirePg();
    } catch (error) {
      throw new BatonError(
        "STORE_UNAVAILABLE",
        "the PostgreSQL driver (the pg package) is not installed: npm install pg",
        {},
        { cause: error },
      );
    }
  }
  return pgModule;
}

/** The URL without its password, for messages and `description`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "postgres://(unparsable URL)";
  }
}

/** Translate a driver or server error into a BatonError with a stable code. */
function translateError(error: unknown, where: string): unknown {
  if (error instanceof BatonError) return error;
  const err = error as { code?: unknown; message?: unknown; severity?: unknown };
  const code = typeof err.code === "string" ? err.code : "";
  const reason = typeof err.message === "string" ? err.message : String(error);
  if (code === "57014" || code === "55P03" || RETRYABLE.has(code)) {
    return new BatonError(
      "STORE_BUSY",
      `the store at ${where} stayed busy past its timeout (${reason})`,
      { sqlstate: code },
      { cause: error, hint: RETRY_BUSY },
    );
  }
  if (code === "42P01" || code === "3F000" || code === "42883") {
    return new BatonError(
      "STORE_UNAVAILABLE",
      `the store at ${where} has no Baton schema yet (${reason}); run baton db migrate`,
      { sqlstate: code },
      { cause: error },
    );
  }
  const isServerError = typeof err.severity === "string";
  const unavailableClass = /^(08|53|57|58|28|3D|42501)/.test(code);
  if (!isServerError || unavailableClass) {
    // Network errors (ECONNREFUSED, ECONNRESET, "Connection terminated unexpectedly"),
    // authentication, a missing database, a terminated backend, a server shutting down.
    return new BatonError(
      "STORE_UNAVAILABLE",
      `the store at ${where} cannot be used: ${reason}${code ? ` (${code})` : ""}`,
      code ? { sqlstate: code } : {},
      { cause: error },
    );
  }
  return new BatonError("INTERNAL", `unexpected error from the store at ${where}: ${reason} (${code})`, {
    sqlstate: code,
  });
}

function schemaTooNew(where: string, version: number): BatonError {
  return new BatonError(
    "SCHEMA_TOO_NEW",
    `the store at ${where} has schema version ${version}, newer than this Baton understands (${PG_SCHEMA_VERSION}); upgrade Baton (npm install baton@latest) or use another schema (BATON_PG_SCHEMA)`,
    { found: version, supported: PG_SCHEMA_VERSION },
  );
}

interface ClaimFnRow {
  outcome: ClaimOutcome["outcome"];
  now_ms: number;
  claim: ClaimRow;
  previous: ClaimRow | null;
}

interface ActFnRow {
  code: NotHeldCode | null;
  now_ms: number;
  claim: ClaimRow | null;
}

/**
 * A WHERE clause under construction for a list query: the state terms (`active` and
 * `expired` against the server time `t.now`), and `p`, which adds a parameter and names it.
 */
function stateFilter(states: readonly ClaimState[]): {
  where: string[];
  params: unknown[];
  p: (value: unknown) => string;
} {
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const terms = states.map((state) => {
    if (state === "active") return "(state = 'active' AND expires_at > t.now)";
    if (state === "expired") return "(state = 'active' AND expires_at <= t.now)";
    return `state = ${p(state)}`;
  });
  if (terms.length > 0) where.push(`(${terms.join(" OR ")})`);
  return { where, params, p };
}

/** The claim function's row as a {@link ClaimOutcome}. */
function claimOutcome(row: ClaimFnRow | undefined): ClaimOutcome {
  if (row === undefined) throw new BatonError("INTERNAL", "the claim function returned no row");
  const now = Number(row.now_ms);
  const claim = toClaim(row.claim, now);
  if (row.outcome === "granted") {
    return { outcome: "granted", claim, previous: row.previous === null ? null : toClaim(row.previous, now) };
  }
  if (row.outcome === "denied") return { outcome: "denied", claim, now: new Date(now) };
  return { outcome: row.outcome, claim };
}

/**
 * The statements claim and complete send (schema `s`, quoted), built once per store. Each
 * answers one JSON column: the driver's cost per answer grows with its columns.
 *
 * `claim`: a key never claimed is inserted, with its `granted` event, by the statement
 * itself, which answers `[token, time]`; any other key goes to the claim function in the
 * same statement (one round trip, one transaction), answered as its row's JSON. The
 * function costs a PL/pgSQL call, a lock probe and a JSON row, more server time than the
 * insert itself. The insert reads the clock and draws the token only when no row of the key
 * is visible; one committed (or in flight) since the snapshot makes it a conflict that
 * inserts nothing, and the function then locks that row and decides, as when its own
 * insert loses the race (migration 12). `NOT EXISTS (SELECT 1 FROM g)` is a one-time
 * filter: the function runs only when the insert did not.
 *
 * `complete`: the act function's guarded UPDATE and its event (migrations 12 and 15: the
 * row by its key, the time no earlier than its last grant or renewal) as one statement,
 * answering `[token, claimed_at, expires_at, ended_at, meta, reason]`. It completes a
 * claim without linked path claims (ending those is the function's) or changes nothing
 * and answers no row.
 */
function hotStatements(s: string): { claim: string; complete: string } {
  return {
    claim: `WITH t AS (SELECT ${s}.now_ms() AS now),
      g AS (
        INSERT INTO ${s}.claims AS c (key, agent, token, state, claimed_at, expires_at, meta)
          SELECT $1, $2, nextval('${s}.fencing_token'), 'active', t.now, t.now + $3, $4::json FROM t
          WHERE NOT EXISTS (SELECT 1 FROM ${s}.claims x WHERE x.key = $1)
          ON CONFLICT (key) DO NOTHING
          RETURNING c.token, c.claimed_at),
      e AS (
        INSERT INTO ${s}.events (at, kind, key, agent, token, detail)
          SELECT g.claimed_at, 'granted', $1, $2, g.token, json_build_object('ttlMs', $3::bigint) FROM g)
      SELECT json_build_array(g.token, g.claimed_at) AS r FROM g
      UNION ALL
      SELECT row_to_json(${s}.claim($1, $2, $3, $4::json, $5, $6, $7)) WHERE NOT EXISTS (SELECT 1 FROM g)`,
    complete: `WITH t AS (SELECT ${s}.now_ms() AS now),
      g AS (
        UPDATE ${s}.claims c SET state = 'completed', ended_at = greatest(t.now, coalesce(c.renewed_at, c.claimed_at)),
            result = $3, commit_sha = $4
          FROM t
          WHERE c.key = $1 AND c.agent = $2 AND c.state || '' = 'active' AND c.expires_at - t.now > 0
            AND NOT c.linked_paths
          RETURNING c.token, c.claimed_at, c.expires_at, c.ended_at, c.meta, c.reason),
      e AS (
        INSERT INTO ${s}.events (at, kind, key, agent, token, commit_sha, detail)
          SELECT g.ended_at, 'completed', $1, $2, g.token, $4,
                 CASE WHEN coalesce($3, '') <> '' THEN json_build_object('result', $3::text) END
          FROM g)
      SELECT json_build_array(g.token, g.claimed_at, g.expires_at, g.ended_at, g.meta, g.reason) AS r FROM g`,
  };
}

/**
 * The advisory-lock name strict near-duplicate claims of `namespace` take turns on, in the
 * schema `quotedSchema` (locked as `pg_advisory_xact_lock(hashtext(name))`).
 */
export function strictLockName(quotedSchema: string, namespace: string): string {
  return `baton:similar:${quotedSchema}:${namespace}`;
}

/** The PostgreSQL implementation of {@link Store}. Open it with {@link openPostgresStore}. */
export class PostgresStore implements Store {
  readonly capabilities: StoreCapabilities = { serverClock: true, multiMachine: true, watch: true };
  readonly description: string;
  readonly #pool: Pool;
  readonly #s: string;
  /** The hot statements' text (see {@link hotStatements}). */
  readonly #sql: { claim: string; complete: string };
  /**
   * Keys this handle has sent a claim for (at most {@link KNOWN_KEYS}, then forgotten at
   * once): their rows exist, so a claim of one calls the claim function directly instead of
   * trying the insert first. A hint only: either statement decides the same claim alike.
   */
  readonly #known = new Set<string>();
  #closed = false;
  /** The LISTEN connection and its watchers (see {@link PostgresStore.watchEvents}). */
  readonly #watch: PgWatch;

  constructor(pool: Pool, schema: string, where: string, listenConfig: ClientConfig = {}) {
    this.#pool = pool;
    this.#s = quoteIdent(schema);
    this.#sql = hotStatements(this.#s);
    this.description = `postgres:${where} (schema ${schema})`;
    this.#watch = new PgWatch(listenConfig, schema, this.description);
  }

  /** The connection pool, for tests and benchmarks that compare against bare SQL. */
  get pool(): Pool {
    return this.#pool;
  }

  #remember(key: string): void {
    if (this.#known.size >= KNOWN_KEYS) this.#known.clear();
    this.#known.add(key);
  }

  /** Run one statement, retrying serialization failures and deadlocks (bounded). */
  async #query<R>(sql: string, params: unknown[] = [], name?: string): Promise<R[]> {
    if (this.#closed) throw new BatonError("STORE_CLOSED", "this Baton handle is closed; open a new one");
    const pg = loadPg();
    for (let attempt = 1; ; attempt++) {
      try {
        // A Query built from the text, its name set after: given a config object, pg copies
        // its property descriptors for every query (cloneQueryConfig, ~5 µs a statement
        // here); given text, not. Hot statements are named: each connection parses and plans
        // them once.
        const query = new pg.Query(sql, params);
        if (name !== undefined) (query as { name?: string }).name = `baton_${name}`;
        const result = (await this.#pool.query(query as never)) as unknown as QueryResult;
        return result.rows as R[];
      } catch (error) {
        const code = (error as { code?: string }).code ?? "";
        if (RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, attempt * 5 + Math.random() * 10));
          continue;
        }
        throw translateError(error, this.description);
      }
    }
  }

  async now(): Promise<Date> {
    const [row] = await this.#query<{ now_ms: number }>(`SELECT ${this.#s}.now_ms() AS now_ms`);
    return new Date(Number(row?.now_ms));
  }

  async claim(input: ClaimInput): Promise<ClaimOutcome> {
    const params = [
      input.key,
      input.agent,
      input.ttlMs,
      input.meta === null ? null : JSON.stringify(input.meta),
      input.reopen,
      input.doneWindowMs,
      input.keepTtl === true,
    ];
    if (input.strictNamespace !== undefined) {
      // Still one statement, one round trip: the TTL argument comes from a subquery that
      // first takes the namespace's transaction lock, so the claim function runs (row lock,
      // token, commit) only while this claim holds it; the commit releases it.
      const [row] = await this.#query<ClaimFnRow>(
        `SELECT outcome, now_ms, claim, previous FROM ${this.#s}.claim($1, $2,
           (SELECT $3::bigint FROM pg_advisory_xact_lock(hashtext($8))), $4::json, $5, $6, $7)`,
        [...params, strictLockName(this.#s, input.strictNamespace)],
        "claim_strict",
      );
      return claimOutcome(row);
    }
    if (this.#known.has(input.key)) {
      // A key this handle claimed before has a row: the function decides at once, without
      // the insert's two result relations, its indexes and an empty event insert's trigger
      // call (contended keys: ~10% of their pairs/s).
      const [row] = await this.#query<ClaimFnRow>(
        `SELECT outcome, now_ms, claim, previous FROM ${this.#s}.claim($1, $2, $3, $4::json, $5, $6, $7)`,
        params,
        "claim",
      );
      return claimOutcome(row);
    }
    this.#remember(input.key);
    // One JSON column back (the driver's cost grows with the columns): [token, time] for a
    // key the statement inserted, else the claim function's answer as an object.
    const [row] = await this.#query<{ r: [number, number] | ClaimFnRow }>(this.#sql.claim, params, "claim_fresh");
    if (row === undefined || !Array.isArray(row.r)) return claimOutcome(row?.r as ClaimFnRow | undefined);
    // A fresh key, inserted by the statement itself: the claim is what was asked for.
    const [token, now] = row.r;
    const meta = params[3] as string | null;
    return {
      outcome: "granted",
      claim: {
        key: input.key,
        agent: input.agent,
        token,
        state: "active",
        claimedAt: new Date(now),
        expiresAt: new Date(now + input.ttlMs),
        endedAt: null,
        meta: meta === null ? null : readStoredObject(meta),
        result: null,
        commit: null,
        reason: null,
      },
      previous: null,
    };
  }

  async #act(kind: "renewed" | "completed" | "released" | "abandoned", input: EndInput, ttlMs: number | null = null) {
    const [row] = await this.#query<ActFnRow>(
      `SELECT code, now_ms, claim FROM ${this.#s}.act($1, $2, $3, $4, $5, $6, $7)`,
      [kind, input.key, input.agent, ttlMs, input.result ?? null, input.commit ?? null, input.reason ?? null],
      "act",
    );
    if (row === undefined) throw new BatonError("INTERNAL", "the act function returned no row");
    const now = Number(row.now_ms);
    const claim = row.claim === null ? null : toClaim(row.claim, now);
    if (row.code !== null) return { ok: false, code: row.code, claim } satisfies MutationOutcome;
    return { ok: true, claim: claim as Claim } satisfies MutationOutcome;
  }

  renew(input: RenewInput): Promise<MutationOutcome> {
    return this.#act("renewed", { key: input.key, agent: input.agent }, input.ttlMs);
  }

  async complete(input: EndInput): Promise<MutationOutcome> {
    // Completing task:ID marks the task done, locked before the claim: the function does that.
    if (input.key.startsWith("task:")) return this.#act("completed", input);
    const result = input.result ?? null;
    const commit = input.commit ?? null;
    const [row] = await this.#query<{ r: [number, number, number, number, ClaimRow["meta"], string | null] }>(
      this.#sql.complete,
      [input.key, input.agent, result, commit],
      "complete",
    );
    // Not completed by the guarded update (not held, expired, never claimed, or path claims
    // to end with it): the act function decides and says why, in a transaction of its own.
    if (row === undefined) return this.#act("completed", input);
    const [token, claimedAt, expiresAt, now, meta, reason] = row.r;
    const claim = toClaim(
      {
        key: input.key,
        agent: input.agent,
        token,
        state: "completed",
        claimed_at: claimedAt,
        renewed_at: null,
        expires_at: expiresAt,
        ended_at: now,
        meta,
        result,
        commit_sha: commit,
        reason,
      },
      now,
    );
    return { ok: true, claim };
  }

  release(input: EndInput): Promise<MutationOutcome> {
    return this.#act("released", input);
  }

  abandon(input: EndInput): Promise<MutationOutcome> {
    return this.#act("abandoned", input);
  }

  async resolve(input: ResolveInput): Promise<ResolveOutcome> {
    const [row] = await this.#query<{
      code: "NOT_FOUND" | "NOT_LOOSE_END" | null;
      now_ms: number;
      claim: ClaimRow | null;
      previous_state: "abandoned" | "expired" | null;
    }>(`SELECT code, now_ms, claim, previous_state FROM ${this.#s}.resolve($1, $2, $3)`, [
      input.key,
      input.agent,
      input.note,
    ]);
    if (row === undefined) throw new BatonError("INTERNAL", "the resolve function returned no row");
    const claim = row.claim === null ? null : toClaim(row.claim, Number(row.now_ms));
    if (row.code !== null) return { ok: false, code: row.code, claim };
    return { ok: true, claim: claim as Claim, previousState: row.previous_state as "abandoned" | "expired" };
  }

  async handoff(input: HandoffInput): Promise<MutationOutcome> {
    const [row] = await this.#query<{ code: NotHeldCode | null; now_ms: number; claim: ClaimRow | null }>(
      `SELECT code, now_ms, claim FROM ${this.#s}.handoff($1, $2, $3, $4)`,
      [input.key, input.agent, input.to, input.note],
    );
    if (row === undefined) throw new BatonError("INTERNAL", "the handoff function returned no row");
    const claim = row.claim === null ? null : toClaim(row.claim, Number(row.now_ms));
    if (row.code !== null) return { ok: false, code: row.code, claim };
    return { ok: true, claim: claim as Claim };
  }

  async reap(input: ReapInput): Promise<Claim[]> {
    // One row: the reaped claims as one JSON array of columns in reap order (schema 16), one
    // JSON.parse; what they share (state, end time, reason) is not sent.
    const [row] = await this.#query<{ now_ms: number; claims: ReapedColumns }>(
      `SELECT now_ms, claims FROM ${this.#s}.reap($1, $2, true)`,
      [input.minAgeMs, input.by],
    );
    if (row === undefined) throw new BatonError("INTERNAL", "the reap function returned no row");
    return toReapedClaims(row.claims, Number(row.now_ms));
  }

  async reapCount(input: ReapInput): Promise<number> {
    const [row] = await this.#query<{ reaped_count: string }>(
      `SELECT reaped_count FROM ${this.#s}.reap($1, $2, false)`,
      [input.minAgeMs, input.by],
    );
    if (row === undefined) throw new BatonError("INTERNAL", "the reap function returned no row");
    return Number(row.reaped_count);
  }

  async get(key: string): Promise<Claim | null> {
    const [row] = await this.#query<ClaimRow & { now_ms: number }>(
      `SELECT ${CLAIM_COLUMNS}, ${this.#s}.now_ms() AS now_ms FROM ${this.#s}.claims WHERE key = $1`,
      [key],
      "get",
    );
    return row === undefined ? null : toClaim(row, Number(row.now_ms));
  }

  async list(filter: ListFilter): Promise<Claim[]> {
    const { where, params, p } = stateFilter(filter.states);
    if (filter.agent !== undefined) where.push(`agent = ${p(filter.agent)}`);
    if (filter.prefix !== undefined && filter.prefix.length > 0) {
      const prefix = p(filter.prefix);
      where.push(`key >= ${prefix} AND starts_with(key, ${prefix})`);
    }
    const sql = `SELECT ${CLAIM_COLUMNS}, t.now AS now_ms
                 FROM ${this.#s}.claims, (SELECT ${this.#s}.now_ms() AS now) t
                 ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY claimed_at DESC, key LIMIT ${p(filter.limit)}`;
    const rows = await this.#query<ClaimRow & { now_ms: number }>(sql, params);
    return rows.map((row) => toClaim(row, Number(row.now_ms)));
  }

  async events(filter: EventFilter): Promise<BatonEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (filter.key !== undefined) where.push(`key = ${p(filter.key)}`);
    if (filter.agent !== undefined) where.push(`agent = ${p(filter.agent)}`);
    if (filter.sinceMs !== undefined) {
      // The window's start as a plain value (read from the server clock first): with a
      // function call there the planner cannot see the window is small and walks the whole
      // log backwards by id (measured: 150 ms on a million events instead of 2 ms).
      const [clock] = await this.#query<{ now_ms: number }>(`SELECT ${this.#s}.now_ms() AS now_ms`);
      where.push(`at >= ${p(Number(clock?.now_ms) - filter.sinceMs)}`);
    }
    if (filter.kinds !== undefined && filter.kinds.length > 0) where.push(`kind = ANY(${p(filter.kinds)})`);
    if (filter.afterId !== undefined) {
      // A cursor: the oldest events after it, in id order (a follower pages forward), and
      // never past an id whose transaction may still commit (events_horizon, migration 11):
      // transactions commit out of id order, and a cursor that passed an uncommitted id
      // would never see it.
      const afterId = filter.afterId;
      const [horizon] = await this.#query<{ horizon: number }>(`SELECT ${this.#s}.events_horizon($1) AS horizon`, [
        afterId,
      ]);
      where.push(`id > ${p(afterId)}`, `id <= ${p(Number(horizon?.horizon ?? afterId))}`);
      // A new statement, so a snapshot taken after the horizon: every id up to it is visible.
      const sql = `SELECT ${EVENT_COLUMNS} FROM ${this.#s}.events WHERE ${where.join(" AND ")} ORDER BY id ASC LIMIT ${p(filter.limit)}`;
      return (await this.#query<EventRow>(sql, params)).map(toEvent);
    }
    const sql = `SELECT ${EVENT_COLUMNS} FROM ${this.#s}.events
                 ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ${p(filter.limit)}`;
    const rows = await this.#query<EventRow>(sql, params);
    return rows.reverse().map(toEvent);
  }

  /**
   * Run `fn` in one transaction on one connection. Serialization failures and
   * deadlocks roll back and run `fn` again (bounded); other errors roll back and throw.
   */
  async #transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    if (this.#closed) throw new BatonError("STORE_CLOSED", "this Baton handle is closed; open a new one");
    for (let attempt = 1; ; attempt++) {
      let client: PoolClient | undefined;
      try {
        client = await this.#pool.connect();
        await client.query("BEGIN");
        const value = await fn(client);
        await client.query("COMMIT");
        client.release();
        return value;
      } catch (error) {
        if (client !== undefined) {
          const broken = await client.query("ROLLBACK").then(
            () => false,
            () => true,
          );
          client.release(broken);
        }
        const code = (error as { code?: string }).code ?? "";
        if (RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, attempt * 5 + Math.random() * 10));
          continue;
        }
        throw translateError(error, this.description);
      }
    }
  }

  async #nowIn(client: PoolClient): Promise<number> {
    const result = await client.query(`SELECT ${this.#s}.now_ms() AS now_ms`);
    return Number(result.rows[0]?.now_ms);
  }

  async #eventIn(
    client: PoolClient,
    now: number,
    kind: string,
    key: string,
    agent: string,
    token: number | null,
    commit: string | null,
    detail: Record<string, unknown> | null,
  ): Promise<void> {
    await client.query({
      name: "baton_event",
      text: `INSERT INTO ${this.#s}.events (at, kind, key, agent, token, commit_sha, detail) VALUES ($1, $2, $3, $4, $5, $6, $7::json)`,
      values: [now, kind, key, agent, token, commit, detail === null ? null : JSON.stringify(detail)],
    });
  }

  async claimPaths(input: PathClaimInput): Promise<PathClaimOutcome> {
    return this.#transaction((client) => this.#claimPathsIn(client, input));
  }

  /** The path-claim decision, inside a transaction on `client`. */
  async #claimPathsIn(client: PoolClient, input: PathClaimInput): Promise<PathClaimOutcome> {
    {
      // Path claims of one repository take turns: the overlap test runs in JavaScript,
      // so the set of live claims must not change between reading and inserting.
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`baton:paths:${this.#s}:${input.repo}`]);
      const now = await this.#nowIn(client);
      // Just what the planner needs: fast on tens of thousands of live claims.
      const liveRows = await client.query(
        `SELECT id, pattern, agent, mode FROM ${this.#s}.path_claims
         WHERE repo = $1 AND state = 'active' AND expires_at > $2`,
        [input.repo, now],
      );
      const live = (liveRows.rows as { id: number; pattern: string; agent: string; mode: PathMode }[]).sort(
        (a, b) => a.id - b.id,
      );
      const plan = planPathClaim(live, input);
      const ids = [...new Set(plan.conflicts.map((c) => c.held.id))];
      const full = new Map<number, PathClaim>();
      if (ids.length > 0) {
        const rows = await client.query(`SELECT ${PATH_COLUMNS} FROM ${this.#s}.path_claims WHERE id = ANY($1)`, [ids]);
        for (const row of rows.rows as PathRow[]) full.set(Number(row.id), toPathClaim(row, now));
      }
      const conflicts: PathConflict[] = plan.conflicts.map((c) => ({
        pattern: c.pattern,
        held: full.get(c.held.id) as PathClaim,
      }));
      if (conflicts.length > 0 && !input.advisory) {
        for (const denial of pathDenials(input, conflicts)) {
          await this.#eventIn(client, now, "denied", denial.key, input.agent, null, null, denial.detail);
        }
        return { outcome: "conflict", conflicts };
      }
      let work: ClaimOutcome | null = null;
      let token: number | null = null;
      if (input.work !== null) {
        const w = input.work;
        const result = await client.query(
          `SELECT outcome, now_ms, claim, previous FROM ${this.#s}.claim($1, $2, $3, $4::json, $5, $6, $7)`,
          [
            w.key,
            w.agent,
            w.ttlMs,
            w.meta === null ? null : JSON.stringify(w.meta),
            w.reopen,
            w.doneWindowMs,
            w.keepTtl === true,
          ],
        );
        work = claimOutcome(result.rows[0] as ClaimFnRow);
        // Nothing of the paths is written yet; the work's denial stays in the log.
        if (work.outcome !== "granted" && work.outcome !== "renewed") return { outcome: "work_refused", work };
        token = work.claim.token;
      }
      const byPattern = new Map<string, PathRow>();
      const workKey = input.work?.key ?? null;
      for (const own of plan.renew) {
        const result = await client.query(
          `UPDATE ${this.#s}.path_claims SET expires_at = $1, renewed_at = $2, mode = $3,
             reason = coalesce($4, reason), work_key = coalesce($5, work_key)
           WHERE id = $6 RETURNING ${PATH_COLUMNS}`,
          [now + input.ttlMs, now, input.mode, input.reason, workKey, own.id],
        );
        const row = result.rows[0] as PathRow;
        await this.#eventIn(
          client,
          now,
          "renewed",
          pathEventKey(own.pattern),
          input.agent,
          Number(row.token),
          null,
          pathDetail.renewed(input.repo, input.mode, input.ttlMs),
        );
        byPattern.set(own.pattern, row);
      }
      if (plan.insert.length > 0 && token === null) {
        const result = await client.query(`SELECT nextval('${this.#s}.fencing_token') AS token`);
        token = Number(result.rows[0]?.token);
      }
      for (const pattern of plan.insert) {
        const result = await client.query(
          `INSERT INTO ${this.#s}.path_claims (repo, pattern, agent, mode, token, state, claimed_at, expires_at, reason, work_key)
           VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9) RETURNING ${PATH_COLUMNS}`,
          [input.repo, pattern, input.agent, input.mode, token, now, now + input.ttlMs, input.reason, workKey],
        );
        const row = result.rows[0] as PathRow;
        const overridden = conflicts.filter((c) => c.pattern === pattern).length;
        await this.#eventIn(
          client,
          now,
          "granted",
          pathEventKey(pattern),
          input.agent,
          token,
          null,
          pathDetail.granted(input.repo, input.mode, input.ttlMs, workKey, overridden),
        );
        byPattern.set(pattern, row);
      }
      if (workKey !== null && byPattern.size > 0) {
        // The work claim's row (locked by the claim above) says it has path claims: ending
        // it looks for them only then (schema 15).
        await client.query(`UPDATE ${this.#s}.claims SET linked_paths = true WHERE key = $1 AND NOT linked_paths`, [
          workKey,
        ]);
      }
      return {
        outcome: "granted",
        claims: input.patterns.map((p) => toPathClaim(byPattern.get(p) as PathRow, now)),
        conflicts,
        work,
      };
    }
  }

  /** Lock and return the agent's active path claims picked by the selector. */
  async #selectPathsIn(client: PoolClient, selector: PathSelector, onlyLiveAt: number | null): Promise<PathRow[]> {
    const result = await client.query(
      `SELECT ${PATH_COLUMNS} FROM ${this.#s}.path_claims
       WHERE repo = $1 AND agent = $2 AND state = 'active' AND ($3::bigint IS NULL OR expires_at > $3)
       ORDER BY id FOR UPDATE`,
      [selector.repo, selector.agent, onlyLiveAt],
    );
    const rows = result.rows as PathRow[];
    if (selector.patterns === null) return rows;
    const wanted = new Set(selector.patterns);
    return rows.filter((row) => wanted.has(row.pattern));
  }

  /**
   * Change each of the agent's selected path claims (locked; only live ones when `live`)
   * with one UPDATE and log one event per claim: what renew, release and note-commit share.
   */
  #updatePaths(
    input: PathSelector,
    live: boolean,
    kind: "renewed" | "released" | "committed",
    update: (now: number) => { set: string; params: unknown[] },
    event: (row: PathRow) => { commit: string | null; detail: Record<string, unknown> },
  ): Promise<PathClaim[]> {
    return this.#transaction(async (client) => {
      const rows = await this.#selectPathsIn(client, input, live ? await this.#nowIn(client) : null);
      const now = await this.#nowIn(client);
      const { set, params } = update(now);
      const out: PathClaim[] = [];
      for (const own of rows) {
        const result = await client.query(
          `UPDATE ${this.#s}.path_claims SET ${set} WHERE id = $${params.length + 1} RETURNING ${PATH_COLUMNS}`,
          [...params, own.id],
        );
        const row = result.rows[0] as PathRow;
        const e = event(row);
        await this.#eventIn(
          client,
          now,
          kind,
          pathEventKey(row.pattern),
          input.agent,
          Number(row.token),
          e.commit,
          e.detail,
        );
        out.push(toPathClaim(row, now));
      }
      return out;
    });
  }

  renewPaths(input: PathSelector & { readonly ttlMs: number }): Promise<PathClaim[]> {
    return this.#updatePaths(
      input,
      true,
      "renewed",
      (now) => ({ set: "expires_at = $1, renewed_at = $2", params: [now + input.ttlMs, now] }),
      (row) => ({ commit: null, detail: pathDetail.renewed(input.repo, row.mode, input.ttlMs) }),
    );
  }

  releasePaths(input: PathSelector & { readonly commit: string | null }): Promise<PathClaim[]> {
    return this.#updatePaths(
      input,
      false,
      "released",
      (now) => ({ set: "state = 'released', ended_at = $1, commit_sha = $2", params: [now, input.commit] }),
      () => ({ commit: input.commit, detail: pathDetail.ended(input.repo) }),
    );
  }

  notePathCommit(input: PathSelector & { readonly commit: string }): Promise<PathClaim[]> {
    return this.#updatePaths(
      input,
      true,
      "committed",
      () => ({ set: "commit_sha = $1", params: [input.commit] }),
      () => ({ commit: input.commit, detail: pathDetail.committed(input.repo) }),
    );
  }

  async recordEvent(input: RecordEventInput): Promise<BatonEvent> {
    const [row] = await this.#query<EventRow>(
      `INSERT INTO ${this.#s}.events (at, kind, key, agent, token, commit_sha, detail)
       VALUES (${this.#s}.now_ms(), $1, $2, $3, NULL, $4, $5::json) RETURNING ${EVENT_COLUMNS}`,
      [input.kind, input.key, input.agent, input.commit, input.detail === null ? null : JSON.stringify(input.detail)],
    );
    return toEvent(row as EventRow);
  }
  async addToken(input: TokenInput): Promise<TokenRecord> {
    const [row] = await this.#query<TokenRow>(
      `INSERT INTO ${this.#s}.tokens (agent, role, hash, created_at) VALUES ($1, $2, $3, ${this.#s}.now_ms()) RETURNING ${TOKEN_COLUMNS}`,
      [input.agent, input.role, input.hash],
    );
    return toToken(row as TokenRow);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.#query<TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM ${this.#s}.tokens ORDER BY id`)).map(toToken);
  }

  async revokeTokens(input: {
    readonly id?: number | undefined;
    readonly agent?: string | undefined;
  }): Promise<TokenRecord[]> {
    const rows = await this.#query<TokenRow>(
      `UPDATE ${this.#s}.tokens SET revoked_at = ${this.#s}.now_ms()
       WHERE revoked_at IS NULL AND (id = $1 OR agent = $2) RETURNING ${TOKEN_COLUMNS}`,
      [input.id ?? null, input.agent ?? null],
    );
    return rows.map(toToken);
  }

  async tokenByHash(hash: string): Promise<TokenRecord | null> {
    const [row] = await this.#query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM ${this.#s}.tokens WHERE hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    return row === undefined ? null : toToken(row);
  }

  async listPaths(filter: PathListFilter): Promise<PathClaim[]> {
    const { where, params, p } = stateFilter(filter.states);
    if (filter.repo !== undefined) where.push(`repo = ${p(filter.repo)}`);
    if (filter.agent !== undefined) where.push(`agent = ${p(filter.agent)}`);
    const sql = `SELECT ${PATH_COLUMNS}, t.now AS now_ms
                 FROM ${this.#s}.path_claims, (SELECT ${this.#s}.now_ms() AS now) t
                 ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY claimed_at DESC, id DESC LIMIT ${p(filter.limit)}`;
    const rows = await this.#query<PathRow & { now_ms: number }>(sql, params);
    return rows.map((row) => toPathClaim(row, Number(row.now_ms)));
  }

  async reapPaths(input: ReapInput): Promise<PathClaim[]> {
    // One statement: the UPDATE locks each stale row it changes (re-checking a row changed
    // meanwhile), the events follow in reap order, and the rows come back in that order.
    const s = this.#s;
    const rows = await this.#query<PathRow & { now_ms: number }>(
      `WITH t AS (SELECT ${s}.now_ms() AS now),
       r AS (
         UPDATE ${s}.path_claims pc SET state = 'abandoned', ended_at = t.now,
             reason = coalesce(pc.reason, 'reaped: expired without release')
           FROM t WHERE pc.state = 'active' AND pc.expires_at <= t.now - $1
           RETURNING ${PATH_COLUMNS.split(", ")
             .map((c) => `pc.${c}`)
             .join(", ")}, t.now AS now_ms
       ), e AS (
         INSERT INTO ${s}.events (at, kind, key, agent, token, detail)
           SELECT r.now_ms, 'reaped', 'path:' || r.pattern, r.agent, r.token, CASE
             WHEN $2::text IS NULL THEN json_build_object('repo', r.repo, 'expiredAt', ${s}.iso(r.expires_at))
             ELSE json_build_object('by', $2::text, 'repo', r.repo, 'expiredAt', ${s}.iso(r.expires_at)) END
           FROM r ORDER BY r.expires_at, r.id
       )
       SELECT * FROM r ORDER BY expires_at, id`,
      [input.minAgeMs, input.by],
    );
    return rows.map((row) => toPathClaim(row, Number(row.now_ms)));
  }

  // ---- tasks ----------------------------------------------------------------

  /** A task's columns with its derived state at server time `$1`. */
  #taskSelect(): string {
    const s = this.#s;
    return `SELECT t.id, t.title, t.category, t.priority, t.blocked_by, t.paths, t.assignee, t.meta,
        t.source, t.created_at, t.updated_at, t.done_at, c.agent AS holder,
        CASE WHEN t.state = 'done' THEN 'done'
             WHEN c.agent IS NOT NULL THEN 'claimed'
             WHEN EXISTS (SELECT 1 FROM json_array_elements_text(t.blocked_by) b(id) LEFT JOIN ${s}.tasks bt ON bt.id = b.id
                          WHERE bt.id IS NULL OR bt.state <> 'done') THEN 'blocked'
             ELSE 'ready' END AS derived
      FROM ${s}.tasks t
      LEFT JOIN ${s}.claims c ON c.key = 'task:' || t.id AND c.state = 'active' AND c.expires_at > $1`;
  }

  async putTasks(tasks: readonly TaskInput[], mode: PutMode): Promise<PutTasksOutcome> {
    const refused = new Error("refused");
    let answer: PutTasksOutcome | null = null;
    try {
      return await this.#transaction(async (client) => {
        // Writers of the backlog take turns: an import and an add of the same id cannot interleave.
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`baton:tasks:${this.#s}`]);
        const now = await this.#nowIn(client);
        const created: string[] = [];
        const updated: string[] = [];
        const unchanged: string[] = [];
        const added: AddedBlocker[] = [];
        for (const task of tasks) {
          const found = await client.query(
            `SELECT title, category, priority, state, blocked_by::text AS blocked_by, paths::text AS paths, assignee, meta::text AS meta, source
             FROM ${this.#s}.tasks WHERE id = $1`,
            [task.id],
          );
          const existing = found.rows[0] as Record<string, unknown> | undefined;
          if (existing !== undefined && mode === "add") {
            answer = { ok: false, code: "TASK_EXISTS", id: task.id };
            throw refused;
          }
          if (existing === undefined && mode === "update") {
            answer = { ok: false, code: "TASK_NOT_FOUND", id: task.id };
            throw refused;
          }
          const had = existing === undefined ? [] : (JSON.parse(String(existing.blocked_by)) as string[]);
          for (const blocker of task.blockedBy) if (!had.includes(blocker)) added.push({ id: task.id, blocker });
          const values = taskColumns(task);
          // Done is left only by task reopen (setTaskState): a re-import or an update never reopens.
          if (existing?.state === "done") values.state = "done";
          if (existing === undefined) {
            await client.query(
              `INSERT INTO ${this.#s}.tasks (id, title, category, priority, state, blocked_by, paths, assignee, meta, source, created_at, updated_at, done_at)
               VALUES ($1, $2, $3, $4, $5, $6::json, $7::json, $8, $9::json, $10, $11, $11, $12)`,
              [task.id, ...taskColumnValues(values), now, task.done ? now : null],
            );
            created.push(task.id);
          } else if (Object.entries(values).every(([k, v]) => existing[k] === v)) {
            unchanged.push(task.id);
          } else {
            await client.query(
              `UPDATE ${this.#s}.tasks SET title = $2, category = $3, priority = $4, state = $5, blocked_by = $6::json, paths = $7::json,
                 assignee = $8, meta = $9::json, source = $10, updated_at = $11,
                 done_at = CASE WHEN $5 = 'done' THEN coalesce(done_at, $11) ELSE NULL END
               WHERE id = $1`,
              [task.id, ...taskColumnValues(values), now],
            );
            updated.push(task.id);
          }
        }
        // Checked after the writes, under the backlog lock in the same transaction.
        const problem = await this.#blockerProblem(client, added);
        if (problem !== null) {
          answer = { ok: false, ...problem };
          throw refused;
        }
        return { ok: true as const, created, updated, unchanged };
      });
    } catch (error) {
      if (answer !== null) return answer;
      throw error;
    }
  }

  async updateTask(patch: TaskPatch): Promise<UpdateTaskOutcome> {
    const refused = new Error("refused");
    let answer: UpdateTaskOutcome | null = null;
    try {
      return await this.#transaction(async (client) => {
        // The backlog's writers take turns (as putTasks), and the row is locked: the read,
        // the patch and the write are one step for every other writer.
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`baton:tasks:${this.#s}`]);
        const found = await client.query(
          `SELECT title, category, priority, blocked_by::text AS blocked_by, paths::text AS paths, assignee, meta::text AS meta
           FROM ${this.#s}.tasks WHERE id = $1 FOR UPDATE`,
          [patch.id],
        );
        const row = found.rows[0] as StoredTaskColumns | undefined;
        if (row === undefined) {
          answer = { ok: false, code: "TASK_NOT_FOUND", id: patch.id };
          throw refused;
        }
        const now = await this.#nowIn(client);
        const { columns: c, added, changed } = patchTaskColumns(row, patch);
        if (changed) {
          await client.query(
            `UPDATE ${this.#s}.tasks SET title = $2, category = $3, priority = $4, blocked_by = $5::json, paths = $6::json,
               assignee = $7, meta = $8::json, updated_at = $9
             WHERE id = $1`,
            [patch.id, c.title, c.category, c.priority, c.blocked_by, c.paths, c.assignee, c.meta, now],
          );
          const problem = await this.#blockerProblem(
            client,
            added.map((blocker) => ({ id: patch.id, blocker })),
          );
          if (problem !== null) {
            answer = { ok: false, ...problem };
            throw refused;
          }
        }
        const { rows } = await client.query(`${this.#taskSelect()} WHERE t.id = $2`, [now, patch.id]);
        return { ok: true as const, task: toTask(rows[0] as TaskRow), changed };
      });
    } catch (error) {
      if (answer !== null) return answer;
      throw error;
    }
  }

  /** Read the blocker graph reachable from `added` (one query per level, in the caller's transaction) and judge it. */
  async #blockerProblem(client: PoolClient, added: readonly AddedBlocker[]): Promise<BlockerProblem | null> {
    if (added.length === 0) return null;
    const graph = new Map<string, string[]>();
    const missing = new Set<string>();
    let frontier = toRead(startIds(added), graph, missing);
    while (frontier.length > 0) {
      const { rows } = await client.query(
        `SELECT id, blocked_by::text AS blocked_by FROM ${this.#s}.tasks WHERE id = ANY($1::text[])`,
        [frontier],
      );
      const next: string[] = [];
      for (const row of rows as { id: string; blocked_by: string }[]) {
        const blockers = JSON.parse(row.blocked_by) as string[];
        graph.set(row.id, blockers);
        next.push(...blockers);
      }
      for (const id of frontier) if (!graph.has(id)) missing.add(id);
      frontier = toRead(next, graph, missing);
    }
    return blockerProblem(added, graph);
  }

  async getTask(id: string): Promise<Task | null> {
    const now = await this.now();
    const [row] = await this.#query<TaskRow>(`${this.#taskSelect()} WHERE t.id = $2`, [now.getTime(), id]);
    return row === undefined ? null : toTask(row);
  }

  async listTasks(filter: TaskFilter): Promise<Task[]> {
    const now = await this.now();
    const params: unknown[] = [now.getTime()];
    const p = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const where: string[] = [];
    if (filter.category !== undefined) where.push(`category = ${p(filter.category)}`);
    if (filter.states !== undefined && filter.states.length > 0) where.push(`derived = ANY(${p(filter.states)})`);
    const sql = `SELECT * FROM (${this.#taskSelect()}) x ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
                 ORDER BY priority DESC, created_at, id LIMIT ${p(filter.limit)}`;
    return (await this.#query<TaskRow>(sql, params)).map(toTask);
  }

  async liveClaimCount(): Promise<number> {
    const rows = await this.#query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.#s}.claims WHERE state = 'active' AND expires_at > ${this.#s}.now_ms()`,
      [],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async taskCounts(): Promise<TaskCounts> {
    const now = await this.now();
    const rows = await this.#query<{ derived: TaskState; n: number }>(
      `SELECT derived, count(*)::int AS n FROM (${this.#taskSelect()}) x GROUP BY derived`,
      [now.getTime()],
    );
    const counts = { ready: 0, blocked: 0, claimed: 0, done: 0 };
    for (const row of rows) counts[row.derived] = Number(row.n);
    return counts;
  }

  async setTaskState(input: TaskStateInput): Promise<TaskStateOutcome> {
    return this.#transaction(async (client): Promise<TaskStateOutcome> => {
      const s = this.#s;
      const found = await client.query(`SELECT state FROM ${s}.tasks WHERE id = $1 FOR UPDATE`, [input.id]);
      if (found.rowCount === 0) return { ok: false, code: "TASK_NOT_FOUND" };
      const key = `task:${input.id}`;
      const locked = await client.query(`SELECT ${CLAIM_COLUMNS} FROM ${s}.claims WHERE key = $1 FOR UPDATE`, [key]);
      const before = locked.rows[0] as ClaimRow | undefined;
      const now = await this.#nowIn(client);
      let changed: ClaimRow | null = null;
      if (input.done) {
        await client.query(
          `UPDATE ${s}.tasks SET state = 'done', done_at = $1, updated_at = $1 WHERE id = $2 AND state = 'open'`,
          [now, input.id],
        );
        if (before !== undefined && before.state === "active") {
          const r = await client.query(
            `UPDATE ${s}.claims SET state = 'completed', ended_at = $1 WHERE key = $2 RETURNING ${CLAIM_COLUMNS}`,
            [now, key],
          );
          changed = r.rows[0] as ClaimRow;
          await this.#eventIn(client, now, "completed", key, input.agent ?? before.agent, Number(before.token), null, {
            via: "task done",
            holder: before.agent,
          });
          await client.query(`SELECT ${s}.end_linked_paths($1, $2, $3, 'released', NULL)`, [now, key, before.agent]);
        }
      } else {
        await client.query(
          `UPDATE ${s}.tasks SET state = 'open', done_at = NULL, updated_at = $1 WHERE id = $2 AND state = 'done'`,
          [now, input.id],
        );
        if (before !== undefined && before.state === "completed") {
          const r = await client.query(
            `UPDATE ${s}.claims SET state = 'released', reason = 'task reopened' WHERE key = $1 RETURNING ${CLAIM_COLUMNS}`,
            [key],
          );
          changed = r.rows[0] as ClaimRow;
          await this.#eventIn(client, now, "reopened", key, input.agent ?? before.agent, Number(before.token), null, {
            previousAgent: before.agent,
          });
        }
      }
      const task = await client.query(`${this.#taskSelect()} WHERE t.id = $2`, [now, input.id]);
      return {
        ok: true,
        task: toTask(task.rows[0] as TaskRow),
        claim: changed === null ? null : toClaim(changed, now),
      };
    });
  }

  async next(input: NextInput): Promise<NextOutcome> {
    // Round trips: one statement reads what the ranking needs; the ranking (core, in
    // JavaScript) orders the candidates; next_take (schema 14) then tries the ranked tasks
    // without paths in one call. A task with paths is claimed with them in a transaction of
    // its own (the overlap test is core's too), and the tasks after it in the next call.
    const s = this.#s;
    const [read] = await this.#query<{
      now_ms: number;
      stats: { category: string; successes: number; failures: number; updated_at: number }[];
      recent: ({ category?: unknown } | null)[];
      tasks: TaskRow[];
    }>(
      // Per category (a loose index scan finds them), the first ready tasks in index order
      // (priority, then age): a 100,000-task backlog is never scanned whole.
      `WITH RECURSIVE clock AS MATERIALIZED (SELECT ${s}.now_ms() AS now),
       cats(c) AS (
         SELECT min(category) FROM ${s}.tasks WHERE state = 'open' AND ($2::text IS NULL OR category = $2)
         UNION ALL
         SELECT (SELECT min(category) FROM ${s}.tasks WHERE state = 'open' AND category > c AND $2::text IS NULL)
         FROM cats WHERE c IS NOT NULL),
       ready AS (
         SELECT x.* FROM clock, cats, LATERAL (
           SELECT t.id, t.title, t.category, t.priority, t.blocked_by, t.paths, t.assignee, t.meta, t.source,
                  t.created_at, t.updated_at, t.done_at, NULL::text AS holder, 'ready' AS derived
           FROM ${s}.tasks t
           WHERE t.state = 'open' AND t.category = cats.c
             -- A scalar look-up by primary key: as NOT EXISTS the planner, without fresh
             -- statistics, anti-joins every live claim per task (7 ms per category measured).
             -- Not held, and not completed within the done window.
             AND coalesce((SELECT (c.state = 'active' AND c.expires_at > clock.now)
                                  OR (c.state = 'completed' AND c.ended_at > clock.now - $3)
                           FROM ${s}.claims c WHERE c.key = 'task:' || t.id), false) = false
             -- Unblocked: no blockers (most tasks; a text compare, not a set-returning call), or all done.
             AND (t.blocked_by::text = '[]'
                  OR NOT EXISTS (SELECT 1 FROM json_array_elements_text(t.blocked_by) b(id) LEFT JOIN ${s}.tasks bt ON bt.id = b.id
                                 WHERE bt.id IS NULL OR bt.state <> 'done'))
           ORDER BY t.priority DESC, t.created_at
           LIMIT $1) x
         WHERE cats.c IS NOT NULL)
       SELECT clock.now AS now_ms,
         (SELECT coalesce(json_agg(st), '[]') FROM (SELECT category, successes, failures, updated_at FROM ${s}.category_stats) st) AS stats,
         (SELECT coalesce(json_agg(r.detail ORDER BY r.id DESC), '[]')
            FROM (SELECT e.id, e.detail FROM ${s}.events e WHERE e.kind = 'selected' ORDER BY e.id DESC LIMIT $4) r) AS recent,
         (SELECT coalesce(json_agg(ready ORDER BY ready.category, ready.priority DESC, ready.created_at, ready.id), '[]')
            FROM ready) AS tasks
       FROM clock`,
      [CANDIDATES_PER_CATEGORY, input.category, input.doneWindowMs, RECENT_SELECTIONS],
    );
    if (read === undefined) throw new BatonError("INTERNAL", "the next read returned no row");
    const now = Number(read.now_ms);
    const context: NextContext = {
      now,
      stats: decayedStats(read.stats, now),
      recent: read.recent.map((detail) => String(detail?.category ?? "")),
    };
    const ready = read.tasks.map(toTask);
    const byId = new Map(ready.map((t) => [t.id, t]));
    const ranked = input.rank(ready, context).filter((id) => byId.has(id));
    const skipped: string[] = [];
    const taken = (task: Task, claim: Claim, paths: PathClaim[]): NextOutcome => ({
      task: { ...task, state: "claimed", holder: input.agent },
      claim,
      paths,
      ranked,
      skipped,
      context,
    });
    for (let i = 0; i < ranked.length;) {
      const task = byId.get(ranked[i] as string) as Task;
      if (task.paths.length > 0 && input.repo === null) {
        skipped.push(task.id);
        i++;
        continue;
      }
      if (input.dryRun) return { task, claim: null, paths: [], ranked, skipped, context };
      if (task.paths.length > 0) {
        const got = await this.#takeWithPaths(task, input, now);
        if (got !== null) return taken(task, got.claim, got.paths);
        skipped.push(task.id);
        i++;
        continue;
      }
      // The run of ranked tasks without paths from here, in one call.
      let j = i;
      while (j < ranked.length && (byId.get(ranked[j] as string) as Task).paths.length === 0) j++;
      const run = ranked.slice(i, j).map((id) => byId.get(id) as Task);
      const [row] = await this.#query<{ pos: number | null; now_ms: number | null; claim: ClaimRow | null }>(
        `SELECT pos, now_ms, claim FROM ${s}.next_take($1, $2, $3, $4, $5, $6, $7)`,
        [
          run.map((t) => t.id),
          run.map((t) => t.category),
          run.map((t) => t.priority),
          input.agent,
          input.ttlMs,
          input.doneWindowMs,
          now,
        ],
        "next_take",
      );
      if (row?.pos !== null && row?.pos !== undefined && row.claim !== null) {
        const at = row.pos - 1;
        skipped.push(...run.slice(0, at).map((t) => t.id));
        return taken(run[at] as Task, toClaim(row.claim, Number(row.now_ms)), []);
      }
      skipped.push(...run.map((t) => t.id));
      i = j;
    }
    return { task: null, claim: null, paths: [], ranked, skipped, context };
  }

  /** Take a ranked task that declares paths: its row, its work claim and its paths in one transaction, or null. */
  async #takeWithPaths(
    task: Task,
    input: NextInput,
    now: number,
  ): Promise<{ claim: Claim; paths: PathClaim[] } | null> {
    return this.#transaction(async (client) => {
      // Another caller working on this task right now holds its row: skip it, do not wait.
      const locked = await client.query(
        `SELECT id FROM ${this.#s}.tasks WHERE id = $1 AND state = 'open' FOR UPDATE SKIP LOCKED`,
        [task.id],
      );
      if (locked.rowCount === 0) return null;
      const outcome = await this.#claimPathsIn(client, {
        repo: input.repo as string,
        agent: input.agent,
        patterns: task.paths,
        mode: "exclusive",
        ttlMs: input.ttlMs,
        reason: `task:${task.id}`,
        advisory: false,
        work: {
          key: `task:${task.id}`,
          agent: input.agent,
          ttlMs: input.ttlMs,
          meta: null,
          reopen: false,
          doneWindowMs: input.doneWindowMs,
        },
      });
      // Denials stay logged: what the transaction wrote before the refusal is committed.
      if (outcome.outcome !== "granted" || outcome.work === null) return null;
      const claim = outcome.work.claim;
      await this.#eventIn(client, now, "selected", `task:${task.id}`, input.agent, claim.token, null, {
        category: task.category,
        priority: task.priority,
      });
      return { claim, paths: outcome.claims };
    });
  }

  async recordOutcome(input: {
    readonly category: string;
    readonly outcome: "success" | "failure" | "noop";
  }): Promise<void> {
    await this.#transaction(async (client) => {
      const now = await this.#nowIn(client);
      const found = await client.query(
        `SELECT successes, failures, updated_at FROM ${this.#s}.category_stats WHERE category = $1 FOR UPDATE`,
        [input.category],
      );
      const row = found.rows[0] as { successes: number; failures: number; updated_at: number } | undefined;
      const counts = withOutcome(row, input.outcome, now);
      await client.query(
        `INSERT INTO ${this.#s}.category_stats (category, successes, failures, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (category) DO UPDATE SET successes = excluded.successes, failures = excluded.failures, updated_at = excluded.updated_at`,
        [input.category, counts.successes, counts.failures, now],
      );
    });
  }

  async schemaStatus(): Promise<SchemaStatus> {
    if (this.#closed) throw new BatonError("STORE_CLOSED", "this Baton handle is closed; open a new one");
    const client = await this.#pool.connect().catch((error: unknown) => {
      throw translateError(error, this.description);
    });
    try {
      const version = await readVersion(client, this.#s);
      return schemaStatusFor(version);
    } catch (error) {
      throw translateError(error, this.description);
    } finally {
      client.release();
    }
  }

  /**
   * Wake `onChange` after events are appended, by any process on any machine (see
   * {@link Store.watchEvents}): a trigger on the events table NOTIFYs at each commit that
   * added events (migration 11), and one dedicated connection per store — not one of the
   * pool's — LISTENs. When that connection is lost it reconnects (with backoff) and then
   * wakes every watcher, which re-reads from its cursor: what was committed meanwhile is
   * read, not lost. The connection closes with the last watcher.
   */
  async watchEvents(onChange: () => void): Promise<Unwatch> {
    if (this.#closed) throw new BatonError("STORE_CLOSED", "this Baton handle is closed; open a new one");
    return this.#watch.add(onChange);
  }

  /** The LISTEN connection's backend pid, or null while it is down: for tests that cut it. */
  get listenPid(): number | null {
    return this.#watch.pid;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#watch.stop();
    await this.#pool.end();
  }
}

/** Longest wait between two reconnection attempts of the LISTEN connection. */
const LISTEN_RETRY_MAX_MS = 5_000;

/**
 * The LISTEN side of {@link PostgresStore.watchEvents}: one connection outside the pool,
 * opened with the first watcher and closed with the last, reconnecting when it is lost.
 */
class PgWatch {
  readonly #listeners = new Set<() => void>();
  readonly #config: ClientConfig;
  readonly #schema: string;
  readonly #where: string;
  #client: Client | undefined;
  /** The connection being opened (the first watcher waits for it). */
  #connecting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = 50;
  #stopped = false;

  constructor(config: ClientConfig, schema: string, where: string) {
    this.#config = config;
    this.#schema = schema;
    this.#where = where;
  }

  get pid(): number | null {
    return (this.#client as { processID?: number } | undefined)?.processID ?? null;
  }

  async add(onChange: () => void): Promise<Unwatch> {
    const listener = (): void => onChange();
    this.#listeners.add(listener);
    try {
      // The first watcher waits for LISTEN; later ones join (during a reconnection too: the
      // reconnection wakes them, so what was committed meanwhile is read).
      if (this.#client === undefined && this.#retry === undefined) await this.#open();
    } catch (error) {
      this.#listeners.delete(listener);
      throw translateError(error, this.#where);
    }
    return async () => {
      if (!this.#listeners.delete(listener) || this.#listeners.size > 0) return;
      await this.#disconnect();
    };
  }

  /** Open the LISTEN connection, or wait for the opening under way. */
  #open(): Promise<void> {
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const pg = loadPg();
    // A schema's name in application_name lets an operator (or a test) tell the listeners apart.
    const client = new pg.Client({
      ...this.#config,
      application_name: `baton-listen:${this.#schema}`.slice(0, 63),
      keepAlive: true,
    });
    const lost = (): void => this.#lost(client);
    client.on("error", lost);
    client.on("end", lost);
    client.on("notification", (message) => {
      if (message.channel === PG_EVENTS_CHANNEL && message.payload === this.#schema) this.#wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${PG_EVENTS_CHANNEL}`);
    } catch (error) {
      client.removeListener("end", lost);
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#stopped || this.#listeners.size === 0) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#retryMs = 50;
  }

  /** The LISTEN connection failed or ended: reconnect while anyone watches. */
  #lost(client: Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#listeners.size === 0 || this.#retry !== undefined) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, LISTEN_RETRY_MAX_MS);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#open().then(
        // Notifications sent while the connection was down are gone: wake everyone to re-read.
        () => this.#wake(),
        () => this.#scheduleReconnect(),
      );
    }, delay);
  }

  #wake(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        // A watcher's own failure is its business (see Store.watchEvents).
      }
    }
  }

  async #disconnect(): Promise<void> {
    clearTimeout(this.#retry);
    this.#retry = undefined;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#listeners.clear();
    await this.#connecting?.catch(() => undefined);
    await this.#disconnect();
  }
}

function schemaStatusFor(version: number): SchemaStatus {
  return {
    version,
    supported: PG_SCHEMA_VERSION,
    pending: PG_MIGRATIONS.filter((m) => m.version > version).map(({ version, description }) => ({
      version,
      description,
    })),
  };
}

/** The applied schema version, 0 when the schema or its table does not exist. */
async function readVersion(client: PoolClient, s: string): Promise<number> {
  try {
    const result = await client.query(`SELECT coalesce(max(version), 0) AS version FROM ${s}.schema_migrations`);
    return Number(result.rows[0]?.version ?? 0);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "42P01" || code === "3F000") return 0; // no table / no schema yet
    throw error;
  }
}

/** Apply pending migrations under an advisory lock. */
async function migrate(client: PoolClient, schema: string, where: string): Promise<void> {
  const s = quoteIdent(schema);
  await client.query("BEGIN");
  try {
    // One lock per schema: processes opening a fresh database together take turns.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`baton:migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version integer PRIMARY KEY,
         description text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const version = await readVersion(client, s);
    if (version > PG_SCHEMA_VERSION) throw schemaTooNew(where, version);
    for (const migration of PG_MIGRATIONS) {
      if (migration.version <= version) continue;
      await client.query(migrationSql(migration, schema));
      await client.query(`INSERT INTO ${s}.schema_migrations (version, description) VALUES ($1, $2)`, [
        migration.version,
        migration.description,
      ]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/**
 * Connect to PostgreSQL, check the schema version and run pending migrations
 * (unless `migrate: false`).
 *
 * @throws BatonError `BAD_OPTION` (bad schema name), `STORE_UNAVAILABLE`, `STORE_BUSY`, `SCHEMA_TOO_NEW`
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const schema = options.schema ?? DEFAULT_PG_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) {
    throw new BatonError(
      "BAD_OPTION",
      `invalid PostgreSQL schema name ${JSON.stringify(schema)}: use 1-63 letters, digits and _, not starting with a digit`,
    );
  }
  const where = redactUrl(options.url);
  const pg = loadPg();
  // bigint (int8) columns as numbers: tokens, ids and epoch milliseconds stay far below 2^53.
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  const config: PoolConfig = {
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    statement_timeout: options.statementTimeoutMs ?? 30_000,
    lock_timeout: options.lockTimeoutMs ?? 5_000,
    application_name: "baton",
    types,
  };
  const pool = new pg.Pool(config);
  // An idle connection the server drops must not crash the process; the next query reconnects.
  pool.on("error", () => undefined);
  // Nor one dropped while checked out between statements (open, a transaction): without a
  // listener that is an unhandled 'error' event and a crash; the next statement fails instead.
  pool.on("connect", (client) => client.on("error", () => undefined));
  let client: PoolClient | undefined;
  try {
    client = await pool.connect();
    const s = quoteIdent(schema);
    const version = await readVersion(client, s);
    if (version > PG_SCHEMA_VERSION) throw schemaTooNew(where, version);
    if (version < PG_SCHEMA_VERSION && options.migrate !== false) await migrate(client, schema, where);
    client.release();
    client = undefined;
    return new PostgresStore(pool, schema, where, {
      connectionString: options.url,
      connectionTimeoutMillis: config.connectionTimeoutMillis,
      types,
    });
  } catch (error) {
    client?.release(true);
    await pool.end().catch(() => undefined);
    throw translateError(error, where);
  }
}
