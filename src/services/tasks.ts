/**
 * The backlog and `next`: tasks with categories, priorities and blockers; select-and-
 * claim in one store transaction, ranked by priority, age, category steering and
 * the anti-monotony guard (core/scoring.ts); supply signals.
 */
import { formatDuration } from "../core/duration.js";
import { BatonError } from "../core/errors.js";
import { parseAgent, parseKey } from "../core/identity.js";
import { type DurationInput, durationMs, parseLimit, parseMeta, parseText } from "../core/schemas.js";
import { type Candidate, type ScoreTerms, scoreCandidates } from "../core/scoring.js";
import type { Claim, PathClaim, Task, TaskState } from "../core/types.js";
import type { NextContext, PutMode, Store, TaskInput } from "../store/store.js";
import { normalizePatterns, type RepoOptions, resolveRepo } from "./paths.js";

/** Default lease of a task taken by `next`. */
export const DEFAULT_TASK_TTL_MS = 60 * 60_000;
const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,199}$/;
const TASK_STATES: readonly TaskState[] = ["ready", "blocked", "claimed", "done"];

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
}

/** Validate a task id: 1–200 of letters, digits and `._:/#-`, starting with a letter or digit. */
export function parseTaskId(input: unknown): string {
  if (typeof input !== "string" || !TASK_ID.test(input)) {
    throw new BatonError("BAD_INPUT", `invalid task id ${JSON.stringify(input)}: use letters, digits and . _ : / # - (at most 200)`);
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
    throw new BatonError("BAD_INPUT", `task ${id}: invalid category ${JSON.stringify(spec.category)}: letters, digits, . _ - (at most 64)`);
  }
  const priority = spec.priority ?? 50;
  if (!Number.isInteger(priority) || priority < 0 || priority > 100) {
    throw new BatonError("BAD_INPUT", `task ${id}: invalid priority ${JSON.stringify(spec.priority)}: an integer from 0 to 100`);
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

export interface NextOptions extends RepoOptions {
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

export interface SupplyResult {
  readonly ready: number;
  readonly blocked: number;
  readonly claimed: number;
  readonly done: number;
  /** Denials per agent in the last hour. */
  readonly denials: Record<string, number>;
  readonly verdict: "healthy" | "contended" | "drained";
  readonly rule: string;
  readonly message: string;
}

/** Backlog operations over a store. */
export class TaskService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Write tasks: `add` refuses existing ids, `update` missing ones, `upsert` (import) does both. */
  async put(specs: readonly TaskSpec[], mode: PutMode, repo: RepoOptions = {}) {
    if (!Array.isArray(specs) || !specs.every((s) => typeof s === "object" && s !== null && !Array.isArray(s))) {
      throw new BatonError("BAD_INPUT", "tasks.put: specs must be an array of task objects");
    }
    if (!["add", "update", "upsert"].includes(mode)) {
      throw new BatonError("BAD_OPTION", `invalid mode ${JSON.stringify(mode)}: add, update or upsert`);
    }
    const withPaths = specs.some((s) => (s.paths ?? []).length > 0);
    const resolved = withPaths ? await resolveRepo(repo) : null;
    const tasks = specs.map((spec) =>
      parseTask({ ...spec, paths: resolved === null || (spec.paths ?? []).length === 0 ? [] : normalizePatterns(spec.paths ?? [], resolved) }),
    );
    const ids = new Set<string>();
    for (const t of tasks) {
      if (ids.has(t.id)) throw new BatonError("BAD_INPUT", `task ${t.id} appears twice`);
      ids.add(t.id);
    }
    const outcome = await this.#store.putTasks(tasks, mode);
    if (!outcome.ok) {
      return {
        ...outcome,
        message: outcome.code === "TASK_EXISTS" ? `task ${outcome.id} exists (use task update)` : `task ${outcome.id} does not exist (use task add)`,
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

  async list(options: { state?: TaskState | readonly TaskState[]; category?: string; limit?: number } = {}): Promise<Task[]> {
    if (typeof options !== "object" || options === null) throw new BatonError("BAD_INPUT", "tasks.list: options must be an object");
    const states = options.state === undefined ? undefined : typeof options.state === "string" ? [options.state] : Array.isArray(options.state) ? [...options.state] : [options.state as never];
    for (const s of states ?? []) {
      if (!TASK_STATES.includes(s)) throw new BatonError("BAD_OPTION", `invalid task state ${JSON.stringify(s)}: ready, blocked, claimed, done`);
    }
    if (options.category !== undefined && typeof options.category !== "string") {
      throw new BatonError("BAD_OPTION", "invalid category: expected text");
    }
    return this.#store.listTasks({ states, category: options.category, limit: parseLimit(options.limit, 1000) });
  }

  /** Change some fields of existing tasks (done, blockers): read, modify, write as `update`. */
  async modify(id: string, change: (task: Task) => TaskSpec) {
    const task = await this.show(id);
    if (task === null) return { ok: false as const, code: "TASK_NOT_FOUND" as const, id, message: `task ${id} does not exist` };
    return this.put([change(task)], "update");
  }

  /** Select and claim the best ready task in one store transaction. */
  async next(options: NextOptions): Promise<NextResult> {
    const agent = parseAgent(options.as);
    const ttlMs = options.ttl === undefined ? DEFAULT_TASK_TTL_MS : durationMs(options.ttl, "ttl");
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    if (!Number.isInteger(seed) || seed < 0) throw new BatonError("BAD_OPTION", `invalid seed ${JSON.stringify(options.seed)}`);
    const category = options.category === undefined ? null : options.category.trim().toLowerCase();
    let repo: string | null = null;
    try {
      repo = (await resolveRepo(options)).id;
    } catch {
      repo = null; // outside a repository, tasks that declare paths are skipped
    }
    let scored: ScoreTerms[] = [];
    const rank = (ready: readonly Task[], context: NextContext): string[] => {
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
    const outcome = await this.#store.next({ agent, category, ttlMs, repo, rank, dryRun: options.dryRun === true });
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
   * drained: nothing ready. contended: an agent was denied twice or more in the last hour
   * (stop shopping), or over a third of the claim decisions were denials. healthy otherwise.
   */
  async supply(): Promise<SupplyResult> {
    const counts = await this.#store.taskCounts();
    const recent = await this.#store.events({ sinceMs: 3_600_000, kinds: ["granted", "denied"], limit: 100_000 });
    const denials: Record<string, number> = {};
    for (const e of recent) if (e.kind === "denied") denials[e.agent] = (denials[e.agent] ?? 0) + 1;
    const total = recent.length;
    const denied = Object.values(denials).reduce((a, b) => a + b, 0);
    const shopper = Object.entries(denials).find(([, n]) => n >= 2);
    let verdict: SupplyResult["verdict"] = "healthy";
    let rule = `ready work (${counts.ready}) and few denials (${denied} of ${total} decisions in the last hour)`;
    if (counts.ready === 0) {
      verdict = "drained";
      rule = "no ready task: everything is done, blocked or claimed";
    } else if (shopper !== undefined) {
      verdict = "contended";
      rule = `${shopper[0]} was denied ${shopper[1]} times in the last hour: two denials in a session means stop shopping for lanes`;
    } else if (total >= 6 && denied / total > 1 / 3) {
      verdict = "contended";
      rule = `${denied} of ${total} claim decisions in the last hour were denials (over a third)`;
    }
    return {
      ...counts,
      denials,
      verdict,
      rule,
      message: `${verdict}: ${rule}\nready ${counts.ready}, claimed ${counts.claimed}, blocked ${counts.blocked}, done ${counts.done}`,
    };
  }
}
