/**
 * The library API: `openBaton()` returns a {@link Baton} whose methods carry the
 * CLI's names. It reads no environment variables; the CLI resolves flags, env and
 * config, then calls the same methods.
 */
import { BatonError } from "./core/errors.js";
import { parseAgent, parseKey } from "./core/identity.js";
import { type DurationInput, durationMs } from "./core/schemas.js";
import type { BatonEvent, Claim, ClaimState, PathClaim } from "./core/types.js";
import {
  type ActionResult,
  type CheckResult,
  type ClaimOptions,
  type ClaimResult,
  ClaimService,
  DEFAULT_DONE_WINDOW_MS,
  DEFAULT_TTL_MS,
  type ListOptions,
  type LogOptions,
  type ReapResult,
  type ResolveResult,
  type ShowResult,
} from "./services/claims.js";
import {
  type ProbeOptions,
  type ProbeResult,
  probe,
  type SyncCheckOptions,
  type SyncCheckResult,
  syncCheck,
} from "./workspace/guards.js";
import {
  type GateMarkWithSkips,
  type GateOptions,
  type GateRunOptions,
  type GateRunResult,
  GateService,
} from "./services/gates.js";
import { buildContext, type ContextResult } from "./services/context.js";
import { holdLease } from "./services/lease.js";
import {
  LAST_HOUR_DECISIONS,
  NO_CHECKOUT,
  type NextOptions,
  type NextResult,
  type SupplyResult,
  TaskService,
} from "./services/tasks.js";
import { type FollowOptions, followEvents } from "./services/follow.js";
import { type RulesInfo, rulesInfo } from "./services/rules.js";
import { readRules, rulesPath } from "./workspace/rules.js";
import { TokenService } from "./services/tokens.js";
import {
  type PathClaimOptions as ServicePathClaimOptions,
  type PathClaimResult,
  PathService,
} from "./services/paths.js";
import { MarkerDir } from "./workspace/markers.js";
import { CHECKOUT_PATHS, pathTarget, type RepoOptions, repositoryId } from "./workspace/checkout.js";
import { openPostgresStore } from "./store/postgres/pg-store.js";
import { defaultDbPath } from "./workspace/registry-location.js";
import { openSqliteStore, type SqliteSync } from "./store/sqlite/sqlite-store.js";
import type { Store } from "./store/store.js";

/** What {@link Baton.follow} follows: the filters of {@link Baton.log}, and where to start. */
export interface FollowLogOptions extends Omit<LogOptions, "after" | "limit">, Partial<Omit<FollowOptions, "after">> {
  /** Start after this event id (default 0: from the first event). */
  readonly after?: number | undefined;
}

export interface OpenBatonOptions {
  /**
   * SQLite database file. Default ({@link defaultDbPath}): inside a repository, the
   * repository's registry `$XDG_STATE_HOME/baton/<root commit>/baton.db` (shared by every
   * clone and worktree; `XDG_STATE_HOME` is read from `process.env`, default
   * `~/.local/state`); outside one, the nearest `.baton/baton.db` up from `cwd`, else
   * `$XDG_STATE_HOME/baton/default/baton.db`.
   */
  db?: string;
  /**
   * A PostgreSQL URL (`postgres://user:pass@host:5432/db`): use the shared
   * PostgreSQL store instead of a SQLite file. Exclusive with `db`.
   */
  databaseUrl?: string;
  /** PostgreSQL schema holding Baton's tables. Default `baton`. */
  schema?: string;
  /** PostgreSQL connections in the pool. Default 10. */
  poolSize?: number;
  /** PostgreSQL statement timeout: ms or `30s`. Default 30 s. */
  statementTimeout?: DurationInput;
  /** Run pending schema migrations on open (default `true`). */
  migrate?: boolean;
  /** Where to look for the repository when `db` is not given. Default `process.cwd()`. */
  cwd?: string;
  /** Lock wait before `STORE_BUSY` (SQLite busy timeout, PostgreSQL lock timeout): ms or `5s`. Default 5 s. */
  busyTimeout?: DurationInput;
  /** SQLite durability: `full` (default) or `normal`. */
  synchronous?: SqliteSync;
  /**
   * SQLite group commit (default off; `baton serve` turns it on): concurrent writes share one
   * transaction, each in its own savepoint, each answered after that transaction commits.
   * Ignored by PostgreSQL, where concurrent writes already commit in parallel.
   */
  groupCommit?: boolean;
  /** Default lease for `claim`, `renew` and `withClaim`: ms or `60m`. Default 60 minutes. */
  defaultTtl?: DurationInput;
  /**
   * The clock (epoch ms) for the SQLite store; for tests. Default `Date.now`.
   * The PostgreSQL store ignores it: decisions there use the server's clock.
   */
  clock?: () => number;
  /** Use this store instead of opening one (for adapters and tests). */
  store?: Store;
}

/**
 * Options of {@link Baton.claimPaths}: how the paths are held, and where the checkout is
 * (`cwd`, default the process's; `repo`, an identity to use instead of git's).
 */
export type PathClaimOptions = Omit<ServicePathClaimOptions, "repo"> & RepoOptions;

/** Options of {@link Baton.claimWithPaths}: the claim's, plus how the paths are held. */
export interface ClaimWithPathsOptions extends ClaimOptions, RepoOptions {
  /** Hold the paths shared (conflicting only with exclusive claims). Default exclusive. */
  shared?: boolean;
  /** Grant the paths despite conflicts, reporting them. */
  advisory?: boolean;
  /** Why the paths are claimed (shown to agents who meet the claim). */
  reason?: string;
}

/** The answer to {@link Baton.claimWithPaths}: the claim's answer (with the paths when granted), or the path conflicts. */
export type ClaimWithPathsResult =
  | (Extract<ClaimResult, { ok: true }> & {
      readonly paths: PathClaim[];
      readonly pathConflicts: PathClaimResult["conflicts"];
    })
  | Extract<ClaimResult, { ok: false }>
  | Extract<PathClaimResult, { ok: false }>;

/** Where a gate's marker files are, for the library's gate methods. */
export interface LocalGateOptions {
  /** A folder of marker files (src/workspace/markers.ts), honoured even when the registry is new or lost. */
  markerDir?: string;
}

/** The gate service's options with the marker folder opened as its port. */
function withMarkers<T extends GateOptions & LocalGateOptions>(options: T): Omit<T, "markerDir"> {
  const { markerDir, ...rest } = options;
  return markerDir === undefined ? rest : { ...rest, markers: new MarkerDir(markerDir) };
}

/** Options of {@link Baton.withClaim}. */
export interface WithClaimOptions<T> extends ClaimOptions {
  /** The completion result: text, or a function of `fn`'s value. */
  result?: string | ((value: T) => string | undefined);
  /** The commit SHA recorded at completion (or at the release, with `release`). */
  commit?: string;
  /**
   * Recurring work (a deploy, a cron job, a mutex): release the claim when `fn` resolves
   * instead of completing it, so the next run is granted at once. Default false.
   */
  release?: boolean;
  /** Renewal period: ms or `20s`. Default a third of the TTL. */
  renewEvery?: DurationInput;
}

/** What `fn` receives inside {@link Baton.withClaim}. */
export interface ClaimContext {
  /** The claim as granted (its token is the fencing token to pass downstream). */
  readonly claim: Claim;
  /** Aborted when the lease is lost: stop before acting without it. */
  readonly signal: AbortSignal;
}

/** The answer to {@link Baton.withClaim}. */
export type WithClaimResult<T> =
  | { readonly ok: true; readonly outcome: "completed" | "released"; readonly value: T; readonly claim: Claim }
  | (ClaimResult & { readonly ok: false })
  | {
      readonly ok: false;
      readonly outcome: "lost";
      readonly code: "NOT_HOLDER" | "CLAIM_EXPIRED" | "NOT_FOUND";
      readonly value: T;
      readonly message: string;
    };

/**
 * A handle on a Baton registry. Every method validates its input (throwing a
 * {@link BatonError} with a stable `code` on bad input or store failure) and
 * returns an expected "no" (denied, done, not held) as a value.
 *
 * @example
 * ```ts
 * const baton = await openBaton({ db: "baton.db" });
 * const r = await baton.claim("github:acme/api#42", { as: "agent-7", ttl: "30m" });
 * if (r.ok) {
 *   // ... do the work, passing r.claim.token to anything that can check it ...
 *   await baton.complete("github:acme/api#42", { as: "agent-7", result: "fixed in #43" });
 * } else {
 *   console.log(r.message); // held by someone else, or done recently: verify instead
 * }
 * await baton.close();
 * ```
 */
export class Baton {
  readonly #store: Store;
  readonly #claims: ClaimService;
  readonly #paths: PathService;
  readonly #gates: GateService;
  readonly #tasks: TaskService;
  readonly #sentTasks: TaskService;
  readonly #defaultTtlMs: number;

  /** Use {@link openBaton}. */
  constructor(store: Store, options: { defaultTtlMs?: number } = {}) {
    this.#store = store;
    this.#defaultTtlMs = options.defaultTtlMs ?? DEFAULT_TTL_MS;
    this.#claims = new ClaimService(store, { defaultTtlMs: this.#defaultTtlMs });
    this.#paths = new PathService(store);
    this.#gates = new GateService(this.#claims, store);
    this.#tasks = new TaskService(store, { doneWindowMs: DEFAULT_DONE_WINDOW_MS, paths: CHECKOUT_PATHS });
    this.#sentTasks = new TaskService(store, { doneWindowMs: DEFAULT_DONE_WINDOW_MS, paths: NO_CHECKOUT });
  }

  /** The store behind this handle (its `description` says where it is). */
  get store(): Store {
    return this.#store;
  }

  /**
   * Claim `key` for `options.as`. Free, expired, released or abandoned → `granted` with a
   * new fencing token; already mine → `renewed` (same token); held by another → `denied`;
   * completed within 24 h → `done` (unless `reopen`).
   */
  claim(key: string, options: ClaimOptions): Promise<ClaimResult> {
    return this.#claims.claim(key, options);
  }

  /**
   * Claim `key` and the repository paths the work will touch in one transaction: both
   * are granted, or neither (a held key, or any path conflict, leaves nothing claimed).
   * The paths share the claim's token and TTL.
   */
  async claimWithPaths(
    key: string,
    patterns: readonly string[],
    options: ClaimWithPathsOptions,
  ): Promise<ClaimWithPathsResult> {
    this.#claims.claimInput(key, options);
    this.#paths.prepare(options); // bad options are refused before the checkout is read
    const target = await pathTarget(patterns, options);
    return this.claimWithRepoPaths(key, target.patterns ?? [], { ...options, repo: target.repo });
  }

  /**
   * {@link claimWithPaths} for a caller that has resolved its checkout (or has none): the
   * repository identity in `options.repo`, repository-relative patterns.
   */
  async claimWithRepoPaths(
    key: string,
    patterns: readonly string[],
    options: Omit<ClaimWithPathsOptions, "repo" | "cwd"> & { repo: string },
  ): Promise<ClaimWithPathsResult> {
    const input = this.#claims.claimInput(key, options);
    const { paths, work } = await this.#paths.claimWithWork(input, patterns, { ...options, ttl: input.ttlMs });
    if (paths !== null && !paths.ok) return paths;
    if (work === null) throw new BatonError("INTERNAL", "a claim with paths came back without the claim");
    const claimed = await this.#claims.claimResult(input, work);
    if (!claimed.ok || paths === null) return claimed as Extract<ClaimResult, { ok: false }>;
    return {
      ...claimed,
      paths: paths.claims,
      pathConflicts: paths.conflicts,
      message: `${claimed.message}\n${paths.message}`,
    };
  }

  /**
   * Claim repository paths (files, folders like `src/auth/`, globs like `src/**\/*.ts`),
   * typed relative to `options.cwd`: every pattern, or none. A conflict is a value
   * listing every conflicting claim (pattern, holder, expiry, reason).
   */
  async claimPaths(patterns: readonly string[], options: PathClaimOptions): Promise<PathClaimResult> {
    this.#paths.prepare(options);
    const target = await pathTarget(patterns, options);
    return this.#paths.claim(target.patterns ?? [], { ...options, repo: target.repo });
  }

  /**
   * The path claims of a repository named by its identity, with repository-relative
   * patterns: what a caller that has resolved its checkout once (the CLI, the hooks) or
   * has none (a server) uses.
   */
  get paths(): PathService {
    return this.#paths;
  }

  /** Release my path claims: the patterns given, or all of mine in the repository (`null`). */
  async releasePaths(
    patterns: readonly string[] | null,
    options: RepoOptions & { as: string; commit?: string },
  ): Promise<{ readonly released: PathClaim[]; readonly message: string }> {
    const target = await pathTarget(patterns, options);
    return this.#paths.release(target.patterns, { ...options, repo: target.repo });
  }

  /** Extend my live path claims: the patterns given, or all of mine in the repository (`null`). */
  async renewPaths(
    patterns: readonly string[] | null,
    options: RepoOptions & { as: string; ttl?: DurationInput },
  ): Promise<{ readonly renewed: PathClaim[]; readonly message: string }> {
    const target = await pathTarget(patterns, options);
    return this.#paths.renew(target.patterns, { ...options, repo: target.repo });
  }

  /** Path claims of the repository at `cwd` (or of every repository with `allRepos`). Default: live ones. */
  async listPaths(
    options?: RepoOptions & {
      allRepos?: boolean;
      agent?: string;
      state?: ClaimState | readonly ClaimState[] | "all";
      limit?: number;
    },
  ): Promise<PathClaim[]> {
    const all = options?.allRepos === true;
    return this.#paths.list({ ...options, ...(all ? {} : { repo: await repositoryId(options) }) });
  }

  /**
   * Record `commit` against my live path claims covering any of `files` (all of them when
   * `files` is null), logging a `committed` event for each: what the post-commit hook does.
   */
  async notePathCommit(
    commit: string,
    files: readonly string[] | null,
    options: RepoOptions & { as: string },
  ): Promise<PathClaim[]> {
    return this.#paths.noteCommit(commit, files, { ...options, repo: await repositoryId(options) });
  }

  /** Which of `files` (repository-relative) fall under another agent's live exclusive path claim. */
  async pathBlockers(
    files: readonly string[],
    options: RepoOptions & { as: string },
  ): Promise<{ readonly file: string; readonly held: PathClaim }[]> {
    return this.#paths.blockers(files, { ...options, repo: await repositoryId(options) });
  }

  /**
   * Would a deploy from this working tree ship exactly the remote branch plus local
   * commits, and does `as` still hold the claims named in `holding` (`KEY` or
   * `KEY:TOKEN`)? Fetches first unless `fetch: false`. `ok: false` lists every reason.
   */
  syncCheck(options: SyncCheckOptions = {}): Promise<SyncCheckResult> {
    return syncCheck(this.#store, options);
  }

  /**
   * Is anyone else on these paths? Recent commits by others, overlapping path claims,
   * uncommitted changes in other worktrees, and work claims whose metadata names them.
   */
  probe(paths: readonly string[], options: ProbeOptions = {}): Promise<ProbeResult> {
    return probe(this.#store, paths, options);
  }

  /**
   * Run a side effect once per window for the whole fleet (gate `key`): take the gate's
   * lock, skip if it was marked within the window (or a sibling is running it), run `fn`,
   * mark on success. `fn` throwing leaves no mark (a retry can fire) and rethrows.
   * `onceOnly` marks before running: at most once instead of at least once.
   */
  async gate<T>(
    key: string,
    fn: (context: { claim: Claim; signal: AbortSignal }) => Promise<T> | T,
    options: GateRunOptions & LocalGateOptions,
  ): Promise<GateRunResult<T>> {
    return this.#gates.run(
      key,
      async (context) => ({ ok: true, value: await fn(context), digest: null }),
      withMarkers(options),
    );
  }

  /** The gate machinery with full control of the effect's outcome (used by `baton gate run`). */
  get gates(): GateService {
    return this.#gates;
  }

  /** Was gate `key` marked within the window? (registry first, then marker files) */
  gateCheck(
    key: string,
    options?: GateOptions & LocalGateOptions,
  ): Promise<{ readonly done: boolean; readonly mark: GateMarkWithSkips | null; readonly message: string }> {
    return this.#gates.check(key, withMarkers(options ?? {}));
  }

  /**
   * One block for a session prompt: the operating rules (name, version), my live claims,
   * loose ends, other agents' claims, recent completions (verified or not), gates fired,
   * and contention — most important first, within `budget` characters.
   *
   * The rules are read from `rulesFile` (default `.baton/RULES.md` of the checkout at `cwd`),
   * unless `rules` gives them as the caller read them (its path, and its text or null when
   * there is no file): then nothing is read here, as on a server for a client's checkout.
   */
  async context(
    options: {
      as?: string;
      budget?: number;
      cwd?: string;
      rulesFile?: string;
      rules?: { readonly path: string; readonly text: string | null };
    } = {},
  ): Promise<ContextResult> {
    let rules: RulesInfo;
    if (options.rules !== undefined) {
      const { path, text } = options.rules;
      if (typeof path !== "string" || path.trim() === "" || (text !== null && typeof text !== "string"))
        throw new BatonError("BAD_INPUT", "context: rules must be { path, text } (text null when there is no file)");
      rules = rulesInfo(path, text);
    } else {
      const path = await rulesPath({
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.rulesFile === undefined ? {} : { file: options.rulesFile }),
      });
      rules = readRules(path);
    }
    // The last hour's decisions, read once for the contention section and for supply.
    const lastHour = await this.#store.events(LAST_HOUR_DECISIONS);
    return buildContext(this.#store, {
      ...(options.as === undefined ? {} : { as: options.as }),
      ...(options.budget === undefined ? {} : { budget: options.budget }),
      rules,
      gates: await this.#gates.list(),
      lastHour,
      supply: await this.#tasks.supply(lastHour),
    });
  }

  /** Attach a narrative note to a key (what was done, what is next); it shows in `show`, `context` and the log. */
  note(key: string, options: { as: string; text: string }) {
    return this.#claims.note(key, options);
  }

  /** Record that `as` verified the completed work on `key` (`ok: false` when it is not completed). */
  verify(key: string, options: { as: string; note?: string }) {
    return this.#claims.verify(key, options);
  }

  /** Extend my live claim. `ok: false` (`NOT_HOLDER`, `CLAIM_EXPIRED`) when I lost it. */
  renew(key: string, options: { as: string; ttl?: DurationInput }): Promise<ActionResult> {
    return this.#claims.renew(key, options);
  }

  /**
   * Complete my live claim; an expired claim cannot be completed. For a task key,
   * `outcome` (success, failure, noop) feeds the category steering of `next`.
   */
  async complete(
    key: string,
    options: { as: string; result?: string; commit?: string; outcome?: "success" | "failure" | "noop" },
  ): Promise<ActionResult> {
    if (options.outcome !== undefined && !["success", "failure", "noop"].includes(options.outcome)) {
      throw new BatonError(
        "BAD_OPTION",
        `invalid outcome ${JSON.stringify(options.outcome)}: success, failure or noop`,
      );
    }
    const done = await this.#claims.complete(key, options);
    if (done.ok && options.outcome !== undefined) await this.#tasks.recordOutcome(key, options.outcome);
    return done;
  }

  /** The backlog: add, update, show, list tasks (see {@link TaskService}). */
  get tasks(): TaskService {
    return this.#tasks;
  }

  /**
   * The backlog for a caller whose checkout is not on this machine (a server's client, which
   * resolved its task paths where they were typed): task paths are taken as repository-relative
   * as sent, and nothing here is read — no git, no disk. Otherwise {@link tasks}.
   */
  get tasksWithoutCheckout(): TaskService {
    return this.#sentTasks;
  }

  /** Bearer tokens for `baton serve`: add, list, revoke, authenticate (see {@link TokenService}). */
  get tokens(): TokenService {
    return new TokenService(this.#store);
  }

  /**
   * Select and claim the best ready task in one store transaction (with its paths, if it
   * declares any): priority, age, category steering (Thompson sampling over outcomes) and
   * the anti-monotony guard. `ok: false` (`NOTHING_READY`, tier 3) when nothing is ready.
   */
  next(options: NextOptions): Promise<NextResult> {
    return this.#tasks.next(options);
  }

  /** Supply: ready, claimed, blocked and done counts, denials per agent, and every verdict that applies (most severe first). */
  supply(): Promise<SupplyResult> {
    return this.#tasks.supply();
  }

  /** Give my claim back (it becomes free at once). */
  release(key: string, options: { as: string; commit?: string }): Promise<ActionResult> {
    return this.#claims.release(key, options);
  }

  /** Give my claim up with a reason; it shows as a loose end. */
  abandon(key: string, options: { as: string; reason?: string }): Promise<ActionResult> {
    return this.#claims.abandon(key, options);
  }

  /**
   * Pass my live claim on `key` to agent `to`, in one transaction: they get a new fencing
   * token and the same lease length from now; path claims granted with the work move too.
   * Refused (`NOT_HOLDER`, `CLAIM_EXPIRED`, `NOT_FOUND`) when I do not hold it live.
   */
  handoff(key: string, options: { as: string; to: string; note?: string }): Promise<ActionResult> {
    return this.#claims.handoff(key, options);
  }

  /**
   * Close a loose end (an abandoned claim, or an expired one nobody took over): it becomes
   * `released` with a `resolved` event and leaves `context`'s loose ends. `ok: false`
   * (`NOT_LOOSE_END`: live, completed or released; `NOT_FOUND`: never claimed) otherwise.
   */
  resolve(key: string, options: { as: string; note?: string }): Promise<ResolveResult> {
    return this.#claims.resolve(key, options);
  }

  /**
   * Turn claims expired for at least `minAge` (default 24 h) into abandoned loose ends.
   * `claims: false`: the result lists none of them (`reaped` is empty), only their `count`,
   * and the store does not read them back: for callers that need only the number.
   */
  reap(options?: { minAge?: DurationInput; as?: string; claims?: boolean }): Promise<ReapResult> {
    return this.#claims.reap(options);
  }

  /** The state of one key and its latest events. */
  show(key: string, options?: { events?: number }): Promise<ShowResult> {
    return this.#claims.show(key, options);
  }

  /** Claims by state (default: live ones), agent and key prefix. */
  list(options?: ListOptions): Promise<Claim[]> {
    return this.#claims.list(options);
  }

  /** How many work claims are live now (counted in the store; a server's gauge reads it). */
  liveClaimCount(): Promise<number> {
    return this.#store.liveClaimCount();
  }

  /** The audit log, oldest first (the newest `limit`, default 100). */
  log(options?: LogOptions): Promise<BatonEvent[]> {
    return this.#claims.log(options);
  }

  /**
   * Follow the audit log: the events after `after` (default 0: all) matching the filters,
   * oldest first, in batches, then each new one as it is appended by any process — until
   * `signal` aborts (the iteration then ends without an error). Uses the store's watch
   * capability when it has one (PostgreSQL: LISTEN/NOTIFY; SQLite: `data_version`), else
   * reads every `pollMs`. Bad filters are refused on the first read (`BAD_INPUT`,
   * `BAD_OPTION`). To resume after a disconnection, pass the last id seen as `after`.
   *
   * @example
   * ```ts
   * const stop = new AbortController();
   * for await (const batch of baton.follow({ key: "task:42", signal: stop.signal })) {
   *   for (const event of batch) console.log(event.id, event.kind, event.agent);
   * }
   * ```
   */
  follow(options: FollowLogOptions = {}): AsyncGenerator<BatonEvent[], void, undefined> {
    const { after, signal, pollMs, pageSize, onError, watch, minIntervalMs, ...filter } = options;
    return followEvents(this.#store, (cursor, limit) => this.#claims.log({ ...filter, after: cursor, limit }), {
      after: after ?? 0,
      signal,
      pollMs,
      pageSize,
      onError,
      watch,
      minIntervalMs,
    });
  }

  /** `ok` only while `token` is the live holder's token for `key`. */
  check(key: string, token: number | string): Promise<CheckResult> {
    return this.#claims.check(key, token);
  }

  /**
   * Claim `key`, run `fn` while renewing the lease, then complete (when `fn` resolves;
   * with `release: true`, release instead: recurring work) or release (when it throws,
   * rethrowing). Denied or done → `fn` is not run and the
   * denial is returned. If the lease is lost while `fn` runs, `signal` is aborted and the
   * result is `lost`.
   */
  async withClaim<T>(
    key: string,
    fn: (context: ClaimContext) => Promise<T> | T,
    options: WithClaimOptions<T>,
  ): Promise<WithClaimResult<T>> {
    const agent = parseAgent(options.as);
    const normalisedKey = parseKey(key);
    const ttlMs = options.ttl === undefined ? this.#defaultTtlMs : durationMs(options.ttl, "ttl");
    const everyMs = options.renewEvery === undefined ? undefined : durationMs(options.renewEvery, "renewEvery");
    const granted = await this.#claims.claim(normalisedKey, { ...options, as: agent, ttl: ttlMs });
    if (!granted.ok) return granted;
    const end = options.release === true ? "release" : "complete";
    const held = await holdLease(
      this.#claims,
      {
        key: normalisedKey,
        agent,
        ttlMs,
        end,
        ...(everyMs === undefined ? {} : { everyMs }),
        ...(options.result === undefined ? {} : { result: options.result }),
        ...(options.commit === undefined ? {} : { commit: options.commit }),
      },
      async (signal) => ({ value: await fn({ claim: granted.claim, signal }), succeeded: true }),
    );
    const done = held.finished.result;
    if (!done.ok) return { ok: false, outcome: "lost", code: done.code, value: held.value, message: done.message };
    if (held.lost !== null) {
      // Renewals failed (the store, say) but the claim was still ours to release: the lease was lost all the same.
      const code = !(held.lost instanceof Error) && !held.lost.ok ? held.lost.code : "CLAIM_EXPIRED";
      return {
        ok: false,
        outcome: "lost",
        code,
        value: held.value,
        message: `lost the lease on ${normalisedKey} while the work ran; released it`,
      };
    }
    return { ok: true, outcome: end === "release" ? "released" : "completed", value: held.value, claim: done.claim };
  }

  /** The store's clock. */
  now(): Promise<Date> {
    return this.#claims.now();
  }

  /** Close the store. Further calls fail with `STORE_CLOSED`. */
  close(): Promise<void> {
    return this.#store.close();
  }
}

/**
 * Open a Baton registry: the PostgreSQL database at `options.databaseUrl`, else the
 * SQLite file at `options.db`, else the default SQLite location for `options.cwd`.
 * The schema is created and migrated if needed (unless `migrate: false`).
 *
 * @throws BatonError `STORE_BUSY`, `STORE_UNAVAILABLE`, `SCHEMA_TOO_NEW`, `BAD_DURATION`, `BAD_OPTION`
 */
export async function openBaton(options: OpenBatonOptions = {}): Promise<Baton> {
  const defaultTtlMs = options.defaultTtl === undefined ? DEFAULT_TTL_MS : durationMs(options.defaultTtl, "defaultTtl");
  if (options.store !== undefined) return new Baton(options.store, { defaultTtlMs });
  const busyTimeoutMs =
    options.busyTimeout === undefined ? undefined : durationMs(options.busyTimeout, "busyTimeout", true);
  if (options.databaseUrl !== undefined) {
    if (options.db !== undefined) {
      throw new BatonError("BAD_OPTION", "give either db (a SQLite file) or databaseUrl (PostgreSQL), not both");
    }
    if (typeof options.databaseUrl !== "string" || !/^postgres(ql)?:\/\//.test(options.databaseUrl)) {
      throw new BatonError("BAD_OPTION", "databaseUrl must be a postgres:// or postgresql:// URL");
    }
    if (options.poolSize !== undefined && !(Number.isInteger(options.poolSize) && options.poolSize >= 1)) {
      throw new BatonError("BAD_OPTION", `invalid poolSize ${JSON.stringify(options.poolSize)}: use an integer >= 1`);
    }
    const statementTimeoutMs =
      options.statementTimeout === undefined
        ? undefined
        : durationMs(options.statementTimeout, "statementTimeout", true);
    const store = await openPostgresStore({
      url: options.databaseUrl,
      ...(options.schema === undefined ? {} : { schema: options.schema }),
      ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
      ...(statementTimeoutMs === undefined ? {} : { statementTimeoutMs }),
      ...(busyTimeoutMs === undefined ? {} : { lockTimeoutMs: busyTimeoutMs }),
      ...(options.migrate === undefined ? {} : { migrate: options.migrate }),
    });
    return new Baton(store, { defaultTtlMs });
  }
  if (options.synchronous !== undefined && options.synchronous !== "full" && options.synchronous !== "normal") {
    throw new BatonError(
      "BAD_OPTION",
      `invalid synchronous ${JSON.stringify(options.synchronous)}: use full or normal`,
    );
  }
  const store = openSqliteStore({
    path: options.db ?? defaultDbPath(options.cwd ?? process.cwd()),
    ...(busyTimeoutMs === undefined ? {} : { busyTimeoutMs }),
    ...(options.synchronous === undefined ? {} : { synchronous: options.synchronous }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.migrate === undefined ? {} : { migrate: options.migrate }),
    ...(options.groupCommit === true ? { groupCommit: true } : {}),
  });
  return new Baton(store, { defaultTtlMs });
}

// ---------------------------------------------------------------------------
// Arguments from untyped callers
// ---------------------------------------------------------------------------

/** What a method's argument must be, for a caller without TypeScript's checks. */
type ArgShape = "options" | "list" | "list-or-null" | "function" | null;

/**
 * The arguments of each public method that are not parsed further down: options objects,
 * lists of patterns or files, callbacks. A JavaScript caller passing `null` options or a
 * string where a list belongs gets `BAD_INPUT` naming the argument, not a `TypeError` —
 * and never a string iterated as a list of one-character patterns.
 */
const ARG_SHAPES: Readonly<Record<string, readonly ArgShape[]>> = {
  claim: [null, "options"],
  claimWithPaths: [null, "list", "options"],
  claimWithRepoPaths: [null, "list", "options"],
  claimPaths: ["list", "options"],
  releasePaths: ["list-or-null", "options"],
  renewPaths: ["list-or-null", "options"],
  listPaths: ["options"],
  notePathCommit: [null, "list", "options"],
  pathBlockers: ["list", "options"],
  syncCheck: ["options"],
  probe: ["list", "options"],
  gate: [null, "function", "options"],
  gateCheck: [null, "options"],
  context: ["options"],
  note: [null, "options"],
  verify: [null, "options"],
  renew: [null, "options"],
  complete: [null, "options"],
  next: ["options"],
  release: [null, "options"],
  abandon: [null, "options"],
  reap: ["options"],
  show: [null, "options"],
  list: ["options"],
  log: ["options"],
  withClaim: [null, "function", "options"],
};

function checkArgs(method: string, shapes: readonly ArgShape[], args: unknown[]): unknown[] {
  // A loop over a copy, not map + concat: every public call passes through here.
  const checked = args.slice();
  if (checked.length < shapes.length) checked.length = shapes.length;
  for (let i = 0; i < shapes.length; i++) checked[i] = checkArg(method, shapes[i] ?? null, checked[i], i);
  return checked;
}

function checkArg(method: string, shape: ArgShape, value: unknown, i: number): unknown {
  const bad = (what: string) =>
    new BatonError(
      "BAD_INPUT",
      `${method}: argument ${i + 1} must be ${what}, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
    );
  if (shape === "options") {
    if (value === undefined) return {};
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("an options object");
  } else if (shape === "list" || shape === "list-or-null") {
    // A list left out means what null says (all of mine), not a TypeError further down.
    if (shape === "list-or-null" && value === undefined) return null;
    if (!(Array.isArray(value) || (shape === "list-or-null" && (value === null || value === undefined)))) {
      throw bad(shape === "list" ? "an array" : "an array or null");
    }
  } else if (shape === "function" && typeof value !== "function") throw bad("a function");
  return value;
}

for (const [method, shapes] of Object.entries(ARG_SHAPES)) {
  const proto = Baton.prototype as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = proto[method];
  if (typeof original !== "function") throw new Error(`Baton.${method} is not a method`);
  proto[method] = function guarded(this: Baton, ...args: unknown[]): Promise<unknown> {
    let checked: unknown[];
    try {
      checked = checkArgs(method, shapes, args);
    } catch (error) {
      return Promise.reject(error);
    }
    return original.apply(this, checked);
  };
}
