/**
 * "No repository here" is an answer an operation context can give (`repo: null`), final:
 * `next` then asks git nothing, whatever the backlog. A server started outside a git
 * repository looks once, on its first request, and never again. Git runs for real, through
 * a wrapper on PATH that logs each process it starts (the count is what is checked).
 */
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOperation } from "../src/api/catalogue.js";
import { type Baton, openBaton } from "../src/index.js";
import { serverContext } from "../src/surfaces/http/http-context.js";
import { cliAsync, gitSpy, type ServeProcess, startServe, tempDir } from "./helpers.js";

describe("repo: null in an operation context", () => {
  const spy = gitSpy();
  const outside = tempDir("baton-no-repo-");
  let baton: Baton;
  let path: string | undefined;

  beforeAll(async () => {
    baton = await openBaton({ db: join(tempDir(), "ctx.db") });
    await baton.tasksWithoutCheckout.put(
      [
        { id: "with-paths", title: "touches src", priority: 90, paths: ["src/"] },
        { id: "plain", title: "no paths", priority: 10 },
      ],
      "add",
    );
    path = process.env.PATH;
    process.env.PATH = `${spy.bin}${delimiter}${path ?? ""}`;
  });
  afterAll(async () => {
    process.env.PATH = path;
    await baton.close();
  });

  it("next with a local checkout context and repo null runs no git and passes over tasks with paths", async () => {
    const next = findOperation("next");
    if (next === undefined) throw new Error("no next operation");
    const context = { agent: "a", cwd: outside, local: true, repo: null };
    for (let i = 0; i < 3; i++) {
      const r = await next.run(baton, { dryRun: true, seed: 1 }, context);
      expect(r.ok).toBe(true);
      expect((r.data as { task: { id: string } }).task.id).toBe("plain");
    }
    expect(spy.calls()).toBe(0);
  });

  it("serverContext outside a repository: one lookup for every agent, and its answer is null", async () => {
    const before = spy.calls();
    const context = serverContext(outside);
    const contexts = await Promise.all(["a", "b", "c", "a"].map((agent) => context(agent)));
    expect(contexts.map((c) => c.repo)).toEqual([null, null, null, null]);
    expect(spy.calls() - before).toBeLessThanOrEqual(1);
  });
});

describe("baton serve outside a git repository", () => {
  const spy = gitSpy();
  const outside = tempDir("baton-serve-no-repo-");
  const db = join(outside, "served.db");
  let server: ServeProcess;
  let token = "";

  beforeAll(async () => {
    const env = { BATON_DB: db };
    const added = await cliAsync(["tokens", "add", "alice", "--json"], { env, cwd: outside });
    token = (JSON.parse(added.stdout) as { token: string }).token;
    const task = await cliAsync(["task", "add", "t1", "--title", "one"], { env, cwd: outside });
    expect(task.code, task.stderr).toBe(0);
    server = await startServe({ ...env, PATH: `${spy.bin}${delimiter}${process.env.PATH ?? ""}` }, [], {});
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  const next = async (): Promise<{ ok: boolean }> => {
    const response = await fetch(`${server.url}/v1/next`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ dryRun: true, seed: 1 }),
    });
    return (await response.json()) as { ok: boolean };
  };

  it("runs no git process per next: at most one lookup, on the first request", async () => {
    expect((await next()).ok).toBe(true);
    const afterFirst = spy.calls();
    expect(afterFirst).toBeLessThanOrEqual(1);
    for (let i = 0; i < 5; i++) expect((await next()).ok).toBe(true);
    expect(spy.calls()).toBe(afterFirst);
  });
});
