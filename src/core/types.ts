/**
 * Baton's domain types. Terminology:
 *
 * - **agent**: who acts (`--as NAME`); a session id is an agent name.
 * - **key**: the identity of a piece of work (`github:owner/repo#123`, `task:42`).
 * - **claim**: an exclusive lease on a key for a TTL. Its stored state is `active`,
 *   `completed`, `released` or `abandoned`; an active claim past its expiry is
 *   reported as `expired` (derived, never stored).
 * - **fencing token**: an integer drawn from one store-wide counter at every grant,
 *   so it only grows; a renewal keeps the token.
 * - **event**: an append-only audit record of every decision.
 */

/** States a claim row is stored in. */
export const STORED_CLAIM_STATES = ["active", "completed", "released", "abandoned"] as const;
/** A stored claim state. */
export type StoredClaimState = (typeof STORED_CLAIM_STATES)[number];
/** A claim state as reported: the stored state, or `expired` for an active claim past its TTL. */
export type ClaimState = StoredClaimState | "expired";
/** Every state `list --state` accepts. */
export const CLAIM_STATES = ["active", "expired", "completed", "released", "abandoned"] as const;

/** The current state of one key. */
export interface Claim {
  /** The work key. */
  readonly key: string;
  /** The agent that holds (or last held) the key. */
  readonly agent: string;
  /** The fencing token of the last grant. */
  readonly token: number;
  /** The reported state (`expired` is derived from `active` + expiry). */
  readonly state: ClaimState;
  /** When the current holder was granted the key. */
  readonly claimedAt: Date;
  /** When the lease runs out (for active claims; kept for history otherwise). */
  readonly expiresAt: Date;
  /** When the claim was completed, released or abandoned; null while active. */
  readonly endedAt: Date | null;
  /** Free-form metadata given at claim time. */
  readonly meta: Record<string, unknown> | null;
  /** The result text given at completion. */
  readonly result: string | null;
  /** The commit SHA given at completion or release. */
  readonly commit: string | null;
  /** The reason given when abandoned (or `reaped` by reap). */
  readonly reason: string | null;
}

/** Kinds of audit event. */
export const EVENT_KINDS = [
  "granted",
  "renewed",
  "denied",
  "completed",
  "released",
  "abandoned",
  "reaped",
  "committed",
  "bypassed",
  "noted",
  "verified",
  "selected",
  "skipped",
  "handed_off",
  "resolved",
  "reopened",
] as const;
/** A kind of audit event. */
export type EventKind = (typeof EVENT_KINDS)[number];

/** One append-only audit record. */
export interface BatonEvent {
  /** Monotonic id: events are totally ordered by it. */
  readonly id: number;
  /** When the store recorded the decision. */
  readonly at: Date;
  readonly kind: EventKind;
  readonly key: string;
  /** The acting agent (for `reaped`, the agent whose claim was reaped). */
  readonly agent: string;
  /** The fencing token involved, if any. */
  readonly token: number | null;
  /** The commit SHA given with the action, if any. */
  readonly commit: string | null;
  /** Extra facts: the denial code and holder, the TTL, the result, the reason. */
  readonly detail: Record<string, unknown> | null;
}

/** A claim on a repository path pattern (a file, a folder like `src/auth/`, or a glob). */
export interface PathClaim {
  /** The store's id of this path claim. */
  readonly id: number;
  /** The repository's identity (`root:<sha>`), so one registry serves several repositories. */
  readonly repo: string;
  /** The normalised, repository-relative pattern. */
  readonly pattern: string;
  readonly agent: string;
  /** `exclusive` (default) conflicts with any overlapping claim; `shared` only with exclusive ones. */
  readonly mode: "exclusive" | "shared";
  /** The fencing token of the grant (shared by the patterns granted together). */
  readonly token: number;
  /** Stored state, or `expired` for an active claim past its expiry. */
  readonly state: ClaimState;
  readonly claimedAt: Date;
  readonly expiresAt: Date;
  readonly endedAt: Date | null;
  /** Why the paths are claimed, as given. */
  readonly reason: string | null;
  /** The commit recorded at release (or by the post-commit hook). */
  readonly commit: string | null;
  /** The work key claimed together with these paths (`baton claim KEY --paths …`), if any. */
  readonly workKey: string | null;
}

/** A task's state: `done`, or (derived) `claimed` (a live claim on `task:ID`), `blocked` (a blocker not done) or `ready`. */
export type TaskState = (typeof TASK_STATES)[number];
/** Every task state, in the order `task list --state` names them. */
export const TASK_STATES = ["ready", "blocked", "claimed", "done"] as const;

/** A backlog item. Its work key is `task:ID`. */
export interface Task {
  readonly id: string;
  readonly title: string;
  readonly category: string;
  /** 0..100. */
  readonly priority: number;
  readonly state: TaskState;
  /** Ids of tasks that must be done first. */
  readonly blockedBy: readonly string[];
  /** Repository paths the task touches (claimed together with it by `next`). */
  readonly paths: readonly string[];
  /** An agent the task is assigned to (tier 1 for that agent). */
  readonly assignee: string | null;
  readonly meta: Record<string, unknown> | null;
  /** Where an imported task came from (file, URL). */
  readonly source: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly doneAt: Date | null;
  /** The live claim's holder when `claimed`. */
  readonly holder: string | null;
}
