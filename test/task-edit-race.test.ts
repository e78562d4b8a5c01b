/**
 * Task edits are one store transaction (Store.updateTask): two OS processes editing
 * different fields of one task at the same time both keep every edit, on SQLite and on
 * PostgreSQL. A read-modify-write above the store (the CLI's `task update` before it)
 * lets one writer's stale copy overwrite the other's field.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { TARGETS } from "./contract/targets.js";
import { LIB, ROOT, runScript, startLine } from "./helpers.js";

const WORKER = join(ROOT, "test", "workers", "task-edit-worker.mjs");
const EDITS = 40;

describe.each(TARGETS)("concurrent task edits on $name", (target) => {
  it("two processes editing different fields of one task: both fields keep every edit", async () => {
    const options = { ...target.batonOptions(), busyTimeout: "30s" };
    const setup = await openBaton(options);
    try {
      const blockers = Array.from({ length: EDITS }, (_, i) => ({ id: `b${i}`, title: `blocker ${i}` }));
      expect((await setup.tasks.put([{ id: "t", title: "first" }, ...blockers], "add")).ok).toBe(true);
    } finally {
      await setup.close();
    }
    const start = startLine(2);
    const lib = pathToFileURL(LIB).href;
    await start.release(
      ["title", "block"].map((field) =>
        runScript(WORKER, [lib, JSON.stringify(options), field, String(EDITS), start.dir]),
      ),
    );
    const check = await openBaton(options);
    try {
      const task = await check.tasks.show("t");
      expect(task?.title).toBe(`title ${EDITS - 1}`);
      expect([...(task?.blockedBy ?? [])].sort()).toEqual(Array.from({ length: EDITS }, (_, i) => `b${i}`).sort());
    } finally {
      await check.close();
    }
  });
});

describe.each(TARGETS)("task update on $name", (target) => {
  it("changes only the fields given, refuses unknown blockers and ids, and a done task stays done", async () => {
    const baton = await openBaton(target.batonOptions());
    try {
      await baton.tasks.put(
        [
          { id: "a", title: "A", priority: 10, meta: { k: 1 } },
          { id: "b", title: "B" },
        ],
        "add",
      );
      const r = await baton.tasks.update("a", { priority: 70, block: ["b"] });
      expect(r).toMatchObject({
        ok: true,
        changed: true,
        task: { id: "a", title: "A", priority: 70, blockedBy: ["b"], meta: { k: 1 }, state: "blocked" },
      });
      expect(await baton.tasks.update("a", { priority: 70 })).toMatchObject({ ok: true, changed: false });
      expect(
        (await baton.tasks.update("a", { unblock: ["b"] })).ok && (await baton.tasks.show("a"))?.blockedBy,
      ).toEqual([]);
      expect(await baton.tasks.update("nope", { title: "x" })).toMatchObject({ ok: false, code: "TASK_NOT_FOUND" });
      await expect(baton.tasks.update("a", { block: ["ghost"] })).rejects.toMatchObject({ code: "BLOCKER_UNKNOWN" });
      await baton.tasks.update("b", { block: ["a"] });
      await expect(baton.tasks.update("a", { block: ["b"] })).rejects.toMatchObject({ code: "BLOCKER_CYCLE" });
      await expect(baton.tasks.update("a", { priority: 101 })).rejects.toMatchObject({ code: "BAD_INPUT" });
      expect((await baton.tasks.show("a"))?.priority).toBe(70);
      await baton.tasks.done("a");
      expect(await baton.tasks.update("a", { title: "A2" })).toMatchObject({
        ok: true,
        task: { title: "A2", state: "done" },
      });
    } finally {
      await baton.close();
    }
  });
});
