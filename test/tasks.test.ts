/**
 * The backlog and `next`: concurrent select-and-claim on both stores, steering and the
 * anti-monotony guard, blockers, import (markdown and GitHub JSON), supply verdicts.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { TARGETS } from "./contract/targets.js";
import { cli, LIB, ROOT, runScript, startLine, tempDir } from "./helpers.js";

const FIXTURES = join(ROOT, "test", "fixtures", "tasks");

describe.each(TARGETS)("next on $name", (target) => {
  it("16 processes calling next at once on 100 tasks: every task selected exactly once", async () => {
    const options = target.batonOptions();
    const baton = await openBaton(options);
    const categories = ["auth", "docs", "perf", "ui"];
    const put = await baton.tasks.put(
      Array.from({ length: 100 }, (_, i) => ({
        id: `t${i}`,
        title: `task ${i}`,
        category: categories[i % 4],
        priority: 40 + (i % 7),
      })),
      "add",
    );
    expect(put.ok).toBe(true);
    await baton.close();
    const start = startLine(16);
    const outs = await start.release(
      Array.from({ length: 16 }, (_, i) =>
        runScript(join(ROOT, "test", "workers", "next-worker.mjs"), [
          pathToFileURL(LIB).href,
          JSON.stringify(options),
          `agent-${i}`,
          start.dir,
        ]),
      ),
    );
    const got = outs.flatMap((o) => o.split("\n").filter(Boolean));
    expect(got).toHaveLength(100);
    expect(new Set(got).size).toBe(100);
    const check = await openBaton(options);
    try {
      expect(await check.tasks.list({ state: "ready" })).toEqual([]);
      expect((await check.tasks.list({ state: "claimed" })).length).toBe(100);
      const selected = await check.log({ kind: "selected", limit: 1000 });
      expect(selected).toHaveLength(100);
    } finally {
      await check.close();
    }
  });

  it("steers toward rewarded categories, caps a category's share, never selects blocked tasks", async () => {
    const baton = await openBaton(target.batonOptions());
    try {
      // Steering: equal priorities in four categories; auth always succeeds, the rest fail.
      const four = ["auth", "docs", "perf", "ui"];
      await baton.tasks.put(
        Array.from({ length: 48 }, (_, i) => ({ id: `s${i}`, title: `s${i}`, category: four[i % 4], priority: 50 })),
        "add",
      );
      const picks: string[] = [];
      for (let i = 0; i < 24; i++) {
        const r = await baton.next({ as: "agent", seed: 1000 + i });
        if (!r.ok || r.task === null) break;
        picks.push(r.task.category);
        await baton.complete(`task:${r.task.id}`, {
          as: "agent",
          outcome: r.task.category === "auth" ? "success" : "failure",
        });
        await baton.tasks.done(r.task.id);
      }
      const late = picks.slice(12);
      const auth = late.filter((c) => c === "auth").length;
      for (const other of ["docs", "perf", "ui"])
        expect(auth, `${other} in ${late.join(",")}`).toBeGreaterThan(late.filter((c) => c === other).length);
      expect(auth / late.length).toBeLessThanOrEqual(0.6);

      // Saturation: "hot" outranks the others by priority, yet cannot take over the recent selections.
      const sat = await openBaton(target.batonOptions());
      try {
        await sat.tasks.put(
          Array.from({ length: 60 }, (_, i) => ({
            id: `h${i}`,
            title: `h${i}`,
            category: ["hot", "warm", "cool"][i % 3],
            priority: i % 3 === 0 ? 70 : 50,
          })),
          "add",
        );
        const cats: string[] = [];
        for (let i = 0; i < 30; i++) {
          const r = await sat.next({ as: "agent", seed: 7 + i });
          if (!r.ok || r.task === null) break;
          cats.push(r.task.category);
        }
        const last20 = cats.slice(-20);
        expect(last20.filter((c) => c === "hot").length / last20.length).toBeLessThanOrEqual(0.6);
        expect(cats.slice(0, 2)).toEqual(["hot", "hot"]);
      } finally {
        await sat.close();
      }

      // Blockers: a blocked task is never selected; it becomes ready when its blocker is done.
      const blk = await openBaton(target.batonOptions());
      try {
        await blk.tasks.put(
          [
            { id: "b1", title: "first", priority: 10 },
            { id: "b2", title: "second", priority: 99, blockedBy: ["b1"] },
          ],
          "add",
        );
        const first = await blk.next({ as: "a" });
        expect(first.task?.id).toBe("b1");
        expect((await blk.next({ as: "a" })).ok).toBe(false);
        await blk.tasks.done("b1");
        const second = await blk.next({ as: "a" });
        expect(second).toMatchObject({ ok: true, tier: 1, task: { id: "b2" } });
      } finally {
        await blk.close();
      }
    } finally {
      await baton.close();
    }
  });
});

describe.each(TARGETS)("next with task paths on $name", (target) => {
  it("claims a task with its paths, and skips a task whose paths another agent holds", async () => {
    const repo = tempDir();
    execFileSync("git", ["init", "-q"], { cwd: repo });
    const baton = await openBaton(target.batonOptions());
    try {
      await baton.tasks.put(
        [
          { id: "p1", title: "auth work", priority: 90, paths: ["src/auth/"] },
          { id: "p2", title: "ui work", priority: 50, paths: ["src/ui/"] },
        ],
        "add",
        { cwd: repo },
      );
      expect((await baton.claimPaths(["src/auth/login.ts"], { as: "human", cwd: repo })).ok).toBe(true);
      const first = await baton.next({ as: "agent", cwd: repo });
      expect(first).toMatchObject({ ok: true, task: { id: "p2" }, skipped: ["p1"] });
      expect(first.paths.map((p) => [p.pattern, p.token])).toEqual([["src/ui/", first.claim?.token]]);
      await baton.releasePaths(null, { as: "human", cwd: repo });
      const second = await baton.next({ as: "agent", cwd: repo });
      expect(second).toMatchObject({ ok: true, task: { id: "p1" } });
      expect(second.paths.map((p) => p.pattern)).toEqual(["src/auth/"]);
    } finally {
      await baton.close();
    }
  });
});

describe("task import", () => {
  it("imports markdown and GitHub JSON idempotently; a bad file names file and line and imports nothing", () => {
    const repo = tempDir();
    cli(["--version"]);
    const env = { BATON_DB: join(tempDir(), "t.db") };
    execFileSync("git", ["init", "-q"], { cwd: repo });
    const first = JSON.parse(cli(["task", "import", join(FIXTURES, "md"), "--json"], { env, cwd: repo }).stdout);
    expect(first).toMatchObject({ ok: true, created: ["docs", "login", "old"], updated: [], unchanged: [] });
    const again = JSON.parse(cli(["task", "import", join(FIXTURES, "md"), "--json"], { env, cwd: repo }).stdout);
    expect(again).toMatchObject({ ok: true, created: [], updated: [], unchanged: ["docs", "login", "old"] });
    const login = JSON.parse(cli(["task", "show", "login", "--json"], { env, cwd: repo }).stdout).task;
    expect(login).toMatchObject({
      title: "Fix the login redirect",
      category: "auth",
      priority: 80,
      paths: ["src/auth/"],
      meta: { owner_team: "identity" },
      state: "ready",
    });
    const docs = JSON.parse(cli(["task", "show", "docs", "--json"], { env, cwd: repo }).stdout).task;
    expect(docs).toMatchObject({ title: "Document the new login flow", blockedBy: ["login"], state: "blocked" });
    expect(JSON.parse(cli(["task", "show", "old", "--json"], { env, cwd: repo }).stdout).task.state).toBe("done");
    const bad = cli(["task", "import", join(FIXTURES, "bad"), "--json"], { env, cwd: repo });
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.message).toMatch(/broken\.md:3: priority must be an integer/);
    // Nothing half-imported: the good file beside the bad one was not written either.
    const fresh = { BATON_DB: join(tempDir(), "fresh.db") };
    expect(cli(["task", "import", join(FIXTURES, "bad")], { env: fresh, cwd: repo }).code).toBe(2);
    expect(JSON.parse(cli(["task", "list", "--json"], { env: fresh, cwd: repo }).stdout).tasks).toEqual([]);
    const gh = JSON.parse(cli(["task", "import", join(FIXTURES, "issues.json"), "--json"], { env, cwd: repo }).stdout);
    expect(gh.created).toEqual(["gh-12", "gh-15", "gh-9"]);
    expect(JSON.parse(cli(["task", "show", "gh-9", "--json"], { env, cwd: repo }).stdout).task.state).toBe("done");
    expect(JSON.parse(cli(["task", "list", "--json"], { env, cwd: repo }).stdout).tasks).toHaveLength(6);
  });
});

describe("supply", () => {
  it("says drained, contended or healthy, and why", async () => {
    const baton = await openBaton({ db: join(tempDir(), "s.db") });
    try {
      expect((await baton.supply()).verdict).toBe("drained");
      await baton.tasks.put(
        [
          { id: "x", title: "x" },
          { id: "y", title: "y" },
        ],
        "add",
      );
      expect(await baton.supply()).toMatchObject({ verdict: "healthy", ready: 2 });
      await baton.claim("topic:a", { as: "owner" });
      await baton.claim("topic:a", { as: "shopper" });
      await baton.claim("topic:a", { as: "shopper" });
      const contended = await baton.supply();
      expect(contended).toMatchObject({ verdict: "contended", denials: { shopper: 2 } });
      expect(contended.rule).toContain("stop shopping");
    } finally {
      await baton.close();
    }
  });
});

describe.each(TARGETS)("supply on $name", (target) => {
  it("reports every verdict that applies, most severe first: 18 sessions denied twice on a finished backlog are drained and contended", async () => {
    const baton = await openBaton(target.batonOptions());
    try {
      await baton.tasks.put(
        [
          { id: "a", title: "a" },
          { id: "b", title: "b", done: true },
        ],
        "add",
      );
      await baton.tasks.done("a");
      const drained = await baton.supply();
      expect(drained.verdicts).toEqual([{ verdict: "drained", rule: "no ready task: all 2 done" }]);
      expect(drained).toMatchObject({ verdict: "drained", ready: 0, claimed: 0, blocked: 0, done: 2 });
      await baton.claim("topic:lane", { as: "owner" });
      for (let i = 0; i < 18; i++) {
        await baton.claim("topic:lane", { as: `s${i}` });
        await baton.claim("topic:lane", { as: `s${i}` });
      }
      const both = await baton.supply();
      expect(both.verdicts.map((v) => v.verdict)).toEqual(["drained", "contended"]);
      expect(both.verdicts[1]?.rule).toMatch(
        /^18 agents were denied twice or more in the last hour \(s0 2×, s1 2×, s10 2×, …\): .*stop shopping/,
      );
      expect(both.verdict).toBe("drained");
      expect(both.message.split("\n")).toEqual([
        "drained: no ready task: all 2 done",
        `contended: ${both.verdicts[1]?.rule}`,
        "ready 0, claimed 0, blocked 0, done 2",
      ]);
      const context = await baton.context({ as: "s3" });
      expect(context.markdown).toContain(
        "backlog: drained + contended — ready 0, claimed 0, blocked 0, done 2 (no ready task: all 2 done; 18 agents were denied twice or more",
      );
    } finally {
      await baton.close();
    }
  });
});

describe("task blockers", () => {
  it("add, update and block refuse an unknown blocker or a cycle with a code (exit 2) and write nothing", () => {
    const env = { BATON_DB: join(tempDir(), "b.db") };
    const j = (args: string[], code: number) => {
      const r = cli([...args, "--json"], { env });
      expect(r.code, r.stdout + r.stderr).toBe(code);
      return JSON.parse(r.stdout);
    };
    const unknown = j(["task", "add", "t1", "--title", "T", "--blocked-by", "nonexistent"], 2);
    expect(unknown.error).toMatchObject({ code: "BLOCKER_UNKNOWN", details: { id: "t1", blocker: "nonexistent" } });
    expect(unknown.error.message).toBe(
      'task t1 is blocked by "nonexistent", which is no task: add it first or drop the blocker; nothing was written',
    );
    expect(j(["task", "list"], 0).tasks).toEqual([]);
    j(["task", "add", "a", "--title", "A"], 0);
    j(["task", "add", "b", "--title", "B", "--blocked-by", "a"], 0);
    expect(j(["task", "update", "a", "--blocked-by", "ghost"], 2).error.code).toBe("BLOCKER_UNKNOWN");
    expect(j(["task", "block", "a", "ghost"], 2).error.code).toBe("BLOCKER_UNKNOWN");
    const cycle = j(["task", "block", "a", "b"], 2).error;
    expect(cycle).toMatchObject({ code: "BLOCKER_CYCLE", details: { cycle: ["a", "b", "a"] } });
    expect(cycle.message).toMatch(/^blocker cycle a → b → a: no task in it could ever be ready/);
    expect(j(["task", "show", "a"], 0).task).toMatchObject({ blockedBy: [], state: "ready" });
    // Marking done keeps the blockers as they are: not judged again.
    expect(j(["task", "done", "b"], 0).ok).toBe(true);
  });

  it("an import with an unknown blocker or a cycle names file and line and writes nothing", () => {
    const env = { BATON_DB: join(tempDir(), "i.db") };
    const folder = (files: Record<string, string>): string => {
      const dir = tempDir();
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      return dir;
    };
    const md = (blockers: string) => `---\ncategory: x\nblocked_by: [${blockers}]\n---\n# task\n`;
    cli(["task", "add", "stored", "--title", "in the backlog already"], { env });
    // Blockers in the same import or in the backlog are fine.
    const ok = folder({ "a.md": md("b, stored"), "b.md": md("") });
    expect(JSON.parse(cli(["task", "import", ok, "--json"], { env, cwd: ok }).stdout)).toMatchObject({
      ok: true,
      created: ["a", "b"],
    });
    const unknown = folder({ "c.md": md(""), "d.md": md("c, missing") });
    const u = cli(["task", "import", unknown, "--json"], { env, cwd: unknown });
    expect(u.code).toBe(2);
    expect(JSON.parse(u.stdout).error).toMatchObject({ code: "BLOCKER_UNKNOWN", details: { origin: "d.md:3" } });
    expect(JSON.parse(u.stdout).error.message).toMatch(
      /^d\.md:3: task d is blocked by "missing", which is no task \(not in the import, not in the backlog\)/,
    );
    const cyclic = folder({ "e.md": md("f"), "f.md": md("g"), "g.md": md("e") });
    const c = cli(["task", "import", cyclic], { env, cwd: cyclic });
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/e\.md:3: blocker cycle e → f → g → e \(also f\.md:3, g\.md:3\)/);
    // The store's transaction also sees cycles through tasks stored before: b → a here.
    const back = folder({ "b.md": md("a") });
    expect(JSON.parse(cli(["task", "import", back, "--json"], { env, cwd: back }).stdout).error).toMatchObject({
      code: "BLOCKER_CYCLE",
      details: { cycle: ["b", "a", "b"] },
    });
    expect(
      JSON.parse(cli(["task", "list", "--json"], { env }).stdout)
        .tasks.map((t: { id: string }) => t.id)
        .sort(),
    ).toEqual(["a", "b", "stored"]);
  });
});
