/**
 * `baton task block|unblock|import`: the backlog commands that are not catalogue operations
 * (`task add|update|done|reopen|show|list`, `next` and `supply` are generated: operations.ts).
 * block and unblock are `task_update` with `block`/`unblock`, worded as their own commands.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { BatonError } from "../../core/errors.js";
import { decodeImportText, type LabelMap, readGithubTasks, readMarkdownTasks } from "../../workspace/task-import.js";
import type { OperationInput } from "../../api/catalogue.js";
import { parseTaskId, parseTasks, type TaskSpec } from "../../services/tasks.js";
import type { CommonFlags } from "./main.js";
import { emit, emitNo } from "./output.js";
import { libraryAnswer } from "./remote.js";
import { withSession } from "./session.js";

function answer(mode: { json: boolean }, result: { ok: boolean; message: string }): void {
  if (result.ok) emit(mode, result, result.message);
  else emitNo(mode, result, result.message);
}

/** block, unblock: blockers added or removed, relative to the stored ones when the store applies it. */
export function change(action: "block" | "unblock", id: string, others: string[], flags: CommonFlags): Promise<void> {
  return withSession(
    flags,
    () => {
      if (others.length === 0) {
        throw new BatonError(
          "BAD_INPUT",
          `task ${action} needs the blocking task ids: baton task ${action} ID BLOCKER…`,
        );
      }
      return { id: parseTaskId(id), others: others.map(parseTaskId) };
    },
    async (s, p) => {
      // In one transaction, here or on the server (task_update).
      const change = action === "block" ? { block: p.others } : { unblock: p.others };
      const result = s.api
        ? (libraryAnswer(await s.api.taskUpdate({ id: p.id, ...change })) as { ok: boolean; message: string })
        : await s.baton.tasks.update(p.id, change);
      answer(s.mode, result.ok ? { ...result, message: `${action} task:${p.id}` } : result);
    },
  );
}

/**
 * Tasks for a server: paths typed here resolved in this checkout and sent repository-relative,
 * every task checked as the library checks it (a bad one is refused here: nothing is sent).
 */
async function sentTasks(specs: readonly TaskSpec[]): Promise<OperationInput<"task_import">["tasks"]> {
  const { checkoutPatterns, resolveCheckout } = await import("../../workspace/checkout.js");
  // The checkout found once (git asked twice), not once per task: 1,000 tasks with paths took 14 s so.
  let checkout: Awaited<ReturnType<typeof resolveCheckout>> | undefined;
  const sent: TaskSpec[] = [];
  for (const spec of specs) {
    if ((spec.paths ?? []).length === 0) {
      sent.push({ ...spec, paths: [] });
      continue;
    }
    checkout ??= await resolveCheckout({});
    sent.push({ ...spec, paths: checkoutPatterns(spec.paths ?? [], checkout) });
  }
  parseTasks(sent);
  const tasks = sent.map((spec) => ({
    ...spec,
    blockedBy: [...(spec.blockedBy ?? [])],
    paths: [...(spec.paths ?? [])],
  }));
  // What the server would refuse, refused here before anything is sent: a server that refuses a
  // body from its length may close the connection before a client sending it reads the answer.
  const { TASK_IMPORT_BODY_LIMIT, TASK_IMPORT_MAX } = await import("../../api/baton-api.js");
  if (tasks.length > TASK_IMPORT_MAX) {
    throw new BatonError(
      "BAD_INPUT",
      `cannot import ${tasks.length} tasks through a server in one request (at most ${TASK_IMPORT_MAX}): import the backlog in parts; nothing was sent`,
    );
  }
  const bytes = Buffer.byteLength(JSON.stringify({ tasks }));
  if (bytes > TASK_IMPORT_BODY_LIMIT) {
    throw new BatonError(
      "BODY_TOO_LARGE",
      `the import is ${bytes} bytes, more than the ${TASK_IMPORT_BODY_LIMIT} bytes a server takes in one request: import the backlog in parts; nothing was sent`,
      { bytes, limit: TASK_IMPORT_BODY_LIMIT },
    );
  }
  return tasks;
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
    async (s, p) => {
      const { mode } = s;
      // In one store transaction, here or on the server (task_import): all or nothing.
      const result = s.api
        ? (libraryAnswer(await s.api.taskImport({ tasks: await sentTasks(p.specs) })) as {
            ok: boolean;
            message: string;
          })
        : await s.baton.tasks.put(p.specs, "upsert");
      answer(mode, {
        ...result,
        message: `imported ${p.specs.length} task${p.specs.length === 1 ? "" : "s"}: ${result.message}`,
      });
    },
  );
}
