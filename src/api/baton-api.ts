/**
 * `BatonApi`: the whole use-case surface as one interface — one method per catalogue
 * operation (typed input from its zod schema, one {@link OperationResult} answer), plus
 * what a client needs beyond them (who it acts as, events after a cursor). Two
 * implementations: {@link InProcessBatonApi} (src/api/in-process-api.ts) runs the
 * catalogue on a {@link Baton} in this process; {@link HttpBatonApi}
 * (src/api/http-client.ts) sends the same calls to `baton serve`. One contract suite
 * (test/contract/api.contract.test.ts) runs over both.
 *
 * This file loads nothing at run time but the method table: the CLI imports it to talk to a
 * server without paying for zod or the catalogue.
 */
import type { EventKind } from "../core/types.js";
import type { OperationInput, OperationName, OperationResult } from "./catalogue.js";

export type { OperationInput, OperationName, OperationResult } from "./catalogue.js";

/** The most tasks one `task_import` takes (a larger backlog is imported in parts). */
export const TASK_IMPORT_MAX = 10_000;

/**
 * The largest `task_import` body a server accepts, in bytes: 16 MiB (1,000 tasks of a realistic
 * backlog are about 310 KiB). Here, not in the catalogue, so a client checks it without loading zod.
 */
export const TASK_IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

/** An audit event as a client sees it: JSON-safe, the time as ISO text. */
export interface ApiEvent {
  readonly id: number;
  readonly at: string;
  readonly kind: EventKind;
  readonly key: string;
  readonly agent: string;
  readonly token: number | null;
  readonly commit: string | null;
  readonly detail: Record<string, unknown> | null;
}

/** Who the API acts as. */
export interface ApiIdentity {
  readonly agent: string;
  /** `agent`, `admin` (may act as others) or `read-only`; in process always `agent`. */
  readonly role: string;
}

/** What {@link BatonApi.events} selects: events after a cursor, optionally filtered. */
export interface EventQuery {
  /** An event id: only later events, the oldest `limit` of them (without it: the newest `limit`). */
  readonly after?: number;
  readonly key?: string;
  readonly agent?: string;
  readonly kind?: readonly EventKind[];
  /** Only events this recent, e.g. `2h`. */
  readonly since?: string;
  /** At most this many (default 100). */
  readonly limit?: number;
}

type In<N extends OperationName> = OperationInput<N>;
type Out = Promise<OperationResult>;

/**
 * The use-case surface of Baton, the same in process and over HTTP. Every method answers
 * one {@link OperationResult}: `ok: false` with a denial `code` is the expected "no"
 * (held, done, not held, nothing ready); bad input, auth and store failures are thrown
 * as `BatonError`s with the same codes on every implementation.
 */
export interface BatonApi {
  /** Claim a work key (e.g. `task:42`) before starting; optional repository paths, all or nothing. */
  claim(input: In<"claim">): Out;
  /** Extend my live claim. */
  renew(input: In<"renew">): Out;
  /** Mark my claimed work done (others are then told to verify, not redo). */
  complete(input: In<"complete">): Out;
  /** Give my claim back unfinished, free for others at once. */
  release(input: In<"release">): Out;
  /** Give up my claim with a reason; it becomes a loose end. */
  abandon(input: In<"abandon">): Out;
  /** Pass my live claim to another agent (they get a new token; paths move too). */
  handoff(input: In<"handoff">): Out;
  /** Close a loose end (an abandoned or expired claim). */
  resolve(input: In<"resolve">): Out;
  /** Turn claims expired for at least `minAge` into abandoned loose ends (through a server: an admin's token only). */
  reap(input: In<"reap">): Out;
  /** Who holds a key, and its recent events (`data.claim`, `data.events`, `data.now`). */
  show(input: In<"show">): Out;
  /** Claims by state (default live), agent, prefix (`data.claims`, `data.now`). */
  list(input: In<"list">): Out;
  /** The audit log (`data.events`); see also {@link BatonApi.events}. */
  log(input: In<"log">): Out;
  /** Pick the best ready task and claim it, in one step. */
  next(input: In<"next">): Out;
  /**
   * Claim repository paths, all or none. In process with the checkout here, patterns are typed
   * in it; otherwise (over HTTP) `repo` names the repository and the patterns are repository-relative.
   */
  pathsClaim(input: In<"paths_claim">): Out;
  /** Release my path claims (the given ones, or all of mine in the repository). */
  pathsRelease(input: In<"paths_release">): Out;
  /** Extend my live path claims (`NOT_HOLDER` when none matched). */
  pathsRenew(input: In<"paths_renew">): Out;
  /** Path claims of the repository (or of every one, `allRepos`): `data.claims`, every field. */
  pathsList(input: In<"paths_list">): Out;
  /** Was this side effect already done in the window? */
  gateCheck(input: In<"gate_check">): Out;
  /** Record that I did this side effect. */
  gateMark(input: In<"gate_mark">): Out;
  /** Gates marked recently, newest first, with the skips since each mark (`data.marks`). */
  gateList(input: In<"gate_list">): Out;
  /** Forget a gate's mark so it can fire again, logged (`data.outcome`: `forgotten`, `unmarked`, `refused`). */
  gateForget(input: In<"gate_forget">): Out;
  /**
   * One step of a gate run whose effect runs with the caller: a skip (logged; `GATE_MARKED`, or
   * `CLAIM_HELD` when a sibling runs it), a sibling's lock to wait for (`CLAIM_HELD`, `data.outcome`
   * `busy`, without `giveUp`), or the lock (`data.claim`; with `onceOnly` marked already: `data.mark`).
   */
  gateLock(input: In<"gate_lock">): Out;
  /** Rules, my claims, loose ends, others' work, supply, as one block (`message`). */
  context(input: In<"context">): Out;
  /** Attach a progress note to a key. */
  note(input: In<"note">): Out;
  /** Confirm recently completed work is really done. */
  verify(input: In<"verify">): Out;
  /** Backlog health: ready, claimed, blocked, done, verdicts. */
  supply(input: In<"supply">): Out;
  /** Add a task to the backlog. */
  taskAdd(input: In<"task_add">): Out;
  /** Add or update many tasks in one store transaction: all or nothing (`data.created`, `updated`, `unchanged`). */
  taskImport(input: In<"task_import">): Out;
  /** One task. */
  taskShow(input: In<"task_show">): Out;
  /** Tasks by state and category. */
  taskList(input: In<"task_list">): Out;
  /** Change some fields of a task in one store transaction (`data.task`, `data.changed`). */
  taskUpdate(input: In<"task_update">): Out;
  /** Mark a task done, completing its claim. */
  taskDone(input: In<"task_done">): Out;
  /** Reopen a done task. */
  taskReopen(input: In<"task_reopen">): Out;
  /** Is anyone else on these paths? (in process only) */
  probe(input: In<"probe">): Out;
  /** Safe to deploy from this checkout? (in process only) */
  syncCheck(input: In<"sync_check">): Out;

  /** Any operation by its catalogue name (what the named methods call). */
  call<N extends OperationName>(name: N, input: In<N>): Out;
  /** The events after a cursor (oldest first), or the newest ones: what a follower pages with. */
  events(query?: EventQuery): Promise<ApiEvent[]>;
  /** Who this API acts as (over HTTP: the token's agent and role). */
  whoami(): Promise<ApiIdentity>;
  /** Let go of what the implementation holds (the in-process one closes its Baton if it owns it). */
  close(): Promise<void>;
}

/** The method of each catalogue operation: `paths_claim` is `pathsClaim`. */
export const API_METHODS = {
  claim: "claim",
  renew: "renew",
  complete: "complete",
  release: "release",
  abandon: "abandon",
  handoff: "handoff",
  resolve: "resolve",
  reap: "reap",
  show: "show",
  list: "list",
  log: "log",
  next: "next",
  paths_claim: "pathsClaim",
  paths_release: "pathsRelease",
  paths_renew: "pathsRenew",
  paths_list: "pathsList",
  gate_check: "gateCheck",
  gate_mark: "gateMark",
  gate_list: "gateList",
  gate_forget: "gateForget",
  gate_lock: "gateLock",
  context: "context",
  note: "note",
  verify: "verify",
  supply: "supply",
  task_add: "taskAdd",
  task_import: "taskImport",
  task_show: "taskShow",
  task_list: "taskList",
  task_update: "taskUpdate",
  task_done: "taskDone",
  task_reopen: "taskReopen",
  probe: "probe",
  sync_check: "syncCheck",
} as const satisfies { readonly [N in OperationName]: keyof BatonApi };

/**
 * The named methods, written once over {@link BatonApi.call}: an implementation supplies
 * `call`, `events`, `whoami` and `close`.
 */
export abstract class OperationMethods implements BatonApi {
  abstract call<N extends OperationName>(name: N, input: In<N>): Out;
  abstract events(query?: EventQuery): Promise<ApiEvent[]>;
  abstract whoami(): Promise<ApiIdentity>;
  abstract close(): Promise<void>;

  claim(input: In<"claim">): Out {
    return this.call("claim", input);
  }
  renew(input: In<"renew">): Out {
    return this.call("renew", input);
  }
  complete(input: In<"complete">): Out {
    return this.call("complete", input);
  }
  release(input: In<"release">): Out {
    return this.call("release", input);
  }
  abandon(input: In<"abandon">): Out {
    return this.call("abandon", input);
  }
  handoff(input: In<"handoff">): Out {
    return this.call("handoff", input);
  }
  resolve(input: In<"resolve">): Out {
    return this.call("resolve", input);
  }
  reap(input: In<"reap">): Out {
    return this.call("reap", input);
  }
  show(input: In<"show">): Out {
    return this.call("show", input);
  }
  list(input: In<"list">): Out {
    return this.call("list", input);
  }
  log(input: In<"log">): Out {
    return this.call("log", input);
  }
  next(input: In<"next">): Out {
    return this.call("next", input);
  }
  pathsClaim(input: In<"paths_claim">): Out {
    return this.call("paths_claim", input);
  }
  pathsRelease(input: In<"paths_release">): Out {
    return this.call("paths_release", input);
  }
  pathsRenew(input: In<"paths_renew">): Out {
    return this.call("paths_renew", input);
  }
  pathsList(input: In<"paths_list">): Out {
    return this.call("paths_list", input);
  }
  gateCheck(input: In<"gate_check">): Out {
    return this.call("gate_check", input);
  }
  gateMark(input: In<"gate_mark">): Out {
    return this.call("gate_mark", input);
  }
  gateList(input: In<"gate_list">): Out {
    return this.call("gate_list", input);
  }
  gateForget(input: In<"gate_forget">): Out {
    return this.call("gate_forget", input);
  }
  gateLock(input: In<"gate_lock">): Out {
    return this.call("gate_lock", input);
  }
  context(input: In<"context">): Out {
    return this.call("context", input);
  }
  note(input: In<"note">): Out {
    return this.call("note", input);
  }
  verify(input: In<"verify">): Out {
    return this.call("verify", input);
  }
  supply(input: In<"supply">): Out {
    return this.call("supply", input);
  }
  taskAdd(input: In<"task_add">): Out {
    return this.call("task_add", input);
  }
  taskImport(input: In<"task_import">): Out {
    return this.call("task_import", input);
  }
  taskShow(input: In<"task_show">): Out {
    return this.call("task_show", input);
  }
  taskList(input: In<"task_list">): Out {
    return this.call("task_list", input);
  }
  taskUpdate(input: In<"task_update">): Out {
    return this.call("task_update", input);
  }
  taskDone(input: In<"task_done">): Out {
    return this.call("task_done", input);
  }
  taskReopen(input: In<"task_reopen">): Out {
    return this.call("task_reopen", input);
  }
  probe(input: In<"probe">): Out {
    return this.call("probe", input);
  }
  syncCheck(input: In<"sync_check">): Out {
    return this.call("sync_check", input);
  }
}

/** The events a `log` answer carries. */
export function eventsOf(result: OperationResult): ApiEvent[] {
  return ((result.data as { events?: ApiEvent[] } | undefined)?.events ?? []) as ApiEvent[];
}

/** {@link EventQuery} as the `log` operation's input. */
export function logInput(query: EventQuery = {}): In<"log"> {
  return {
    ...(query.after === undefined ? {} : { after: query.after }),
    ...(query.key === undefined ? {} : { key: query.key }),
    ...(query.agent === undefined ? {} : { agent: query.agent }),
    ...(query.kind === undefined ? {} : { kind: [...query.kind] }),
    ...(query.since === undefined ? {} : { since: query.since }),
    ...(query.limit === undefined ? {} : { limit: query.limit }),
  };
}
