/**
 * The store contract for what `baton serve` needs: token digests (add, look up, revoke)
 * and the event cursor (`afterId`: the oldest events after an id, so a follower pages
 * forward without gaps), on SQLite and PostgreSQL alike.
 */
import { afterEach, describe, expect, it } from "vitest";
import { hashToken, newToken } from "../../src/core/tokens.js";
import type { Store } from "../../src/store/store.js";
import { type StoreTarget, TARGETS } from "./targets.js";

describe.each(TARGETS)("server store contract: $name", (target: StoreTarget) => {
  const open: Store[] = [];
  async function fresh(): Promise<Store> {
    const store = await target.open();
    open.push(store);
    return store;
  }
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });

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
