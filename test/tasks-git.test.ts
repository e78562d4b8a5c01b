/**
 * Tasks with paths resolve them against the checkout once per write, not once per task: an
 * import of a backlog whose tasks name paths ran git twice a task (1,000 tasks: 14 s). Git
 * runs for real, through a wrapper on PATH that logs each process it starts.
 */
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Baton, openBaton } from "../src/index.js";
import { gitCheckout, gitSpy, tempDir } from "./helpers.js";

describe("task paths resolved in the checkout", () => {
  const spy = gitSpy();
  let checkout: string;
  let baton: Baton;
  let path: string | undefined;

  beforeAll(async () => {
    checkout = gitCheckout({ dirs: ["src", "docs"] });
    baton = await openBaton({ db: join(tempDir(), "tasks-git.db") });
    path = process.env.PATH;
    process.env.PATH = `${spy.bin}${delimiter}${path ?? ""}`;
  });
  afterAll(async () => {
    process.env.PATH = path;
    await baton.close();
  });

  it("an import of 60 tasks with paths looks the checkout up once, and every task keeps its own paths", async () => {
    const specs = Array.from({ length: 60 }, (_, i) => ({
      id: `t${i}`,
      title: `task ${i}`,
      ...(i % 3 === 0 ? {} : { paths: i % 2 === 0 ? ["src/"] : [`docs/page-${i}.md`, "src/*.ts"] }),
    }));
    const before = spy.calls();
    const r = await baton.tasks.put(specs, "upsert", { cwd: checkout });
    expect(r.ok).toBe(true);
    // Two git processes find a checkout (its root and its root commit): once, whatever the count.
    expect(spy.calls() - before).toBeLessThanOrEqual(2);
    const tasks = await baton.tasks.list({ limit: 100 });
    const byId = new Map(tasks.map((t) => [t.id, t.paths]));
    expect(byId.get("t0")).toEqual([]);
    expect(byId.get("t2")).toEqual(["src/"]);
    expect(byId.get("t1")).toEqual(["docs/page-1.md", "src/*.ts"]);
  });
});
