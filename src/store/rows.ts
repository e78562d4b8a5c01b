/**
 * Row shapes shared by every store adapter. Both stores keep times as epoch
 * milliseconds of the store's clock and map rows to the domain types here, so a
 * claim or an event reads the same whichever store holds it.
 */
import { readStoredList, readStoredObject } from "../core/schemas.js";
import { decay } from "../core/scoring.js";
import type { TokenRecord, TokenRole } from "../core/tokens.js";
import type { BatonEvent, Claim, EventKind, PathClaim, StoredClaimState, Task, TaskState } from "../core/types.js";
import type { TaskInput, TaskPatch } from "./store.js";

/** A row of the `claims` table, as both adapters return it. */
export interface ClaimRow {
  key: string;
  agent: string;
  token: number;
  state: StoredClaimState;
  claimed_at: number;
  renewed_at: number | null;
  expires_at: number;
  ended_at: number | null;
  /** JSON text (SQLite) or already parsed (PostgreSQL). */
  meta: string | Record<string, unknown> | null;
  result: string | null;
  commit_sha: string | null;
  reason: string | null;
}

/** A row of the `events` table, as both adapters return it. */
export interface EventRow {
  id: number;
  at: number;
  kind: EventKind;
  key: string;
  agent: string;
  token: number | null;
  commit_sha: string | null;
  detail: string | Record<string, unknown> | null;
}

/** The claim columns in table order. */
export const CLAIM_COLUMNS =
  "key, agent, token, state, claimed_at, renewed_at, expires_at, ended_at, meta, result, commit_sha, reason";

/** The event columns in table order. */
export const EVENT_COLUMNS = "id, at, kind, key, agent, token, commit_sha, detail";

// Never throws: a row written by hand or by another build must not crash a reader.
const parseJson = (value: string | Record<string, unknown> | null): Record<string, unknown> | null =>
  readStoredObject(value);

/** The lease part of a claim or path-claim row at store time `now` (an active row past expiry is `expired`). */
function lease(
  row: { token: number; state: StoredClaimState; claimed_at: number; expires_at: number; ended_at: number | null },
  now: number,
) {
  return {
    token: Number(row.token),
    state: (row.state === "active" && Number(row.expires_at) <= now ? "expired" : row.state) as Claim["state"],
    claimedAt: new Date(Number(row.claimed_at)),
    expiresAt: new Date(Number(row.expires_at)),
    endedAt: row.ended_at === null ? null : new Date(Number(row.ended_at)),
  };
}

/** A claim row as the domain sees it at store time `now` (an active row past expiry is `expired`). */
export function toClaim(row: ClaimRow, now: number): Claim {
  return {
    key: row.key,
    agent: row.agent,
    ...lease(row, now),
    meta: parseJson(row.meta),
    result: row.result,
    commit: row.commit_sha,
    reason: row.reason,
  };
}

/** The reason every claim a reap abandons carries, on both stores. */
export const REAP_REASON = "reaped: expired without completion";

/**
 * The claims a reap abandoned as both stores answer them: one array per column, each in reap
 * order (expiry, then key): key, agent, token, claimed_at, expires_at, meta, result, commit_sha.
 * Columns, not rows: one parsed array per column instead of one per claim (100,000 small arrays
 * were a third of the answer's parse time). What every reaped claim shares (its state, its end
 * time `now`, {@link REAP_REASON}) is not sent at all.
 */
export type ReapedColumns = [
  keys: string[],
  agents: string[],
  tokens: number[],
  claimedAt: number[],
  expiresAt: number[],
  meta: (string | Record<string, unknown> | null)[],
  results: (string | null)[],
  commits: (string | null)[],
];

/** Whether reaped columns are in reap order: by expiry, then key in the store's byte order. */
export function inReapOrder(columns: ReapedColumns, byteOrder: (a: string, b: string) => number): boolean {
  const [keys, , , , expires] = columns;
  for (let i = 1; i < keys.length; i++) {
    const order = (expires[i - 1] as number) - (expires[i] as number);
    if (order > 0 || (order === 0 && byteOrder(keys[i - 1] as string, keys[i] as string) > 0)) return false;
  }
  return true;
}

/** Reaped columns put in reap order (a copy). */
export function sortReaped(columns: ReapedColumns, byteOrder: (a: string, b: string) => number): ReapedColumns {
  const [keys, , , , expires] = columns;
  const order = keys.map((_, i) => i);
  order.sort(
    (a, b) => (expires[a] as number) - (expires[b] as number) || byteOrder(keys[a] as string, keys[b] as string),
  );
  return columns.map((column: unknown[]) => order.map((i) => column[i])) as ReapedColumns;
}

/**
 * The claims a reap abandoned at store time `now`, built from its columns (the same fields,
 * in the same order, as {@link toClaim} of the row it wrote).
 */
export function toReapedClaims(columns: ReapedColumns, now: number): Claim[] {
  const [keys, agents, tokens, claimedAt, expiresAt, metas, results, commits] = columns;
  const claims = new Array<Claim>(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const meta = metas[i] ?? null;
    claims[i] = {
      key: keys[i] as string,
      agent: agents[i] as string,
      token: Number(tokens[i]),
      state: "abandoned",
      claimedAt: new Date(Number(claimedAt[i])),
      expiresAt: new Date(Number(expiresAt[i])),
      endedAt: new Date(now),
      meta: meta === null ? null : parseJson(meta),
      result: results[i] ?? null,
      commit: commits[i] ?? null,
      reason: REAP_REASON,
    };
  }
  return claims;
}

/** An event row as the domain sees it. */
export function toEvent(row: EventRow): BatonEvent {
  return {
    id: Number(row.id),
    at: new Date(Number(row.at)),
    kind: row.kind,
    key: row.key,
    agent: row.agent,
    token: row.token === null ? null : Number(row.token),
    commit: row.commit_sha,
    detail: parseJson(row.detail),
  };
}

/** A row of the `path_claims` table, as both adapters return it. */
export interface PathRow {
  id: number;
  repo: string;
  pattern: string;
  agent: string;
  mode: "exclusive" | "shared";
  token: number;
  state: StoredClaimState;
  claimed_at: number;
  renewed_at: number | null;
  expires_at: number;
  ended_at: number | null;
  reason: string | null;
  commit_sha: string | null;
  work_key: string | null;
}

/** The path claim columns in table order. */
export const PATH_COLUMNS =
  "id, repo, pattern, agent, mode, token, state, claimed_at, renewed_at, expires_at, ended_at, reason, commit_sha, work_key";

/** A path claim row as the domain sees it at store time `now`. */
export function toPathClaim(row: PathRow, now: number): PathClaim {
  return {
    id: Number(row.id),
    repo: row.repo,
    pattern: row.pattern,
    agent: row.agent,
    mode: row.mode,
    ...lease(row, now),
    reason: row.reason,
    commit: row.commit_sha,
    workKey: row.work_key,
  };
}

/** The audit key of a path claim's events. */
export const pathEventKey = (pattern: string): string => `path:${pattern}`;

/**
 * The `denied` events a refused path claim logs, one per requested pattern that met a
 * conflict (its audit key and detail), the same on both stores.
 */
export function pathDenials(
  input: { readonly repo: string; readonly mode: string; readonly patterns: readonly string[] },
  conflicts: readonly { pattern: string; held: PathClaim }[],
): { readonly key: string; readonly detail: Record<string, unknown> }[] {
  return input.patterns.flatMap((pattern) => {
    const mine = conflicts.filter((c) => c.pattern === pattern);
    return mine.length === 0
      ? []
      : [{ key: pathEventKey(pattern), detail: pathDetail.denied(input.repo, input.mode, mine) }];
  });
}

/** Event details for path claims, built one way for both stores (same log on both). */
export const pathDetail = {
  granted: (repo: string, mode: string, ttlMs: number, workKey: string | null, advisoryConflicts: number) => ({
    repo,
    mode,
    ttlMs,
    ...(workKey === null ? {} : { workKey }),
    ...(advisoryConflicts > 0 ? { advisory: true, overriddenConflicts: advisoryConflicts } : {}),
  }),
  renewed: (repo: string, mode: string, ttlMs: number) => ({ repo, mode, ttlMs }),
  denied: (repo: string, mode: string, conflicts: readonly { pattern: string; held: PathClaim }[]) => ({
    code: "PATH_CONFLICT",
    repo,
    mode,
    conflicts: conflicts.map((c) => ({
      pattern: c.held.pattern,
      holder: c.held.agent,
      mode: c.held.mode,
      holderToken: c.held.token,
      expiresAt: c.held.expiresAt.toISOString(),
      ...(c.held.reason === null ? {} : { reason: c.held.reason }),
    })),
  }),
  ended: (repo: string) => ({ repo }),
  /** A path claim ended because the work claim it was granted with ended. */
  endedWith: (repo: string, workKey: string) => ({ repo, workKey }),
  committed: (repo: string) => ({ repo }),
  reaped: (repo: string, expiresAt: number, by: string | null) => ({
    ...(by === null ? {} : { by }),
    repo,
    expiredAt: new Date(expiresAt).toISOString(),
  }),
};

/** A task row with its derived state, as both adapters return it. */
export interface TaskRow {
  id: string;
  title: string;
  category: string;
  priority: number;
  derived: TaskState;
  blocked_by: string | string[];
  paths: string | string[];
  assignee: string | null;
  meta: string | Record<string, unknown> | null;
  source: string | null;
  created_at: number;
  updated_at: number;
  done_at: number | null;
  holder: string | null;
}

const list = (value: string | string[]): string[] => readStoredList(value);

/** A task row as the domain sees it. */
export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    title: row.title,
    category: row.category,
    priority: Number(row.priority),
    state: row.derived,
    blockedBy: list(row.blocked_by),
    paths: list(row.paths),
    assignee: row.assignee,
    meta: parseJson(row.meta),
    source: row.source,
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
    doneAt: row.done_at === null ? null : new Date(Number(row.done_at)),
    holder: row.derived === "claimed" ? row.holder : null,
  };
}

/** Outcome counts decay with this half-life, so old outcomes fade. */
export const OUTCOME_HALF_LIFE_MS = 7 * 24 * 3_600_000;
/** How many recent selections the saturation guard looks at. */
export const RECENT_SELECTIONS = 20;
/** Candidates per category that `next` ranks (the best by priority, then age). */
export const CANDIDATES_PER_CATEGORY = 50;

/** A task's stored columns, as both adapters write them (JSON as text). */
export function taskColumns(task: TaskInput) {
  return {
    title: task.title,
    category: task.category,
    priority: task.priority,
    state: task.done ? "done" : "open",
    blocked_by: JSON.stringify(task.blockedBy),
    paths: JSON.stringify(task.paths),
    assignee: task.assignee,
    meta: task.meta === null ? null : JSON.stringify(task.meta),
    source: task.source,
  };
}

/** The order both adapters' task INSERT and UPDATE statements list the columns in. */
export const TASK_COLUMNS = [
  "title",
  "category",
  "priority",
  "state",
  "blocked_by",
  "paths",
  "assignee",
  "meta",
  "source",
] as const satisfies readonly (keyof ReturnType<typeof taskColumns>)[];

/** {@link taskColumns}' values in {@link TASK_COLUMNS} order, for a statement's parameters. */
export function taskColumnValues(columns: ReturnType<typeof taskColumns>): (string | number | null)[] {
  return TASK_COLUMNS.map((column) => columns[column]);
}

/** A task's stored columns (JSON as text), as `updateTask` reads them. */
export interface StoredTaskColumns {
  readonly title: string;
  readonly category: string;
  readonly priority: number;
  readonly blocked_by: string;
  readonly paths: string;
  readonly assignee: string | null;
  readonly meta: string | null;
}

/**
 * The columns after a patch (the same on both stores), and the blockers it adds (to be
 * checked for unknown ids and cycles in the same transaction).
 */
export function patchTaskColumns(
  row: StoredTaskColumns,
  patch: TaskPatch,
): { readonly columns: StoredTaskColumns; readonly added: string[]; readonly changed: boolean } {
  const had = JSON.parse(String(row.blocked_by)) as string[];
  let blockers = patch.blockedBy === undefined ? [...had] : [...patch.blockedBy];
  for (const b of patch.block ?? []) if (!blockers.includes(b)) blockers.push(b);
  if (patch.unblock !== undefined) blockers = blockers.filter((b) => !patch.unblock?.includes(b));
  const columns: StoredTaskColumns = {
    title: patch.title ?? row.title,
    category: patch.category ?? row.category,
    priority: patch.priority ?? Number(row.priority),
    blocked_by: JSON.stringify(blockers),
    paths: patch.paths === undefined ? String(row.paths) : JSON.stringify(patch.paths),
    assignee: patch.assignee === undefined ? row.assignee : patch.assignee,
    meta: patch.meta === undefined ? row.meta : patch.meta === null ? null : JSON.stringify(patch.meta),
  };
  const same = (Object.keys(columns) as (keyof StoredTaskColumns)[]).every((k) =>
    k === "priority" ? Number(row[k]) === columns[k] : row[k] === columns[k],
  );
  return { columns, added: blockers.filter((b) => !had.includes(b)), changed: !same };
}

/** Category outcome counts as of `now`, old outcomes decayed. */
export function decayedStats(
  rows: readonly { category: string; successes: number; failures: number; updated_at: number }[],
  now: number,
): Map<string, { successes: number; failures: number }> {
  const stats = new Map<string, { successes: number; failures: number }>();
  for (const row of rows) {
    const age = now - Number(row.updated_at);
    stats.set(row.category, {
      successes: decay(Number(row.successes), age, OUTCOME_HALF_LIFE_MS),
      failures: decay(Number(row.failures), age, OUTCOME_HALF_LIFE_MS),
    });
  }
  return stats;
}

/**
 * The counts after one more outcome. A no-op (nothing to do after all) is half a failure:
 * the lane was not worth a pick.
 */
export function withOutcome(
  row: { successes: number; failures: number; updated_at: number } | undefined,
  outcome: "success" | "failure" | "noop",
  now: number,
): { successes: number; failures: number } {
  const age = row === undefined ? 0 : now - Number(row.updated_at);
  const s = row === undefined ? 0 : decay(Number(row.successes), age, OUTCOME_HALF_LIFE_MS);
  const f = row === undefined ? 0 : decay(Number(row.failures), age, OUTCOME_HALF_LIFE_MS);
  return {
    successes: s + (outcome === "success" ? 1 : 0),
    failures: f + (outcome === "failure" ? 1 : outcome === "noop" ? 0.5 : 0),
  };
}

/** A `tokens` row as both adapters read it. */
export interface TokenRow {
  id: number | string;
  agent: string;
  role: string;
  hash: string;
  created_at: number | string;
  revoked_at: number | string | null;
}

export const TOKEN_COLUMNS = "id, agent, role, hash, created_at, revoked_at";

export function toToken(row: TokenRow): TokenRecord {
  return {
    id: Number(row.id),
    agent: row.agent,
    role: row.role as TokenRole,
    hash: row.hash,
    createdAt: new Date(Number(row.created_at)),
    revokedAt: row.revoked_at === null ? null : new Date(Number(row.revoked_at)),
  };
}
