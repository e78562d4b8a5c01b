/**
 * The store contract: every operation, every outcome, every error, run against
 * SQLite and PostgreSQL alike. A store that passes it can sit under Baton.
 */
import { afterEach, describe, expect, it } from "vitest";
import { isBatonError } from "../../src/core/errors.js";
import type { BatonEvent } from "../../src/core/types.js";
import type { ClaimInput, Store } from "../../src/store/store.js";
import { type StoreTarget, TARGETS } from "./targets.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function input(key: string, agent: string, extra: Partial<ClaimInput> = {}): ClaimInput {
  return { key, agent, ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: DAY, ...extra };
}

describe.each(TARGETS)("store contract: $name", (target: StoreTarget) => {
  const open: Store[] = [];
  async function fresh(): Promise<Store> {
    const store = await target.open();
    open.push(store);
    return store;
  }
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });

  async function kinds(store: Store, key?: string): Promise<string[]> {
    return (await store.events({ key, limit: 1000 })).map((e) => e.kind);
  }

  it("reads its own clock and says what it can do", async () => {
    const store = await fresh();
    const now = await store.now();
    expect(Math.abs(now.getTime() - Date.now())).toBeLessThan(60_000);
    expect(store.capabilities.serverClock).toBe(target.name === "postgres");
    expect(store.capabilities.multiMachine).toBe(target.name === "postgres");
    expect(store.description).toMatch(target.name === "postgres" ? /^postgres:/ : /^sqlite:/);
  });

  it("grants a free key with a token, an expiry and its metadata, keys in the order given", async () => {
    const store = await fresh();
    const meta = { zeta: 1, alpha: { nested: [1, "two"] }, mid: null };
    const r = await store.claim(input("task:1", "a", { ttlMs: 90_000, meta }));
    expect(r.outcome).toBe("granted");
    if (r.outcome !== "granted") return;
    expect(r.previous).toBeNull();
    expect(r.claim).toMatchObject({ key: "task:1", agent: "a", state: "active", endedAt: null, result: null });
    expect(r.claim.token).toBeGreaterThanOrEqual(1);
    expect(r.claim.expiresAt.getTime() - r.claim.claimedAt.getTime()).toBe(90_000);
    expect(JSON.stringify(r.claim.meta)).toBe(JSON.stringify(meta));
    const [event] = await store.events({ limit: 10 });
    expect(event).toMatchObject({ kind: "granted", key: "task:1", agent: "a", token: r.claim.token });
    expect(event?.detail).toEqual({ ttlMs: 90_000 });
  });

  it("draws tokens that only grow, across keys and grants", async () => {
    const store = await fresh();
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await store.claim(input(`k${i % 2}`, `agent-${i}`, { ttlMs: 1 }));
      expect(r.outcome).toBe("granted");
      tokens.push(r.claim.token);
      await sleep(5);
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as number);
  });

  it("renews its holder's claim with the same token, keeping metadata unless new is given", async () => {
    const store = await fresh();
    const first = await store.claim(input("k", "a", { meta: { v: 1 } }));
    const again = await store.claim(input("k", "a", { ttlMs: 2 * HOUR }));
    expect(again.outcome).toBe("renewed");
    expect(again.claim.token).toBe(first.claim.token);
    expect(again.claim.expiresAt.getTime()).toBeGreaterThan(first.claim.expiresAt.getTime());
    expect(again.claim.meta).toEqual({ v: 1 });
    const third = await store.claim(input("k", "a", { meta: { v: 2 } }));
    expect(third.claim.meta).toEqual({ v: 2 });
    expect(await kinds(store)).toEqual(["granted", "renewed", "renewed"]);
  });

  it("denies a live claim of another agent, naming the holder, and records the denial", async () => {
    const store = await fresh();
    const held = await store.claim(input("k", "a"));
    const denied = await store.claim(input("k", "b"));
    expect(denied.outcome).toBe("denied");
    expect(denied.claim).toMatchObject({ agent: "a", token: held.claim.token, state: "active" });
    const events = await store.events({ key: "k", limit: 10 });
    expect(events.map((e) => e.kind)).toEqual(["granted", "denied"]);
    const denial = events[1] as BatonEvent;
    expect(denial).toMatchObject({ agent: "b", token: null });
    expect(Object.keys(denial.detail ?? {})).toEqual(["code", "holder", "holderToken", "expiresAt"]);
    expect(denial.detail).toEqual({
      code: "CLAIM_HELD",
      holder: "a",
      holderToken: held.claim.token,
      expiresAt: held.claim.expiresAt.toISOString(),
    });
  });

  it("completes for the live holder only, and refuses a redo within the done window", async () => {
    const store = await fresh();
    const held = await store.claim(input("k", "a"));
    expect(await store.complete({ key: "k", agent: "b", result: "x" })).toMatchObject({
      ok: false,
      code: "NOT_HOLDER",
    });
    const done = await store.complete({ key: "k", agent: "a", result: "fixed", commit: "abc1234" });
    expect(done.ok).toBe(true);
    expect(done.claim).toMatchObject({
      state: "completed",
      result: "fixed",
      commit: "abc1234",
      token: held.claim.token,
    });
    expect(done.claim?.endedAt).toBeInstanceOf(Date);
    const redo = await store.claim(input("k", "b"));
    expect(redo.outcome).toBe("done");
    expect(redo.claim).toMatchObject({ agent: "a", state: "completed", result: "fixed" });
    const events = await store.events({ key: "k", limit: 10 });
    expect(events.map((e) => e.kind)).toEqual(["granted", "completed", "denied"]);
    expect(events[1]).toMatchObject({ commit: "abc1234", detail: { result: "fixed" } });
    expect(events[2]?.detail).toMatchObject({
      code: "CLAIM_DONE",
      holder: "a",
      completedAt: done.claim?.endedAt?.toISOString(),
    });
    // The holder cannot complete twice.
    expect(await store.complete({ key: "k", agent: "a" })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
  });

  it("grants a completed key again with reopen, or once the done window has passed", async () => {
    const store = await fresh();
    const first = await store.claim(input("k", "a"));
    await store.complete({ key: "k", agent: "a" });
    const reopened = await store.claim(input("k", "b", { reopen: true }));
    expect(reopened.outcome).toBe("granted");
    if (reopened.outcome !== "granted") return;
    expect(reopened.previous).toMatchObject({ agent: "a", state: "completed", token: first.claim.token });
    expect(reopened.claim.token).toBeGreaterThan(first.claim.token);
    const [, , granted] = await store.events({ key: "k", limit: 10 });
    expect(granted?.detail).toEqual({
      ttlMs: HOUR,
      previousAgent: "a",
      previousState: "completed",
      previousToken: first.claim.token,
      reopened: true,
    });
    await store.complete({ key: "k", agent: "b" });
    const afterWindow = await store.claim(input("k", "c", { doneWindowMs: 0 }));
    expect(afterWindow.outcome).toBe("granted");
  });

  it("renews only a live claim of its holder, and says why not otherwise", async () => {
    const store = await fresh();
    expect(await store.renew({ key: "nope", agent: "a", ttlMs: HOUR })).toEqual({
      ok: false,
      code: "NOT_FOUND",
      claim: null,
    });
    const held = await store.claim(input("k", "a", { ttlMs: 60_000 }));
    const renewed = await store.renew({ key: "k", agent: "a", ttlMs: HOUR });
    expect(renewed).toMatchObject({ ok: true, claim: { token: held.claim.token, state: "active" } });
    expect(renewed.claim?.expiresAt.getTime()).toBeGreaterThan(held.claim.expiresAt.getTime());
    expect(await store.renew({ key: "k", agent: "b", ttlMs: HOUR })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
    await store.claim(input("short", "a", { ttlMs: 30 }));
    await sleep(60);
    const before = await store.events({ limit: 1000 });
    expect(await store.renew({ key: "short", agent: "a", ttlMs: HOUR })).toMatchObject({
      ok: false,
      code: "CLAIM_EXPIRED",
      claim: { state: "expired" },
    });
    expect(await store.complete({ key: "short", agent: "a" })).toMatchObject({ ok: false, code: "CLAIM_EXPIRED" });
    expect(await store.events({ limit: 1000 })).toEqual(before);
  });

  it("hands an expired claim to the next agent with a larger token; the old holder is out", async () => {
    const store = await fresh();
    const old = await store.claim(input("k", "a", { ttlMs: 30 }));
    await sleep(60);
    expect((await store.get("k"))?.state).toBe("expired");
    const next = await store.claim(input("k", "b"));
    expect(next.outcome).toBe("granted");
    if (next.outcome !== "granted") return;
    expect(next.claim.token).toBeGreaterThan(old.claim.token);
    expect(next.previous).toMatchObject({ agent: "a", state: "expired", token: old.claim.token });
    expect(await store.complete({ key: "k", agent: "a" })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
    expect(await store.renew({ key: "k", agent: "a", ttlMs: HOUR })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
  });

  it("releases and abandons, also an expired claim nobody took, with an audit record", async () => {
    const store = await fresh();
    await store.claim(input("r", "a"));
    expect(await store.release({ key: "r", agent: "b" })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
    expect(await store.release({ key: "r", agent: "a", commit: "deadbeef" })).toMatchObject({
      ok: true,
      claim: { state: "released", commit: "deadbeef" },
    });
    const regrant = await store.claim(input("r", "b"));
    expect(regrant).toMatchObject({ outcome: "granted", previous: { state: "released", agent: "a" } });
    await store.claim(input("x", "a", { ttlMs: 30 }));
    await sleep(60);
    expect(await store.abandon({ key: "x", agent: "a", reason: "blocked on review" })).toMatchObject({
      ok: true,
      claim: { state: "abandoned", reason: "blocked on review" },
    });
    expect(await store.abandon({ key: "x", agent: "a" })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
    expect(await store.abandon({ key: "none", agent: "a" })).toMatchObject({ ok: false, code: "NOT_FOUND" });
    const events = await store.events({ limit: 100 });
    expect(events.find((e) => e.kind === "released")).toMatchObject({ key: "r", commit: "deadbeef", detail: null });
    expect(events.find((e) => e.kind === "abandoned")).toMatchObject({
      key: "x",
      detail: { reason: "blocked on review" },
    });
  });

  it("reaps only claims expired for at least the minimum age, oldest first, once", async () => {
    const store = await fresh();
    await store.claim(input("b", "agent-b", { ttlMs: 20, meta: { pr: 7, note: "two words" } }));
    await sleep(5);
    await store.claim(input("a", "agent-a", { ttlMs: 20 }));
    await store.claim(input("live", "agent-c"));
    await sleep(60);
    expect(await store.reap({ minAgeMs: HOUR, by: null })).toEqual([]);
    const reaped = await store.reap({ minAgeMs: 0, by: "janitor" });
    expect(reaped.map((c) => c.key)).toEqual(["b", "a"]);
    for (const claim of reaped) {
      expect(claim).toMatchObject({ state: "abandoned", reason: "reaped: expired without completion" });
      // The answer is the row the reap wrote, as the store reads it back (meta included).
      expect(claim).toEqual(await store.get(claim.key));
    }
    expect(reaped[0]?.meta).toEqual({ pr: 7, note: "two words" });
    expect(await store.reap({ minAgeMs: 0, by: null })).toEqual([]);
    const events = await store.events({ kinds: ["reaped"], limit: 10 });
    expect(events.map((e) => [e.key, e.agent])).toEqual([
      ["b", "agent-b"],
      ["a", "agent-a"],
    ]);
    expect(Object.keys(events[0]?.detail ?? {})).toEqual(["by", "expiredAt"]);
    expect(events[0]?.detail?.expiredAt).toBe(reaped[0]?.expiresAt.toISOString());
    expect((await store.get("live"))?.state).toBe("active");
    expect((await store.claim(input("a", "agent-d"))).outcome).toBe("granted");
  });

  it("lists by state, agent and literal prefix, newest grant first, within the limit", async () => {
    const store = await fresh();
    expect(await store.get("missing")).toBeNull();
    await store.claim(input("task:1", "a"));
    await sleep(3);
    await store.claim(input("task:2", "b"));
    await sleep(3);
    await store.claim(input("t%sk_3", "a"));
    await sleep(3);
    await store.claim(input("other", "a", { ttlMs: 20 }));
    await store.claim(input("gone", "b"));
    await store.complete({ key: "gone", agent: "b" });
    await sleep(40);
    const keys = async (filter: Parameters<Store["list"]>[0]) => (await store.list(filter)).map((c) => c.key);
    expect(await keys({ states: ["active"], limit: 100 })).toEqual(["t%sk_3", "task:2", "task:1"]);
    expect(await keys({ states: ["expired"], limit: 100 })).toEqual(["other"]);
    expect(await keys({ states: ["completed", "expired"], limit: 100 })).toEqual(["gone", "other"]);
    expect(await keys({ states: ["active"], agent: "a", limit: 100 })).toEqual(["t%sk_3", "task:1"]);
    expect(await keys({ states: ["active"], prefix: "task:", limit: 100 })).toEqual(["task:2", "task:1"]);
    expect(await keys({ states: ["active"], prefix: "t%", limit: 100 })).toEqual(["t%sk_3"]);
    expect(await keys({ states: ["active"], prefix: "t_", limit: 100 })).toEqual([]);
    expect(await keys({ states: ["active"], limit: 1 })).toEqual(["t%sk_3"]);
    expect(await keys({ states: [], limit: 100 })).toHaveLength(5);
  });

  it("returns the audit log oldest first, filtered, the newest N, with growing ids", async () => {
    const store = await fresh();
    for (let i = 0; i < 6; i++) await store.claim(input(`k${i % 3}`, i < 3 ? "a" : "b"));
    const all = await store.events({ limit: 100 });
    expect(all).toHaveLength(6);
    for (let i = 1; i < all.length; i++) expect(all[i]?.id).toBeGreaterThan(all[i - 1]?.id as number);
    expect((await store.events({ limit: 2 })).map((e) => e.id)).toEqual(all.slice(-2).map((e) => e.id));
    expect((await store.events({ key: "k0", limit: 100 })).map((e) => e.kind)).toEqual(["granted", "denied"]);
    expect((await store.events({ agent: "b", limit: 100 })).every((e) => e.kind === "denied")).toBe(true);
    expect(await store.events({ kinds: ["completed"], limit: 100 })).toEqual([]);
    expect(await store.events({ sinceMs: 60_000, limit: 100 })).toHaveLength(6);
    await sleep(30);
    expect(await store.events({ sinceMs: 10, limit: 100 })).toEqual([]);
  });

  it("keeps long and non-ASCII keys and agents exactly", async () => {
    const store = await fresh();
    const key = `issue:${"é".repeat(200)}🦊${"x".repeat(300)}`;
    const agent = "ops@host/agent-1.2:a_b";
    const r = await store.claim(input(key, agent));
    expect(r.claim.key).toBe(key);
    expect((await store.get(key))?.agent).toBe(agent);
    expect((await store.list({ states: ["active"], prefix: "issue:é", limit: 5 })).map((c) => c.key)).toEqual([key]);
  });

  it("records an audit event that decides nothing", async () => {
    const store = await fresh();
    const event = await store.recordEvent({
      kind: "bypassed",
      key: "path:src/a.ts",
      agent: "a",
      commit: null,
      detail: { guard: "pre-commit", files: ["src/a.ts"] },
    });
    expect(event).toMatchObject({ kind: "bypassed", key: "path:src/a.ts", agent: "a", token: null });
    expect(await store.events({ limit: 10 })).toEqual([event]);
    expect(await store.get("path:src/a.ts")).toBeNull();
  });

  it("refuses a write whose added blockers are unknown or close a cycle, writing nothing of it", async () => {
    const store = await fresh();
    const t = (id: string, blockedBy: string[] = [], done = false) => ({
      id,
      title: id,
      category: "general",
      priority: 50,
      done,
      blockedBy,
      paths: [],
      assignee: null,
      meta: null,
      source: null,
    });
    const ids = async () => (await store.listTasks({ limit: 100 })).map((x) => x.id).sort();
    expect(await store.putTasks([t("a", ["ghost"])], "add")).toEqual({
      ok: false,
      code: "BLOCKER_UNKNOWN",
      id: "a",
      blocker: "ghost",
    });
    expect(await ids()).toEqual([]);
    // A blocker added in the same write is known; so is a done task.
    expect(await store.putTasks([t("b", ["c", "old"]), t("c"), t("old", [], true)], "add")).toMatchObject({
      ok: true,
      created: ["b", "c", "old"],
    });
    // A cycle through what is stored: c waits for b, which waits for c.
    expect(await store.putTasks([t("c", ["b"])], "update")).toEqual({
      ok: false,
      code: "BLOCKER_CYCLE",
      id: "c",
      cycle: ["c", "b", "c"],
    });
    // A longer cycle inside one write: none of it is written, not even the innocent task.
    expect(await store.putTasks([t("w"), t("x", ["y"]), t("y", ["z"]), t("z", ["x"])], "upsert")).toEqual({
      ok: false,
      code: "BLOCKER_CYCLE",
      id: "x",
      cycle: ["x", "y", "z", "x"],
    });
    expect(await ids()).toEqual(["b", "c", "old"]);
    expect((await store.getTask("c"))?.blockedBy).toEqual([]);
    // Rewriting a task with the blockers it already has is not judged again; new ones are.
    expect(await store.putTasks([{ ...t("b", ["c", "old"]), title: "b2" }], "update")).toMatchObject({
      ok: true,
      updated: ["b"],
    });
    expect(await store.putTasks([t("b", ["c", "old", "nope"])], "update")).toMatchObject({
      ok: false,
      code: "BLOCKER_UNKNOWN",
      blocker: "nope",
    });
  });

  it("reports its schema as current", async () => {
    const store = await fresh();
    const status = await store.schemaStatus();
    expect(status.version).toBe(status.supported);
    expect(status.pending).toEqual([]);
  });

  it("refuses every call once closed, with STORE_CLOSED", async () => {
    const store = await target.open();
    await store.close();
    await store.close();
    for (const call of [
      () => store.claim(input("k", "a")),
      () => store.get("k"),
      () => store.events({ limit: 1 }),
      () => store.now(),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isBatonError(error) && error.code).toBe("STORE_CLOSED");
    }
  });
});

// Compares the two stores: only when BATON_TEST_STORE selects both.
describe.skipIf(TARGETS.length < 2)("both stores answer alike", () => {
  it("gives the same outcomes, states, tokens and audit log for one script", async () => {
    const transcripts: unknown[] = [];
    for (const target of TARGETS) {
      const store = await target.open();
      try {
        const out: unknown[] = [];
        const strip = (value: unknown): unknown =>
          JSON.parse(
            JSON.stringify(value, (k, v) =>
              ["claimedAt", "expiresAt", "endedAt", "at", "id", "expiredAt", "completedAt", "now"].includes(k)
                ? "<t>"
                : v,
            ),
          );
        const base = (await store.claim(input("seed", "s"))).claim.token;
        const tok = (value: { claim: { token: number } | null }) => (value.claim ? value.claim.token - base : null);
        const step = async (name: string, value: { claim: { token: number } | null } & object) =>
          out.push([name, strip({ ...value, claim: { ...value.claim, token: tok(value) } })]);
        await step("claim a", await store.claim(input("k1", "a", { meta: { b: 1, a: 2 } })));
        await step("claim b", await store.claim(input("k1", "b")));
        await step("renew a", await store.renew({ key: "k1", agent: "a", ttlMs: 5000 }));
        await step("complete a", await store.complete({ key: "k1", agent: "a", result: "ok", commit: "c0ffee" }));
        await step("claim c", await store.claim(input("k1", "c")));
        await step("reopen c", await store.claim(input("k1", "c", { reopen: true })));
        await step("abandon c", await store.abandon({ key: "k1", agent: "c", reason: "why" }));
        await step("release x", await store.release({ key: "k1", agent: "x" }));
        await step("short d", await store.claim(input("k2", "d", { ttlMs: 20 })));
        await sleep(50);
        out.push(["reap", strip((await store.reap({ minAgeMs: 0, by: "r" })).map((c) => ({ ...c, token: 0 })))]);
        // By key: two grants in the same millisecond may order either way by time.
        const all = (await store.list({ states: [], limit: 10 })).sort((a, b) => (a.key < b.key ? -1 : 1));
        out.push(["list", strip(all.map((c) => ({ ...c, token: 0 })))]);
        out.push([
          "log",
          strip(
            (await store.events({ limit: 100 })).map((e) => ({
              ...e,
              token: e.token === null ? null : e.token - base,
              detail:
                e.detail && typeof e.detail.holderToken === "number"
                  ? { ...e.detail, holderToken: e.detail.holderToken - base }
                  : e.detail && typeof e.detail.previousToken === "number"
                    ? { ...e.detail, previousToken: e.detail.previousToken - base }
                    : e.detail,
            })),
          ),
        ]);
        transcripts.push(out);
      } finally {
        await store.close();
      }
    }
    expect(transcripts).toHaveLength(2);
    expect(transcripts[0]).toHaveLength(12);
    expect(JSON.stringify(transcripts[1], null, 1)).toBe(JSON.stringify(transcripts[0], null, 1));
  });
});
