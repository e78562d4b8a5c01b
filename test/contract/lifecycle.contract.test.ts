/**
 * The work lifecycle part of the store contract, on SQLite and PostgreSQL alike:
 * completing `task:ID` marks the task done in the same transaction and `next` never
 * hands it out again; `task done` ends the live claim, `task reopen` is the way back;
 * ending a work claim ends the path claims granted with it; renew keeps the lease
 * length; resolve closes a loose end and refuses anything else.
 */
import { describe, expect, it } from "vitest";
import type { ClaimInput, NextInput, PathClaimInput, RankedTask, Store, TaskInput } from "../../src/store/store.js";
import { freshStores, type StoreTarget, TARGETS } from "./targets.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REPO = "root:3333333333333333333333333333333333333333";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function work(key: string, agent: string, extra: Partial<ClaimInput> = {}): ClaimInput {
  return { key, agent, ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: DAY, ...extra };
}

function task(id: string, extra: Partial<TaskInput> = {}): TaskInput {
  return {
    id,
    title: id,
    category: "general",
    priority: 50,
    done: false,
    blockedBy: [],
    paths: [],
    assignee: null,
    meta: null,
    source: null,
    ...extra,
  };
}

function next(agent: string, extra: Partial<NextInput> = {}): NextInput {
  return {
    agent,
    category: null,
    ttlMs: HOUR,
    repo: REPO,
    rank: (ready: readonly RankedTask[]) => ready.map((t) => t.id),
    dryRun: false,
    doneWindowMs: DAY,
    ...extra,
  };
}

function withPaths(
  agent: string,
  patterns: string[],
  key: string,
  extra: Partial<PathClaimInput> = {},
): PathClaimInput {
  return {
    repo: REPO,
    agent,
    patterns,
    mode: "exclusive",
    ttlMs: HOUR,
    reason: null,
    advisory: false,
    work: work(key, agent),
    ...extra,
  };
}

describe.each(TARGETS)("lifecycle contract: $name", (target: StoreTarget) => {
  const fresh = freshStores(target);
  const pathStates = async (store: Store) =>
    (await store.listPaths({ states: [], limit: 1000 }))
      .map((p) => `${p.agent}:${p.pattern}:${p.state}${p.commit ? `:${p.commit}` : ""}`)
      .sort();

  it("completing task:ID marks the task done in the same transaction; next never hands it out again", async () => {
    const store = await fresh();
    await store.putTasks([task("t1", { priority: 95 })], "add");
    const took = await store.next(next("A1"));
    expect(took.task?.id).toBe("t1");
    expect((await store.complete({ key: "task:t1", agent: "A1", result: "ok" })).ok).toBe(true);
    expect(await store.getTask("t1")).toMatchObject({ state: "done" });
    expect((await store.getTask("t1"))?.doneAt).not.toBeNull();
    expect(await store.taskCounts()).toEqual({ ready: 0, blocked: 0, claimed: 0, done: 1 });
    const again = await store.next(next("A2"));
    expect(again.task).toBeNull();
    expect(again.ranked).toEqual([]);
  });

  it("writing tasks never turns a done task open again (a re-import, an update): only reopen does", async () => {
    const store = await fresh();
    await store.putTasks([task("t5"), task("t6")], "add");
    await store.claim(work("task:t5", "A1"));
    await store.complete({ key: "task:t5", agent: "A1" });
    // The import file still says open: re-running it leaves the completion alone.
    expect(await store.putTasks([task("t5"), task("t6")], "upsert")).toEqual({
      ok: true,
      created: [],
      updated: [],
      unchanged: ["t5", "t6"],
    });
    expect(await store.putTasks([task("t5", { priority: 70 })], "update")).toMatchObject({ ok: true, updated: ["t5"] });
    expect(await store.getTask("t5")).toMatchObject({ state: "done", priority: 70 });
    expect((await store.next(next("A2"))).task?.id).toBe("t6");
  });

  it("next skips an open task whose task:ID claim completed within the done window", async () => {
    const store = await fresh();
    // Completed before the task existed: the task is open, its work is done.
    await store.claim(work("task:t2", "A1"));
    await store.complete({ key: "task:t2", agent: "A1" });
    await store.putTasks([task("t2")], "add");
    expect((await store.next(next("A2"))).task).toBeNull();
    expect((await store.next(next("A2", { dryRun: true }))).task).toBeNull();
    // Outside the window it is work again.
    await sleep(20);
    expect((await store.next(next("A2", { doneWindowMs: 1 }))).task?.id).toBe("t2");
  });

  it("task done completes the live claim on task:ID and releases its paths, with events; reopen is the way back", async () => {
    const store = await fresh();
    await store.putTasks([task("t3", { paths: ["src/t3/"] })], "add");
    const took = await store.next(next("A1"));
    expect(took.paths.map((p) => p.pattern)).toEqual(["src/t3/"]);
    expect(await store.setTaskState({ id: "nope", done: true, agent: "boss" })).toEqual({
      ok: false,
      code: "TASK_NOT_FOUND",
    });
    const done = await store.setTaskState({ id: "t3", done: true, agent: "boss" });
    expect(done).toMatchObject({
      ok: true,
      task: { id: "t3", state: "done" },
      claim: { key: "task:t3", agent: "A1", state: "completed" },
    });
    expect(await store.get("task:t3")).toMatchObject({ state: "completed", agent: "A1" });
    const [completed] = await store.events({ key: "task:t3", kinds: ["completed"], limit: 10 });
    expect(completed).toMatchObject({
      agent: "boss",
      token: took.claim?.token,
      detail: { via: "task done", holder: "A1" },
    });
    expect(await pathStates(store)).toEqual(["A1:src/t3/:released"]);
    expect((await store.next(next("A2"))).task).toBeNull();
    // Claiming it is refused as done; reopening releases the completed claim.
    expect((await store.claim(work("task:t3", "A2"))).outcome).toBe("done");
    const reopened = await store.setTaskState({ id: "t3", done: false, agent: "boss" });
    expect(reopened).toMatchObject({
      ok: true,
      task: { state: "ready" },
      claim: { key: "task:t3", state: "released" },
    });
    const [event] = await store.events({ key: "task:t3", kinds: ["reopened"], limit: 10 });
    expect(event).toMatchObject({ agent: "boss", detail: { previousAgent: "A1" } });
    const retaken = await store.next(next("A2"));
    expect(retaken.task?.id).toBe("t3");
    expect(retaken.claim?.token).toBeGreaterThan(took.claim?.token as number);
    // Marking a task done that nobody holds changes no claim.
    await store.putTasks([task("t4")], "add");
    expect(await store.setTaskState({ id: "t4", done: true, agent: null })).toMatchObject({
      ok: true,
      task: { state: "done" },
      claim: null,
    });
  });

  it("complete and release end the path claims granted with the work claim (released, with the commit); abandon abandons them", async () => {
    const store = await fresh();
    expect((await store.claimPaths(withPaths("a", ["src/a/", "docs/a.md"], "k:complete"))).outcome).toBe("granted");
    expect((await store.claimPaths(withPaths("a", ["src/r/"], "k:release"))).outcome).toBe("granted");
    expect((await store.claimPaths(withPaths("a", ["src/x/"], "k:abandon"))).outcome).toBe("granted");
    // A path claim of the same agent without a work key stays.
    expect((await store.claimPaths(withPaths("a", ["src/own/"], "k:none", { work: null }))).outcome).toBe("granted");
    expect((await store.complete({ key: "k:complete", agent: "a", commit: "abc1234" })).ok).toBe(true);
    expect((await store.release({ key: "k:release", agent: "a", commit: "def5678" })).ok).toBe(true);
    expect((await store.abandon({ key: "k:abandon", agent: "a", reason: "stuck" })).ok).toBe(true);
    expect(await pathStates(store)).toEqual([
      "a:docs/a.md:released:abc1234",
      "a:src/a/:released:abc1234",
      "a:src/own/:active",
      "a:src/r/:released:def5678",
      "a:src/x/:abandoned",
    ]);
    const ended = await store.events({ key: "path:src/a/", kinds: ["released"], limit: 10 });
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ agent: "a", commit: "abc1234", detail: { repo: REPO, workKey: "k:complete" } });
    const abandoned = await store.events({ key: "path:src/x/", kinds: ["abandoned"], limit: 10 });
    expect(abandoned[0]?.detail).toEqual({ repo: REPO, workKey: "k:abandon" });
    // The paths are free for another agent at once.
    expect((await store.claimPaths(withPaths("b", ["src/a/", "src/x/"], "k:b"))).outcome).toBe("granted");
    // A refused completion ends nothing.
    expect((await store.complete({ key: "k:b", agent: "a" })).ok).toBe(false);
    expect((await store.listPaths({ states: ["active"], agent: "b", limit: 10 })).length).toBe(2);
  });

  it("next with task paths: completing the task releases them", async () => {
    const store = await fresh();
    await store.putTasks([task("p1", { paths: ["src/p1/"] }), task("p2", { paths: ["src/p1/"] })], "add");
    const first = await store.next(next("A1"));
    expect(first.task?.id).toBe("p1");
    expect((await store.next(next("A2"))).task).toBeNull(); // p2's paths are held
    await store.complete({ key: "task:p1", agent: "A1" });
    const second = await store.next(next("A2"));
    expect(second.task?.id).toBe("p2");
    expect(second.paths.map((p) => `${p.agent}:${p.pattern}`)).toEqual(["A2:src/p1/"]);
  });

  it("reap abandons the path claims of a reaped work claim, even live ones", async () => {
    const store = await fresh();
    // The paths outlive the work claim (as if renewed on their own).
    await store.claimPaths(
      withPaths("a", ["src/r/"], "k:reap", { ttlMs: HOUR, work: work("k:reap", "a", { ttlMs: 30 }) }),
    );
    await sleep(60);
    const reaped = await store.reap({ minAgeMs: 0, by: "janitor" });
    expect(reaped.map((c) => c.key)).toEqual(["k:reap"]);
    expect(await pathStates(store)).toEqual(["a:src/r/:abandoned"]);
    const [event] = await store.events({ key: "path:src/r/", kinds: ["abandoned"], limit: 10 });
    expect(event?.detail).toEqual({ repo: REPO, workKey: "k:reap" });
  });

  it("reapCount reaps as reap does (path claims logged in reap order) and answers how many", async () => {
    const store = await fresh();
    // k:z expires first: reap order (expiry, then key) is not key order.
    await store.claimPaths(withPaths("z", ["src/z/"], "k:z", { ttlMs: HOUR, work: work("k:z", "z", { ttlMs: 20 }) }));
    await sleep(5);
    await store.claimPaths(withPaths("a", ["src/a/"], "k:a", { ttlMs: HOUR, work: work("k:a", "a", { ttlMs: 20 }) }));
    await sleep(60);
    expect(await store.reapCount({ minAgeMs: HOUR, by: null })).toBe(0);
    expect(await store.reapCount({ minAgeMs: 0, by: "janitor" })).toBe(2);
    expect(await store.reapCount({ minAgeMs: 0, by: "janitor" })).toBe(0);
    for (const key of ["k:z", "k:a"]) {
      expect(await store.get(key)).toMatchObject({ state: "abandoned", reason: "reaped: expired without completion" });
    }
    expect(await pathStates(store)).toEqual(["a:src/a/:abandoned", "z:src/z/:abandoned"]);
    const events = await store.events({ kinds: ["reaped", "abandoned"], limit: 10 });
    expect(events.map((e) => [e.kind, e.key])).toEqual([
      ["reaped", "k:z"],
      ["reaped", "k:a"],
      ["abandoned", "path:src/z/"],
      ["abandoned", "path:src/a/"],
    ]);
    expect(events[0]?.detail).toMatchObject({ by: "janitor" });
  });

  it("renew without a TTL, and re-claiming my own key with keepTtl, keep the claim's lease length", async () => {
    const store = await fresh();
    const granted = await store.claim(work("k", "a", { ttlMs: 90_000 }));
    const renewed = await store.renew({ key: "k", agent: "a", ttlMs: null });
    expect(renewed.ok).toBe(true);
    const again = await store.claim(work("k", "a", { ttlMs: HOUR, keepTtl: true }));
    expect(again.outcome).toBe("renewed");
    expect(again.claim.token).toBe(granted.claim.token);
    const explicit = await store.renew({ key: "k", agent: "a", ttlMs: 120_000 });
    expect(explicit.ok).toBe(true);
    const kept = await store.renew({ key: "k", agent: "a", ttlMs: null });
    expect(kept.ok).toBe(true);
    const ttls = (await store.events({ key: "k", kinds: ["renewed"], limit: 10 })).map((e) => e.detail?.ttlMs);
    expect(ttls).toEqual([90_000, 90_000, 120_000, 120_000]);
    // The expiry says the same: the last renewal is 120 s long.
    const claim = await store.get("k");
    const [last] = await store.events({ key: "k", kinds: ["renewed"], limit: 1 });
    expect((claim?.expiresAt.getTime() as number) - (last?.at.getTime() as number)).toBe(120_000);
    expect(await store.renew({ key: "nope", agent: "a", ttlMs: null })).toMatchObject({ ok: false, code: "NOT_FOUND" });
  });

  it("resolve closes an abandoned or expired claim with a resolved event; anything else is refused and changes nothing", async () => {
    const store = await fresh();
    await store.claim(work("gone", "a"));
    await store.abandon({ key: "gone", agent: "a", reason: "blocked" });
    const resolved = await store.resolve({ key: "gone", agent: "b", note: "not needed any more" });
    expect(resolved).toMatchObject({
      ok: true,
      previousState: "abandoned",
      claim: { key: "gone", agent: "a", state: "released", reason: "resolved: not needed any more" },
    });
    const [event] = await store.events({ key: "gone", kinds: ["resolved"], limit: 10 });
    expect(event).toMatchObject({
      agent: "b",
      detail: { previousState: "abandoned", holder: "a", note: "not needed any more" },
    });
    expect((await store.list({ states: ["abandoned", "expired"], limit: 100 })).map((c) => c.key)).toEqual([]);
    // An expired claim (with its paths) is a loose end too.
    await store.claimPaths(withPaths("a", ["src/e/"], "late", { ttlMs: 20, work: work("late", "a", { ttlMs: 20 }) }));
    await sleep(40);
    expect(await store.resolve({ key: "late", agent: "a", note: null })).toMatchObject({
      ok: true,
      previousState: "expired",
      claim: { state: "released", reason: "resolved" },
    });
    expect(await pathStates(store)).toEqual(["a:src/e/:released"]);
    // Nothing to resolve: a live claim (another's or mine), a completed or released one, a key never claimed.
    await store.claim(work("live", "a"));
    await store.claim(work("finished", "a"));
    await store.complete({ key: "finished", agent: "a" });
    const before = (await store.events({ limit: 1000 })).length;
    for (const [key, agent] of [
      ["live", "b"],
      ["live", "a"],
      ["finished", "b"],
      ["gone", "b"],
    ] as const) {
      expect(await store.resolve({ key, agent, note: null })).toMatchObject({
        ok: false,
        code: "NOT_LOOSE_END",
        claim: { key },
      });
    }
    expect(await store.resolve({ key: "never", agent: "b", note: null })).toEqual({
      ok: false,
      code: "NOT_FOUND",
      claim: null,
    });
    expect((await store.events({ limit: 1000 })).length).toBe(before);
    expect(await store.get("live")).toMatchObject({ state: "active", agent: "a" });
  });

  it("updateTask patches the fields given in one transaction: blockers added and removed against the stored list, checked, a done task kept done", async () => {
    const store = await fresh();
    await store.putTasks([task("a", { meta: { k: 1 } }), task("b"), task("c")], "add");
    expect(await store.updateTask({ id: "a", priority: 80, block: ["b", "c"] })).toMatchObject({
      ok: true,
      changed: true,
      task: { id: "a", title: "a", priority: 80, blockedBy: ["b", "c"], meta: { k: 1 }, state: "blocked" },
    });
    expect(await store.updateTask({ id: "a", unblock: ["b"], block: ["c"] })).toMatchObject({
      ok: true,
      task: { blockedBy: ["c"] },
    });
    expect(await store.updateTask({ id: "a", priority: 80 })).toMatchObject({ ok: true, changed: false });
    expect(await store.updateTask({ id: "nope", title: "x" })).toEqual({
      ok: false,
      code: "TASK_NOT_FOUND",
      id: "nope",
    });
    expect(await store.updateTask({ id: "a", block: ["ghost"] })).toMatchObject({
      ok: false,
      code: "BLOCKER_UNKNOWN",
      id: "a",
      blocker: "ghost",
    });
    await store.updateTask({ id: "c", block: ["b"] });
    expect(await store.updateTask({ id: "b", block: ["a"] })).toMatchObject({ ok: false, code: "BLOCKER_CYCLE" });
    // Refused patches wrote nothing.
    expect((await store.getTask("a"))?.blockedBy).toEqual(["c"]);
    expect((await store.getTask("b"))?.blockedBy).toEqual([]);
    await store.setTaskState({ id: "a", done: true, agent: null });
    expect(await store.updateTask({ id: "a", title: "A", paths: ["src/"], assignee: "x", meta: null })).toMatchObject({
      ok: true,
      task: { title: "A", paths: ["src/"], assignee: "x", meta: null, state: "done" },
    });
  });
});
