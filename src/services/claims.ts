/**
 * The claim use cases: validate input, call one atomic store operation, and turn
 * its outcome into a result with a human message. No SQL and no surface concerns.
 */
import { formatDuration } from "../core/duration.js";
import { BatonError, type DenialCode, type Hint } from "../core/errors.js";
import { DEFAULT_SIMILARITY_THRESHOLD, isNumberedKey, keySimilarity, namespaceOf } from "../core/similarity.js";
import { parseAgent, parseKey, parseToken } from "../core/identity.js";
import { type DurationInput, durationMs, parseCommit, parseLimit, parseMeta, parseText } from "../core/schemas.js";
import {
  type BatonEvent,
  CLAIM_STATES,
  type Claim,
  type ClaimState,
  EVENT_KINDS,
  type EventKind,
  type PathClaim,
} from "../core/types.js";
import type { ClaimInput, ClaimOutcome, MutationOutcome, Store } from "../store/store.js";
import { iso } from "../core/time.js";

/** Default lease for `claim`: 60 minutes, the seeds' habit. */
export const DEFAULT_TTL_MS = 60 * 60_000;
/** How long a completion answers "done — verify instead" to a new claim. */
export const DEFAULT_DONE_WINDOW_MS = 24 * 3_600_000;
/** Default `reap --min-age`: claims expired for a day. */
export const DEFAULT_REAP_MIN_AGE_MS = 24 * 3_600_000;

export interface ClaimOptions {
  /** The acting agent. */
  as: string;
  /**
   * Lease length: ms as a number, or `30s`, `15m`, `2h`, `1d`. Default 60 minutes for a new
   * grant; re-claiming my own live key without it keeps the claim's lease length.
   */
  ttl?: DurationInput;
  /** JSON object (or its text) stored with the claim. */
  meta?: Record<string, unknown> | string;
  /** Claim even though the work was completed within the done window. */
  reopen?: boolean;
  /**
   * How long a completion answers "done" to a new claim: ms or `24h`. Default 24 h.
   * `0` lets a completed key be claimed again at once.
   */
  doneWindow?: DurationInput;
  /**
   * Near-duplicate check against the live claims of the same namespace: `warn` (default)
   * grants and lists similar keys, `strict` refuses with `CLAIM_SIMILAR` when a similar
   * key was granted first, `off` skips the check.
   */
  similar?: "warn" | "strict" | "off";
  /** Similarity threshold, 0..1 (default 0.6). */
  similarityThreshold?: number;
}

/** A live claim whose key is close to the one claimed. */
export interface SimilarClaim {
  readonly key: string;
  readonly agent: string;
  readonly token: number;
  readonly score: number;
}

/** The answer to {@link ClaimService.claim}. A "no" is a value, not an exception. */
export type ClaimResult =
  | {
      readonly ok: true;
      readonly outcome: "granted" | "renewed";
      readonly claim: Claim;
      /** The claim this grant replaced (expired, released, abandoned or reopened), if any. */
      readonly previous: Claim | null;
      /** Live claims of other agents with similar keys (a warning: maybe the same work). */
      readonly similar: SimilarClaim[];
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly outcome: "similar";
      readonly code: "CLAIM_SIMILAR";
      /** The claim this one backed off for (the earliest similar grant). */
      readonly claim: Claim;
      readonly holder: string;
      readonly similar: SimilarClaim[];
      readonly message: string;
      /** What to do instead (claim anyway with `similar: "warn"`), for the surface to word. */
      readonly hint: Hint;
    }
  | {
      readonly ok: false;
      readonly outcome: "denied" | "done";
      readonly code: "CLAIM_HELD" | "CLAIM_DONE";
      /** The claim that blocks this one. */
      readonly claim: Claim;
      readonly holder: string;
      readonly message: string;
      /** For `done`: verify instead, or claim with `reopen` (for the surface to word). */
      readonly hint?: Hint;
    };

/** The answer to renew, complete, release, abandon. */
export type ActionResult =
  | {
      readonly ok: true;
      readonly outcome: "renewed" | "completed" | "released" | "abandoned" | "handed_off";
      readonly claim: Claim;
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly outcome: "not_held";
      readonly code: "NOT_HOLDER" | "CLAIM_EXPIRED" | "NOT_FOUND";
      readonly claim: Claim | null;
      readonly message: string;
    };

/** The answer to {@link ClaimService.resolve}. */
export type ResolveResult =
  | {
      readonly ok: true;
      readonly outcome: "resolved";
      /** The claim as it is now (`released`, reason `resolved…`). */
      readonly claim: Claim;
      /** What the loose end was: `abandoned` or `expired`. */
      readonly previousState: "abandoned" | "expired";
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly outcome: "not_loose";
      readonly code: "NOT_FOUND" | "NOT_LOOSE_END";
      readonly claim: Claim | null;
      readonly message: string;
    };

/**
 * The answer to a fencing check of `token` on `key`, from the key's claim as one read found it
 * (null: never claimed). Pure: the library's check, and the CLI's through a server (on the claim
 * `show` answers), answer the same.
 */
export function checkToken(key: string, token: number, claim: Claim | null): CheckResult {
  if (claim === null) return { ok: false, code: "NOT_FOUND", claim, message: `${key} was never claimed` };
  if (claim.token !== token) {
    return {
      ok: false,
      code: "TOKEN_STALE",
      claim,
      message: `token ${token} is stale for ${key}: the latest grant is token ${claim.token} to ${claim.agent} (${claim.state})`,
    };
  }
  if (claim.state !== "active") {
    return {
      ok: false,
      code: claim.state === "expired" ? "CLAIM_EXPIRED" : "NOT_HOLDER",
      claim,
      message: `token ${token} no longer holds ${key}: the claim is ${claim.state}`,
    };
  }
  return {
    ok: true,
    claim,
    message: `token ${token} holds ${key} (${claim.agent}, expires ${iso(claim.expiresAt)})`,
  };
}

/** The answer to {@link ClaimService.check}. */
export interface CheckResult {
  /** True only while `token` is the live holder's token. */
  readonly ok: boolean;
  readonly code?: DenialCode;
  readonly claim: Claim | null;
  readonly message: string;
}

export interface ReapResult {
  /** The claims that became abandoned: the loose ends (none listed when asked with `claims: false`). */
  readonly reaped: Claim[];
  /** How many claims became abandoned (with `claims: false` too). */
  readonly count: number;
  /** The path claims that became abandoned. */
  readonly reapedPaths: PathClaim[];
  readonly minAgeMs: number;
  readonly message: string;
}

export interface ShowResult {
  readonly claim: Claim | null;
  /** The newest events of the key, oldest first. */
  readonly events: BatonEvent[];
}

/** A {@link ShowResult} as a yes or no: a key never claimed is the expected "no", `NOT_FOUND`. */
export function shown(
  key: string,
  result: ShowResult,
): { readonly ok: true } | { readonly ok: false; readonly code: "NOT_FOUND"; readonly message: string } {
  return result.claim === null ? { ok: false, code: "NOT_FOUND", message: `${key}: never claimed` } : { ok: true };
}

export interface ListOptions {
  /** States to include (`active` = live). Default `["active"]`; `"all"` for every state. */
  state?: ClaimState | readonly ClaimState[] | "all";
  agent?: string;
  prefix?: string;
  limit?: number;
}

export interface LogOptions {
  key?: string;
  agent?: string;
  /** Only events this recent: ms or `2h`. */
  since?: DurationInput;
  kind?: EventKind | readonly EventKind[];
  /**
   * A cursor (an event id): only later events, and then the oldest `limit` of them, so a
   * follower pages forward without gaps.
   */
  after?: number;
  /** The newest N events (default 100); with `after`, the next N. */
  limit?: number;
}

/** An event id used as a cursor: a non-negative integer. */
function parseCursor(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new BatonError("BAD_INPUT", `invalid event cursor ${JSON.stringify(value)}: an event id (0 or more)`);
  }
  return value;
}

function describeHolder(claim: Claim, now: Date): string {
  const left = claim.expiresAt.getTime() - now.getTime();
  return `held by ${claim.agent} since ${iso(claim.claimedAt)} (expires ${iso(claim.expiresAt)}, in ${formatDuration(left)})`;
}

function describeNotHeld(
  code: "NOT_HOLDER" | "CLAIM_EXPIRED" | "NOT_FOUND",
  key: string,
  agent: string,
  claim: Claim | null,
): string {
  if (code === "NOT_FOUND" || claim === null) return `${key} was never claimed`;
  if (code === "CLAIM_EXPIRED") {
    return `${agent}'s claim on ${key} expired at ${iso(claim.expiresAt)}; claim it again before acting`;
  }
  if (claim.agent !== agent) {
    return `${agent} does not hold ${key}: ${claim.state === "active" ? "it is held" : `it was last ${claim.state}`} by ${claim.agent} (token ${claim.token})`;
  }
  return `${agent} no longer holds ${key}: it is ${claim.state}`;
}

/** Parse a state filter: `undefined` → live only, `"all"` → every state. */
/** A note's text: free text that is not blank (BAD_INPUT otherwise). */
export function parseNoteText(input: unknown): string {
  const text = parseText(input, "note");
  if (text === null || text.trim() === "")
    throw new BatonError("BAD_INPUT", "note needs text: what was done, what is next");
  return text;
}

export function parseStates(input: ListOptions["state"]): ClaimState[] {
  if (input === undefined) return ["active"];
  if (input === "all") return [...CLAIM_STATES];
  const list = typeof input === "string" ? [input] : Array.isArray(input) ? [...input] : [input as never];
  for (const state of list) {
    if (!(CLAIM_STATES as readonly string[]).includes(state)) {
      throw new BatonError(
        "BAD_OPTION",
        `invalid state ${JSON.stringify(state)}: use one of ${CLAIM_STATES.join(", ")}, all`,
      );
    }
  }
  return list;
}

function kinds(input: LogOptions["kind"]): EventKind[] | undefined {
  if (input === undefined) return undefined;
  const list = typeof input === "string" ? [input] : Array.isArray(input) ? [...input] : [input as never];
  for (const kind of list) {
    if (!(EVENT_KINDS as readonly string[]).includes(kind)) {
      throw new BatonError(
        "BAD_OPTION",
        `invalid event kind ${JSON.stringify(kind)}: use one of ${EVENT_KINDS.join(", ")}`,
      );
    }
  }
  return list;
}

/** Claims, their lifecycle, and the audit log. */
export class ClaimService {
  readonly #store: Store;
  readonly #defaultTtlMs: number;
  readonly #doneWindowMs: number;

  constructor(store: Store, options: { defaultTtlMs?: number; doneWindowMs?: number } = {}) {
    this.#store = store;
    this.#defaultTtlMs = options.defaultTtlMs ?? DEFAULT_TTL_MS;
    this.#doneWindowMs = options.doneWindowMs ?? DEFAULT_DONE_WINDOW_MS;
  }

  async claim(keyInput: string, options: ClaimOptions): Promise<ClaimResult> {
    const input = this.claimInput(keyInput, options);
    const mode = options.similar ?? "warn";
    if (mode !== "warn" && mode !== "strict" && mode !== "off") {
      throw new BatonError("BAD_OPTION", `invalid similar ${JSON.stringify(mode)}: use warn, strict or off`);
    }
    const threshold = options.similarityThreshold ?? DEFAULT_SIMILARITY_THRESHOLD;
    if (typeof threshold !== "number" || !(threshold > 0 && threshold <= 1)) {
      throw new BatonError(
        "BAD_OPTION",
        `invalid similarity threshold ${JSON.stringify(threshold)}: use a number in (0, 1]`,
      );
    }
    const strictNamespace = mode === "strict" ? namespaceOf(input.key) : "";
    const stored = await this.#store.claim(strictNamespace === "" ? input : { ...input, strictNamespace });
    // A grant's answer needs no clock read: built at once, not awaited (each await of a
    // resolved promise is one more turn of the microtask queue on the hot path).
    const result =
      stored.outcome === "denied" && stored.now === undefined
        ? await this.claimResult(input, stored)
        : this.#answer(input, stored);
    if (!result.ok || result.outcome !== "granted" || mode === "off" || !this.#mayBeSimilar(input.key, mode)) {
      return result;
    }
    return this.#checkSimilar(input, result, mode, threshold);
  }

  /**
   * Whether a fresh grant of `key` needs the near-duplicate look: keys outside a namespace
   * are never compared, and numbered keys (issues, PRs, task IDs) name one thing — they are
   * near-duplicates only of keys with exactly the same words; warning about that (a case or
   * separator variant) is not worth a namespace scan on every claim of a busy backlog.
   * Strict mode still looks.
   */
  #mayBeSimilar(key: string, mode: "warn" | "strict"): boolean {
    if (namespaceOf(key) === "") return false;
    return mode === "strict" || !isNumberedKey(key);
  }

  /**
   * Compare a fresh grant with the live claims of its namespace. In strict mode the later
   * of two similar grants (the larger token) backs off: racing claims of similar keys
   * therefore leave exactly one standing, whichever order they commit in.
   */
  async #checkSimilar(
    input: ClaimInput,
    result: Extract<ClaimResult, { ok: true }>,
    mode: "warn" | "strict",
    threshold: number,
  ): Promise<ClaimResult> {
    const ns = namespaceOf(input.key);
    if (!this.#mayBeSimilar(input.key, mode)) return result;
    const scan = async () => {
      const live = await this.#store.list({ states: ["active"], prefix: `${ns}:`, limit: 100_000 });
      const similar: SimilarClaim[] = [];
      for (const other of live) {
        if (other.key === input.key || other.agent === input.agent) continue;
        const score = keySimilarity(input.key, other.key);
        if (score >= threshold)
          similar.push({
            key: other.key,
            agent: other.agent,
            token: other.token,
            score: Math.round(score * 100) / 100,
          });
      }
      return { live, similar };
    };
    // Strict claims of one namespace took turns in the store (drawing the token and
    // committing under one lock), so every similar strict grant with a smaller token has
    // committed before this look: one look is enough.
    const { live, similar } = await scan();
    similar.sort((a, b) => b.score - a.score || a.token - b.token);
    if (similar.length === 0) return { ...result, similar };
    const list = similar.map((s) => `${s.key} (${s.agent}, score ${s.score})`).join(", ");
    const first = similar.reduce((a, b) => (b.token < a.token ? b : a));
    if (mode === "strict" && first.token < result.claim.token) {
      await this.#store.release({ key: input.key, agent: input.agent, reason: `similar to ${first.key}` });
      const blocking = live.find((c) => c.key === first.key) as Claim;
      return {
        ok: false,
        outcome: "similar",
        code: "CLAIM_SIMILAR",
        claim: blocking,
        holder: first.agent,
        similar,
        message: `denied: ${input.key} looks like ${list} — the same work? (claimed and released)`,
        hint: { action: "claim", option: "similar", value: "warn" },
      };
    }
    return { ...result, similar, message: `${result.message}\nwarning: similar live claims: ${list} — the same work?` };
  }

  /** Validate a claim request into the store's input (throws on bad input, touches nothing). */
  claimInput(keyInput: string, options: ClaimOptions): ClaimInput {
    return {
      key: parseKey(keyInput),
      agent: parseAgent(options.as),
      ttlMs: options.ttl === undefined ? this.#defaultTtlMs : durationMs(options.ttl, "ttl"),
      meta: parseMeta(options.meta),
      reopen: options.reopen === true,
      keepTtl: options.ttl === undefined,
      doneWindowMs:
        options.doneWindow === undefined ? this.#doneWindowMs : durationMs(options.doneWindow, "doneWindow", true),
    };
  }

  /** The store's claim outcome as a result with a message. */
  async claimResult(input: ClaimInput, outcome: ClaimOutcome): Promise<ClaimResult> {
    if (outcome.outcome === "denied" && outcome.now === undefined) {
      return this.#answer(input, { ...outcome, now: await this.#store.now() });
    }
    return this.#answer(input, outcome);
  }

  /** {@link claimResult} for an outcome that needs no clock read (all but a denial without `now`). */
  #answer(input: ClaimInput, outcome: ClaimOutcome): ClaimResult {
    const { key, ttlMs } = input;
    const claim = outcome.claim;
    switch (outcome.outcome) {
      case "granted":
        return {
          ok: true,
          outcome: "granted",
          claim,
          previous: outcome.previous,
          similar: [],
          message: `claimed ${key} (token ${claim.token}, expires in ${formatDuration(ttlMs)} at ${iso(claim.expiresAt)})`,
        };
      case "renewed":
        return {
          ok: true,
          outcome: "renewed",
          claim,
          previous: null,
          similar: [],
          message: `renewed ${key} (token ${claim.token}, ${input.keepTtl === true ? "lease kept, expires" : `expires in ${formatDuration(ttlMs)}`} at ${iso(claim.expiresAt)})`,
        };
      case "denied":
        return {
          ok: false,
          outcome: "denied",
          code: "CLAIM_HELD",
          claim,
          holder: claim.agent,
          // claimResult read the clock when the store did not answer it.
          message: `denied: ${key} is ${describeHolder(claim, outcome.now ?? new Date())}`,
        };
      case "done":
        return {
          ok: false,
          outcome: "done",
          code: "CLAIM_DONE",
          claim,
          holder: claim.agent,
          message: `denied: ${key} was done by ${claim.agent} at ${iso(claim.endedAt ?? claim.claimedAt)}${claim.result ? `: ${claim.result}` : ""} — verify instead of redoing`,
          hint: { action: "verify", key, or: { action: "claim", option: "reopen" } },
        };
    }
  }

  /** Attach a narrative note to a key (what was done, what is next): a `noted` event. */
  async note(
    keyInput: string,
    options: { as: string; text: string },
  ): Promise<{ readonly ok: true; readonly event: BatonEvent; readonly message: string }> {
    const key = parseKey(keyInput);
    const agent = parseAgent(options.as);
    const text = parseNoteText(options.text);
    const event = await this.#store.recordEvent({ kind: "noted", key, agent, commit: null, detail: { text } });
    return { ok: true, event, message: `noted on ${key}` };
  }

  /**
   * Record that `as` verified the completed work on a key: the second agent's best move
   * when a claim is refused as done. `ok: false` (`NOT_FOUND`, `NOT_COMPLETED`) otherwise.
   */
  async verify(
    keyInput: string,
    options: { as: string; note?: string },
  ): Promise<
    | { readonly ok: true; readonly event: BatonEvent; readonly claim: Claim; readonly message: string }
    | {
        readonly ok: false;
        readonly code: "NOT_FOUND" | "NOT_COMPLETED";
        readonly claim: Claim | null;
        readonly message: string;
      }
  > {
    const key = parseKey(keyInput);
    const agent = parseAgent(options.as);
    const note = options.note === undefined ? null : parseText(options.note, "note");
    const claim = await this.#store.get(key);
    if (claim === null)
      return { ok: false, code: "NOT_FOUND", claim, message: `${key} was never claimed: nothing to verify` };
    if (claim.state !== "completed") {
      return {
        ok: false,
        code: "NOT_COMPLETED",
        claim,
        message: `${key} is ${claim.state}, not completed: nothing to verify`,
      };
    }
    const event = await this.#store.recordEvent({
      kind: "verified",
      key,
      agent,
      commit: claim.commit,
      detail: { token: claim.token, completedBy: claim.agent, ...(note === null ? {} : { note }) },
    });
    return { ok: true, event, claim, message: `verified ${key} (done by ${claim.agent}, token ${claim.token})` };
  }

  /** Extend my live claim by `ttl`, or, without one, by the lease length the claim already has. */
  async renew(keyInput: string, options: { as: string; ttl?: DurationInput }): Promise<ActionResult> {
    const key = parseKey(keyInput);
    const agent = parseAgent(options.as);
    const ttlMs = options.ttl === undefined ? null : durationMs(options.ttl, "ttl");
    const outcome = await this.#store.renew({ key, agent, ttlMs });
    return this.#action(
      outcome,
      "renewed",
      key,
      agent,
      (claim) =>
        `renewed ${key} (token ${claim.token}, ${ttlMs === null ? "lease kept, expires" : `expires in ${formatDuration(ttlMs)}`} at ${iso(claim.expiresAt)})`,
    );
  }

  /**
   * Close a loose end: an abandoned claim, or an expired one nobody took over. Anyone may;
   * the claim becomes `released` (reason `resolved: NOTE`), a `resolved` event records who
   * and why, and it leaves the loose ends of `context`. `ok: false` (`NOT_LOOSE_END`,
   * `NOT_FOUND`) when there is nothing to resolve; nothing changes then.
   */
  async resolve(keyInput: string, options: { as: string; note?: string }): Promise<ResolveResult> {
    const key = parseKey(keyInput);
    const agent = parseAgent(options.as);
    const note = options.note === undefined ? null : parseText(options.note, "note");
    const outcome = await this.#store.resolve({ key, agent, note: note === null || note.trim() === "" ? null : note });
    if (outcome.ok) {
      return {
        ok: true,
        outcome: "resolved",
        claim: outcome.claim,
        previousState: outcome.previousState,
        message: `resolved ${key} (${outcome.previousState}, last held by ${outcome.claim.agent}, token ${outcome.claim.token})${note ? `: ${note}` : ""}`,
      };
    }
    const claim = outcome.claim;
    let message = `${key} was never claimed: nothing to resolve`;
    if (claim !== null) {
      const live = claim.state === "active";
      message = `${key} is not a loose end: it is ${live ? `held by ${claim.agent} (live until ${iso(claim.expiresAt)})` : `${claim.state}${claim.reason ? ` (${claim.reason})` : ""}, last held by ${claim.agent}`}${live && claim.agent === agent ? " — release or abandon it instead" : ""}`;
    }
    return { ok: false, outcome: "not_loose", code: outcome.code, claim, message };
  }

  async complete(keyInput: string, options: { as: string; result?: string; commit?: string }): Promise<ActionResult> {
    const key = parseKey(keyInput);
    const agent = parseAgent(options.as);
    const result = parseText(options.result, "result");
    const commit = parseCommit(options.commit);
    const outcome = await this.#store.complete({ key, agent, result, commit });
    return this.#action(
      outcome,
      "completed",
      key,
      agent,
      (claim) => `completed ${key} (token ${claim.token}${commit ? `, commit ${commit}` : ""})`,
    );
  }

  async release(keyInput: string, options: { as: string; commit?: string }): Promise<ActionResult> {
    const key = parseKey(keyInput);
    const agent = parseAgent(options.as);
    const commit = parseCommit(options.commit);
    const outcome = await this.#store.release({ key, agent, commit });
    return this.#action(outcome, "released", key, agent, (claim) => `released ${key} (token ${claim.token})`);
  }

  async abandon(keyInput: string, options: { as: string; reason?: string }): Promise<ActionResult> {
    const key = parseKey(keyInput);
    const agent = parseAgent(options.as);
    const reason = parseText(options.reason, "reason");
    const outcome = await this.#store.abandon({ key, agent, reason });
    return this.#action(
      outcome,
      "abandoned",
      key,
      agent,
      (claim) => `abandoned ${key} (token ${claim.token})${reason ? `: ${reason}` : ""}`,
    );
  }

  /**
   * Pass my live claim on `key` to agent `to`: a new fencing token for them (my token is
   * fenced off), the same lease length from now, my path claims for the work moving along.
   */
  async handoff(keyInput: string, options: { as: string; to: string; note?: string }): Promise<ActionResult> {
    const key = parseKey(keyInput);
    const agent = parseAgent(options.as);
    const to = parseAgent(options.to);
    if (to === agent)
      throw new BatonError(
        "BAD_INPUT",
        `${agent} already holds what it would hand off: name another agent to hand ${key} to`,
      );
    const note = parseText(options.note, "note");
    const outcome = await this.#store.handoff({
      key,
      agent,
      to,
      note: note === null || note.trim() === "" ? null : note,
    });
    return this.#action(
      outcome,
      "handed_off",
      key,
      agent,
      (claim) =>
        `handed ${key} off to ${to} (new token ${claim.token}, expires ${iso(claim.expiresAt)})${note ? `: ${note}` : ""}`,
    );
  }

  #action(
    outcome: MutationOutcome,
    verb: "renewed" | "completed" | "released" | "abandoned" | "handed_off",
    key: string,
    agent: string,
    describe: (claim: Claim) => string,
  ): ActionResult {
    if (outcome.ok) return { ok: true, outcome: verb, claim: outcome.claim, message: describe(outcome.claim) };
    return {
      ok: false,
      outcome: "not_held",
      code: outcome.code,
      claim: outcome.claim,
      message: describeNotHeld(outcome.code, key, agent, outcome.claim),
    };
  }

  async reap(options: { minAge?: DurationInput; as?: string; claims?: boolean } = {}): Promise<ReapResult> {
    const minAgeMs =
      options.minAge === undefined ? DEFAULT_REAP_MIN_AGE_MS : durationMs(options.minAge, "min-age", true);
    const by = options.as === undefined ? null : parseAgent(options.as);
    // Without the list, the store does not read the claims back (a quarter of a large reap on SQLite).
    const reaped = options.claims === false ? [] : await this.#store.reap({ minAgeMs, by });
    const count = options.claims === false ? await this.#store.reapCount({ minAgeMs, by }) : reaped.length;
    const reapedPaths = await this.#store.reapPaths({ minAgeMs, by });
    const paths =
      reapedPaths.length === 0
        ? ""
        : `; and ${reapedPaths.length} stale path claim${reapedPaths.length === 1 ? "" : "s"}`;
    return {
      reaped,
      count,
      reapedPaths,
      minAgeMs,
      message: `reaped ${count} stale claim${count === 1 ? "" : "s"} (expired >${formatDuration(minAgeMs)}) -> abandoned${paths}`,
    };
  }

  async show(keyInput: string, options: { events?: number } = {}): Promise<ShowResult> {
    const key = parseKey(keyInput);
    const limit = parseLimit(options.events, 20);
    const [claim, events] = [await this.#store.get(key), await this.#store.events({ key, limit })];
    return { claim, events };
  }

  async list(options: ListOptions = {}): Promise<Claim[]> {
    return this.#store.list({
      states: parseStates(options.state),
      agent: options.agent === undefined ? undefined : parseAgent(options.agent),
      prefix: options.prefix,
      limit: parseLimit(options.limit, 1000),
    });
  }

  async log(options: LogOptions = {}): Promise<BatonEvent[]> {
    return this.#store.events({
      key: options.key === undefined ? undefined : parseKey(options.key),
      agent: options.agent === undefined ? undefined : parseAgent(options.agent),
      sinceMs: options.since === undefined ? undefined : durationMs(options.since, "since"),
      kinds: kinds(options.kind),
      afterId: options.after === undefined ? undefined : parseCursor(options.after),
      limit: parseLimit(options.limit, 100),
    });
  }

  async check(keyInput: string, tokenInput: number | string): Promise<CheckResult> {
    const key = parseKey(keyInput);
    const token = parseToken(tokenInput);
    return checkToken(key, token, await this.#store.get(key));
  }

  /** The store's current time. */
  now(): Promise<Date> {
    return this.#store.now();
  }
}
