/**
 * The public library on real SQLite files: outcomes as values, errors as typed
 * exceptions that change nothing, expiry with an injected clock, withClaim.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type Baton, BatonError, openBaton } from "../src/index.js";
import { tempDir } from "./helpers.js";

const opened: Baton[] = [];
afterEach(async () => {
  for (const b of opened.splice(0)) await b.close();
});

async function fresh(options: Parameters<typeof openBaton>[0] = {}): Promise<Baton> {
  const baton = await openBaton({ db: join(tempDir(), "lib.db"), ...options });
  opened.push(baton);
  return baton;
}

/** A clock the test moves by hand. */
function manualClock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return error instanceof BatonError ? error.code : `not a BatonError: ${String(error)}`;
  }
  return undefined;
}

describe("the library", () => {
  it("answers granted, renewed, denied and done as values with messages", async () => {
    const baton = await fresh();
    const granted = await baton.claim("task:1", { as: "a", ttl: "30m", meta: { issue: 1 } });
    expect(granted).toMatchObject({
      ok: true,
      outcome: "granted",
      previous: null,
      claim: { agent: "a", meta: { issue: 1 } },
    });
    const renewed = await baton.claim("task:1", { as: "a" });
    expect(renewed).toMatchObject({ ok: true, outcome: "renewed", claim: { token: granted.claim.token } });
    const denied = await baton.claim("task:1", { as: "b" });
    expect(denied).toMatchObject({ ok: false, outcome: "denied", code: "CLAIM_HELD", holder: "a" });
    expect(denied.message).toMatch(/held by a since .* \(expires .*\)/);
    await baton.complete("task:1", { as: "a", result: "fixed in #43" });
    const done = await baton.claim("task:1", { as: "b" });
    expect(done).toMatchObject({ ok: false, outcome: "done", code: "CLAIM_DONE", holder: "a" });
    expect(done.message).toContain("done by a at");
    expect(done.message).toContain("fixed in #43 — verify instead of redoing");
    const reopened = await baton.claim("task:1", { as: "b", reopen: true });
    expect(reopened).toMatchObject({ ok: true, outcome: "granted", previous: { state: "completed" } });
    expect(reopened.claim.token).toBeGreaterThan(granted.claim.token);
  });

  it("expires, hands over with a larger token, refuses the old holder, and reaps (injected clock)", async () => {
    const clock = manualClock();
    const baton = await fresh({ clock: clock.now });
    const first = await baton.claim("k", { as: "a", ttl: "10m" });
    clock.advance(11 * 60_000);
    expect((await baton.show("k")).claim?.state).toBe("expired");
    expect(await baton.renew("k", { as: "a" })).toMatchObject({ ok: false, code: "CLAIM_EXPIRED" });
    expect(await baton.complete("k", { as: "a" })).toMatchObject({ ok: false, code: "CLAIM_EXPIRED" });
    await baton.claim("other", { as: "c", ttl: "1m" });
    clock.advance(90_000); // "other" expired 30 s ago: younger than the minimum age

    const reap = await baton.reap({ minAge: "1m", as: "janitor" });
    expect(reap.reaped.map((c) => c.key)).toEqual(["k"]);
    expect(reap.message).toBe("reaped 1 stale claim (expired >1m) -> abandoned");
    const next = await baton.claim("k", { as: "b" });
    expect(next).toMatchObject({ ok: true, outcome: "granted", previous: { state: "abandoned", agent: "a" } });
    expect(next.claim.token).toBeGreaterThan(first.claim.token);
    expect(await baton.complete("k", { as: "a" })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
  });

  it("checks fencing tokens: only the live holder's token passes", async () => {
    const clock = manualClock();
    const baton = await fresh({ clock: clock.now });
    const a = await baton.claim("deploy", { as: "a", ttl: "1m" });
    expect((await baton.check("deploy", a.claim.token)).ok).toBe(true);
    expect(await baton.check("deploy", a.claim.token + 1)).toMatchObject({ ok: false, code: "TOKEN_STALE" });
    clock.advance(2 * 60_000);
    expect((await baton.check("deploy", a.claim.token)).ok).toBe(false);
    const b = await baton.claim("deploy", { as: "b" });
    expect((await baton.check("deploy", a.claim.token)).ok).toBe(false);
    expect((await baton.check("deploy", b.claim.token)).ok).toBe(true);
    expect(await baton.check("never", 1)).toMatchObject({ ok: false, code: "NOT_FOUND" });
  });

  it("lists and logs with filters, denials included", async () => {
    const baton = await fresh();
    await baton.claim("task:1", { as: "a" });
    await baton.claim("task:2", { as: "b" });
    await baton.claim("topic:x", { as: "a" });
    await baton.claim("task:1", { as: "b" });
    await baton.release("task:2", { as: "b" });
    expect((await baton.list()).map((c) => c.key).sort()).toEqual(["task:1", "topic:x"]);
    expect((await baton.list({ agent: "a", prefix: "task:" })).map((c) => c.key)).toEqual(["task:1"]);
    expect((await baton.list({ state: "released" })).map((c) => c.key)).toEqual(["task:2"]);
    expect(await baton.list({ state: "all" })).toHaveLength(3);
    const log = await baton.log({ key: "task:1" });
    expect(log.map((e) => e.kind)).toEqual(["granted", "denied"]);
    expect((await baton.log({ agent: "b", kind: "denied" })).map((e) => e.key)).toEqual(["task:1"]);
    expect(await baton.log({ limit: 2 })).toHaveLength(2);
  });

  it("throws typed errors for bad input and changes nothing", async () => {
    const baton = await fresh();
    await baton.claim("task:1", { as: "a" });
    const before = { list: await baton.list({ state: "all" }), log: await baton.log() };
    const cases: [Promise<unknown>, string][] = [
      [baton.claim("", { as: "a" }), "BAD_KEY"],
      [baton.claim("bad\nkey", { as: "a" }), "BAD_KEY"],
      [baton.claim("task:2", { as: "bad agent" }), "BAD_AGENT"],
      [baton.claim("task:2", { as: "a", ttl: "5x" }), "BAD_DURATION"],
      [baton.claim("task:2", { as: "a", ttl: 0 }), "BAD_DURATION"],
      [baton.claim("task:2", { as: "a", meta: "{not json" }), "BAD_META"],
      [baton.claim("task:2", { as: "a", meta: "[1,2]" }), "BAD_META"],
      [baton.complete("task:1", { as: "a", commit: "not-a-sha" }), "BAD_INPUT"],
      [baton.check("task:1", "x"), "BAD_TOKEN"],
      [baton.list({ state: "sideways" as never }), "BAD_OPTION"],
      [baton.log({ since: "yesterday" }), "BAD_DURATION"],
      [baton.reap({ minAge: "-1h" }), "BAD_DURATION"],
    ];
    for (const [promise, code] of cases) expect(await codeOf(promise)).toBe(code);
    expect(await baton.list({ state: "all" })).toEqual(before.list);
    expect(await baton.log()).toEqual(before.log);
    expect(await codeOf(openBaton({ db: join(tempDir(), "x.db"), synchronous: "sometimes" as never }))).toBe(
      "BAD_OPTION",
    );
    expect(await codeOf(openBaton({ db: "x.db", databaseUrl: "postgres://h/db" }))).toBe("BAD_OPTION");
  });

  it("withClaim renews while fn runs, completes on success and releases on throw", async () => {
    const baton = await fresh();
    const result = await baton.withClaim(
      "job:1",
      async ({ claim, signal }) => {
        expect(signal.aborted).toBe(false);
        await new Promise((resolve) => setTimeout(resolve, 700)); // longer than the TTL
        return `did it with token ${claim.token}`;
      },
      { as: "a", ttl: "300ms", result: (v) => v },
    );
    expect(result).toMatchObject({ ok: true, outcome: "completed", claim: { state: "completed" } });
    expect((await baton.log({ key: "job:1", kind: "renewed" })).length).toBeGreaterThanOrEqual(2);
    expect((await baton.show("job:1")).claim?.result).toMatch(/^did it with token \d+$/);
    await expect(
      baton.withClaim(
        "job:2",
        async () => {
          throw new Error("boom");
        },
        { as: "a" },
      ),
    ).rejects.toThrow("boom");
    expect((await baton.show("job:2")).claim?.state).toBe("released");
    await baton.claim("job:3", { as: "b" });
    let ran = false;
    const denied = await baton.withClaim(
      "job:3",
      () => {
        ran = true;
      },
      { as: "a" },
    );
    expect(denied).toMatchObject({ ok: false, outcome: "denied", code: "CLAIM_HELD" });
    expect(ran).toBe(false);
  });

  it("reads no environment variables", async () => {
    const saved = { agent: process.env.BATON_AGENT, db: process.env.BATON_DB };
    const dir = tempDir();
    process.env.BATON_AGENT = "from-env";
    process.env.BATON_DB = join(dir, "env.db");
    try {
      const baton = await openBaton({ db: join(dir, "given.db") });
      opened.push(baton);
      expect(baton.store.description).toContain("given.db");
      expect(await codeOf(baton.claim("k", {} as never))).toBe("BAD_AGENT");
    } finally {
      if (saved.agent === undefined) delete process.env.BATON_AGENT;
      else process.env.BATON_AGENT = saved.agent;
      if (saved.db === undefined) delete process.env.BATON_DB;
      else process.env.BATON_DB = saved.db;
    }
  });

  it("refuses every call once closed, with STORE_CLOSED", async () => {
    const baton = await openBaton({ db: join(tempDir(), "c.db") });
    await baton.close();
    expect(await codeOf(baton.claim("k", { as: "a" }))).toBe("STORE_CLOSED");
    expect(await codeOf(baton.list())).toBe("STORE_CLOSED");
  });
});

describe("path claims by repository identity, without a checkout", () => {
  it("the path service takes an identity and repository-relative patterns; listing by identity asks no git", async () => {
    const baton = await fresh();
    const repo = "root:0123456789abcdef0123456789abcdef01234567";
    const granted = await baton.paths.claim(["src/auth/", "./src/auth/", "docs/a.md"], { repo, as: "a" });
    expect(granted).toMatchObject({ ok: true, repo });
    expect(granted.ok && granted.claims.map((c) => c.pattern)).toEqual(["src/auth/", "docs/a.md"]);
    const conflict = await baton.paths.claim(["src/auth/login.ts"], { repo, as: "b" });
    expect(conflict).toMatchObject({ ok: false, code: "PATH_CONFLICT" });
    expect(await codeOf(baton.paths.claim(["../outside"], { repo, as: "b" }))).toBe("BAD_PATH");
    expect(await codeOf(baton.paths.claim(["src/"], { repo: " ", as: "b" }))).toBe("BAD_INPUT");
    // The facade with an identity and no patterns needs no checkout: this folder is no repository.
    const listed = await baton.listPaths({ repo, cwd: tempDir() });
    expect(listed.map((c) => `${c.agent} ${c.pattern}`).sort()).toEqual(["a docs/a.md", "a src/auth/"]);
    expect((await baton.releasePaths(null, { repo, cwd: tempDir(), as: "a" })).released).toHaveLength(2);
  });

  it("a missing pattern list (undefined from a JavaScript caller) means all of mine, like null", async () => {
    // Found by the hostile-input battery: renewPaths(undefined) threw a TypeError reading .length.
    const baton = await fresh();
    const repo = "root:0123456789abcdef0123456789abcdef01234567";
    await baton.paths.claim(["src/"], { repo, as: "a" });
    const untyped = baton as unknown as Record<string, (...args: unknown[]) => Promise<Record<string, unknown[]>>>;
    expect((await untyped.renewPaths!(undefined, { repo, cwd: tempDir(), as: "a" })).renewed).toHaveLength(1);
    expect((await untyped.releasePaths!(undefined, { repo, cwd: tempDir(), as: "a" })).released).toHaveLength(1);
  });
});
