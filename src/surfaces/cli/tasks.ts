/**
 * `baton task update|done|reopen|block|unblock|import`: the backlog commands that are not
 * catalogue operations yet (`task add|show|list`, `next` and `supply` are generated: operations.ts).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BatonError } from "../../core/errors.js";
import { decodeImportText, type LabelMap, readGithubTasks, readMarkdownTasks } from "../../workspace/task-import.js";
import { parseTaskId, type TaskSpec } from "../../services/tasks.js";
import { parseAgent } from "../../core/identity.js";
import type { CommonFlags } from "./main.js";
import { emit, emitNo } from "./output.js";
import { withSession } from "./session.js";

interface TaskFlags extends CommonFlags {
  title?: string;
  category?: string;
  priority?: string;
  blockedBy?: string[];
  paths?: string[];
  assignee?: string;
  meta?: string;
}

function priorityOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,3}$/.test(value))
    throw new BatonError("BAD_INPUT", `invalid --priority ${JSON.stringify(value)}: an integer from 0 to 100`);
  return Number(value);
}

function answer(mode: { json: boolean }, result: { ok: boolean; message: string }): void {
  if (result.ok) emit(mode, result, result.message);
  else emitNo(mode, result, result.message);
}

export function update(id: string, flags: TaskFlags): Promise<void> {
  return withSession(
    flags,
    () => ({ id: parseTaskId(id), priority: priorityOf(flags.priority) }),
    async ({ baton, mode }, p) => {
      // Only the fields given, applied by the store in one transaction: a concurrent edit of another field survives.
      const result = await baton.tasks.update(p.id, {
        ...(flags.title === undefined ? {} : { title: flags.title }),
        ...(flags.category === undefined ? {} : { category: flags.category }),
        ...(p.priority === undefined ? {} : { priority: p.priority }),
        ...(flags.blockedBy === undefined ? {} : { blockedBy: flags.blockedBy }),
        ...(flags.paths === undefined ? {} : { paths: flags.paths }),
        ...(flags.assignee === undefined ? {} : { assignee: flags.assignee }),
        ...(flags.meta === undefined ? {} : { meta: flags.meta }),
      });
      answer(mode, result);
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
    async ({ baton, mode }, p) => {
      if (action === "done" || action === "reopen") {
        const as = p.as;
        answer(mode, action === "done" ? await baton.tasks.done(p.id, as) : await baton.tasks.reopen(p.id, as));
        return;
      }
      // Relative to the blockers stored when the store applies it, in one transaction.
      const result = await baton.tasks.update(p.id, action === "block" ? { block: p.others } : { unblock: p.others });
      answer(mode, result.ok ? { ...result, message: `${action} task:${p.id}` } : result);
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
