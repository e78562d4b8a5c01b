/**
 * The operation-level contract, through `BatonApi`, on four targets: the in-process API on
 * SQLite and on PostgreSQL, and `HttpBatonApi` against a live `baton serve` child process on
 * each. Every target answers the same results: grants, the same denial codes with the
 * holder, the same thrown codes for bad input (nothing changed), the same events.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { z } from "zod";
import type { BatonApi, OperationResult } from "../../src/api/baton-api.js";
import { findOperation } from "../../src/api/catalogue.js";
import { HttpBatonApi } from "../../src/api/http-client.js";
import { inputError } from "../../src/api/input-errors.js";
import { type BatonError, isBatonError } from "../../src/core/errors.js";
import { API_TARGETS, type ApiSession, type ApiTarget } from "./targets.js";

type ClaimData = { claim: { key: string; agent: string; token: number; state: string } | null };
const claimOf = (r: OperationResult) => (r.data as ClaimData).claim;

async function thrown(promise: Promise<unknown>): Promise<BatonError> {
  try {
    await promise;
  } catch (error) {
    if (isBatonError(error)) return error;
    throw error;
  }
  throw new Error("expected a BatonError");
}

describe.each(API_TARGETS)("BatonApi contract: $name", (target: ApiTarget) => {
  const open: ApiSession[] = [];
  afterEach(async () => {
    for (const session of open.splice(0)) await session.close();
  });
  const fresh = async (): Promise<{ session: ApiSession; alice: BatonApi; bob: BatonApi }> => {
    const session = await target.open(["alice", "bob"]);
    open.push(session);
    return { session, alice: session.as("alice"), bob: session.as("bob") };
  };

  it("claim: granted with a token, renewed by the holder, denied to another with the holder, done after complete", async () => {
    const { alice, bob } = await fresh();
    const granted = await alice.claim({ key: "task:1", ttl: "30m", meta: { pr: 7 } });
    expect(granted).toMatchObject({
      ok: true,
      data: { claim: { key: "task:1", agent: "alice", state: "active", meta: { pr: 7 } } },
    });
    const token = claimOf(granted)?.token ?? 0;
    expect(token).toBeGreaterThan(0);
    const again = await alice.claim({ key: "task:1" });
    expect(again.ok).toBe(true);
    expect(claimOf(again)?.token).toBe(token);
    const denied = await bob.claim({ key: "task:1" });
    expect(denied).toMatchObject({ ok: false, code: "CLAIM_HELD", holder: { agent: "alice", token, state: "active" } });
    expect(denied.message).toContain("alice");
    expect((await alice.complete({ key: "task:1", result: "merged" })).ok).toBe(true);
    expect(await bob.claim({ key: "task:1" })).toMatchObject({
      ok: false,
      code: "CLAIM_DONE",
      holder: { agent: "alice" },
    });
    const reopened = await bob.claim({ key: "task:1", reopen: true });
    expect(reopened).toMatchObject({ ok: true, data: { claim: { agent: "bob" } } });
    expect(claimOf(reopened)?.token).toBeGreaterThan(token);
  });

  it("renew, complete, release, abandon: only the holder; NOT_HOLDER and NOT_FOUND otherwise", async () => {
    const { alice, bob } = await fresh();
    await alice.claim({ key: "k:a" });
    expect((await alice.renew({ key: "k:a", ttl: "2h" })).ok).toBe(true);
    for (const call of [
      () => bob.renew({ key: "k:a" }),
      () => bob.complete({ key: "k:a" }),
      () => bob.release({ key: "k:a" }),
      () => bob.abandon({ key: "k:a", reason: "no" }),
      () => bob.handoff({ key: "k:a", to: "carol" }),
    ]) {
      expect(await call()).toMatchObject({ ok: false, code: "NOT_HOLDER", holder: { agent: "alice" } });
    }
    expect(await alice.renew({ key: "k:never" })).toMatchObject({ ok: false, code: "NOT_FOUND" });
    expect(await alice.complete({ key: "k:never" })).toMatchObject({ ok: false, code: "NOT_FOUND" });
    expect(await alice.release({ key: "k:a", commit: "abc1234" })).toMatchObject({
      ok: true,
      data: { claim: { state: "released" } },
    });
    expect((await bob.claim({ key: "k:a" })).ok).toBe(true);
    expect(await bob.abandon({ key: "k:a", reason: "blocked on review" })).toMatchObject({
      ok: true,
      data: { claim: { state: "abandoned", reason: "blocked on review" } },
    });
  });

  it("handoff passes the claim with a new token; resolve closes a loose end and refuses anything else", async () => {
    const { alice, bob } = await fresh();
    const granted = await alice.claim({ key: "k:h" });
    const handed = await alice.handoff({ key: "k:h", to: "bob", note: "your turn" });
    expect(handed).toMatchObject({ ok: true, data: { claim: { agent: "bob", state: "active" } } });
    expect(claimOf(handed)?.token).toBeGreaterThan(claimOf(granted)?.token ?? 0);
    expect(await alice.renew({ key: "k:h" })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
    expect(await alice.resolve({ key: "k:h" })).toMatchObject({ ok: false, code: "NOT_LOOSE_END" });
    expect(await alice.resolve({ key: "k:none" })).toMatchObject({ ok: false, code: "NOT_FOUND" });
    expect((await bob.abandon({ key: "k:h", reason: "stuck" })).ok).toBe(true);
    expect(await alice.resolve({ key: "k:h", note: "done elsewhere" })).toMatchObject({
      ok: true,
      data: { claim: { state: "released" } },
    });
  });

  it("show and list: the holder, the events, live claims by default, mine, by state", async () => {
    const { alice, bob } = await fresh();
    await alice.claim({ key: "w:1" });
    await bob.claim({ key: "w:2" });
    await bob.claim({ key: "x:3" });
    await bob.complete({ key: "x:3" });
    expect(await alice.show({ key: "w:nothing" })).toMatchObject({ ok: true, data: { claim: null, events: [] } });
    const shown = await alice.show({ key: "w:1" });
    expect(shown).toMatchObject({ ok: true, data: { claim: { agent: "alice", state: "active" } } });
    const data = shown.data as { events: { kind: string; agent: string }[]; now: string };
    expect(data.events.map((e) => [e.kind, e.agent])).toEqual([["granted", "alice"]]);
    expect(Number.isNaN(Date.parse(data.now))).toBe(false);
    const keys = async (r: Promise<OperationResult>) =>
      ((await r).data as { claims: { key: string }[] }).claims.map((c) => c.key).sort();
    expect(await keys(alice.list({}))).toEqual(["w:1", "w:2"]);
    expect(await keys(bob.list({ mine: true }))).toEqual(["w:2"]);
    expect(await keys(alice.list({ prefix: "w:" }))).toEqual(["w:1", "w:2"]);
    expect(await keys(alice.list({ state: ["completed"] }))).toEqual(["x:3"]);
    expect(await keys(alice.list({ state: ["all"], agent: "bob" }))).toEqual(["w:2", "x:3"]);
  });

  it("tasks and next: add, TASK_EXISTS, show, TASK_NOT_FOUND, list by state; next claims the best, then NOTHING_READY", async () => {
    const { alice, bob } = await fresh();
    expect(await alice.next({})).toMatchObject({ ok: false, code: "NOTHING_READY" });
    expect((await alice.taskAdd({ id: "t1", title: "low", priority: 10 })).ok).toBe(true);
    expect((await alice.taskAdd({ id: "t2", title: "high", priority: 90 })).ok).toBe(true);
    expect((await alice.taskAdd({ id: "t3", title: "after t2", blockedBy: ["t2"] })).ok).toBe(true);
    expect(await alice.taskAdd({ id: "t1", title: "again" })).toMatchObject({ ok: false, code: "TASK_EXISTS" });
    expect(await alice.taskShow({ id: "t2" })).toMatchObject({
      ok: true,
      data: { task: { id: "t2", title: "high", state: "ready" } },
    });
    expect(await alice.taskShow({ id: "t9" })).toMatchObject({ ok: false, code: "TASK_NOT_FOUND" });
    const ids = async (state: "ready" | "blocked" | "claimed" | "done") =>
      ((await alice.taskList({ state })).data as { tasks: { id: string }[] }).tasks.map((t) => t.id).sort();
    expect(await ids("ready")).toEqual(["t1", "t2"]);
    expect(await ids("blocked")).toEqual(["t3"]);
    const took = await bob.next({ ttl: "1h" });
    expect(took).toMatchObject({ ok: true, data: { task: { id: "t2" }, claim: { key: "task:t2", agent: "bob" } } });
    expect(await ids("claimed")).toEqual(["t2"]);
    expect((await bob.complete({ key: "task:t2", outcome: "success" })).ok).toBe(true);
    expect(await ids("done")).toEqual(["t2"]);
    expect(await ids("ready")).toEqual(["t1", "t3"]);
    const supply = await alice.supply({});
    expect(supply).toMatchObject({ ok: true, data: { ready: 2, claimed: 0, blocked: 0, done: 1 } });
  });

  it("gates, notes and verify: a mark holds for the window; notes show in the events; verify needs completed work", async () => {
    const { alice, bob } = await fresh();
    expect(await alice.gateCheck({ key: "notify:x" })).toMatchObject({ ok: true, data: { done: false, mark: null } });
    expect((await alice.gateMark({ key: "notify:x", note: "sent" })).ok).toBe(true);
    expect(await bob.gateCheck({ key: "notify:x", window: "1h" })).toMatchObject({
      ok: true,
      data: { done: true, mark: { agent: "alice" } },
    });
    expect(await bob.verify({ key: "k:none" })).toMatchObject({ ok: false, code: "NOT_FOUND" });
    await alice.claim({ key: "k:v" });
    expect(await bob.verify({ key: "k:v" })).toMatchObject({ ok: false, code: "NOT_COMPLETED" });
    expect((await alice.note({ key: "k:v", text: "half way" })).ok).toBe(true);
    await alice.complete({ key: "k:v" });
    expect((await bob.verify({ key: "k:v", note: "tests pass" })).ok).toBe(true);
    const events = await bob.events({ key: "k:v" });
    expect(events.map((e) => [e.kind, e.agent])).toEqual([
      ["granted", "alice"],
      ["noted", "alice"],
      ["completed", "alice"],
      ["verified", "bob"],
    ]);
    expect(events.find((e) => e.kind === "noted")?.detail).toMatchObject({ text: "half way" });
    const context = await bob.context({});
    expect(context.ok).toBe(true);
    expect(context.message).toContain("k:v");
  });

  it("gate_lock: the lock, a sibling's lock busy (not logged) or a logged skip, a once-only mark, a given marker file's mark", async () => {
    const { alice, bob } = await fresh();
    const locked = await alice.gateLock({ key: "notify:l", ttl: "1m" });
    expect(locked).toMatchObject({
      ok: true,
      data: { outcome: "locked", claim: { key: "gate:notify:l", agent: "alice" } },
    });
    expect(await bob.gateLock({ key: "notify:l" })).toMatchObject({
      ok: false,
      code: "CLAIM_HELD",
      data: { outcome: "busy", holder: "alice" },
    });
    expect(await bob.gateLock({ key: "notify:l", giveUp: true })).toMatchObject({
      ok: false,
      code: "CLAIM_HELD",
      message: "skipped: alice is running it now",
      data: { outcome: "skipped", reason: "busy", holder: "alice" },
    });
    await alice.complete({ key: "gate:notify:l", result: JSON.stringify({ command: "x", digest: null, note: null }) });
    expect(await bob.gateLock({ key: "notify:l" })).toMatchObject({
      ok: false,
      code: "GATE_MARKED",
      data: { outcome: "skipped", reason: "marked", mark: { agent: "alice", command: "x", source: "registry" } },
    });
    const once = await bob.gateLock({ key: "notify:o", onceOnly: true, note: "sent", command: "mail" });
    expect(once).toMatchObject({
      ok: true,
      data: { outcome: "locked", mark: { agent: "bob", onceOnly: true, note: "sent", command: "mail" } },
    });
    expect(await alice.gateCheck({ key: "notify:o" })).toMatchObject({ data: { done: true, mark: { agent: "bob" } } });
    const marker = {
      key: "gate:notify:m",
      agent: "carol",
      at: new Date().toISOString(),
      command: null,
      digest: null,
      note: null,
      onceOnly: false,
    };
    expect(await alice.gateLock({ key: "notify:m", marker })).toMatchObject({
      ok: false,
      code: "GATE_MARKED",
      data: { outcome: "skipped", reason: "marked", mark: { agent: "carol", source: "marker" } },
    });
    // Only the skips are logged (busy without giveUp is not); none of them as a denial.
    const skips = (await alice.events({ kind: ["skipped"] })).map((e) => [e.key, e.agent, e.detail?.reason]);
    expect(skips).toEqual([
      ["gate:notify:l", "bob", "busy"],
      ["gate:notify:l", "bob", "marked"],
      ["gate:notify:m", "alice", "marked"],
    ]);
  });

  it("gate_list and gate_forget: the marks newest first with the skips since, a mark forgotten (logged), nothing to forget after", async () => {
    const { alice, bob } = await fresh();
    expect(await alice.gateList({})).toMatchObject({ ok: true, data: { marks: [] } });
    expect((await alice.gateMark({ key: "notify:a", note: "sent" })).ok).toBe(true);
    expect((await bob.gateMark({ key: "notify:b" })).ok).toBe(true);
    expect((await bob.gateLock({ key: "notify:a", giveUp: true })).code).toBe("GATE_MARKED");
    const listed = await alice.gateList({ since: "1h" });
    expect(listed).toMatchObject({
      ok: true,
      data: {
        marks: [
          { key: "gate:notify:b", agent: "bob", skips: 0, lastSkip: null },
          { key: "gate:notify:a", agent: "alice", note: "sent", skips: 1, lastSkip: { agent: "bob" } },
        ],
      },
    });
    expect(await bob.gateForget({ key: "notify:a" })).toEqual({
      ok: true,
      message: "forgot the mark of gate:notify:a (logged)",
      data: { outcome: "forgotten" },
    });
    expect(await bob.gateForget({ key: "notify:a" })).toMatchObject({
      ok: false,
      code: "NOT_FOUND",
      message: "nothing to forget: gate:notify:a has no mark",
      data: { outcome: "unmarked" },
    });
    expect(await alice.gateCheck({ key: "notify:a" })).toMatchObject({ data: { done: false } });
    expect(await alice.gateList({})).toMatchObject({ data: { marks: [{ key: "gate:notify:b" }] } });
    expect((await thrown(alice.gateList({ since: "soon" }))).code).toBe("BAD_DURATION");
  });

  it("task_import: many tasks in one transaction, again unchanged; a blocker that is no task writes none of them", async () => {
    const { alice } = await fresh();
    const tasks = [
      { id: "i1", title: "one", category: "docs", priority: 70 },
      { id: "i2", title: "two", blockedBy: ["i1"], meta: { team: "x" } },
      { id: "i3", title: "three", done: true },
    ];
    expect(await alice.taskImport({ tasks })).toMatchObject({
      ok: true,
      message: "3 added, 0 updated, 0 unchanged",
      data: { created: ["i1", "i2", "i3"], updated: [], unchanged: [] },
    });
    expect(await alice.taskImport({ tasks })).toMatchObject({ ok: true, data: { unchanged: ["i1", "i2", "i3"] } });
    expect(await alice.taskShow({ id: "i2" })).toMatchObject({
      data: { task: { state: "blocked", meta: { team: "x" } } },
    });
    const bad = await thrown(
      alice.taskImport({
        tasks: [
          { id: "i4", title: "four" },
          { id: "i5", title: "five", blockedBy: ["nope"], origin: "i5.md:3" },
        ],
      }),
    );
    expect(bad).toMatchObject({ code: "BLOCKER_UNKNOWN", details: { origin: "i5.md:3" } });
    expect(bad.message).toMatch(/^i5\.md:3: task i5 is blocked by "nope"/);
    expect(await alice.taskShow({ id: "i4" })).toMatchObject({ ok: false, code: "TASK_NOT_FOUND" });
    expect((await thrown(alice.taskImport({ tasks: [] }))).code).toBe("BAD_INPUT");
  });

  it("path claims by repository identity: all or none, the holder named, release and renew only mine, claim with paths ends them with the work", async () => {
    const { alice, bob } = await fresh();
    const repo = `root:${"a".repeat(40)}`;
    const other = `root:${"b".repeat(40)}`;
    const patterns = (r: OperationResult, field = "paths") =>
      ((r.data as Record<string, { pattern: string }[]>)[field] ?? []).map((p) => p.pattern);
    const granted = await alice.pathsClaim({ paths: ["src/auth/", "./docs/*.md"], repo, reason: "auth rewrite" });
    expect(granted).toMatchObject({ ok: true, data: { paths: [{ agent: "alice", mode: "exclusive" }, {}] } });
    expect(patterns(granted)).toEqual(["src/auth/", "docs/*.md"]);
    const conflict = await bob.pathsClaim({ paths: ["lib/", "src/auth/login.ts"], repo });
    expect(conflict).toMatchObject({ ok: false, code: "PATH_CONFLICT", holder: { agent: "alice" } });
    expect(((await bob.pathsList({ repo, mine: true })).data as { claims: unknown[] }).claims).toEqual([]);
    expect((await bob.pathsClaim({ paths: ["src/auth/"], repo: other, shared: true })).ok).toBe(true);
    // Bob's release and renew reach only his own claims: Alice's stay hers.
    expect(await bob.pathsRelease({ repo })).toMatchObject({ ok: true, data: { released: [] } });
    expect(await bob.pathsRenew({ repo })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
    expect(patterns(await alice.pathsRenew({ repo, ttl: "2h" }), "renewed").sort()).toEqual(["docs/*.md", "src/auth/"]);
    // A work claim with paths: both, or neither.
    expect(await bob.claim({ key: "task:p", paths: ["src/auth/x.ts"], repo })).toMatchObject({
      ok: false,
      code: "PATH_CONFLICT",
    });
    expect((await bob.show({ key: "task:p" })).data).toMatchObject({ claim: null });
    const both = await bob.claim({ key: "task:p", paths: ["tests/"], repo, reason: "tests first" });
    expect(both).toMatchObject({
      ok: true,
      data: { claim: { key: "task:p", agent: "bob" }, paths: [{ pattern: "tests/" }] },
    });
    expect((await bob.complete({ key: "task:p" })).ok).toBe(true);
    const listed = (await alice.pathsList({ repo, state: ["all"] })).data as {
      claims: { pattern: string; agent: string; state: string; repo: string; workKey: string | null }[];
    };
    expect(listed.claims.map((c) => [c.pattern, c.agent, c.state, c.workKey]).sort()).toEqual([
      ["docs/*.md", "alice", "active", null],
      ["src/auth/", "alice", "active", null],
      ["tests/", "bob", "released", "task:p"],
    ]);
    expect(listed.claims.every((c) => c.repo === repo)).toBe(true);
    const everywhere = (await alice.pathsList({ allRepos: true })).data as { claims: { repo: string }[] };
    expect(new Set(everywhere.claims.map((c) => c.repo))).toEqual(new Set([repo, other]));
    expect(patterns(await alice.pathsRelease({ repo, paths: ["src/auth/"], commit: "abc1234" }), "released")).toEqual([
      "src/auth/",
    ]);
  });

  it("task edits: update some fields, block and unblock, done and reopen, TASK_NOT_FOUND; context with the caller's rules", async () => {
    const { alice, bob } = await fresh();
    await alice.taskAdd({ id: "t1", title: "one", priority: 10 });
    await alice.taskAdd({ id: "t2", title: "two", paths: ["src/"], assignee: "bob", meta: { pr: 1 } });
    expect(await alice.taskShow({ id: "t2" })).toMatchObject({
      data: { task: { paths: ["src/"], assignee: "bob", meta: { pr: 1 } } },
    });
    const updated = await alice.taskUpdate({ id: "t1", title: "one, renamed", priority: 70, paths: ["./lib/"] });
    expect(updated).toMatchObject({
      ok: true,
      data: {
        changed: true,
        task: { id: "t1", title: "one, renamed", priority: 70, category: "general", paths: ["lib/"] },
      },
    });
    expect(await alice.taskUpdate({ id: "t1", priority: 70 })).toMatchObject({ ok: true, data: { changed: false } });
    expect(await alice.taskUpdate({ id: "t9", title: "x" })).toMatchObject({ ok: false, code: "TASK_NOT_FOUND" });
    expect((await thrown(alice.taskUpdate({ id: "t1", block: ["nope"] }))).code).toBe("BLOCKER_UNKNOWN");
    expect((await alice.taskUpdate({ id: "t1", block: ["t2"] })).ok).toBe(true);
    expect(await alice.taskShow({ id: "t1" })).toMatchObject({
      data: { task: { state: "blocked", blockedBy: ["t2"] } },
    });
    expect((await bob.claim({ key: "task:t2" })).ok).toBe(true);
    const done = await alice.taskDone({ id: "t2" });
    expect(done).toMatchObject({
      ok: true,
      data: { task: { state: "done" }, claim: { agent: "bob", state: "completed" } },
    });
    expect(await alice.taskShow({ id: "t1" })).toMatchObject({ data: { task: { state: "ready" } } });
    expect(await alice.taskReopen({ id: "t2" })).toMatchObject({ ok: true, data: { claim: { state: "released" } } });
    expect(await alice.taskDone({ id: "t9" })).toMatchObject({ ok: false, code: "TASK_NOT_FOUND" });
    expect((await alice.taskUpdate({ id: "t1", unblock: ["t2"] })).data).toMatchObject({ task: { blockedBy: [] } });
    // The rules as the caller read them: nothing is read where the operation runs.
    const rules = { path: "/fleet/.baton/RULES.md", text: "# Fleet rules\n\n1. Claim before you edit.\n" };
    const context = await bob.context({ rules });
    expect(context.message).toMatch(/Fleet rules \(version [0-9a-f]{12}\): \/fleet\/\.baton\/RULES\.md/);
    const data = context.data as { agent: string; sections: { id: string }[] };
    expect([data.agent, ...data.sections.slice(0, 2).map((section) => section.id)]).toEqual(["bob", "rules", "mine"]);
    expect((await bob.context({ rules: { path: "/fleet/none.md", text: null } })).message).toContain("no rules file");
  });

  it("events page forward after a cursor, with the audit ids", async () => {
    const { alice } = await fresh();
    for (let i = 0; i < 4; i++) await alice.claim({ key: `e:${i}` });
    const all = await alice.events({});
    expect(all.map((e) => e.key)).toEqual(["e:0", "e:1", "e:2", "e:3"]);
    const first = await alice.events({ after: 0, limit: 2 });
    expect(first.map((e) => e.key)).toEqual(["e:0", "e:1"]);
    const rest = await alice.events({ after: first[1]?.id ?? 0 });
    expect(rest.map((e) => e.key)).toEqual(["e:2", "e:3"]);
    expect(await alice.events({ after: all[3]?.id ?? 0 })).toEqual([]);
    expect((await alice.log({ kind: ["granted"], agent: "alice", limit: 1 })).data).toMatchObject({
      events: [{ key: "e:3" }],
    });
  });

  it("bad input is thrown with its code and changes nothing", async () => {
    const { session, alice } = await fresh();
    const cases: [() => Promise<unknown>, string][] = [
      [() => alice.claim({ key: "" }), "BAD_INPUT"],
      [() => alice.claim({ key: "k:1", ttl: "soon" }), "BAD_DURATION"],
      [() => alice.claim({ key: "k:1", extra: true } as never), "BAD_INPUT"],
      [() => alice.taskAdd({ id: "t", title: "t", priority: 500 }), "BAD_INPUT"],
      [() => alice.list({ state: ["sideways"] } as never), "BAD_INPUT"],
      // The checkout is not where the operation runs: the repository identity and repository-relative paths are needed.
      [() => alice.claim({ key: "k:1", paths: ["src/"] }), "BAD_INPUT"],
      [() => alice.pathsClaim({ paths: ["src/"] }), "BAD_INPUT"],
      [() => alice.pathsClaim({ paths: ["../outside"], repo: "root:abc1234" }), "BAD_PATH"],
      [() => alice.pathsRelease({ paths: [], repo: "root:abc1234" }), "BAD_INPUT"],
      [() => alice.pathsList({}), "BAD_INPUT"],
      [() => alice.claim({ key: "k:1", repo: "root:abc1234" }), "BAD_INPUT"],
      [() => alice.taskUpdate({ id: "t 1", title: "x" }), "BAD_INPUT"],
      [() => alice.context({ rules: { path: "" } } as never), "BAD_INPUT"],
    ];
    for (const [call, code] of cases) expect((await thrown(call())).code, String(call)).toBe(code);
    // Every surface words a schema's refusal one way (src/api/input-errors.ts).
    const refused = findOperation("claim")?.input.strict().safeParse({ key: 42 });
    expect((await thrown(alice.claim({ key: 42 } as never))).message).toBe(
      inputError("claim", refused?.error as z.ZodError).message,
    );
    expect(await session.baton.log()).toEqual([]);
    expect(await session.baton.list({ state: "all" })).toEqual([]);
  });

  it.runIf(target.name.startsWith("http"))(
    "over HTTP the token decides the agent: naming another is FORBIDDEN, nothing changed",
    async () => {
      const { session, alice } = await fresh();
      expect(await alice.whoami()).toEqual({ agent: "alice", role: "agent" });
      const url = (alice as HttpBatonApi).url;
      const token = (await session.baton.tokens.add("carol")).token;
      const asBob = new HttpBatonApi({ url, token, as: "bob" });
      expect((await thrown(asBob.claim({ key: "k:f" }))).code).toBe("FORBIDDEN");
      expect(await session.baton.list({ state: "all" })).toEqual([]);
      const stranger = new HttpBatonApi({ url, token: "not-a-token" });
      expect((await thrown(stranger.show({ key: "k:f" }))).code).toBe("UNAUTHENTICATED");
      expect((await thrown(alice.probe({ paths: ["src/"] }))).code).toBe("UNKNOWN_ROUTE");
    },
  );
});
