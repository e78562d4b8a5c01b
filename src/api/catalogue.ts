/**
 * The operation catalogue: each registry operation declared once — its name, a one-line
 * summary, a zod input schema (parsed once, at the boundary), whether it changes state,
 * whether the checkout must be local, and how it runs on a {@link Baton}. Surfaces are
 * derived from this table: the MCP tools today (src/surfaces/mcp/), the HTTP routes and
 * the CLI next. Every operation answers with one {@link OperationResult} shape.
 *
 * The acting agent is never an input: the surface decides it (the MCP server's `--as`,
 * later the HTTP bearer token), so no caller can act as another agent.
 */
import { createRequire } from "node:module";
import type { z } from "zod";
import type { Baton } from "../baton.js";
import { BatonError, type Hint } from "../core/errors.js";
import { type BatonEvent, CLAIM_STATES, type Claim, EVENT_KINDS, type PathClaim, TASK_STATES } from "../core/types.js";
import { TASK_IMPORT_BODY_LIMIT, TASK_IMPORT_MAX } from "./baton-api.js";
import { parseRepo } from "../services/paths.js";
import type { TaskSpec } from "../services/tasks.js";
import { forgetAnswer, gateKey } from "../services/gates.js";
import { isoString } from "../core/time.js";

/** Who calls, decided by the surface (never by the operation's input). */
export interface OperationContext {
  /** The acting agent. */
  readonly agent: string;
  /** The checkout the caller works in (for path operations, rules, probe). */
  readonly cwd: string;
  /** `cwd` is the caller's own checkout on this machine (stdio MCP), not a server's folder. */
  readonly local: boolean;
  /**
   * The repository identity of `cwd` when the surface already knows it (a server finds its
   * own once): `next` then asks git nothing per call. `null`: known to be none (`cwd` is not
   * in a repository; tasks with paths are passed over, and nothing is asked of git).
   * Undefined: not looked up (a local checkout's is found per call).
   */
  readonly repo?: string | null;
}

/**
 * The one answer shape: `ok` false is the expected "no" (held, done, not held, nothing
 * ready) with its stable `code`; bad input and store failures are thrown `BatonError`s.
 */
export interface OperationResult {
  readonly ok: boolean;
  /** The denial code when `ok` is false (`CLAIM_HELD`, `PATH_CONFLICT`, …). */
  readonly code?: string;
  /** A one-line answer for people (surfaces may word their own next step from `code`). */
  readonly message: string;
  /** What to do next, as data (each surface words it: src/surfaces/cli/hints.ts, src/surfaces/mcp/mcp-hints.ts). */
  readonly hint?: Hint;
  /** Who holds what blocks this request, when a claim does. */
  readonly holder?: {
    readonly agent: string;
    readonly token: number;
    readonly expiresAt: string;
    readonly state: string;
  };
  /** The operation's data (a claim, a list, a task, …). */
  readonly data?: unknown;
}

/** One catalogue entry. */
export interface Operation<S extends z.ZodObject = z.ZodObject, N extends string = string> {
  /** Short name, also the MCP tool name: lowercase, `_` between words. */
  readonly name: N;
  /** One line: what it does. */
  readonly summary: string;
  readonly input: S;
  /** Changes state (needs an agent). */
  readonly mutates: boolean;
  /** Calling it twice with the same input leaves the same state. */
  readonly idempotent: boolean;
  /** May end or give away work (complete, release, abandon). */
  readonly destructive: boolean;
  /** Needs the caller's checkout on this machine (git, the working tree). */
  readonly local: boolean;
  /** The denial codes it can answer with. */
  readonly codes: readonly string[];
  /**
   * Offered as an MCP tool (default true). False: the CLI and HTTP only, as the operator views
   * are — the tool list has a 3,000-token budget, and an agent has the tools it needs.
   */
  readonly tool?: boolean;
  /**
   * Input fields an MCP tool's schema leaves out, accepted all the same: options the CLI and
   * HTTP clients send, kept out of the tool list's budget.
   */
  readonly toolHidden?: readonly string[];
  /**
   * Only an admin's token may call it through a server (`reap`): another token is refused
   * (`FORBIDDEN`, nothing changed). In process the caller owns the registry already.
   */
  readonly admin?: boolean;
  /**
   * The largest request body a server accepts for it, in bytes, when more than its default
   * (64 KiB): a bulk operation's (`task_import`). Larger is 413 `BODY_TOO_LARGE`.
   */
  readonly bodyLimit?: number;
  run(baton: Baton, input: z.infer<S>, context: OperationContext): Promise<OperationResult>;
}

/** Declare one entry, keeping its name and schema in the type (for {@link OperationInput}). */
function op<S extends z.ZodObject, N extends string>(operation: Operation<S, N>): Operation<S, N> {
  return operation;
}

/**
 * Inputs the caller's checkout supplies when it is on this machine (the repository identity):
 * tools offered with the checkout (`baton mcp` on stdio) leave them out of their schemas.
 */
export const CHECKOUT_FIELDS: readonly string[] = ["repo"];

/**
 * zod, loaded when the catalogue is first read (its schemas are built then): a process that
 * imports the library for `openBaton` alone — a worker, a script — never loads it (~0.08 s of
 * CPU a process here). Required, not imported: an `import` is evaluated when the library is.
 */
let zodModule: typeof import("zod") | undefined;
const loadZod = (): typeof import("zod") =>
  (zodModule ??= createRequire(import.meta.url)("zod") as typeof import("zod"));

function pathsWhere(
  name: string,
  input: { readonly repo?: string | undefined },
  context: OperationContext,
): { readonly repo: string } | { readonly cwd: string } {
  if (input.repo !== undefined) return { repo: parseRepo(input.repo) };
  if (context.local) return { cwd: context.cwd };
  throw new BatonError(
    "BAD_INPUT",
    `${name}: the checkout is not on this machine: send the repository identity (repo: root:<root commit>, from git rev-list --max-parents=0 HEAD) and repository-relative paths (the CLI does)`,
  );
}

/** JSON-safe view of a claim (dates as ISO text; the fields in the order the library's Claim has them). */
export function claimView(claim: Claim | null): Record<string, unknown> | null {
  if (claim === null) return null;
  return {
    key: claim.key,
    agent: claim.agent,
    token: claim.token,
    state: claim.state,
    claimedAt: isoString(claim.claimedAt),
    expiresAt: isoString(claim.expiresAt),
    endedAt: claim.endedAt == null ? null : isoString(claim.endedAt),
    meta: claim.meta,
    result: claim.result,
    commit: claim.commit,
    reason: claim.reason,
  };
}

/** JSON-safe view of an audit event (the time as ISO text). */
export function eventView(event: BatonEvent): Record<string, unknown> {
  return {
    id: event.id,
    at: isoString(event.at),
    kind: event.kind,
    key: event.key,
    agent: event.agent,
    token: event.token,
    commit: event.commit,
    detail: event.detail,
  };
}

function pathView(claim: PathClaim): Record<string, unknown> {
  return {
    pattern: claim.pattern,
    agent: claim.agent,
    mode: claim.mode,
    token: claim.token,
    state: claim.state,
    expiresAt: isoString(claim.expiresAt),
    reason: claim.reason,
  };
}

/** JSON-safe view of a path claim with every field, in the library's order (what `paths_list` answers). */
export function pathClaimView(claim: PathClaim): Record<string, unknown> {
  return {
    id: claim.id,
    repo: claim.repo,
    pattern: claim.pattern,
    agent: claim.agent,
    mode: claim.mode,
    token: claim.token,
    state: claim.state,
    claimedAt: isoString(claim.claimedAt),
    expiresAt: isoString(claim.expiresAt),
    endedAt: claim.endedAt == null ? null : isoString(claim.endedAt),
    reason: claim.reason,
    commit: claim.commit,
    workKey: claim.workKey,
  };
}

function holderOf(claim: Claim | PathClaim | null): OperationResult["holder"] {
  if (claim === null) return undefined;
  return { agent: claim.agent, token: claim.token, expiresAt: isoString(claim.expiresAt), state: claim.state };
}

/**
 * A listing's agent, states and limit (`list`, `paths_list`): `mine` is the caller, which
 * `agent` may not also name; `all` among the states is every state.
 */
function listingFilter(
  name: string,
  input: {
    mine?: boolean | undefined;
    agent?: string | undefined;
    state?: string[] | undefined;
    limit?: number | undefined;
  },
  context: OperationContext,
  defaultLimit: number,
): { agent?: string; state?: "all" | Claim["state"][]; limit: number } {
  if (input.mine === true && input.agent !== undefined)
    throw new BatonError("BAD_INPUT", `${name}: mine and agent cannot be used together`);
  const agent = input.mine === true ? context.agent : input.agent;
  return {
    ...(agent === undefined ? {} : { agent }),
    ...(input.state === undefined
      ? {}
      : { state: input.state.includes("all") ? ("all" as const) : (input.state as Claim["state"][]) }),
    limit: input.limit ?? defaultLimit,
  };
}

/**
 * A library answer's fields besides `ok`, `code`, `message` and `hint`, as JSON (dates as ISO
 * text, in the library's order): a write's `data`, so a client can print exactly what the
 * library answers (the CLI through a server does: the same `--json` either way).
 */
function answerData(r: object, replace: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const name of Object.keys(r)) {
    if (name === "ok" || name === "code" || name === "message" || name === "hint") continue;
    // A field the caller shows its own way keeps its place in the order.
    const json = Object.hasOwn(replace, name) ? replace[name] : jsonValue((r as Record<string, unknown>)[name]);
    if (json !== undefined) rest[name] = json;
  }
  for (const name of Object.keys(replace)) if (!Object.hasOwn(rest, name)) rest[name] = replace[name];
  return rest;
}

const DATE_TO_JSON = Date.prototype.toJSON;

/**
 * `value` as `JSON.parse(JSON.stringify(value))` would give it back (dates as ISO text through
 * `toJSON`, `undefined` and functions dropped from objects and null in arrays, non-finite
 * numbers null), without writing and reading the text: on a server's hot path the round trip
 * was a twentieth of a claim's CPU.
 */
export function jsonValue(value: unknown): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  // -0 is written "0", so it reads back as 0.
  if (typeof value === "number") return Number.isFinite(value) ? (value === 0 ? 0 : value) : null;
  if (typeof value !== "object") return typeof value === "bigint" ? JSON.stringify(value) : undefined;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  // A date as its own toJSON writes it (null when invalid), without V8's slow formatter.
  if (toJSON === DATE_TO_JSON && value instanceof Date)
    return Number.isFinite(value.getTime()) ? isoString(value) : null;
  if (typeof toJSON === "function") return jsonValue((toJSON as () => unknown).call(value));
  if (Array.isArray(value)) return value.map((item) => jsonValue(item) ?? null);
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(value)) {
    const json = jsonValue((value as Record<string, unknown>)[name]);
    if (json === undefined) continue;
    // A stored object may have a "__proto__" key: an own property, as JSON.parse makes it.
    if (name === "__proto__")
      Object.defineProperty(out, name, { value: json, enumerable: true, writable: true, configurable: true });
    else out[name] = json;
  }
  return out;
}

/** A library answer as the one result shape: `data` has its other fields ({@link answerData}). */
function fromAnswer(r: { ok: boolean; code?: string; message: string; hint?: Hint }): OperationResult {
  const data = answerData(r);
  return {
    ok: r.ok,
    ...(r.code === undefined ? {} : { code: r.code }),
    message: r.message,
    ...(r.hint === undefined ? {} : { hint: r.hint }),
    ...(Object.keys(data).length === 0 ? {} : { data }),
  };
}

/** Turn a claim-shaped service answer into the one result shape (`data`: its other fields, the claim as {@link claimView}). */
function fromClaimAnswer(r: {
  ok: boolean;
  code?: string;
  hint?: Hint;
  claim: Claim | null;
  message: string;
}): OperationResult {
  const base = { ok: r.ok, message: r.message, data: answerData(r, { claim: claimView(r.claim) }) };
  if (r.ok) return base;
  const holder = holderOf(r.claim);
  return {
    ...base,
    ...(r.code === undefined ? {} : { code: r.code }),
    ...(r.hint === undefined ? {} : { hint: r.hint }),
    ...(holder === undefined ? {} : { holder }),
  };
}

/** A path claim refused: every conflict, the first one's holder as the holder. */
function pathConflict(r: {
  message: string;
  conflicts: readonly { pattern: string; held: PathClaim }[];
}): OperationResult {
  const holder = holderOf(r.conflicts[0]?.held ?? null);
  return {
    ok: false,
    code: "PATH_CONFLICT",
    message: r.message,
    ...(holder === undefined ? {} : { holder }),
    // The library answer's fields: the repository, and every conflict with the claim that holds it.
    data: answerData(r),
  };
}

/** The operations and their schemas, built on the first read of {@link CATALOGUE}. */
function buildOperations() {
  const { z } = loadZod();
  const key = z.string().min(1);
  const ttl = z.string().describe("e.g. 30m").optional();
  const patterns = z.array(z.string()).min(1).describe("files, folders/, globs");
  /** Which claims a listing answers (`all`: every state). */
  const claimStates = z
    .array(z.enum([...CLAIM_STATES, "all"]))
    .min(1)
    .optional();
  const listLimit = z.number().int().min(1).max(100_000).optional();
  const taskState = z.enum(TASK_STATES);
  const repo = z
    .string()
    .min(1)
    .optional()
    .describe("repository identity, root:<root commit>; paths then repository-relative");

  /**
   * Where a path operation's patterns are: the repository named by `repo` (the patterns
   * repository-relative, as a client that resolved its checkout sends them: nothing on this
   * machine is read), else the caller's checkout when it is on this machine.
   *
   * @throws BatonError `BAD_INPUT` when neither (a server's caller that sent no identity)
   */
  const json = z.record(z.string(), z.unknown());

  /** `release` and `abandon`: end my claim, with an optional commit or reason. */
  function endOperation<N extends "release" | "abandon", F extends "commit" | "reason">(
    name: N,
    summary: string,
    field: F,
  ) {
    const input = z.object({ key, [field]: z.string().optional() } as { key: typeof key } & Record<
      F,
      z.ZodOptional<z.ZodString>
    >);
    return op({
      name,
      summary,
      input,
      mutates: true,
      idempotent: false,
      destructive: true,
      local: false,
      codes: ["NOT_HOLDER", "NOT_FOUND"],
      async run(baton, input, context) {
        const { key: claimed, [field]: extra } = input as Record<string, string | undefined> & { key: string };
        const options = { as: context.agent, ...(extra === undefined ? {} : { [field]: extra }) };
        return fromClaimAnswer(
          await (name === "release" ? baton.release(claimed, options) : baton.abandon(claimed, options)),
        );
      },
    });
  }

  /** A task's paths: typed at the caller's checkout when it is local, else repository-relative. */
  const taskPaths = z.array(z.string()).optional().describe("repository-relative unless local");
  /** A task's metadata: a JSON object, or its text. */
  const taskMeta = z.union([json, z.string()]).nullable().optional();

  /**
   * The backlog for this caller: task paths typed in its checkout when that is on this machine,
   * else taken as repository-relative as sent (nothing read here).
   */
  function backlog(baton: Baton, context: OperationContext) {
    return context.local ? baton.tasks : baton.tasksWithoutCheckout;
  }

  /** `task_done` and `task_reopen`: one store transaction with the task's claim. */
  function taskStateOperation<N extends "task_done" | "task_reopen">(name: N, summary: string) {
    return op({
      name,
      summary,
      input: z.object({ id: z.string() }),
      mutates: true,
      idempotent: true,
      destructive: name === "task_done",
      local: false,
      codes: ["TASK_NOT_FOUND"],
      tool: false,
      async run(baton, input, context) {
        const options = { as: context.agent };
        return fromAnswer(
          name === "task_done"
            ? await baton.tasks.done(input.id, options)
            : await baton.tasks.reopen(input.id, options),
        );
      },
    });
  }

  /** A task as `task_add` and `task_import` take it (paths repository-relative unless local). */
  const taskInput = z.object({
    id: z.string(),
    title: z.string(),
    category: z.string().optional(),
    priority: z.number().int().min(0).max(100).optional(),
    blockedBy: z.array(z.string()).optional(),
    paths: taskPaths,
    assignee: z.string().nullable().optional(),
    meta: taskMeta,
  });

  /** A gate mark as a caller sends one (the time as ISO text). */
  const gateMarkInput = z
    .object({
      key: z.string(),
      agent: z.string().min(1),
      at: z.iso.datetime({ offset: true }),
      command: z.string().nullable(),
      digest: z.string().nullable(),
      note: z.string().nullable(),
      onceOnly: z.boolean(),
    })
    .strip();

  /** Every operation, typed by name (see {@link OperationInput}), in the order surfaces list them. */
  const OPERATIONS = [
    op({
      name: "claim",
      summary: "Claim a work key (e.g. task:42) before starting; optional repo paths, all or nothing.",
      input: z.object({
        key,
        ttl,
        meta: json.optional(),
        paths: patterns.optional(),
        reopen: z.boolean().optional(),
        similar: z.enum(["warn", "strict", "off"]).optional(),
        repo,
        shared: z.boolean().optional(),
        advisory: z.boolean().optional(),
        reason: z.string().optional(),
      }),
      mutates: true,
      idempotent: true,
      destructive: false,
      local: false,
      codes: ["CLAIM_HELD", "CLAIM_DONE", "CLAIM_SIMILAR", "PATH_CONFLICT"],
      toolHidden: ["repo", "shared", "advisory", "reason"],
      async run(baton, input, context) {
        const options = {
          as: context.agent,
          ...(input.ttl === undefined ? {} : { ttl: input.ttl }),
          ...(input.meta === undefined ? {} : { meta: input.meta }),
          ...(input.reopen === undefined ? {} : { reopen: input.reopen }),
          ...(input.similar === undefined ? {} : { similar: input.similar }),
        };
        const held = {
          ...(input.shared === undefined ? {} : { shared: input.shared }),
          ...(input.advisory === undefined ? {} : { advisory: input.advisory }),
          ...(input.reason === undefined ? {} : { reason: input.reason }),
        };
        if (input.paths === undefined) {
          if (input.repo !== undefined || Object.keys(held).length > 0)
            throw new BatonError("BAD_INPUT", "claim: repo, shared, advisory and reason go with paths");
          return fromClaimAnswer(await baton.claim(input.key, options));
        }
        const where = pathsWhere("claim with paths", input, context);
        const r =
          "repo" in where
            ? await baton.claimWithRepoPaths(input.key, input.paths, { ...options, ...held, repo: where.repo })
            : await baton.claimWithPaths(input.key, input.paths, { ...options, ...held, cwd: where.cwd });
        if ("conflicts" in r && !r.ok) {
          return pathConflict(r);
        }
        // data: the claim, and with a grant the path claims (`paths`) and the conflicts overridden.
        return fromClaimAnswer(r as { ok: boolean; code?: string; claim: Claim; message: string });
      },
    }),
    op({
      name: "renew",
      summary: "Extend my live claim.",
      input: z.object({ key, ttl }),
      mutates: true,
      idempotent: true,
      destructive: false,
      local: false,
      codes: ["NOT_HOLDER", "CLAIM_EXPIRED", "NOT_FOUND"],
      async run(baton, input, context) {
        return fromClaimAnswer(
          await baton.renew(input.key, { as: context.agent, ...(input.ttl === undefined ? {} : { ttl: input.ttl }) }),
        );
      },
    }),
    op({
      name: "complete",
      summary: "Mark my claimed work done (others are then told to verify, not redo).",
      input: z.object({
        key,
        result: z.string().optional(),
        commit: z.string().optional(),
        outcome: z.enum(["success", "failure", "noop"]).optional(),
      }),
      mutates: true,
      idempotent: false,
      destructive: true,
      local: false,
      codes: ["NOT_HOLDER", "CLAIM_EXPIRED", "NOT_FOUND"],
      async run(baton, input, context) {
        return fromClaimAnswer(
          await baton.complete(input.key, {
            as: context.agent,
            ...(input.result === undefined ? {} : { result: input.result }),
            ...(input.commit === undefined ? {} : { commit: input.commit }),
            ...(input.outcome === undefined ? {} : { outcome: input.outcome }),
          }),
        );
      },
    }),
    endOperation("release", "Give my claim back unfinished, free for others at once.", "commit"),
    endOperation("abandon", "Give up my claim with a reason; it becomes a loose end for the next session.", "reason"),
    op({
      name: "handoff",
      summary: "Pass my live claim to another agent (they get a new token; paths move too).",
      input: z.object({ key, to: z.string().min(1), note: z.string().optional() }),
      mutates: true,
      idempotent: false,
      destructive: true,
      local: false,
      codes: ["NOT_HOLDER", "CLAIM_EXPIRED", "NOT_FOUND"],
      async run(baton, input, context) {
        return fromClaimAnswer(
          await baton.handoff(input.key, {
            as: context.agent,
            to: input.to,
            ...(input.note === undefined ? {} : { note: input.note }),
          }),
        );
      },
    }),
    op({
      name: "resolve",
      summary: "Close a loose end (an abandoned or expired claim) once it is dealt with.",
      input: z.object({ key, note: z.string().optional() }),
      mutates: true,
      idempotent: false,
      destructive: false,
      local: false,
      codes: ["NOT_LOOSE_END", "NOT_FOUND"],
      async run(baton, input, context) {
        return fromClaimAnswer(
          await baton.resolve(input.key, {
            as: context.agent,
            ...(input.note === undefined ? {} : { note: input.note }),
          }),
        );
      },
    }),
    op({
      name: "reap",
      summary: "Turn claims expired for at least minAge (default 24h) into abandoned loose ends (admin tokens).",
      input: z.object({ minAge: z.string().optional().describe("e.g. 24h; 0s: every expired claim") }),
      mutates: true,
      idempotent: true,
      destructive: true,
      local: false,
      codes: [],
      tool: false,
      admin: true,
      async run(baton, input, context) {
        // data: the claims reaped (the loose ends), their count, the path claims reaped, minAgeMs.
        return fromAnswer({
          ok: true,
          ...(await baton.reap({ as: context.agent, ...(input.minAge === undefined ? {} : { minAge: input.minAge }) })),
        });
      },
    }),
    op({
      name: "show",
      summary: "Who holds a key, and its recent history.",
      input: z.object({ key, events: z.number().int().min(1).max(1000).optional() }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      async run(baton, input) {
        const r = await baton.show(input.key, { events: input.events ?? 10 });
        const now = await baton.now();
        return {
          ok: true,
          message:
            r.claim === null ? `${input.key} was never claimed` : `${input.key}: ${r.claim.state}, ${r.claim.agent}`,
          data: { claim: claimView(r.claim), events: r.events.map(eventView), now: isoString(now) },
        };
      },
    }),
    op({
      name: "list",
      summary: "Live claims (filter by key prefix, or mine only).",
      input: z.object({
        prefix: z.string().optional(),
        mine: z.boolean().optional(),
        agent: z.string().min(1).optional(),
        state: claimStates,
        limit: listLimit,
      }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      async run(baton, input, context) {
        const claims = await baton.list({
          ...(input.prefix === undefined ? {} : { prefix: input.prefix }),
          ...listingFilter("list", input, context, 100),
        });
        const now = await baton.now();
        const live = input.state === undefined ? " live" : "";
        return {
          ok: true,
          message: `${claims.length}${live} claims`,
          data: { claims: claims.map(claimView), now: isoString(now) },
        };
      },
    }),
    op({
      name: "log",
      summary: "The audit log (filter by key, agent, kind; after an event id).",
      input: z.object({
        key: z.string().min(1).optional(),
        agent: z.string().min(1).optional(),
        kind: z.array(z.enum(EVENT_KINDS)).min(1).optional(),
        since: z.string().optional(),
        after: z.number().int().min(0).optional(),
        limit: z.number().int().min(1).max(100_000).optional(),
      }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      async run(baton, input) {
        const events = await baton.log({
          ...(input.key === undefined ? {} : { key: input.key }),
          ...(input.agent === undefined ? {} : { agent: input.agent }),
          ...(input.kind === undefined ? {} : { kind: input.kind }),
          ...(input.since === undefined ? {} : { since: input.since }),
          ...(input.after === undefined ? {} : { after: input.after }),
          ...(input.limit === undefined ? {} : { limit: input.limit }),
        });
        // The cursor to pass as `after` for the next page, and the first id (to page back).
        const cursor = events[events.length - 1]?.id ?? input.after ?? null;
        return {
          ok: true,
          message: `${events.length} events`,
          data: { events: events.map(eventView), cursor, first: events[0]?.id ?? null },
        };
      },
    }),
    op({
      name: "next",
      summary: "Pick the best ready task and claim it, in one step.",
      input: z.object({
        category: z.string().optional(),
        ttl,
        dryRun: z.boolean().optional(),
        seed: z.number().int().min(0).optional(),
        // The caller's repository, where a task's paths are claimed; null: none (tasks with paths
        // are passed over). Default: the repository where this runs.
        repo: z.string().min(1).nullable().optional(),
      }),
      mutates: true,
      idempotent: false,
      destructive: false,
      local: false,
      codes: ["NOTHING_READY"],
      toolHidden: ["repo"],
      async run(baton, input, context) {
        // The caller's repository (null: none), else the one the surface knows (null: none), else the checkout's.
        const where = input.repo === undefined ? context.repo : input.repo === null ? null : parseRepo(input.repo);
        const r = await backlog(baton, context).next({
          as: context.agent,
          cwd: context.cwd,
          ...(where === undefined ? {} : { repo: where }),
          ...(input.category === undefined ? {} : { category: input.category }),
          ...(input.ttl === undefined ? {} : { ttl: input.ttl }),
          ...(input.dryRun === undefined ? {} : { dryRun: input.dryRun }),
          ...(input.seed === undefined ? {} : { seed: input.seed }),
        });
        // data: tier, task, claim, paths, and the ranking (the top candidates, skipped, seed).
        return fromAnswer(r);
      },
    }),
    op({
      name: "paths_claim",
      summary: "Claim repo files/folders/globs before editing them (all or none).",
      input: z.object({
        paths: patterns,
        ttl,
        shared: z.boolean().optional(),
        reason: z.string().optional(),
        advisory: z.boolean().optional(),
        repo,
      }),
      mutates: true,
      idempotent: true,
      destructive: false,
      local: false,
      codes: ["PATH_CONFLICT"],
      toolHidden: ["advisory"],
      async run(baton, input, context) {
        const where = pathsWhere("paths_claim", input, context);
        const options = {
          as: context.agent,
          ...(input.ttl === undefined ? {} : { ttl: input.ttl }),
          ...(input.shared === undefined ? {} : { shared: input.shared }),
          ...(input.reason === undefined ? {} : { reason: input.reason }),
          ...(input.advisory === undefined ? {} : { advisory: input.advisory }),
        };
        const r =
          "repo" in where
            ? await baton.paths.claim(input.paths, { ...options, repo: where.repo })
            : await baton.claimPaths(input.paths, { ...options, cwd: where.cwd });
        if (!r.ok) return pathConflict(r);
        // The library answer's fields, and the granted claims under `paths` as well (what this answered first).
        return { ok: true, message: r.message, data: answerData(r, { paths: r.claims.map(pathView) }) };
      },
    }),
    op({
      name: "paths_release",
      summary: "Release my path claims (the given ones, or all of mine).",
      input: z.object({ paths: patterns.optional(), commit: z.string().optional(), repo }),
      mutates: true,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      async run(baton, input, context) {
        const where = pathsWhere("paths_release", input, context);
        const options = { as: context.agent, ...(input.commit === undefined ? {} : { commit: input.commit }) };
        const r =
          "repo" in where
            ? await baton.paths.release(input.paths ?? null, { ...options, repo: where.repo })
            : await baton.releasePaths(input.paths ?? null, { ...options, cwd: where.cwd });
        return fromAnswer({ ok: true, ...r });
      },
    }),
    op({
      name: "paths_renew",
      summary: "Extend my live path claims (the given ones, or all of mine).",
      input: z.object({ paths: patterns.optional(), ttl, repo }),
      mutates: true,
      idempotent: true,
      destructive: false,
      local: false,
      codes: ["NOT_HOLDER"],
      tool: false,
      async run(baton, input, context) {
        const where = pathsWhere("paths_renew", input, context);
        const options = { as: context.agent, ...(input.ttl === undefined ? {} : { ttl: input.ttl }) };
        const r =
          "repo" in where
            ? await baton.paths.renew(input.paths ?? null, { ...options, repo: where.repo })
            : await baton.renewPaths(input.paths ?? null, { ...options, cwd: where.cwd });
        return fromAnswer(r.renewed.length > 0 ? { ok: true, ...r } : { ok: false, code: "NOT_HOLDER", ...r });
      },
    }),
    op({
      name: "paths_list",
      summary: "Path claims of a repository (or of every one): live by default, by state and agent.",
      input: z.object({
        repo,
        allRepos: z.boolean().optional(),
        agent: z.string().min(1).optional(),
        mine: z.boolean().optional(),
        state: claimStates,
        limit: listLimit,
      }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      tool: false,
      async run(baton, input, context) {
        if (input.allRepos === true && input.repo !== undefined)
          throw new BatonError("BAD_INPUT", "paths_list: repo and allRepos cannot be used together");
        const options = listingFilter("paths_list", input, context, 1000);
        let claims: PathClaim[];
        if (input.allRepos === true) claims = await baton.paths.list({ ...options, allRepos: true });
        else {
          const where = pathsWhere("paths_list", input, context);
          claims =
            "repo" in where
              ? await baton.paths.list({ ...options, repo: where.repo })
              : await baton.listPaths({ ...options, cwd: where.cwd });
        }
        return { ok: true, message: `${claims.length} path claims`, data: { claims: claims.map(pathClaimView) } };
      },
    }),
    op({
      name: "gate_check",
      summary: "Was this side effect (e-mail, deploy, post) already done in the window?",
      input: z.object({ key, window: z.string().describe("e.g. 24h").optional() }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      async run(baton, input) {
        const r = await baton.gateCheck(input.key, input.window === undefined ? {} : { window: input.window });
        return { ok: true, message: r.message, data: { done: r.done, mark: r.mark } };
      },
    }),
    op({
      name: "gate_mark",
      summary: "Record that I did this side effect, so no one repeats it in the window.",
      input: z.object({ key, note: z.string().optional(), window: z.string().optional() }),
      mutates: true,
      idempotent: false,
      destructive: false,
      local: false,
      codes: ["GATE_MARKED"],
      async run(baton, input, context) {
        const r = await baton.gates.mark(input.key, {
          as: context.agent,
          ...(input.note === undefined ? {} : { note: input.note }),
          ...(input.window === undefined ? {} : { window: input.window }),
        });
        return fromAnswer({ ...r, ...(r.ok ? {} : { code: "GATE_MARKED" }) });
      },
    }),
    op({
      name: "gate_list",
      summary: "Gates marked in the last `since` (default 24h), newest first, with the skips since each mark.",
      input: z.object({ since: z.string().optional() }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      tool: false,
      async run(baton, input) {
        const marks = await baton.gates.list(input.since === undefined ? {} : { since: input.since });
        return { ok: true, message: `${marks.length} gate marks`, data: { marks: jsonValue(marks) } };
      },
    }),
    op({
      name: "gate_forget",
      summary: "Forget a gate's mark in the registry so it can fire again (logged); marker files stay the caller's.",
      input: z.object({ key }),
      mutates: true,
      idempotent: true,
      destructive: true,
      local: false,
      codes: ["NOT_FOUND", "CLAIM_HELD"],
      tool: false,
      async run(baton, input, context) {
        const registry = await baton.gates.forgetMark(input.key, { as: context.agent });
        const { ok, message } = forgetAnswer(gateKey(input.key), registry, false);
        // data.outcome: what became of the mark, for a client that words it with its own marker files.
        const data = { outcome: registry.outcome };
        if (registry.outcome === "forgotten") return { ok, message, data };
        return { ok, code: registry.outcome === "unmarked" ? "NOT_FOUND" : registry.code, message, data };
      },
    }),
    op({
      name: "gate_lock",
      summary: "One step of a gate run whose command runs on the caller's machine: skip (logged) or take the lock.",
      input: z.object({
        key,
        window: z.string().optional(),
        ttl,
        onceOnly: z.boolean().optional().describe("mark at once: at most once"),
        note: z.string().optional(),
        command: z.string().nullable().optional(),
        // The mark of the caller's marker file, when it has one (marker files stay on its machine).
        marker: gateMarkInput.optional(),
        giveUp: z.boolean().optional().describe("a sibling's lock is a skip, not busy: no more waiting"),
      }),
      mutates: true,
      idempotent: false,
      destructive: false,
      local: false,
      codes: ["GATE_MARKED", "CLAIM_HELD"],
      tool: false,
      async run(baton, input, context) {
        const r = await baton.gates.lock(input.key, {
          as: context.agent,
          ...(input.window === undefined ? {} : { window: input.window }),
          ...(input.ttl === undefined ? {} : { ttl: input.ttl }),
          ...(input.onceOnly === undefined ? {} : { onceOnly: input.onceOnly }),
          ...(input.note === undefined ? {} : { note: input.note }),
          ...(input.command === undefined ? {} : { command: input.command }),
          ...(input.marker === undefined
            ? {}
            : { marker: { ...input.marker, at: new Date(input.marker.at), source: "marker" as const } }),
          ...(input.giveUp === undefined ? {} : { giveUp: input.giveUp }),
        });
        if (r.outcome === "locked")
          return {
            ok: true,
            message: r.mark === null ? `locked ${r.claim.key}` : `marked ${r.claim.key} (at most once)`,
            data: { outcome: r.outcome, claim: claimView(r.claim), mark: jsonValue(r.mark) },
          };
        if (r.outcome === "busy")
          return {
            ok: false,
            code: "CLAIM_HELD",
            message: `${r.holder ?? "another agent"} holds the lock`,
            data: { outcome: r.outcome, holder: r.holder },
          };
        return {
          ok: false,
          code: r.reason === "marked" ? "GATE_MARKED" : "CLAIM_HELD",
          message: r.message,
          data: { outcome: r.outcome, reason: r.reason, mark: jsonValue(r.mark), holder: r.holder },
        };
      },
    }),
    op({
      name: "context",
      summary: "Start here: rules, my claims, loose ends, others' work, supply.",
      input: z.object({
        budget: z.number().int().min(200).max(100_000).optional(),
        // The caller's rules file as it read it (the CLI through a server): used instead of the file here.
        rules: z
          .object({ path: z.string().min(1), text: z.string().nullable() })
          .strict()
          .optional(),
      }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      toolHidden: ["rules"],
      async run(baton, input, context) {
        const r = await baton.context({
          as: context.agent,
          cwd: context.cwd,
          ...(input.budget === undefined ? {} : { budget: input.budget }),
          ...(input.rules === undefined ? {} : { rules: input.rules }),
        });
        const { markdown, ...rest } = r;
        return { ok: true, message: markdown, data: { ...rest, generatedAt: isoString(r.generatedAt) } };
      },
    }),
    op({
      name: "note",
      summary: "Attach a progress note to a key (the next session reads it).",
      input: z.object({ key, text: z.string().min(1) }),
      mutates: true,
      idempotent: false,
      destructive: false,
      local: false,
      codes: [],
      async run(baton, input, context) {
        return fromAnswer(await baton.note(input.key, { as: context.agent, text: input.text }));
      },
    }),
    op({
      name: "verify",
      summary: "Confirm recently completed work is really done (instead of redoing it).",
      input: z.object({ key, note: z.string().optional() }),
      mutates: true,
      idempotent: false,
      destructive: false,
      local: false,
      codes: ["NOT_COMPLETED"],
      async run(baton, input, context) {
        const r = await baton.verify(input.key, {
          as: context.agent,
          ...(input.note === undefined ? {} : { note: input.note }),
        });
        return fromAnswer(r);
      },
    }),
    op({
      name: "supply",
      summary: "Backlog health: ready/claimed/blocked/done and whether to stop shopping.",
      input: z.object({}),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      async run(baton) {
        const r = await baton.supply();
        return { ok: true, message: r.message, data: r };
      },
    }),
    op({
      name: "task_add",
      summary: "Add a task to the backlog.",
      input: taskInput,
      mutates: true,
      idempotent: false,
      destructive: false,
      local: false,
      codes: ["TASK_EXISTS"],
      toolHidden: ["paths", "assignee", "meta"],
      async run(baton, input, context) {
        const r = await backlog(baton, context).put(
          [
            {
              id: input.id,
              title: input.title,
              ...(input.category === undefined ? {} : { category: input.category }),
              ...(input.priority === undefined ? {} : { priority: input.priority }),
              ...(input.blockedBy === undefined ? {} : { blockedBy: input.blockedBy }),
              ...(input.paths === undefined ? {} : { paths: input.paths }),
              ...(input.assignee === undefined ? {} : { assignee: input.assignee }),
              ...(input.meta === undefined ? {} : { meta: input.meta }),
            },
          ],
          "add",
          { cwd: context.cwd },
        );
        return fromAnswer(r);
      },
    }),
    op({
      name: "task_import",
      summary: "Add or update many tasks in one transaction (all or nothing; importing again changes nothing).",
      input: z.object({
        tasks: z
          .array(
            taskInput.extend({
              done: z.boolean().optional(),
              source: z.string().nullable().optional(),
              origin: z.string().optional().describe("file:line, named when a blocker is refused"),
            }),
          )
          .min(1)
          .max(TASK_IMPORT_MAX),
      }),
      mutates: true,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      tool: false,
      bodyLimit: TASK_IMPORT_BODY_LIMIT,
      async run(baton, input, context) {
        const specs = input.tasks.map((t) => {
          const spec: Record<string, unknown> = {};
          for (const [name, value] of Object.entries(t)) if (value !== undefined) spec[name] = value;
          return spec as unknown as TaskSpec;
        });
        return fromAnswer(await backlog(baton, context).put(specs, "upsert", { cwd: context.cwd }));
      },
    }),
    op({
      name: "task_show",
      summary: "One task: state, priority, blockers.",
      input: z.object({ id: z.string() }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: false,
      codes: ["TASK_NOT_FOUND"],
      async run(baton, input) {
        const task = await baton.tasks.show(input.id);
        if (task === null) return { ok: false, code: "TASK_NOT_FOUND", message: `task ${input.id} does not exist` };
        return { ok: true, message: `${task.id}: ${task.state} — ${task.title}`, data: { task } };
      },
    }),
    op({
      name: "task_list",
      summary: "Tasks by state (ready, blocked, claimed, done).",
      input: z.object({
        // One state, or several (the CLI's --state ready,claimed).
        state: z.union([taskState, z.array(taskState).min(1)]).optional(),
        category: z.string().optional(),
        limit: listLimit,
      }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: false,
      codes: [],
      async run(baton, input) {
        const tasks = await baton.tasks.list({
          ...(input.state === undefined ? {} : { state: input.state }),
          ...(input.category === undefined ? {} : { category: input.category }),
          // A tool caller's default stays small (the CLI sends its own, the library's 1000).
          limit: input.limit ?? 100,
        });
        return { ok: true, message: `${tasks.length} tasks`, data: { tasks } };
      },
    }),
    op({
      name: "task_update",
      summary: "Change some fields of a task in one transaction (others' concurrent edits of other fields survive).",
      input: z.object({
        id: z.string(),
        title: z.string().optional(),
        category: z.string().optional(),
        priority: z.number().int().min(0).max(100).optional(),
        blockedBy: z.array(z.string()).optional().describe("replaces the blockers"),
        block: z.array(z.string()).optional().describe("blockers to add"),
        unblock: z.array(z.string()).optional().describe("blockers to remove"),
        paths: z.array(z.string()).optional().describe("replaces the paths (repository-relative unless local)"),
        assignee: z.string().nullable().optional(),
        meta: taskMeta,
      }),
      mutates: true,
      idempotent: true,
      destructive: false,
      local: false,
      codes: ["TASK_NOT_FOUND"],
      tool: false,
      async run(baton, input, context) {
        const { id, ...change } = input;
        const r = await backlog(baton, context).update(id, change, { cwd: context.cwd });
        return fromAnswer(r);
      },
    }),
    taskStateOperation("task_done", "Mark a task done (completing its claim, releasing the claim's paths)."),
    taskStateOperation("task_reopen", "Reopen a done task (its completed claim released): the one way back."),
    op({
      name: "probe",
      summary: "Is anyone else on these paths (commits, claims, uncommitted edits)?",
      input: z.object({ paths: patterns, since: z.string().describe("e.g. 30m").optional() }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: true,
      codes: ["PATHS_BUSY"],
      async run(baton, input, context) {
        const r = await baton.probe(input.paths, {
          as: context.agent,
          cwd: context.cwd,
          ...(input.since === undefined ? {} : { since: input.since }),
        });
        return { ok: r.ok, ...(r.ok ? {} : { code: "PATHS_BUSY" }), message: r.message, data: r };
      },
    }),
    op({
      name: "sync_check",
      summary: "Safe to deploy from this checkout (not behind, not dirty, claims held)?",
      input: z.object({
        holding: z.array(z.string()).describe("keys I must hold, KEY or KEY:TOKEN").optional(),
        fetch: z.boolean().optional(),
      }),
      mutates: false,
      idempotent: true,
      destructive: false,
      local: true,
      codes: ["OUT_OF_SYNC"],
      async run(baton, input, context) {
        const r = await baton.syncCheck({
          as: context.agent,
          cwd: context.cwd,
          ...(input.holding === undefined ? {} : { holding: input.holding }),
          ...(input.fetch === undefined ? {} : { fetch: input.fetch }),
        });
        return { ok: r.ok, ...(r.ok ? {} : { code: "OUT_OF_SYNC" }), message: r.message, data: r };
      },
    }),
  ] as const;
  return OPERATIONS;
}

type Operations = ReturnType<typeof buildOperations>;

/**
 * A read-only list built when first read: a proxy of the array `load()` returns (indexing,
 * `length`, iteration, `find`/`filter`/… and `Array.isArray` answer as the array's own).
 */
function lazyList<T>(load: () => readonly T[]): readonly T[] {
  const refuse = (): boolean => false;
  return new Proxy([] as T[], {
    get(_target, property) {
      const list = load();
      const value: unknown = Reflect.get(list, property, list);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(list) : value;
    },
    has: (_target, property) => Reflect.has(load(), property),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_target, property) => Reflect.getOwnPropertyDescriptor(load(), property),
    set: refuse,
    defineProperty: refuse,
    deleteProperty: refuse,
  });
}

let built: readonly Operation[] | undefined;

/** Every operation, in the order surfaces list them (the schemas built, and zod loaded, when first read). */
export const CATALOGUE: readonly Operation[] = lazyList(
  () => (built ??= buildOperations() as unknown as readonly Operation[]),
);

/** The name of a catalogue operation (`claim`, `paths_claim`, …). */
export type OperationName = Operations[number]["name"];

/** The input an operation accepts, as a caller writes it (before its zod schema's defaults and transforms). */
export type OperationInput<N extends OperationName> = z.input<Extract<Operations[number], { name: N }>["input"]>;

/** The catalogue entry called `name`, or undefined. */
export function findOperation(name: string): Operation | undefined {
  return CATALOGUE.find((operation) => operation.name === name);
}
