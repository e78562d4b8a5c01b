/**
 * The store interface: the only place that knows how claims are kept. Each
 * operation is atomic (one statement or one transaction) and takes its time from
 * the store's own clock, so no caller can race between a check and an act.
 * Adapters: `sqlite/` (embedded, one machine); a PostgreSQL adapter implements the
 * same interface and passes the same contract suite.
 */
import type { BlockerProblem } from "../core/blockers.js";
import type { PathMode } from "../core/path-plan.js";
import type { TokenRecord, TokenRole } from "../core/tokens.js";
import type { BatonEvent, Claim, ClaimState, EventKind, PathClaim, Task, TaskState } from "../core/types.js";

/** What a store can do beyond the contract; callers branch on these, never on a backend name. */
export interface StoreCapabilities {
  /** Time comes from a database server shared by every client (not the local clock). */
  readonly serverClock: boolean;
  /** The store can be shared by processes on several machines. */
  readonly multiMachine: boolean;
  /**
   * The store can wake a follower when any process appends events ({@link Store.watchEvents}):
   * PostgreSQL through LISTEN/NOTIFY, SQLite by watching the file's `data_version`.
   */
  readonly watch: boolean;
}

/**
 * Stop a watch ({@link Store.watchEvents}): no wake-up is delivered after it resolves.
 * Calling it again does nothing.
 */
export type Unwatch = () => Promise<void>;

export interface ClaimInput {
  readonly key: string;
  readonly agent: string;
  readonly ttlMs: number;
  readonly meta: Record<string, unknown> | null;
  /** Grant even if the key was completed within `doneWindowMs`. */
  readonly reopen: boolean;
  /** How long a completion blocks a new claim (24 h by default). */
  readonly doneWindowMs: number;
  /**
   * When the caller already holds the key (a renewal), keep the lease length the claim was
   * granted (or last renewed) with instead of `ttlMs`: set when no TTL was asked for.
   */
  readonly keepTtl?: boolean;
  /**
   * A strict near-duplicate claim: its namespace. Strict claims of one namespace take turns
   * (a server store holds a per-namespace lock while it draws the token and commits), so
   * each one's check after commit sees every similar grant with a smaller token. Stores
   * that already commit one write at a time (SQLite) need do nothing.
   */
  readonly strictNamespace?: string | undefined;
}

/** The store's answer to a claim attempt; denials are recorded as `denied` events. */
export type ClaimOutcome =
  | { readonly outcome: "granted"; readonly claim: Claim; readonly previous: Claim | null }
  | { readonly outcome: "renewed"; readonly claim: Claim }
  | {
      readonly outcome: "denied";
      readonly claim: Claim;
      /** The store's clock at the decision (wording the denial then needs no clock read). */
      readonly now?: Date;
    }
  | { readonly outcome: "done"; readonly claim: Claim };

/** Why a holder-only operation was refused. */
export type NotHeldCode = "NOT_HOLDER" | "CLAIM_EXPIRED" | "NOT_FOUND";

/** The store's answer to renew, complete, release and abandon. */
export type MutationOutcome =
  | { readonly ok: true; readonly claim: Claim }
  | { readonly ok: false; readonly code: NotHeldCode; readonly claim: Claim | null };

export interface RenewInput {
  readonly key: string;
  readonly agent: string;
  /** The new lease length; `null` keeps the claim's own (what it was granted or last renewed with). */
  readonly ttlMs: number | null;
}

/** A loose end to close: an abandoned claim, or an expired one nobody took over. */
export interface ResolveInput {
  readonly key: string;
  /** Who closes it (anyone may; recorded in the `resolved` event). */
  readonly agent: string;
  readonly note: string | null;
}

/** A live claim passed from its holder to another agent. */
export interface HandoffInput {
  readonly key: string;
  /** The holder handing the claim off. */
  readonly agent: string;
  /** Who receives it. */
  readonly to: string;
  readonly note: string | null;
}

/** The store's answer to resolve. */
export type ResolveOutcome =
  | {
      readonly ok: true;
      /** The claim as it is now: `released`, reason `resolved…`. */
      readonly claim: Claim;
      /** What it was: `abandoned` or `expired`. */
      readonly previousState: "abandoned" | "expired";
    }
  | { readonly ok: false; readonly code: "NOT_FOUND" | "NOT_LOOSE_END"; readonly claim: Claim | null };

/** Mark a task done, or reopen it. */
export interface TaskStateInput {
  readonly id: string;
  readonly done: boolean;
  /** Who did it (recorded in the events); null: the CLI was run without an agent. */
  readonly agent: string | null;
}

/** The store's answer to {@link Store.setTaskState}. */
export type TaskStateOutcome =
  | {
      readonly ok: true;
      readonly task: Task;
      /**
       * The claim on `task:ID` this changed: for done, the active claim it completed; for
       * reopen, the completed claim it released so the task can be claimed again. Null if none.
       */
      readonly claim: Claim | null;
    }
  | { readonly ok: false; readonly code: "TASK_NOT_FOUND" };

export interface EndInput {
  readonly key: string;
  readonly agent: string;
  readonly result?: string | null;
  readonly commit?: string | null;
  readonly reason?: string | null;
}

export interface ReapInput {
  /** Only claims expired for at least this long are reaped. */
  readonly minAgeMs: number;
  /** Who ran the reap, recorded in each `reaped` event (optional). */
  readonly by: string | null;
}

export interface ListFilter {
  /** States to include; `active` means live (not expired). Default: `["active"]`. */
  readonly states: readonly ClaimState[];
  readonly agent?: string | undefined;
  readonly prefix?: string | undefined;
  readonly limit: number;
}

export interface EventFilter {
  readonly key?: string | undefined;
  readonly agent?: string | undefined;
  /** Only events from the last `sinceMs` milliseconds (store clock). */
  readonly sinceMs?: number | undefined;
  readonly kinds?: readonly EventKind[] | undefined;
  /**
   * A cursor: only events with a larger id, and then the OLDEST `limit` of them (oldest
   * first), so a follower pages forward without gaps. Without it, the newest `limit`.
   */
  readonly afterId?: number | undefined;
  /** The newest `limit` events are returned, oldest first (see `afterId`). */
  readonly limit: number;
}

/** A bearer token to store: only its digest, never the token. */
export interface TokenInput {
  readonly agent: string;
  readonly role: TokenRole;
  /** Hex SHA-256 of the token. */
  readonly hash: string;
}

/** A path claim request: all patterns, or none. */
export interface PathClaimInput {
  /** Repository identity (see `repoIdentity`). */
  readonly repo: string;
  readonly agent: string;
  /** Normalised, distinct patterns. */
  readonly patterns: readonly string[];
  readonly mode: PathMode;
  readonly ttlMs: number;
  readonly reason: string | null;
  /** Grant despite conflicts, reporting them (never the default). */
  readonly advisory: boolean;
  /** A work claim to make in the same transaction: both granted, or neither. */
  readonly work: ClaimInput | null;
}

/** A requested pattern and the live claim of another agent it collides with. */
export interface PathConflict {
  readonly pattern: string;
  readonly held: PathClaim;
}

/** The store's answer to a path claim. */
export type PathClaimOutcome =
  | {
      readonly outcome: "granted";
      /** Every requested pattern's claim (new ones and renewed ones), in request order. */
      readonly claims: PathClaim[];
      /** Only in advisory mode: the conflicts that were overridden. */
      readonly conflicts: PathConflict[];
      /** The work claim's outcome, when one was asked for. */
      readonly work: ClaimOutcome | null;
    }
  | { readonly outcome: "conflict"; readonly conflicts: PathConflict[] }
  | { readonly outcome: "work_refused"; readonly work: ClaimOutcome };

/** Which of an agent's path claims an operation applies to. */
export interface PathSelector {
  readonly repo: string;
  readonly agent: string;
  /** Exact normalised patterns; `null` means all of the agent's claims in the repository. */
  readonly patterns: readonly string[] | null;
}

export interface PathListFilter {
  /** Only this repository (default: every repository in the store). */
  readonly repo?: string | undefined;
  readonly agent?: string | undefined;
  /** `active` means live. Default `["active"]`. Empty: every state. */
  readonly states: readonly ClaimState[];
  readonly limit: number;
}

/** An audit record that decides nothing. */
export interface RecordEventInput {
  readonly kind: "bypassed" | "noted" | "verified" | "skipped";
  readonly key: string;
  readonly agent: string;
  readonly commit: string | null;
  readonly detail: Record<string, unknown> | null;
}

/** A task as written by add, update and import. */
export interface TaskInput {
  readonly id: string;
  readonly title: string;
  readonly category: string;
  readonly priority: number;
  readonly done: boolean;
  readonly blockedBy: readonly string[];
  readonly paths: readonly string[];
  readonly assignee: string | null;
  readonly meta: Record<string, unknown> | null;
  readonly source: string | null;
}

/** How `putTasks` treats existing ids. */
export type PutMode = "add" | "update" | "upsert";

/**
 * The answer to `putTasks`. Blockers the write adds are checked in the same transaction
 * (core/blockers.ts): an unknown blocker (`BLOCKER_UNKNOWN`) or a cycle (`BLOCKER_CYCLE`)
 * refuses the whole write, so nothing is written.
 */
export type PutTasksOutcome =
  | { readonly ok: true; readonly created: string[]; readonly updated: string[]; readonly unchanged: string[] }
  | { readonly ok: false; readonly code: "TASK_EXISTS" | "TASK_NOT_FOUND"; readonly id: string }
  | ({ readonly ok: false } & BlockerProblem);

/**
 * A change to some fields of one task (validated; paths normalised). Fields left out keep
 * the value stored when the change is applied; `block`/`unblock` add and remove blockers
 * relative to the stored list, `blockedBy` replaces it.
 */
export interface TaskPatch {
  readonly id: string;
  readonly title?: string;
  readonly category?: string;
  readonly priority?: number;
  readonly blockedBy?: readonly string[];
  readonly block?: readonly string[];
  readonly unblock?: readonly string[];
  readonly paths?: readonly string[];
  readonly assignee?: string | null;
  readonly meta?: Record<string, unknown> | null;
}

/** The answer to `updateTask`: the task as written (`changed: false` when the patch changed nothing). */
export type UpdateTaskOutcome =
  | { readonly ok: true; readonly task: Task; readonly changed: boolean }
  | { readonly ok: false; readonly code: "TASK_NOT_FOUND"; readonly id: string }
  | ({ readonly ok: false } & BlockerProblem);

export interface TaskFilter {
  readonly states?: readonly TaskState[] | undefined;
  readonly category?: string | undefined;
  readonly limit: number;
}

/** What the store gives the ranking function for `next`. */
export interface NextContext {
  readonly now: number;
  /** Decayed outcome counts per category. */
  readonly stats: ReadonlyMap<string, { successes: number; failures: number }>;
  /** Categories of the most recent selections, newest first. */
  readonly recent: readonly string[];
}

/** What `next`'s ranking reads of a ready task. */
export type RankedTask = Pick<Task, "id" | "category" | "priority" | "createdAt" | "assignee">;

export interface NextInput {
  readonly agent: string;
  readonly category: string | null;
  readonly ttlMs: number;
  /** The repository identity for tasks that declare paths (null: such tasks are skipped). */
  readonly repo: string | null;
  /**
   * Order the ready tasks, best first (pure; from core/scoring). It reads only the fields of
   * {@link RankedTask}, so a store may pass just those and read the rest of a task it tries.
   */
  readonly rank: (ready: readonly RankedTask[], context: NextContext) => readonly string[];
  /** Rank only: claim nothing. */
  readonly dryRun: boolean;
  /** A task whose `task:ID` claim was completed this recently is never selected (24 h by default). */
  readonly doneWindowMs: number;
}

export interface NextOutcome {
  /** The task claimed (or, in a dry run, the one that would be), or null when none was ready. */
  readonly task: Task | null;
  readonly claim: Claim | null;
  readonly paths: PathClaim[];
  /** Ready tasks, in the ranking's order. */
  readonly ranked: readonly string[];
  /** Tasks passed over because their paths conflict with live path claims. */
  readonly skipped: readonly string[];
  readonly context: NextContext;
}

/** Counts for `supply`. */
export interface TaskCounts {
  readonly ready: number;
  readonly blocked: number;
  readonly claimed: number;
  readonly done: number;
}

/** The schema a store holds, against what this build of Baton writes. */
export interface SchemaStatus {
  /** The applied schema version (0: nothing yet). */
  readonly version: number;
  /** The version this build writes. */
  readonly supported: number;
  /** Migrations not yet applied. */
  readonly pending: readonly { readonly version: number; readonly description: string }[];
  /**
   * SQLite: the file's page size and the one this build gives new files (they differ for a file
   * made by an older Baton, until `baton db repack`). Absent on PostgreSQL.
   */
  readonly pages?: { readonly size: number; readonly newFiles: number };
}

/** The storage contract every backend implements. */
export interface Store {
  readonly capabilities: StoreCapabilities;
  /** A short description for diagnostics, e.g. `sqlite:/repo/.git/baton/baton.db`. */
  readonly description: string;
  /** The store's current time. */
  now(): Promise<Date>;
  /** Grant, renew or deny a claim, atomically, recording the decision. */
  claim(input: ClaimInput): Promise<ClaimOutcome>;
  /** Extend the caller's live claim (keeps the token; `ttlMs: null` keeps the lease length). */
  renew(input: RenewInput): Promise<MutationOutcome>;
  /**
   * Mark the caller's live claim completed. An expired claim cannot be completed. In the
   * same transaction: a `task:ID` key marks the task done, and the path claims granted with
   * this work claim are released (with the commit).
   */
  complete(input: EndInput): Promise<MutationOutcome>;
  /**
   * Give back the caller's active claim (live or expired but not taken over), releasing the
   * path claims granted with it in the same transaction.
   */
  release(input: EndInput): Promise<MutationOutcome>;
  /**
   * Give up the caller's active claim with a reason; it becomes a loose end. The path claims
   * granted with it are abandoned in the same transaction.
   */
  abandon(input: EndInput): Promise<MutationOutcome>;
  /**
   * Turn claims expired for at least `minAgeMs` into `abandoned`, abandoning the path claims
   * granted with them; returns the claims.
   */
  reap(input: ReapInput): Promise<Claim[]>;
  /**
   * {@link Store.reap} without reading the claims back (the same claims, events and path
   * claims): how many it reaped. For callers that need only the count, such as a server's
   * scheduled reaper; reading 100,000 claims back was a quarter of a reap's time on SQLite.
   */
  reapCount(input: ReapInput): Promise<number>;
  /**
   * Close a loose end (an abandoned claim, or an expired one): it becomes `released` with a
   * `resolved` event, so it leaves the loose ends. Anything else is refused (`NOT_LOOSE_END`,
   * `NOT_FOUND`) and changes nothing.
   */
  resolve(input: ResolveInput): Promise<ResolveOutcome>;
  /**
   * Pass the caller's live claim to another agent in one transaction: a new fencing token
   * (the old holder's writes are fenced off), the same lease length from now, the path
   * claims granted with the work moving along, and a `handed_off` event naming both.
   */
  handoff(input: HandoffInput): Promise<MutationOutcome>;
  /** The current state of one key, or null if it was never claimed. */
  get(key: string): Promise<Claim | null>;
  /** Claims matching the filter, newest grant first. */
  list(filter: ListFilter): Promise<Claim[]>;
  /** Audit events matching the filter, oldest first. */
  events(filter: EventFilter): Promise<BatonEvent[]>;
  /**
   * Present when `capabilities.watch`: call `onChange` (a wake-up, no payload) after events
   * are appended by this or any other process. A wake-up says only "read again": the caller
   * reads with its cursor ({@link EventFilter.afterId}), so nothing is lost or seen twice
   * however wake-ups are merged, and a spurious one costs one empty read.
   *
   * The promise resolves once the watch is live: an event committed after that wakes
   * `onChange` at least once, after its commit. Subscribe first, then read the backlog with
   * the cursor, and no event falls between the two. When the store loses its notification
   * channel (a PostgreSQL connection dropped), it reconnects and wakes every watcher, which
   * then re-reads from its cursor. `onChange` must not throw (what it throws is dropped).
   *
   * @example
   * ```ts
   * let cursor = 0;
   * let woken = true; // read the backlog first
   * let wake = (): void => undefined;
   * const unwatch = await store.watchEvents(() => { woken = true; wake(); });
   * while (running) {
   *   if (!woken) await new Promise<void>((resolve) => (wake = resolve));
   *   woken = false;
   *   for (const e of await store.events({ afterId: cursor, limit: 500 })) { cursor = e.id; show(e); }
   * }
   * await unwatch();
   * ```
   * `Baton.follow` is this loop, with paging and a polling fallback for stores without watch.
   * @throws BatonError `STORE_UNAVAILABLE` when the watch cannot be set up, `STORE_CLOSED`
   */
  watchEvents?(onChange: () => void): Promise<Unwatch>;
  /** Claim path patterns (and optionally a work key) atomically: all, or none. */
  claimPaths(input: PathClaimInput): Promise<PathClaimOutcome>;
  /** Extend the agent's live path claims; returns those renewed. */
  renewPaths(input: PathSelector & { readonly ttlMs: number }): Promise<PathClaim[]>;
  /** Release the agent's active path claims (live or expired); returns those released. */
  releasePaths(input: PathSelector & { readonly commit: string | null }): Promise<PathClaim[]>;
  /**
   * Record a commit against the agent's live path claims (the post-commit hook): sets
   * their commit and logs a `committed` event for each. Returns the claims touched.
   */
  notePathCommit(input: PathSelector & { readonly commit: string }): Promise<PathClaim[]>;
  /**
   * Append an audit record that decides nothing (a guard bypassed, a note). Atomic: one
   * insert. Returns the event as stored.
   */
  recordEvent(input: RecordEventInput): Promise<BatonEvent>;
  /** Path claims matching the filter, newest first. */
  listPaths(filter: PathListFilter): Promise<PathClaim[]>;
  /** Turn path claims expired for at least `minAgeMs` into `abandoned`; returns them. */
  reapPaths(input: ReapInput): Promise<PathClaim[]>;
  /** Write tasks in one transaction: all, or none. A done task stays done (only {@link Store.setTaskState} reopens). */
  putTasks(tasks: readonly TaskInput[], mode: PutMode): Promise<PutTasksOutcome>;
  /**
   * Change some fields of one task in one transaction: read, patch and write under the
   * backlog's write lock, so concurrent edits of different fields both survive. Blockers
   * the patch adds are checked in the same transaction, as in {@link Store.putTasks}. A done
   * task stays done.
   */
  updateTask(patch: TaskPatch): Promise<UpdateTaskOutcome>;
  /** One task, or null. */
  getTask(id: string): Promise<Task | null>;
  /** Tasks by state and category, by priority then id. */
  listTasks(filter: TaskFilter): Promise<Task[]>;
  /** Task counts by derived state. */
  taskCounts(): Promise<TaskCounts>;
  /** How many work claims are live (active and not expired): counted, none read back. */
  liveClaimCount(): Promise<number>;
  /**
   * Mark a task done or reopen it, in one transaction with its claim: done completes an
   * active claim on `task:ID` (and releases the path claims granted with it); reopen
   * releases a completed one, so `next` and `claim` take the task again.
   */
  setTaskState(input: TaskStateInput): Promise<TaskStateOutcome>;
  /**
   * Select and claim in one transaction: the ready tasks (open, unblocked, unclaimed, and
   * not completed within the done window) are ranked and the best one whose paths are free is claimed (with its paths), so
   * concurrent callers never get the same task.
   */
  next(input: NextInput): Promise<NextOutcome>;
  /** Record a task outcome for its category's steering statistics (decayed). */
  recordOutcome(input: { readonly category: string; readonly outcome: "success" | "failure" | "noop" }): Promise<void>;
  /** The schema version found and the migrations still pending. */
  schemaStatus(): Promise<SchemaStatus>;
  /** Store a server token's digest (one insert). */
  addToken(input: TokenInput): Promise<TokenRecord>;
  /** Every token record, revoked ones included, oldest first. */
  listTokens(): Promise<TokenRecord[]>;
  /** Revoke the live tokens with this id, or all of this agent's; returns those revoked. */
  revokeTokens(input: {
    readonly id?: number | undefined;
    readonly agent?: string | undefined;
  }): Promise<TokenRecord[]>;
  /** The live (not revoked) token with this digest, or null. */
  tokenByHash(hash: string): Promise<TokenRecord | null>;
  /** Release resources; further calls fail with `STORE_CLOSED`. */
  close(): Promise<void>;
}
