/**
 * `baton task …`, `baton next`, `baton supply`.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseDuration } from "../../core/duration.js";
import { BatonError } from "../../core/errors.js";
import type { Task, TaskState } from "../../core/types.js";
import { decodeImportText, type LabelMap, readGithubTasks, readMarkdownTasks } from "../../workspace/task-import.js";
import { parseTaskId, type TaskSpec } from "../../services/tasks.js";
import { parseAgent } from "../../core/identity.js";
import { CHECKOUT_PATHS } from "../../workspace/checkout.js";
import { requireAgent } from "./config.js";
import type { CommonFlags } from "./main.js";
import { emit, emitNo, table } from "./output.js";
import { remoteUnsupported, withSession } from "./session.js";

interface TaskFlags extends CommonFlags {
  title?: string;
  category?: string;
  priority?: string;
  blockedBy?: string[];
  paths?: string[];
  assignee?: string;
  meta?: string;
}

/**
 * `--paths` for a server: typed here, so resolved in this checkout (git, symbolic links) and
 * sent repository-relative; the server reads nothing of ours.
 */
async function sentPaths(paths: readonly string[] | undefined): Promise<{ paths?: string[] }> {
  if (paths === undefined) return {};
  return { paths: paths.length === 0 ? [] : await CHECKOUT_PATHS.patterns(paths, {}) };
}

function priorityOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,3}$/.test(value))
    throw new BatonError("BAD_INPUT", `invalid --priority ${JSON.stringify(value)}: an integer from 0 to 100`);
  return Number(value);
}

function render(task: Task): string {
  return [
    `task:${task.id}  ${task.state}${task.holder ? ` (held by ${task.holder})` : ""}`,
    `  ${task.title}`,
    `  category ${task.category}, priority ${task.priority}${task.blockedBy.length ? `, blocked by ${task.blockedBy.join(", ")}` : ""}${task.paths.length ? `, paths ${task.paths.join(" ")}` : ""}${task.assignee ? `, assigned to ${task.assignee}` : ""}`,
  ].join("\n");
}

function answer(mode: { json: boolean }, result: { ok: boolean; message: string }): void {
  if (result.ok) emit(mode, result, result.message);
  else emitNo(mode, result, result.message);
}

export function add(id: string, flags: TaskFlags): Promise<void> {
  return withSession(
    flags,
    () => {
      if (flags.title === undefined) throw new BatonError("BAD_INPUT", "task add needs --title");
      return {
        spec: {
          id: parseTaskId(id),
          title: flags.title,
          ...(flags.category === undefined ? {} : { category: flags.category }),
          ...(flags.priority === undefined ? {} : { priority: priorityOf(flags.priority) }),
          blockedBy: flags.blockedBy ?? [],
          paths: flags.paths ?? [],
          assignee: flags.assignee ?? null,
          meta: flags.meta ?? null,
        } satisfies TaskSpec,
      };
    },
    async (s, p) => {
      if (s.api) {
        const { id, title, category, priority, blockedBy } = p.spec;
        answer(
          s.mode,
          await s.api.taskAdd({
            id,
            title,
            ...(category === undefined ? {} : { category }),
            ...(priority === undefined ? {} : { priority }),
            blockedBy,
            ...(await sentPaths(flags.paths)),
            ...(flags.assignee === undefined ? {} : { assignee: flags.assignee }),
            ...(flags.meta === undefined ? {} : { meta: flags.meta }),
          }),
        );
        return;
      }
      answer(s.mode, await s.baton.tasks.put([p.spec], "add"));
    },
  );
}

export function update(id: string, flags: TaskFlags): Promise<void> {
  return withSession(
    flags,
    () => ({ id: parseTaskId(id), priority: priorityOf(flags.priority) }),
    async (s, p) => {
      // Only the fields given, applied by the store in one transaction: a concurrent edit of another field survives.
      const fields = {
        ...(flags.title === undefined ? {} : { title: flags.title }),
        ...(flags.category === undefined ? {} : { category: flags.category }),
        ...(p.priority === undefined ? {} : { priority: p.priority }),
        ...(flags.blockedBy === undefined ? {} : { blockedBy: flags.blockedBy }),
        ...(flags.assignee === undefined ? {} : { assignee: flags.assignee }),
        ...(flags.meta === undefined ? {} : { meta: flags.meta }),
      };
      if (s.api) {
        answer(s.mode, await s.api.taskUpdate({ id: p.id, ...fields, ...(await sentPaths(flags.paths)) }));
        return;
      }
      answer(
        s.mode,
        await s.baton.tasks.update(p.id, { ...fields, ...(flags.paths === undefined ? {} : { paths: flags.paths }) }),
      );
    },
  );
}

/** done, reopen, block, unblock: one field of an existing task. */
export function change(
  action: "done" | "reopen" | "block" | "unblock",
  id: string,
  others: string[],
  flags: CommonFlags,
): Promise<void> {
  return withSession(
    flags,
    (config) => {
      if ((action === "block" || action === "unblock") && others.length === 0) {
        throw new BatonError(
          "BAD_INPUT",
          `task ${action} needs the blocking task ids: baton task ${action} ID BLOCKER…`,
        );
      }
      return {
        id: parseTaskId(id),
        others: others.map(parseTaskId),
        as: config.agent === undefined ? {} : { as: parseAgent(config.agent) },
      };
    },
    async (s, p) => {
      const { mode } = s;
      if (action === "done" || action === "reopen") {
        if (s.api) {
          answer(mode, action === "done" ? await s.api.taskDone({ id: p.id }) : await s.api.taskReopen({ id: p.id }));
          return;
        }
        const as = p.as;
        answer(mode, action === "done" ? await s.baton.tasks.done(p.id, as) : await s.baton.tasks.reopen(p.id, as));
        return;
      }
      // Relative to the blockers stored when the store applies it, in one transaction.
      const change = action === "block" ? { block: p.others } : { unblock: p.others };
      const result = s.api ? await s.api.taskUpdate({ id: p.id, ...change }) : await s.baton.tasks.update(p.id, change);
      answer(mode, result.ok ? { ...result, message: `${action} task:${p.id}` } : result);
    },
  );
}

export function show(id: string, flags: CommonFlags): Promise<void> {
  return withSession(
    flags,
    () => ({ id: parseTaskId(id) }),
    async (s, p) => {
      const { mode } = s;
      const task = s.api
        ? (((await s.api.taskShow({ id: p.id })).data as { task?: Task } | undefined)?.task ?? null)
        : await s.baton.tasks.show(p.id);
      if (task === null) emitNo(mode, { ok: false, code: "TASK_NOT_FOUND", task: null }, `task ${p.id} does not exist`);
      else emit(mode, { ok: true, task }, render(task));
    },
  );
}

export function list(flags: CommonFlags & { state?: string; category?: string; limit?: string }): Promise<void> {
  return withSession(
    flags,
    () => ({ states: flags.state?.split(",").map((s) => s.trim()) as TaskState[] | undefined }),
    async (s, p) => {
      const { mode } = s;
      let tasks: Task[];
      if (s.api) {
        if ((p.states?.length ?? 0) > 1 || flags.limit !== undefined)
          throw remoteUnsupported("task list with several states or --limit");
        const state = p.states?.[0];
        const r = await s.api.taskList({
          ...(state === undefined ? {} : { state }),
          ...(flags.category === undefined ? {} : { category: flags.category }),
        });
        tasks = (r.data as { tasks: Task[] }).tasks;
      } else {
        tasks = await s.baton.tasks.list({
          ...(p.states === undefined ? {} : { state: p.states }),
          ...(flags.category === undefined ? {} : { category: flags.category }),
          ...(flags.limit === undefined ? {} : { limit: Number(flags.limit) }),
        });
      }
      emit(mode, { ok: true, tasks }, () =>
        tasks.length === 0
          ? "no tasks"
          : table(
              ["id", "state", "priority", "category", "title"],
              tasks.map((t) => [t.id, t.state, String(t.priority), t.category, t.title]),
            ),
      );
    },
  );
}

export function importTasks(path: string, flags: CommonFlags & { github?: boolean }): Promise<void> {
  return withSession(
    flags,
    (config) => {
      const full = resolve(process.cwd(), path);
      let specs: TaskSpec[];
      if (flags.github === true || path.endsWith(".json")) {
        let bytes: Buffer;
        try {
          bytes = path === "-" ? readFileSync(0) : readFileSync(full);
        } catch {
          throw new BatonError("BAD_INPUT", `cannot import ${JSON.stringify(path)}: no such file`);
        }
        specs = readGithubTasks(decodeImportText(bytes, path), path, (config.importLabels ?? {}) as LabelMap);
      } else {
        // A progress bar on a terminal, for folders of hundreds of files.
        const bar = process.stderr.isTTY === true && flags.json !== true;
        specs = readMarkdownTasks(full, process.cwd(), (done, total) => {
          if (!bar || total < 100 || (done % 25 !== 0 && done !== total)) return;
          const width = 30;
          const filled = Math.round((done / total) * width);
          process.stderr.write(
            `\rreading [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total}${done === total ? "\n" : ""}`,
          );
        });
      }
      return { specs };
    },
    async ({ baton, mode }, p) => {
      const result = await baton.tasks.put(p.specs, "upsert");
      answer(mode, {
        ...result,
        message: `imported ${p.specs.length} task${p.specs.length === 1 ? "" : "s"}: ${result.message}`,
      });
    },
  );
}

export function next(
  flags: CommonFlags & { category?: string; explain?: boolean; dryRun?: boolean; seed?: string; ttl?: string },
): Promise<void> {
  return withSession(
    flags,
    (config) => {
      if (flags.seed !== undefined && !/^\d{1,10}$/.test(flags.seed))
        throw new BatonError("BAD_OPTION", `invalid --seed ${JSON.stringify(flags.seed)}`);
      return {
        as: requireAgent(config, "next"),
        seed: flags.seed === undefined ? undefined : Number(flags.seed),
        ttl: flags.ttl === undefined ? undefined : parseDuration(flags.ttl, { name: "--ttl" }),
      };
    },
    async (s, p) => {
      const { mode } = s;
      const options = {
        ...(flags.category === undefined ? {} : { category: flags.category }),
        ...(p.seed === undefined ? {} : { seed: p.seed }),
        dryRun: flags.dryRun === true,
      };
      if (s.api) {
        if (flags.explain === true) throw remoteUnsupported("baton next --explain");
        // A task's paths are claimed in this checkout's repository (none outside one), as locally.
        const repo = await CHECKOUT_PATHS.repository({});
        answer(
          mode,
          await s.api.next({
            ...options,
            ...(p.ttl === undefined ? {} : { ttl: `${p.ttl}ms` }),
            repo,
          }),
        );
        return;
      }
      const result = await s.baton.next({ as: p.as, ...options, ...(p.ttl === undefined ? {} : { ttl: p.ttl }) });
      const explain =
        flags.explain === true && result.candidates.length > 0
          ? `\n${table(
              ["task", "tier", "category", "priority", "age", "steering", "saturation", "score"],
              result.candidates.map((c) => [
                c.id,
                String(c.tier),
                c.category,
                String(c.priority),
                c.age.toFixed(1),
                c.steering.toFixed(1),
                `-${c.saturation.toFixed(1)}`,
                c.total.toFixed(1),
              ]),
            )}\n${result.task ? `${result.task.id} won: tier ${result.tier}, then the highest score` : ""}${result.skipped.length ? `; skipped (taken meanwhile, or paths claimed): ${result.skipped.join(", ")}` : ""} (seed ${result.seed})`
          : "";
      answer(mode, { ...result, message: `${result.message}${explain}` });
    },
  );
}

export function supply(flags: CommonFlags): Promise<void> {
  return withSession(
    flags,
    () => ({}),
    async (s) => {
      if (s.api) {
        const r = await s.api.supply({});
        emit(s.mode, { ok: true, ...(r.data as object) }, r.message);
        return;
      }
      const result = await s.baton.supply();
      emit(s.mode, { ok: true, ...result }, result.message);
    },
  );
}
