/**
 * One work lifecycle, end to end on both stores: the repros run through the
 * built CLI (and the library), and a 48-session replay of real processes racing
 * `next` in three waves hands every task out exactly once and ends drained.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { cliStores, TARGETS } from "./contract/targets.js";
import { cli, gitCheckout, LIB, ROOT, runScript, startLine, tempDir } from "./helpers.js";

type Json = Record<string, any>;
type Env = Record<string, string>;

const STORES: readonly { name: string; env: () => Env }[] = cliStores("lc").map(([name, env]) => ({ name, env }));

/** Run the CLI with --json (before any `--`), check the exit code, return the one object. */
function j(args: string[], env: Env, code = 0, cwd?: string): Json {
  const at = args.indexOf("--");
  const withJson = at === -1 ? [...args, "--json"] : [...args.slice(0, at), "--json", ...args.slice(at)];
  const r = cli(withJson, { env, ...(cwd === undefined ? {} : { cwd }) });
  expect(r.code, `${args.join(" ")} -> ${r.stdout}${r.stderr}`).toBe(code);
  return JSON.parse(r.stdout) as Json;
}

describe.each(STORES)("the convergent-work repro from the CLI on $name", (store) => {
  it("completing task:ID marks it done: next never takes it again and a drained backlog is tier 3 NOTHING_READY", () => {
    const env = store.env();
    j(["task", "add", "t1", "--title", "T", "--priority", "95"], env);
    expect(j(["next", "--as", "A1"], env)).toMatchObject({ ok: true, task: { id: "t1" } });
    j(["complete", "task:t1", "--as", "A1", "--outcome", "success"], env);
    expect(j(["task", "show", "t1"], env).task).toMatchObject({ state: "done" });
    expect(j(["next", "--as", "A2"], env, 1)).toMatchObject({ ok: false, code: "NOTHING_READY", tier: 3, task: null });
    expect(j(["supply"], env)).toMatchObject({ ready: 0, claimed: 0, done: 1 });
    // The human answer says tier 3 too.
    expect(cli(["next", "--as", "A2"], { env }).stdout).toMatch(/^tier 3: no ready task/);
  });
});

// The store-level half of each repro runs on both stores in test/contract/lifecycle.contract.test.ts.
describe("the work lifecycle from the CLI", () => {
  const store = STORES[0] as (typeof STORES)[number];

  it("every completion surface marks the task done: complete, work-complete, run and the library's withClaim", async () => {
    const env = store.env();
    for (const id of ["c1", "w1", "r1", "l1"]) j(["task", "add", id, "--title", id], env);
    j(["claim", "task:c1", "--as", "a"], env);
    j(["complete", "task:c1", "--as", "a"], env);
    j(["work-claim", "s1", "task:w1"], env);
    j(["work-complete", "s1", "task:w1"], env);
    j(["run", "task:r1", "--as", "a", "--", process.execPath, "-e", ""], env);
    const baton = await openBaton(
      "BATON_DB" in env
        ? { db: env.BATON_DB as string }
        : { databaseUrl: env.BATON_DATABASE_URL as string, schema: env.BATON_PG_SCHEMA as string },
    );
    try {
      expect(await baton.withClaim("task:l1", () => "ok", { as: "a" })).toMatchObject({
        ok: true,
        outcome: "completed",
      });
      expect((await baton.tasks.list({ state: "done" })).map((t) => t.id).sort()).toEqual(["c1", "l1", "r1", "w1"]);
    } finally {
      await baton.close();
    }
    expect(j(["next", "--as", "b"], env, 1)).toMatchObject({ code: "NOTHING_READY", tier: 3 });
  });

  it("task done completes the live claim with an event; task reopen is the way back", () => {
    const env = store.env();
    j(["task", "add", "t1", "--title", "T"], env);
    const took = j(["next", "--as", "A1"], env);
    const done = j(["task", "done", "t1", "--as", "lead"], env);
    expect(done).toMatchObject({
      ok: true,
      task: { state: "done" },
      claim: { key: "task:t1", state: "completed", agent: "A1" },
    });
    expect(done.message).toBe(`done task:t1; completed A1's claim (token ${took.claim.token})`);
    const log = j(["log", "task:t1", "--kind", "completed"], env).events;
    expect(log).toMatchObject([{ kind: "completed", agent: "lead", detail: { via: "task done", holder: "A1" } }]);
    expect(j(["next", "--as", "A2"], env, 1)).toMatchObject({ code: "NOTHING_READY" });
    expect(j(["claim", "task:t1", "--as", "A2"], env, 1)).toMatchObject({ code: "CLAIM_DONE" });
    expect(j(["task", "reopen", "t1", "--as", "lead"], env)).toMatchObject({
      ok: true,
      task: { state: "ready" },
      claim: { state: "released" },
    });
    expect(j(["next", "--as", "A2"], env)).toMatchObject({ ok: true, task: { id: "t1" } });
    expect(j(["task", "done", "nope"], env, 1)).toMatchObject({ ok: false, code: "TASK_NOT_FOUND" });
  });

  it("complete, release and abandon end the path claims granted with claim --paths", () => {
    const env = store.env();
    const repo = gitCheckout({ dirs: ["src"] });
    const ends = [
      ["complete", "k:1", "--commit", "abc1234", "released"],
      ["release", "k:2", "--commit", "def5678", "released"],
      ["abandon", "k:3", "--reason", "stuck", "abandoned"],
    ] as const;
    for (const [verb, key, flag, value, state] of ends) {
      j(["claim", key, "--as", "a", "--paths", `src/${verb}/`], env, 0, repo);
      // Held: another agent cannot take the paths.
      expect(j(["paths", "claim", `src/${verb}/x.ts`, "--as", "b"], env, 1, repo)).toMatchObject({
        code: "PATH_CONFLICT",
      });
      j([verb, key, "--as", "a", flag, value], env, 0, repo);
      const mine = j(["paths", "list", "--state", "all"], env, 0, repo).claims.filter(
        (c: Json) => c.pattern === `src/${verb}/`,
      );
      expect(mine).toMatchObject([
        { state, agent: "a", workKey: key, ...(state === "released" ? { commit: value } : {}) },
      ]);
      expect(j(["paths", "claim", `src/${verb}/x.ts`, "--as", "b"], env, 0, repo)).toMatchObject({ ok: true });
    }
  });

  it("renew without --ttl and re-claiming my own key keep the claim's TTL, not the 60m default", () => {
    const env = store.env();
    j(["claim", "k", "--as", "a", "--ttl", "10m"], env);
    const renewed = cli(["renew", "k", "--as", "a"], { env });
    expect(renewed.stdout).toMatch(/^renewed k \(token \d+, lease kept, expires at \S+\)\n$/);
    expect(j(["claim", "k", "--as", "a"], env)).toMatchObject({ outcome: "renewed" });
    const events = j(["log", "k", "--kind", "renewed"], env).events as Json[];
    expect(events.map((e) => e.detail.ttlMs)).toEqual([600_000, 600_000]);
    const claim = j(["show", "k"], env).claim;
    expect(Date.parse(claim.expiresAt) - Date.parse(events[1]?.at)).toBe(600_000);
  });

  it("resolve closes a loose end, which leaves context; nothing to resolve is refused with a code and changes nothing", () => {
    const env = store.env();
    const cwd = tempDir();
    j(["claim", "task:9", "--as", "a"], env);
    j(["abandon", "task:9", "--as", "a", "--reason", "blocked on the API key"], env);
    const loose = () =>
      j(["context", "--as", "b", "--format", "json"], env, 0, cwd).sections.find((s: Json) => s.id === "loose_ends")
        .items;
    expect(loose()).toHaveLength(1);
    const resolved = j(["resolve", "task:9", "--as", "b", "--note", "the key arrived; done elsewhere"], env);
    expect(resolved).toMatchObject({
      ok: true,
      outcome: "resolved",
      previousState: "abandoned",
      claim: { state: "released" },
    });
    expect(loose()).toEqual([]);
    expect(j(["log", "task:9", "--kind", "resolved"], env).events).toMatchObject([
      { agent: "b", detail: { previousState: "abandoned", holder: "a", note: "the key arrived; done elsewhere" } },
    ]);
    j(["claim", "live", "--as", "a"], env);
    const before = j(["log", "--limit", "1000"], env).events.length;
    expect(j(["resolve", "live", "--as", "b"], env, 1)).toMatchObject({ ok: false, code: "NOT_LOOSE_END" });
    expect(j(["resolve", "task:9", "--as", "b"], env, 1)).toMatchObject({ ok: false, code: "NOT_LOOSE_END" });
    expect(j(["resolve", "never", "--as", "b"], env, 1)).toMatchObject({ ok: false, code: "NOT_FOUND" });
    expect(j(["log", "--limit", "1000"], env).events.length).toBe(before);
    expect(j(["resolve", "live"], env, 2)).toMatchObject({ error: { code: "MISSING_AGENT" } });
  });
});

describe.each(TARGETS)("48-session replay on $name", (target) => {
  it("three waves of 16 processes racing next and completing with outcomes: every task once, then tier 3 and drained", async () => {
    const options = target.batonOptions();
    const categories = ["auth", "docs", "perf", "ui"];
    const waves = [40, 24, 8];
    const all: string[] = [];
    const got: string[] = [];
    const ends: string[] = [];
    for (const [w, size] of waves.entries()) {
      const baton = await openBaton(options);
      const ids = Array.from({ length: size }, (_, i) => `w${w}-${i}`);
      // A few tasks wait for another of their wave: they become ready as soon as it is completed.
      const put = await baton.tasks.put(
        ids.map((id, i) => ({
          id,
          title: id,
          category: categories[i % 4],
          priority: 40 + (i % 9),
          blockedBy: i % 8 === 7 ? [ids[i - 7] as string] : [],
        })),
        "add",
      );
      expect(put.ok).toBe(true);
      await baton.close();
      all.push(...ids);
      const start = startLine(16);
      const outs = await start.release(
        Array.from({ length: 16 }, (_, i) =>
          runScript(join(ROOT, "test", "workers", "lifecycle-worker.mjs"), [
            pathToFileURL(LIB).href,
            JSON.stringify(options),
            `s${w}-${i}`,
            start.dir,
          ]),
        ),
      );
      for (const out of outs) {
        const lines = out.split("\n").filter(Boolean);
        ends.push(lines.pop() as string);
        got.push(...lines);
      }
    }
    expect(ends).toEqual(Array.from({ length: 48 }, () => "END 3 NOTHING_READY"));
    expect(got.length).toBe(all.length);
    expect([...got].sort()).toEqual([...all].sort());
    const check = await openBaton(options);
    try {
      expect((await check.log({ kind: "selected", limit: 10_000 })).length).toBe(all.length);
      expect((await check.log({ kind: "completed", limit: 10_000 })).length).toBe(all.length);
      expect(await check.store.taskCounts()).toEqual({ ready: 0, blocked: 0, claimed: 0, done: all.length });
      expect((await check.supply()).message).toMatch(/^drained/);
      expect(await check.next({ as: "late-session", cwd: "/" })).toMatchObject({
        ok: false,
        code: "NOTHING_READY",
        tier: 3,
      });
    } finally {
      await check.close();
    }
  }, 180_000);
});
