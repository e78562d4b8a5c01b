/**
 * The backlog and `next`: tasks with categories, priorities and blockers; select-and-
 * claim in one store transaction, ranked by priority, age, category steering and
 * the anti-monotony guard (core/scoring.ts); supply signals.
 */
import type { BlockerProblem } from "../core/blockers.js";
import { formatDuration } from "../core/duration.js";
import { BatonError } from "../core/errors.js";
import { parseAgent, parseKey } from "../core/identity.js";
import { type DurationInput, durationMs, parseLimit, parseMeta, parseText } from "../core/schemas.js";
import { type Candidate, type ScoreTerms, scoreCandidates } from "../core/scoring.js";
import { type BatonEvent, type Claim, type PathClaim, TASK_STATES, type Task, type TaskState } from "../core/types.js";
import type {
  EventFilter,
  NextContext,
  PutMode,
  RankedTask,
  Store,
  TaskCounts,
  TaskInput,
  TaskPatch,
} from "../store/store.js";
import { DEFAULT_DONE_WINDOW_MS } from "./claims.js";
import { repositoryPatterns } from "./paths.js";

/** The last hour's claim decisions (grants and denials): what supply and context count contention from. */
export const LAST_HOUR_DECISIONS: EventFilter = { sinceMs: 3_600_000, kinds: ["granted", "denied"], limit: 100_000 };

/** Default lease of a task taken by `next`. */
export const DEFAULT_TASK_TTL_MS = 60 * 60_000;
const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,199}$/;

/** A task as typed by a user or an importer. */
export interface TaskSpec {
  id: string;
  title: string;
  category?: string;
  priority?: number;
  done?: boolean;
  blockedBy?: readonly string[];
  paths?: readonly string[];
  assignee?: string | null;
  meta?: Record<string, unknown> | string | null;
  source?: string | null;
  /** Where the blockers were written (`file:line`, set by imports), named when they are refused. Not stored. */
  origin?: string;
}

/** Validate a task id: 1–200 of letters, digits and `._:/#-`, starting with a letter or digit. */
export function parseTaskId(input: unknown): string {
  if (typeof input !== "string" || !TASK_ID.test(input)) {
    throw new BatonError(
      "BAD_INPUT",
      `invalid task id ${JSON.stringify(input)}: use letters, digits and . _ : / # - (at most 200)`,
    );
  }
  return input;
}

/** Validate a whole task into the store's input. Paths must already be normalised. */
export function parseTask(spec: TaskSpec): TaskInput {
  const id = parseTaskId(spec.id);
  const title = parseText(spec.title, "title");
  if (title === null || title.trim() === "") throw new BatonError("BAD_INPUT", `task ${id}: a title is required`);
  const category = (spec.category ?? "general").trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(category)) {
    throw new BatonError(
      "BAD_INPUT",
      `task ${id}: invalid category ${JSON.stringify(spec.category)}: letters, digits, . _ - (at most 64)`,
    );
  }
  const priority = spec.priority ?? 50;
  if (!Number.isInteger(priority) || priority < 0 || priority > 100) {
    throw new BatonError(
      "BAD_INPUT",
      `task ${id}: invalid priority ${JSON.stringify(spec.priority)}: an integer from 0 to 100`,
    );
  }
  const blockedBy = [...new Set((spec.blockedBy ?? []).map(parseTaskId))];
  if (blockedBy.includes(id)) throw new BatonError("BAD_INPUT", `task ${id} cannot be blocked by itself`);
  return {
    id,
    title: title.trim(),
    category,
    priority,
    done: spec.done === true,
    blockedBy,
    paths: [...(spec.paths ?? [])],
    assignee: spec.assignee === undefined || spec.assignee === null ? null : parseAgent(spec.assignee),
    meta: parseMeta(spec.meta ?? undefined),
    source: parseText(spec.source, "source"),
  };
}

/**
 * Validate a batch of tasks (paths already normalised), each as {@link parseTask} does, and
 * refuse an id given twice: what a write of many tasks checks before the store sees any, here
 * or (the CLI's import through a server) before anything is sent.
 */
export function parseTasks(specs: readonly TaskSpec[]): TaskInput[] {
  const tasks = specs.map(parseTask);
  const ids = new Set<string>();
  for (const t of tasks) {
    if (ids.has(t.id)) throw new BatonError("BAD_INPUT", `task ${t.id} appears twice`);
    ids.add(t.id);
  }
  return tasks;
}

/**
 * Where task paths were typed and which repository `next` is in: passed through, as it is,
 * to the {@link PathResolver} the service was made with.
 */
export interface PathsAt {
  cwd?: string;
  /** A repository identity to use instead of the checkout's. */
  repo?: string;
}

/**
 * How the service turns {@link PathsAt} into a repository identity and repository-relative
 * patterns. The library gives it the local checkout's (src/workspace/checkout.ts); without
 * one, patterns are taken as repository-relative and the identity is `repo` as given.
 */
export interface PathResolver {
  /** The repository identity at `at`, or null when there is none (outside a checkout). */
  repository(at: PathsAt): Promise<string | null>;
  /** `patterns` typed at `at`, as repository-relative patterns. @throws BatonError `BAD_PATH` */
  patterns(patterns: readonly string[], at: PathsAt): Promise<string[]>;
  /**
   * {@link patterns} for several lists typed at the same `at` (an import's tasks), the checkout
   * looked up once instead of once a list. Optional: without it each list is resolved alone.
   */
  patternLists?(lists: readonly (readonly string[])[], at: PathsAt): Promise<string[][]>;
}

/** No checkout: repository-relative patterns, the identity as given. */
export const NO_CHECKOUT: PathResolver = {
  repository: async (at) => (typeof at.repo === "string" && at.repo.trim() !== "" ? at.repo.trim() : null),
  patterns: async (patterns) => repositoryPatterns(patterns),
  patternLists: async (lists) => lists.map((patterns) => repositoryPatterns(patterns)),
};

/**
 * A change to some fields of one task, applied by the store in one transaction (so two
 * concurrent edits of different fields both survive). `block`/`unblock` add and remove
 * blockers relative to what is stored at that moment; `blockedBy` replaces the list.
 */
export interface TaskChange {
  title?: string;
  category?: string;
  priority?: number;
  blockedBy?: readonly string[];
  block?: readonly string[];
  unblock?: readonly string[];
  /** Paths typed at `at` (see {@link PathsAt}). */
  paths?: readonly string[];
  assignee?: string | null;
  meta?: Record<string, unknown> | string | null;
}

export interface NextOptions extends Omit<PathsAt, "repo"> {
  /**
   * The repository where a task's paths are claimed, instead of the checkout's; `null`: none
   * here (tasks with paths are passed over, and nothing is asked of git).
   */
  repo?: string | null;
  as: string;
  category?: string;
  ttl?: DurationInput;
  /** Seed for the category sampling (reproducible explanations); default: random. */
  seed?: number;
  dryRun?: boolean;
}

export interface NextResult {
  readonly ok: boolean;
  readonly code?: "NOTHING_READY";
  readonly tier: 1 | 2 | 3;
  readonly task: Task | null;
  readonly claim: Claim | null;
  readonly paths: PathClaim[];
  /** The top candidates with each term of their score. */
  readonly candidates: ScoreTerms[];
  readonly skipped: readonly string[];
  readonly seed: number;
  readonly message: string;
}

/** A supply verdict, most severe first: `drained` (no ready work), `contended` (lane shopping), `healthy`. */
export type SupplyVerdict = "healthy" | "contended" | "drained";

/** One verdict that applies, and the rule that made it apply. */
export interface SupplyFinding {
  readonly verdict: SupplyVerdict;
  readonly rule: string;
}

export interface SupplyResult {
  readonly ready: number;
  readonly blocked: number;
  readonly claimed: number;
  readonly done: number;
  /** Denials per agent in the last hour (gate skips and gate-lock denials are not denials). */
  readonly denials: Record<string, number>;
  /** Every verdict that applies, most severe first (`healthy` alone when none does). */
  readonly verdicts: readonly SupplyFinding[];
  /** The most severe verdict (`verdicts[0].verdict`), kept for callers that read one. */
  readonly verdict: SupplyVerdict;
  /** The rule of the most severe verdict. */
  readonly rule: string;
  readonly message: string;
}

/** The answer to {@link TaskService.done} and {@link TaskService.reopen}. */
export type TaskStateResult =
  | {
      readonly ok: true;
      readonly task: Task;
      /** The claim on `task:ID` this changed (completed by done, released by reopen), or null. */
      readonly claim: Claim | null;
      readonly message: string;
    }
  | { readonly ok: false; readonly code: "TASK_NOT_FOUND"; readonly id: string; readonly message: string };

/** The answer to {@link TaskService.update}. */
export type UpdateTaskResult =
  | { readonly ok: true; readonly task: Task; readonly changed: boolean; readonly message: string }
  | { readonly ok: false; readonly code: "TASK_NOT_FOUND"; readonly id: string; readonly message: string };

/** Backlog operations over a store. */
export class TaskService {
  readonly #store: Store;
  readonly #doneWindowMs: number;
  readonly #paths: PathResolver;

  /**
   * `doneWindowMs`: how long a completed `task:ID` claim keeps `next` off the task (default
   * 24 h). `paths`: how task paths and `next`'s repository are found (default {@link NO_CHECKOUT}).
   */
  constructor(store: Store, options: { doneWindowMs?: number; paths?: PathResolver } = {}) {
    this.#store = store;
    this.#doneWindowMs = options.doneWindowMs ?? DEFAULT_DONE_WINDOW_MS;
    this.#paths = options.paths ?? NO_CHECKOUT;
  }

  /**
   * Mark a task done, in one transaction with its claim: a live (or expired) claim on
   * `task:ID` is completed with an event, and the path claims granted with it are released.
   */
  done(id: string, options: { as?: string } = {}): Promise<TaskStateResult> {
    return this.#setState(id, true, options.as);
  }

  /**
   * Reopen a task: the one way back from done. The task is open again and a completed claim
   * on `task:ID` is released (a `reopened` event), so `next` and `claim` take it again.
   */
  reopen(id: string, options: { as?: string } = {}): Promise<TaskStateResult> {
    return this.#setState(id, false, options.as);
  }

  async #setState(idInput: string, done: boolean, as: string | undefined): Promise<TaskStateResult> {
    const id = parseTaskId(idInput);
    const agent = as === undefined ? null : parseAgent(as);
    const outcome = await this.#store.setTaskState({ id, done, agent });
    if (!outcome.ok) return { ok: false, code: outcome.code, id, message: `task ${id} does not exist` };
    const claim = outcome.claim;
    const what =
      claim === null
        ? ""
        : done
          ? `; completed ${claim.agent}'s claim (token ${claim.token})`
          : `; released the completed claim (token ${claim.token}): it can be claimed again`;
    return { ok: true, task: outcome.task, claim, message: `${done ? "done" : "reopened"} task:${id}${what}` };
  }

  /** Write tasks: `add` refuses existing ids, `update` missing ones, `upsert` (import) does both. */
  async put(specs: readonly TaskSpec[], mode: PutMode, at: PathsAt = {}) {
    if (!Array.isArray(specs) || !specs.every((s) => typeof s === "object" && s !== null && !Array.isArray(s))) {
      throw new BatonError("BAD_INPUT", "tasks.put: specs must be an array of task objects");
    }
    if (!["add", "update", "upsert"].includes(mode)) {
      throw new BatonError("BAD_OPTION", `invalid mode ${JSON.stringify(mode)}: add, update or upsert`);
    }
    // Every task's paths resolved against one look at the checkout (an import of 1,000 tasks
    // with paths ran git twice a task: 14 s instead of under 1).
    const lists = specs.map((spec) => spec.paths ?? []);
    const withPaths = lists.filter((list) => list.length > 0);
    const paths: string[][] =
      withPaths.length === 0
        ? []
        : this.#paths.patternLists !== undefined
          ? await this.#paths.patternLists(withPaths, at)
          : await Promise.all(withPaths.map((list) => this.#paths.patterns(list, at)));
    let next = 0;
    const resolved: TaskSpec[] = specs.map((spec, i) => ({
      ...spec,
      paths: (lists[i] as readonly string[]).length === 0 ? [] : (paths[next++] as string[]),
    }));
    const tasks = parseTasks(resolved);
    const outcome = await this.#store.putTasks(tasks, mode);
    if (!outcome.ok && (outcome.code === "BLOCKER_UNKNOWN" || outcome.code === "BLOCKER_CYCLE"))
      throw blockerError(outcome, specs);
    if (!outcome.ok) {
      return {
        ...outcome,
        message:
          outcome.code === "TASK_EXISTS"
            ? `task ${outcome.id} exists (use task update)`
            : `task ${outcome.id} does not exist (use task add)`,
      };
    }
    return {
      ...outcome,
      message: `${outcome.created.length} added, ${outcome.updated.length} updated, ${outcome.unchanged.length} unchanged`,
    };
  }

  async show(id: string): Promise<Task | null> {
    return this.#store.getTask(parseTaskId(id));
  }

  /** One task as an answer: `ok` false with `TASK_NOT_FOUND` when there is no task `id`. */
  async find(
    id: string,
  ): Promise<
    | { readonly ok: true; readonly task: Task; readonly message: string }
    | { readonly ok: false; readonly code: "TASK_NOT_FOUND"; readonly task: null; readonly message: string }
  > {
    const task = await this.show(id);
    if (task === null) return { ok: false, code: "TASK_NOT_FOUND", task: null, message: `task ${id} does not exist` };
    return { ok: true, task, message: `${task.id}: ${task.state} — ${task.title}` };
  }

  async list(
    options: { state?: TaskState | readonly TaskState[]; category?: string; limit?: number } = {},
  ): Promise<Task[]> {
    if (typeof options !== "object" || options === null)
      throw new BatonError("BAD_INPUT", "tasks.list: options must be an object");
    const states =
      options.state === undefined
        ? undefined
        : typeof options.state === "string"
          ? [options.state]
          : Array.isArray(options.state)
            ? [...options.state]
            : [options.state as never];
    for (const s of states ?? []) {
      if (!TASK_STATES.includes(s))
        throw new BatonError("BAD_OPTION", `invalid task state ${JSON.stringify(s)}: ready, blocked, claimed, done`);
    }
    if (options.category !== undefined && typeof options.category !== "string") {
      throw new BatonError("BAD_OPTION", "invalid category: expected text");
    }
    return this.#store.listTasks({ states, category: options.category, limit: parseLimit(options.limit, 1000) });
  }

  /**
   * Change some fields of one task in one store transaction: the fields not named are
   * left as they are at that moment, so a concurrent edit of another field is never lost.
   * Blockers added are checked as a write of the backlog is (`BLOCKER_UNKNOWN`, `BLOCKER_CYCLE`).
   */
  async update(id: string, change: TaskChange, at: PathsAt = {}): Promise<UpdateTaskResult> {
    const taskId = parseTaskId(id);
    if (typeof change !== "object" || change === null || Array.isArray(change)) {
      throw new BatonError("BAD_INPUT", "tasks.update: the change must be an object of fields");
    }
    const paths =
      change.paths === undefined
        ? undefined
        : change.paths.length === 0
          ? []
          : await this.#paths.patterns(change.paths, at);
    // Every field given is validated as a whole task's would be (a placeholder title when none is given).
    const checked = parseTask({
      id: taskId,
      title: change.title ?? "-",
      ...(change.category === undefined ? {} : { category: change.category }),
      ...(change.priority === undefined ? {} : { priority: change.priority }),
      blockedBy: [...(change.blockedBy ?? []), ...(change.block ?? [])],
      ...(change.assignee === undefined ? {} : { assignee: change.assignee }),
      ...(change.meta === undefined ? {} : { meta: change.meta }),
    });
    const unblock = (change.unblock ?? []).map(parseTaskId);
    const patch: TaskPatch = {
      id: taskId,
      ...(change.title === undefined ? {} : { title: checked.title }),
      ...(change.category === undefined ? {} : { category: checked.category }),
      ...(change.priority === undefined ? {} : { priority: checked.priority }),
      ...(change.blockedBy === undefined ? {} : { blockedBy: [...new Set(change.blockedBy.map(parseTaskId))] }),
      ...(change.block === undefined ? {} : { block: [...new Set(change.block.map(parseTaskId))] }),
      ...(unblock.length === 0 ? {} : { unblock }),
      ...(paths === undefined ? {} : { paths }),
      ...(change.assignee === undefined ? {} : { assignee: checked.assignee }),
      ...(change.meta === undefined ? {} : { meta: checked.meta }),
    };
    const outcome = await this.#store.updateTask(patch);
    if (!outcome.ok && (outcome.code === "BLOCKER_UNKNOWN" || outcome.code === "BLOCKER_CYCLE"))
      throw blockerError(outcome, []);
    if (!outcome.ok) return { ok: false, code: "TASK_NOT_FOUND", id: taskId, message: `task ${taskId} does not exist` };
    return {
      ok: true,
      task: outcome.task,
      changed: outcome.changed,
      message: outcome.changed ? `updated task:${taskId}` : `task:${taskId} unchanged`,
    };
  }

  /** Select and claim the best ready task in one store transaction. */
  async next(options: NextOptions): Promise<NextResult> {
    const agent = parseAgent(options.as);
    const ttlMs = options.ttl === undefined ? DEFAULT_TASK_TTL_MS : durationMs(options.ttl, "ttl");
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    if (!Number.isInteger(seed) || seed < 0)
      throw new BatonError("BAD_OPTION", `invalid seed ${JSON.stringify(options.seed)}`);
    const category = options.category === undefined ? null : options.category.trim().toLowerCase();
    // Outside a repository, tasks that declare paths are skipped.
    const repo =
      options.repo === null
        ? null
        : await this.#paths
            .repository({
              ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
              ...(options.repo === undefined ? {} : { repo: options.repo }),
            })
            .catch(() => null);
    let scored: ScoreTerms[] = [];
    const rank = (ready: readonly RankedTask[], context: NextContext): string[] => {
      const candidates: Candidate[] = ready.map((t) => ({
        id: t.id,
        category: t.category,
        priority: t.priority,
        createdAt: t.createdAt.getTime(),
        tier: t.assignee === agent || t.priority >= 90 ? 1 : 2,
      }));
      scored = scoreCandidates(candidates, { now: context.now, stats: context.stats, recent: context.recent, seed });
      return scored.map((s) => s.id);
    };
    const outcome = await this.#store.next({
      agent,
      category,
      ttlMs,
      repo,
      rank,
      dryRun: options.dryRun === true,
      doneWindowMs: this.#doneWindowMs,
    });
    const top = scored.slice(0, 5);
    if (outcome.task === null) {
      return {
        ok: false,
        code: "NOTHING_READY",
        tier: 3,
        task: null,
        claim: null,
        paths: [],
        candidates: top,
        skipped: outcome.skipped,
        seed,
        message:
          outcome.ranked.length === 0
            ? "tier 3: no ready task in the backlog. Do not shop for lanes: pick a loose end from baton context, or explore something new and add it as a task."
            : `tier 3: every ready task is taken or its paths are claimed (${outcome.skipped.length} skipped). Explore something new rather than waiting for a lane.`,
      };
    }
    const winner = scored.find((s) => s.id === outcome.task?.id);
    const tier = winner?.tier ?? 2;
    const verb = options.dryRun === true ? "would take" : "took";
    return {
      ok: true,
      tier,
      task: outcome.task,
      claim: outcome.claim,
      paths: outcome.paths,
      candidates: top,
      skipped: outcome.skipped,
      seed,
      message: `${verb} task:${outcome.task.id} (tier ${tier}, ${outcome.task.category}, priority ${outcome.task.priority}${outcome.claim ? `, token ${outcome.claim.token}, expires in ${formatDuration(ttlMs)}` : ""}): ${outcome.task.title}`,
    };
  }

  /** Record the outcome of finished task work for its category's steering. */
  async recordOutcome(key: string, outcome: "success" | "failure" | "noop"): Promise<void> {
    const k = parseKey(key);
    if (!k.startsWith("task:")) return;
    const task = await this.#store.getTask(k.slice("task:".length));
    if (task !== null) await this.#store.recordOutcome({ category: task.category, outcome });
  }

  /**
   * Supply: how much ready work is left, and whether the fleet is shopping for lanes.
   * Every verdict that applies is reported, most severe first:
   * drained: nothing ready (everything done, blocked or claimed, or an empty backlog);
   * contended: agents denied twice or more in the last hour (stop shopping), or over a
   * third of the claim decisions were denials. healthy when neither applies.
   * Denials on `gate:` keys are not counted: a gate that finds its sibling running is
   * the gate doing its job (its skips are `skipped` events, never denials).
   * `lastHour`: the {@link LAST_HOUR_DECISIONS} events when the caller already read them
   * (context reads them once for both).
   */
  async supply(lastHour?: readonly BatonEvent[]): Promise<SupplyResult> {
    const counts = await this.#store.taskCounts();
    const recent = (lastHour ?? (await this.#store.events(LAST_HOUR_DECISIONS))).filter(
      (e) => !e.key.startsWith("gate:"),
    );
    const denials: Record<string, number> = {};
    for (const e of recent) if (e.kind === "denied") denials[e.agent] = (denials[e.agent] ?? 0) + 1;
    const verdicts = supplyVerdicts(counts, denials, recent.length);
    const [top] = verdicts as [SupplyFinding, ...SupplyFinding[]];
    return {
      ...counts,
      denials,
      verdicts,
      verdict: top.verdict,
      rule: top.rule,
      message: `${verdicts.map((v) => `${v.verdict}: ${v.rule}`).join("\n")}\nready ${counts.ready}, claimed ${counts.claimed}, blocked ${counts.blocked}, done ${counts.done}`,
    };
  }
}

/**
 * Bad blockers as a BatonError (exit 2): what is wrong, prefixed with the `file:line` of an
 * imported task's `blocked_by` (and, for a cycle, every imported task in it).
 */
function blockerError(problem: BlockerProblem, specs: readonly TaskSpec[]): BatonError {
  const origin = (id: string): string | undefined => specs.find((s) => s.id === id)?.origin;
  const at = (id: string): string => {
    const o = origin(id);
    return o === undefined ? "" : `${o}: `;
  };
  if (problem.code === "BLOCKER_UNKNOWN") {
    return new BatonError(
      "BLOCKER_UNKNOWN",
      `${at(problem.id)}task ${problem.id} is blocked by ${JSON.stringify(problem.blocker)}, which is no task${specs.some((s) => s.origin !== undefined) ? " (not in the import, not in the backlog)" : ""}: add it first or drop the blocker; nothing was written`,
      {
        id: problem.id,
        blocker: problem.blocker,
        ...(origin(problem.id) === undefined ? {} : { origin: origin(problem.id) }),
      },
    );
  }
  const others = [...new Set(problem.cycle.slice(1, -1))]
    .map((id) => origin(id))
    .filter((o): o is string => o !== undefined);
  return new BatonError(
    "BLOCKER_CYCLE",
    `${at(problem.id)}blocker cycle ${problem.cycle.join(" → ")}${others.length > 0 ? ` (also ${others.join(", ")})` : ""}: no task in it could ever be ready; drop one blocker; nothing was written`,
    { id: problem.id, cycle: problem.cycle, origins: problem.cycle.slice(0, -1).map((id) => origin(id) ?? null) },
  );
}

/** The verdicts that apply to these counts and last hour's denials per agent, most severe first. */
export function supplyVerdicts(
  counts: TaskCounts,
  denials: Record<string, number>,
  decisions: number,
): SupplyFinding[] {
  const found: SupplyFinding[] = [];
  if (counts.ready === 0) {
    const left = counts.claimed + counts.blocked;
    found.push({
      verdict: "drained",
      rule:
        left === 0
          ? counts.done === 0
            ? "no ready task: the backlog is empty"
            : `no ready task: all ${counts.done} done`
          : `no ready task: ${counts.claimed} claimed, ${counts.blocked} blocked, ${counts.done} done`,
    });
  }
  const denied = Object.values(denials).reduce((a, b) => a + b, 0);
  const shoppers = Object.entries(denials)
    .filter(([, n]) => n >= 2)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
  if (shoppers.length > 0) {
    const named = shoppers
      .slice(0, 3)
      .map(([agent, n]) => `${agent} ${n}×`)
      .join(", ");
    found.push({
      verdict: "contended",
      rule:
        shoppers.length === 1
          ? `${shoppers[0]?.[0]} was denied ${shoppers[0]?.[1]} times in the last hour: two denials in a session means stop shopping for lanes`
          : `${shoppers.length} agents were denied twice or more in the last hour (${named}${shoppers.length > 3 ? ", …" : ""}): two denials in a session means stop shopping for lanes`,
    });
  } else if (decisions >= 6 && denied / decisions > 1 / 3) {
    found.push({
      verdict: "contended",
      rule: `${denied} of ${decisions} claim decisions in the last hour were denials (over a third)`,
    });
  }
  if (found.length === 0) {
    found.push({
      verdict: "healthy",
      rule: `ready work (${counts.ready}) and few denials (${denied} of ${decisions} decisions in the last hour)`,
    });
  }
  return found;
}
