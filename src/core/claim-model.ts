/**
 * The claim decision rules, written once as a pure model: grant, renew, deny, the
 * done window, complete, release, abandon, reap and expiry. No I/O; time is an
 * argument. Both stores implement these rules in their own SQL (SQLite in
 * `store/sqlite`, PL/pgSQL in `store/postgres`); the model-based test
 * (test/reliability-model.test.ts) runs random command sequences against this model
 * and each store and compares every answer.
 *
 * The rules, at store time `now`:
 * - a claim is live while `state = active` and `expiresAt > now`; `expired` is derived;
 * - claim: live and mine → renewed (same token, new expiry); live and another's →
 *   denied; completed within the done window (`endedAt > now - window`) and not
 *   reopen → done; otherwise granted with the next fencing token (store-wide, only
 *   grows);
 * - renew and complete: only my live claim; else `NOT_FOUND` (no row), `CLAIM_EXPIRED`
 *   (mine, active, expired) or `NOT_HOLDER`;
 * - release and abandon: my active claim, expired or not; else `NOT_FOUND` or `NOT_HOLDER`;
 * - reap: active claims expired at least `minAge` ago become abandoned, oldest expiry first;
 * - time: decisions use `max(clock, latest time recorded)` (the SQLite store's
 *   high-water mark; PostgreSQL's server clock is assumed not to step back).
 */
import type { ClaimState, EventKind } from "./types.js";

/** A claims row as stored (`expired` is never stored). */
export interface ModelRow {
  readonly key: string;
  readonly agent: string;
  readonly token: number;
  readonly state: "active" | "completed" | "released" | "abandoned";
  readonly claimedAt: number;
  readonly expiresAt: number;
  readonly endedAt: number | null;
}

/** What an answer says about a claim: the fields every store must agree on. */
export interface ModelView {
  readonly key: string;
  readonly agent: string;
  readonly token: number;
  readonly state: ClaimState;
}

/** One audit record the model expects (the fields both stores must agree on). */
export interface ModelEvent {
  readonly kind: EventKind;
  readonly key: string;
  readonly agent: string;
  readonly token: number | null;
}

export interface ModelClaimInput {
  readonly key: string;
  readonly agent: string;
  readonly ttlMs: number;
  readonly reopen: boolean;
  readonly doneWindowMs: number;
}

export type ModelClaimOutcome =
  | { readonly outcome: "granted"; readonly claim: ModelView; readonly previous: ModelView | null }
  | { readonly outcome: "renewed" | "denied" | "done"; readonly claim: ModelView };

export type ModelMutation =
  | { readonly ok: true; readonly claim: ModelView }
  | {
      readonly ok: false;
      readonly code: "NOT_FOUND" | "NOT_HOLDER" | "CLAIM_EXPIRED";
      readonly claim: ModelView | null;
    };

/** Is the row live at `now`? */
export function isLive(row: ModelRow, now: number): boolean {
  return row.state === "active" && row.expiresAt > now;
}

/** The row's state as callers see it at `now` (`expired` derived). */
export function derivedState(row: ModelRow, now: number): ClaimState {
  return row.state === "active" && row.expiresAt <= now ? "expired" : row.state;
}

/** The row as an answer shows it at `now`. */
export function view(row: ModelRow, now: number): ModelView {
  return { key: row.key, agent: row.agent, token: row.token, state: derivedState(row, now) };
}

/** The time a decision uses: the clock, never earlier than the latest time recorded. */
export function decisionTime(clock: number, highWater: number): number {
  return Math.max(clock, highWater);
}

/** The claim decision for `row` (undefined: never claimed) at `now`. */
export function decideClaim(
  row: ModelRow | undefined,
  input: ModelClaimInput,
  now: number,
): "renewed" | "denied" | "done" | "granted" {
  if (row !== undefined && isLive(row, now)) return row.agent === input.agent ? "renewed" : "denied";
  if (row?.state === "completed" && !input.reopen && row.endedAt !== null && row.endedAt > now - input.doneWindowMs) {
    return "done";
  }
  return "granted";
}

/** Why `agent` may not act on `row` at `now`, or null when it may. */
export function refuseAction(
  row: ModelRow | undefined,
  agent: string,
  now: number,
  allowExpired: boolean,
): "NOT_FOUND" | "NOT_HOLDER" | "CLAIM_EXPIRED" | null {
  if (row === undefined) return "NOT_FOUND";
  if (row.agent !== agent || row.state !== "active") return "NOT_HOLDER";
  if (!allowExpired && row.expiresAt <= now) return "CLAIM_EXPIRED";
  return null;
}

/**
 * A registry as the model sees it: rows, the fencing counter, the clock's
 * high-water mark and the audit log. Each method takes the caller's clock reading.
 */
export class ClaimModel {
  readonly rows = new Map<string, ModelRow>();
  readonly events: ModelEvent[] = [];
  counter = 0;
  highWater = Number.NEGATIVE_INFINITY;

  #now(clock: number): number {
    this.highWater = decisionTime(clock, this.highWater);
    return this.highWater;
  }

  #log(kind: EventKind, key: string, agent: string, token: number | null): void {
    this.events.push({ kind, key, agent, token });
  }

  claim(input: ModelClaimInput, clock: number): ModelClaimOutcome {
    const now = this.#now(clock);
    const row = this.rows.get(input.key);
    const decision = decideClaim(row, input, now);
    if (decision === "granted") {
      this.counter += 1;
      const granted: ModelRow = {
        key: input.key,
        agent: input.agent,
        token: this.counter,
        state: "active",
        claimedAt: now,
        expiresAt: now + input.ttlMs,
        endedAt: null,
      };
      this.rows.set(input.key, granted);
      this.#log("granted", input.key, input.agent, granted.token);
      return { outcome: "granted", claim: view(granted, now), previous: row === undefined ? null : view(row, now) };
    }
    const current = row as ModelRow;
    if (decision === "renewed") {
      const renewed = { ...current, expiresAt: now + input.ttlMs };
      this.rows.set(input.key, renewed);
      this.#log("renewed", input.key, input.agent, current.token);
      return { outcome: "renewed", claim: view(renewed, now) };
    }
    this.#log("denied", input.key, input.agent, null);
    return { outcome: decision, claim: view(current, now) };
  }

  /** Renew (`ttlMs`), complete, release or abandon `key` for `agent`. */
  act(
    kind: "renewed" | "completed" | "released" | "abandoned",
    key: string,
    agent: string,
    clock: number,
    ttlMs = 0,
  ): ModelMutation {
    const now = this.#now(clock);
    const row = this.rows.get(key);
    const refused = refuseAction(row, agent, now, kind === "released" || kind === "abandoned");
    if (refused !== null) return { ok: false, code: refused, claim: row === undefined ? null : view(row, now) };
    const current = row as ModelRow;
    const next: ModelRow =
      kind === "renewed"
        ? { ...current, expiresAt: now + ttlMs }
        : { ...current, state: kind === "completed" ? "completed" : kind, endedAt: now };
    this.rows.set(key, next);
    this.#log(kind, key, agent, current.token);
    return { ok: true, claim: view(next, now) };
  }

  /** Active claims expired at least `minAgeMs` ago become abandoned; oldest expiry first. */
  reap(minAgeMs: number, clock: number): ModelView[] {
    const now = this.#now(clock);
    const stale = [...this.rows.values()]
      .filter((row) => row.state === "active" && row.expiresAt <= now - minAgeMs)
      .sort((a, b) => a.expiresAt - b.expiresAt || (a.key < b.key ? -1 : 1));
    return stale.map((row) => {
      const reaped: ModelRow = { ...row, state: "abandoned", endedAt: now };
      this.rows.set(row.key, reaped);
      this.#log("reaped", row.key, row.agent, row.token);
      return view(reaped, now);
    });
  }

  /** The claim on `key` as `show` would answer at `clock`. */
  get(key: string, clock: number): ModelView | null {
    const row = this.rows.get(key);
    return row === undefined ? null : view(row, decisionTime(clock, this.highWater));
  }
}
