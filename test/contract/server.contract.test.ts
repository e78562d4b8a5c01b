/**
 * The store contract for what `baton serve` needs: token digests (add, look up, revoke)
 * and the event cursor (`afterId`: the oldest events after an id, so a follower pages
 * forward without gaps), on SQLite and PostgreSQL alike.
 */
import { describe, expect, it } from "vitest";
import { openBaton } from "../../src/baton.js";
import { hashToken, newToken } from "../../src/core/tokens.js";
import type { Store } from "../../src/store/store.js";
import { sleepUntil } from "../helpers.js";
import { freshStores, type StoreTarget, TARGETS } from "./targets.js";

describe.each(TARGETS)("server store contract: $name", (target: StoreTarget) => {
  const fresh = freshStores(target);

  it("keeps token digests: add, find live ones, revoke by id or agent", async () => {
    const store = await fresh();
    const a = newToken();
    const b = newToken();
    const ra = await store.addToken({ agent: "alice", role: "agent", hash: hashToken(a) });
    const rb = await store.addToken({ agent: "bob", role: "admin", hash: hashToken(b) });
    expect(ra).toMatchObject({ agent: "alice", role: "agent", revokedAt: null });
    expect(rb.id).toBeGreaterThan(ra.id);
    expect(await store.tokenByHash(hashToken(a))).toMatchObject({ id: ra.id, agent: "alice" });
    expect(await store.tokenByHash(hashToken(newToken()))).toBeNull();
    expect((await store.revokeTokens({ id: ra.id })).map((t) => t.id)).toEqual([ra.id]);
    expect(await store.tokenByHash(hashToken(a))).toBeNull();
    expect(await store.revokeTokens({ id: ra.id })).toEqual([]);
    expect((await store.revokeTokens({ agent: "bob" })).map((t) => t.agent)).toEqual(["bob"]);
    const listed = await store.listTokens();
    expect(listed.map((t) => [t.agent, t.revokedAt === null])).toEqual([
      ["alice", false],
      ["bob", false],
    ]);
    await expect(store.addToken({ agent: "carol", role: "agent", hash: hashToken(a) })).rejects.toThrow();
  });

  // A server remembers the tokens it found (SQLite): a revocation by another process must
  // still refuse the token on the very next request.
  it("refuses a token at once when another connection revokes it, after it was looked up", async () => {
    const options = target.batonOptions();
    const server = await openBaton(options);
    const other = await openBaton(options);
    try {
      const { token } = await other.tokens.add("alice");
      const { token: kept } = await other.tokens.add("bob");
      for (let i = 0; i < 2; i++) expect(await server.tokens.authenticate(token)).toMatchObject({ agent: "alice" });
      expect(await server.tokens.authenticate(kept)).toMatchObject({ agent: "bob" });
      await other.tokens.revoke("alice");
      expect(await server.tokens.authenticate(token)).toBeNull();
      expect(await server.tokens.authenticate(kept)).toMatchObject({ agent: "bob" });
      await server.tokens.revoke("bob");
      expect(await server.tokens.authenticate(kept)).toBeNull();
    } finally {
      await server.close();
      await other.close();
    }
  });

  it("counts the live work claims (baton_live_claims): not expired, released or completed ones", async () => {
    const store = await fresh();
    const claim = (key: string, ttlMs: number) =>
      store.claim({ key, agent: "a", ttlMs, meta: null, reopen: false, doneWindowMs: 0 });
    expect(await store.liveClaimCount()).toBe(0);
    for (const key of ["k:1", "k:2", "k:3", "k:4"]) await claim(key, 60_000);
    const short = await claim("k:short", 20);
    await store.release({ key: "k:2", agent: "a" });
    await store.complete({ key: "k:3", agent: "a", result: "ok" });
    if (short.outcome !== "granted") throw new Error("k:short was not granted");
    await sleepUntil(short.claim.expiresAt.getTime() + 5);
    expect(await store.liveClaimCount()).toBe(2);
  });

  it("pages the log forward from a cursor, oldest first", async () => {
    const store = await fresh();
    for (let i = 0; i < 5; i++) {
      await store.claim({ key: `k:${i}`, agent: "a", ttlMs: 60_000, meta: null, reopen: false, doneWindowMs: 0 });
    }
    const all = await store.events({ limit: 100 });
    expect(all).toHaveLength(5);
    const first = await store.events({ afterId: 0, limit: 2 });
    expect(first.map((e) => e.key)).toEqual(["k:0", "k:1"]);
    const next = await store.events({ afterId: first[1]?.id ?? 0, limit: 2 });
    expect(next.map((e) => e.key)).toEqual(["k:2", "k:3"]);
    expect(await store.events({ afterId: all[4]?.id ?? 0, limit: 10 })).toEqual([]);
    expect((await store.events({ afterId: 0, key: "k:3", limit: 10 })).map((e) => e.key)).toEqual(["k:3"]);
  });
});

describe.each(TARGETS)("handoff contract: $name", (target: StoreTarget) => {
  const fresh = freshStores(target);
  const claim = (store: Store, key: string, agent: string, ttlMs = 60_000) =>
    store.claim({ key, agent, ttlMs, meta: null, reopen: false, doneWindowMs: 0 });

  it("passes a live claim on with a new token and the same lease; only the holder can", async () => {
    const store = await fresh();
    const granted = await claim(store, "task:h", "alice", 120_000);
    expect(granted.outcome).toBe("granted");
    const oldToken = granted.outcome === "granted" ? granted.claim.token : 0;
    expect(await store.handoff({ key: "task:h", agent: "bob", to: "carol", note: null })).toMatchObject({
      ok: false,
      code: "NOT_HOLDER",
    });
    expect(await store.handoff({ key: "task:none", agent: "bob", to: "carol", note: null })).toMatchObject({
      ok: false,
      code: "NOT_FOUND",
    });
    const handed = await store.handoff({ key: "task:h", agent: "alice", to: "bob", note: "your turn" });
    expect(handed.ok).toBe(true);
    if (!handed.ok) return;
    expect(handed.claim).toMatchObject({ agent: "bob", state: "active" });
    expect(handed.claim.token).toBeGreaterThan(oldToken);
    const lease = handed.claim.expiresAt.getTime() - handed.claim.claimedAt.getTime();
    expect(lease).toBe(120_000);
    expect(await store.renew({ key: "task:h", agent: "alice", ttlMs: 60_000 })).toMatchObject({
      ok: false,
      code: "NOT_HOLDER",
    });
    expect(await store.complete({ key: "task:h", agent: "bob" })).toMatchObject({ ok: true });
    const events = await store.events({ key: "task:h", limit: 10 });
    expect(events.map((e) => e.kind)).toEqual(["granted", "handed_off", "completed"]);
    expect(events[1]).toMatchObject({
      agent: "alice",
      token: handed.claim.token,
      detail: { to: "bob", previousToken: oldToken, note: "your turn" },
    });
  });

  it("refuses an expired claim: the lease is gone, there is nothing to pass on", async () => {
    const store = await fresh();
    await claim(store, "task:x", "alice", 30);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await store.handoff({ key: "task:x", agent: "alice", to: "bob", note: null })).toMatchObject({
      ok: false,
      code: "CLAIM_EXPIRED",
    });
    expect((await store.get("task:x"))?.agent).toBe("alice");
  });
});
