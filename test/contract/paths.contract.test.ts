/**
 * The path-claim part of the store contract, on SQLite and PostgreSQL alike:
 * all-or-nothing grants, overlap conflicts by mode, work + paths in one
 * transaction, renew, release, expiry and reap, each with its audit record.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { PathMode } from "../../src/core/path-plan.js";
import type { ClaimInput, PathClaimInput, Store } from "../../src/store/store.js";
import { type StoreTarget, TARGETS } from "./targets.js";

const HOUR = 3_600_000;
const REPO = "root:1111111111111111111111111111111111111111";
const OTHER_REPO = "root:2222222222222222222222222222222222222222";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function paths(agent: string, patterns: string[], extra: Partial<PathClaimInput> = {}): PathClaimInput {
  return {
    repo: REPO,
    agent,
    patterns,
    mode: "exclusive" as PathMode,
    ttlMs: HOUR,
    reason: null,
    advisory: false,
    work: null,
    ...extra,
  };
}

function work(key: string, agent: string): ClaimInput {
  return { key, agent, ttlMs: HOUR, meta: null, reopen: false, doneWindowMs: 24 * HOUR };
}

describe.each(TARGETS)("path claim contract: $name", (target: StoreTarget) => {
  const open: Store[] = [];
  async function fresh(): Promise<Store> {
    const store = await target.open();
    open.push(store);
    return store;
  }
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });
  const live = async (store: Store) =>
    (await store.listPaths({ states: ["active"], limit: 1000 })).map((p) => `${p.agent}:${p.pattern}`).sort();

  it("grants every pattern under one token, logged per pattern", async () => {
    const store = await fresh();
    const r = await store.claimPaths(paths("a", ["src/auth/", "docs/*.md"], { reason: "auth rewrite", ttlMs: 60_000 }));
    expect(r.outcome).toBe("granted");
    if (r.outcome !== "granted") return;
    expect(r.claims.map((c) => c.pattern)).toEqual(["src/auth/", "docs/*.md"]);
    expect(new Set(r.claims.map((c) => c.token)).size).toBe(1);
    expect(r.claims[0]).toMatchObject({
      repo: REPO,
      agent: "a",
      mode: "exclusive",
      state: "active",
      reason: "auth rewrite",
    });
    expect((r.claims[0]?.expiresAt.getTime() ?? 0) - (r.claims[0]?.claimedAt.getTime() ?? 0)).toBe(60_000);
    const events = await store.events({ limit: 10 });
    expect(events.map((e) => [e.kind, e.key])).toEqual([
      ["granted", "path:src/auth/"],
      ["granted", "path:docs/*.md"],
    ]);
    expect(events[0]?.detail).toEqual({ repo: REPO, mode: "exclusive", ttlMs: 60_000 });
  });

  it("refuses all patterns when any conflicts, listing every conflict, and logs the denial", async () => {
    const store = await fresh();
    await store.claimPaths(paths("a", ["src/**"], { reason: "refactor" }));
    await store.claimPaths(paths("b", ["docs/"]));
    const before = await live(store);
    const r = await store.claimPaths(paths("c", ["README.md", "src/a.ts", "docs/x.md"]));
    expect(r.outcome).toBe("conflict");
    if (r.outcome !== "conflict") return;
    expect(r.conflicts.map((c) => [c.pattern, c.held.pattern, c.held.agent])).toEqual([
      ["src/a.ts", "src/**", "a"],
      ["docs/x.md", "docs/", "b"],
    ]);
    expect(r.conflicts[0]?.held.reason).toBe("refactor");
    expect(await live(store)).toEqual(before);
    const denied = await store.events({ kinds: ["denied"], limit: 10 });
    expect(denied.map((e) => e.key)).toEqual(["path:src/a.ts", "path:docs/x.md"]);
    expect(denied[0]?.detail).toMatchObject({
      code: "PATH_CONFLICT",
      repo: REPO,
      conflicts: [{ pattern: "src/**", holder: "a", mode: "exclusive", reason: "refactor" }],
    });
  });

  it("applies the modes: shared with shared is fine, exclusive meets anything", async () => {
    const store = await fresh();
    expect((await store.claimPaths(paths("a", ["lib/"], { mode: "shared" }))).outcome).toBe("granted");
    expect((await store.claimPaths(paths("b", ["lib/x.ts"], { mode: "shared" }))).outcome).toBe("granted");
    expect((await store.claimPaths(paths("c", ["lib/*.ts"]))).outcome).toBe("conflict");
    await store.claimPaths(paths("d", ["bin/run"]));
    expect((await store.claimPaths(paths("e", ["bin/"], { mode: "shared" }))).outcome).toBe("conflict");
    // Non-overlapping patterns never conflict: a folder glob vs a deeper file.
    expect((await store.claimPaths(paths("f", ["lib2/*.ts"]))).outcome).toBe("granted");
    expect((await store.claimPaths(paths("g", ["lib2/x/b.ts"]))).outcome).toBe("granted");
  });

  it("keeps repositories apart, and an agent never conflicts with itself", async () => {
    const store = await fresh();
    await store.claimPaths(paths("a", ["src/"]));
    expect((await store.claimPaths(paths("b", ["src/"], { repo: OTHER_REPO }))).outcome).toBe("granted");
    const first = await store.claimPaths(paths("a", ["src/a.ts"]));
    expect(first.outcome).toBe("granted");
    const again = await store.claimPaths(paths("a", ["src/", "src/b.ts"], { ttlMs: 2 * HOUR }));
    expect(again.outcome).toBe("granted");
    if (again.outcome !== "granted" || first.outcome !== "granted") return;
    const srcBefore = (await store.listPaths({ repo: REPO, states: ["active"], limit: 10 })).find(
      (p) => p.pattern === "src/",
    );
    expect(again.claims[0]?.id).toBe(srcBefore?.id);
    expect(again.claims[0]?.token).toBeLessThan(again.claims[1]?.token as number);
    expect((await store.events({ key: "path:src/", limit: 10 })).map((e) => e.kind)).toEqual([
      "granted",
      "granted",
      "renewed",
    ]);
  });

  it("grants with the conflicts reported only when asked to be advisory", async () => {
    const store = await fresh();
    await store.claimPaths(paths("a", ["app.ts"]));
    const r = await store.claimPaths(paths("b", ["app.ts"], { advisory: true }));
    expect(r.outcome).toBe("granted");
    if (r.outcome !== "granted") return;
    expect(r.conflicts.map((c) => c.held.agent)).toEqual(["a"]);
    const granted = await store.events({ key: "path:app.ts", kinds: ["granted"], limit: 10 });
    expect(granted[1]?.detail).toMatchObject({ advisory: true, overriddenConflicts: 1 });
  });

  it("claims a work key and its paths in one transaction: both, or neither", async () => {
    const store = await fresh();
    const both = await store.claimPaths(paths("a", ["src/x.ts"], { work: work("task:1", "a") }));
    expect(both.outcome).toBe("granted");
    if (both.outcome !== "granted") return;
    expect(both.work?.outcome).toBe("granted");
    expect(both.claims[0]?.token).toBe(both.work?.claim.token);
    expect(both.claims[0]?.workKey).toBe("task:1");
    // The work is held: no paths for b, and b's denial is logged.
    const refused = await store.claimPaths(paths("b", ["other.ts"], { work: work("task:1", "b") }));
    expect(refused.outcome).toBe("work_refused");
    expect(await live(store)).toEqual(["a:src/x.ts"]);
    expect((await store.events({ key: "task:1", limit: 10 })).map((e) => e.kind)).toEqual(["granted", "denied"]);
    // The paths conflict: the work is not claimed.
    const conflict = await store.claimPaths(paths("b", ["src/"], { work: work("task:2", "b") }));
    expect(conflict.outcome).toBe("conflict");
    expect(await store.get("task:2")).toBeNull();
  });

  it("renews and releases the agent's own claims, all or by pattern", async () => {
    const store = await fresh();
    const granted = await store.claimPaths(paths("a", ["a/", "b/", "c/"], { ttlMs: 60_000 }));
    await store.claimPaths(paths("z", ["z/"]));
    const renewed = await store.renewPaths({ repo: REPO, agent: "a", patterns: ["b/"], ttlMs: HOUR });
    expect(renewed.map((p) => p.pattern)).toEqual(["b/"]);
    if (granted.outcome === "granted") {
      expect(renewed[0]?.expiresAt.getTime()).toBeGreaterThan(granted.claims[1]?.expiresAt.getTime() as number);
      expect(renewed[0]?.token).toBe(granted.claims[1]?.token);
    }
    const one = await store.releasePaths({ repo: REPO, agent: "a", patterns: ["a/"], commit: "abc1234" });
    expect(one.map((p) => [p.pattern, p.state, p.commit])).toEqual([["a/", "released", "abc1234"]]);
    expect((await store.claimPaths(paths("b", ["a/x"]))).outcome).toBe("granted");
    const rest = await store.releasePaths({ repo: REPO, agent: "a", patterns: null, commit: null });
    expect(rest.map((p) => p.pattern)).toEqual(["b/", "c/"]);
    expect(await store.releasePaths({ repo: REPO, agent: "a", patterns: null, commit: null })).toEqual([]);
    expect(await live(store)).toEqual(["b:a/x", "z:z/"]);
    const released = await store.events({ kinds: ["released"], limit: 10 });
    expect(released[0]).toMatchObject({ key: "path:a/", commit: "abc1234", detail: { repo: REPO } });
  });

  it("lets expired claims stop conflicting, and reaps them into loose ends", async () => {
    const store = await fresh();
    await store.claimPaths(paths("a", ["tmp/"], { ttlMs: 30 }));
    await sleep(60);
    expect((await store.listPaths({ states: ["expired"], limit: 10 })).map((p) => p.pattern)).toEqual(["tmp/"]);
    expect((await store.claimPaths(paths("b", ["tmp/x"]))).outcome).toBe("granted");
    expect(await store.reapPaths({ minAgeMs: HOUR, by: null })).toEqual([]);
    const reaped = await store.reapPaths({ minAgeMs: 0, by: "janitor" });
    expect(reaped.map((p) => [p.pattern, p.state, p.agent])).toEqual([["tmp/", "abandoned", "a"]]);
    const [event] = await store.events({ kinds: ["reaped"], limit: 10 });
    expect(event).toMatchObject({ key: "path:tmp/", agent: "a" });
    expect(Object.keys(event?.detail ?? {})).toEqual(["by", "repo", "expiredAt"]);
    expect(await store.reapPaths({ minAgeMs: 0, by: null })).toEqual([]);
  });

  it("records a commit against the agent's live path claims, logged as committed", async () => {
    const store = await fresh();
    await store.claimPaths(paths("a", ["src/", "docs/"]));
    await store.claimPaths(paths("b", ["lib/"]));
    const noted = await store.notePathCommit({ repo: REPO, agent: "a", patterns: ["src/"], commit: "abcdef1" });
    expect(noted.map((p) => [p.pattern, p.commit, p.state])).toEqual([["src/", "abcdef1", "active"]]);
    const all = await store.notePathCommit({ repo: REPO, agent: "a", patterns: null, commit: "abcdef2" });
    expect(all.map((p) => p.pattern)).toEqual(["src/", "docs/"]);
    expect(await store.notePathCommit({ repo: OTHER_REPO, agent: "a", patterns: null, commit: "abcdef3" })).toEqual([]);
    const events = await store.events({ kinds: ["committed"], limit: 10 });
    expect(events.map((e) => [e.key, e.commit])).toEqual([
      ["path:src/", "abcdef1"],
      ["path:src/", "abcdef2"],
      ["path:docs/", "abcdef2"],
    ]);
    expect(events[0]?.detail).toEqual({ repo: REPO });
  });

  it("lists by repository, agent and state, newest first", async () => {
    const store = await fresh();
    await store.claimPaths(paths("a", ["one"]));
    await sleep(3);
    await store.claimPaths(paths("b", ["two"], { repo: OTHER_REPO }));
    await sleep(3);
    await store.claimPaths(paths("a", ["three"]));
    await store.releasePaths({ repo: REPO, agent: "a", patterns: ["one"], commit: null });
    const list = async (f: Partial<Parameters<Store["listPaths"]>[0]>) =>
      (await store.listPaths({ states: ["active"], limit: 100, ...f })).map((p) => p.pattern);
    expect(await list({})).toEqual(["three", "two"]);
    expect(await list({ repo: REPO })).toEqual(["three"]);
    expect(await list({ agent: "b" })).toEqual(["two"]);
    expect(await list({ states: ["released"] })).toEqual(["one"]);
    expect(await list({ states: [] })).toEqual(["three", "two", "one"]);
  });
});
