/**
 * The watch capability (Store.watchEvents), on every store that declares it: a write by
 * another OS process wakes the watcher; a follower (cursor + wake-ups) sees every event of
 * a burst from two processes exactly once, in id order. On PostgreSQL: the LISTEN
 * connection cut by the server is reopened and what was written meanwhile is still seen,
 * and a cursor never passes an event whose transaction has not committed yet.
 */
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openBaton } from "../../src/baton.js";
import type { BatonEvent } from "../../src/core/types.js";
import { followEvents } from "../../src/services/follow.js";
import { openPostgresStore, type PostgresStore } from "../../src/store/postgres/pg-store.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { cli, LIB, ROOT, runScript, tempDir, until } from "../helpers.js";
import { freshSchema, type StoreTarget, storeSelected, TARGETS, testDatabaseUrl } from "./targets.js";

const WORKER = join(ROOT, "test", "workers", "event-burst-worker.mjs");
const HOUR = 3_600_000;

interface Opened {
  store: Store;
  /** The environment that points the CLI at the same store. */
  env: Record<string, string>;
  /** openBaton options naming the same store, for worker processes. */
  options: Record<string, string>;
}

const opened: Store[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

async function openTarget(name: StoreTarget["name"]): Promise<Opened> {
  if (name === "sqlite") {
    const db = join(tempDir("baton-watch-"), "baton.db");
    const store = openSqliteStore({ path: db });
    opened.push(store);
    return { store, env: { BATON_DB: db }, options: { db } };
  }
  const schema = freshSchema("watch");
  const store = await openPostgresStore({ url: testDatabaseUrl(), schema, poolSize: 2 });
  opened.push(store);
  return {
    store,
    env: { BATON_DATABASE_URL: testDatabaseUrl(), BATON_PG_SCHEMA: schema },
    options: { databaseUrl: testDatabaseUrl(), schema },
  };
}

/** Follow `store` from `after` in the background, collecting every event yielded. */
function follow(store: Store, after = 0): { seen: BatonEvent[]; stop: () => Promise<void> } {
  const seen: BatonEvent[] = [];
  const controller = new AbortController();
  const running = (async () => {
    const read = (cursor: number, limit: number) => store.events({ afterId: cursor, limit });
    // No polling fallback worth the name: a store with watch is followed through it.
    for await (const batch of followEvents(store, read, { after, signal: controller.signal, pollMs: HOUR }))
      seen.push(...batch);
  })();
  return {
    seen,
    stop: async () => {
      controller.abort();
      await running;
    },
  };
}

describe.each(TARGETS)("watch contract: $name", (target: StoreTarget) => {
  it("declares the capability and wakes the watcher on a write from another OS process", async () => {
    const { store, env } = await openTarget(target.name);
    expect(store.capabilities.watch).toBe(true);
    expect(store.watchEvents).toBeTypeOf("function");
    let wakes = 0;
    const unwatch = await (store.watchEvents as NonNullable<Store["watchEvents"]>)(() => {
      wakes += 1;
    });
    try {
      const r = cli(["claim", "watch:other", "--as", "elsewhere"], { env });
      expect(r.code, r.stderr).toBe(0);
      await until("a wake-up after the other process's claim", () => wakes > 0);
      const events = await store.events({ afterId: 0, limit: 10 });
      expect(events.map((e) => [e.kind, e.key, e.agent])).toEqual([["granted", "watch:other", "elsewhere"]]);
    } finally {
      await unwatch();
    }
  });

  it("wakes the watcher on this process's own write", async () => {
    const { store } = await openTarget(target.name);
    let wakes = 0;
    const unwatch = await (store.watchEvents as NonNullable<Store["watchEvents"]>)(() => {
      wakes += 1;
    });
    await store.recordEvent({ kind: "noted", key: "watch:own", agent: "me", commit: null, detail: { text: "hi" } });
    await until("a wake-up after our own write", () => wakes > 0);
    await unwatch();
  });

  it("after unwatch, that watcher is not woken while another one still is", async () => {
    const { store, env } = await openTarget(target.name);
    const watch = store.watchEvents as NonNullable<Store["watchEvents"]>;
    let first = 0;
    let second = 0;
    const stopFirst = await watch.call(store, () => {
      first += 1;
    });
    const stopSecond = await watch.call(store, () => {
      second += 1;
    });
    await stopFirst();
    await stopFirst(); // twice is harmless
    expect(cli(["claim", "watch:after-unwatch", "--as", "elsewhere"], { env }).code).toBe(0);
    await until("the remaining watcher woken", () => second > 0);
    expect(first).toBe(0);
    await stopSecond();
  });

  it("a follower sees every event of a burst from two processes exactly once, in id order", async () => {
    const { store, options } = await openTarget(target.name);
    const follower = follow(store);
    const count = 60;
    const lib = pathToFileURL(LIB).href;
    await Promise.all([
      runScript(WORKER, [lib, JSON.stringify(options), "burst-a", String(count)]),
      runScript(WORKER, [lib, JSON.stringify(options), "burst-b", String(count)]),
    ]);
    await until("the follower caught up with the burst", () => follower.seen.length >= 2 * count);
    await follower.stop();
    const all = await store.events({ limit: 10_000 });
    expect(all).toHaveLength(2 * count);
    expect(follower.seen.map((e) => e.id)).toEqual(all.map((e) => e.id));
    const ids = follower.seen.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });
});

describe.each(TARGETS)("Baton.follow: $name", (target: StoreTarget) => {
  it.each([
    ["the store's watch", true],
    ["the polling fallback", false],
  ] as const)("follows with filters through %s, from a cursor, and ends when aborted", async (_how, watch) => {
    const options = target.batonOptions();
    const baton = await openBaton(options);
    const writer = await openBaton(options);
    try {
      const skipped = await writer.claim("follow:a", { as: "w" });
      expect(skipped.ok).toBe(true);
      const stop = new AbortController();
      const seen: BatonEvent[] = [];
      const following = (async () => {
        const filter = { key: "follow:b", kind: ["granted", "released"] } as const;
        for await (const batch of baton.follow({ ...filter, after: 0, watch, pollMs: 20, signal: stop.signal }))
          seen.push(...batch);
      })();
      await writer.claim("follow:b", { as: "w" });
      await writer.claim("follow:c", { as: "w" });
      await writer.release("follow:b", { as: "w" });
      await until("both events of follow:b", () => seen.length >= 2);
      stop.abort();
      await following; // ends without an error
      expect(seen.map((e) => [e.kind, e.key])).toEqual([
        ["granted", "follow:b"],
        ["released", "follow:b"],
      ]);
      const resumed: BatonEvent[] = [];
      const again = new AbortController();
      const first = seen[0] as BatonEvent;
      const resuming = (async () => {
        for await (const batch of baton.follow({ key: "follow:b", after: first.id, signal: again.signal }))
          resumed.push(...batch);
      })();
      await until("the resumed follower", () => resumed.length >= 1);
      again.abort();
      await resuming;
      expect(resumed.map((e) => e.kind)).toEqual(["released"]);
    } finally {
      await writer.close();
      await baton.close();
    }
  });
});

describe.skipIf(!storeSelected("postgres"))("watch on PostgreSQL", () => {
  it("reopens a LISTEN connection the server cut, and a write made meanwhile is still seen", async () => {
    const { store, env } = await openTarget("postgres");
    const pgStore = store as PostgresStore;
    const follower = follow(store);
    await until("the LISTEN connection", () => pgStore.listenPid !== null);
    const first = pgStore.listenPid as number;
    const killed = await pgStore.pool.query("SELECT pg_terminate_backend($1) AS ok", [first]);
    expect(killed.rows[0]?.ok).toBe(true);
    // Written at once: while the watch is down, or just after it came back.
    expect(cli(["claim", "watch:reconnect", "--as", "elsewhere"], { env }).code).toBe(0);
    await until("the claim followed despite the cut", () => follower.seen.some((e) => e.key === "watch:reconnect"));
    await until("a new LISTEN connection", () => pgStore.listenPid !== null && pgStore.listenPid !== first);
    expect(cli(["claim", "watch:after-reconnect", "--as", "elsewhere"], { env }).code).toBe(0);
    await until("a claim after the reconnection", () => follower.seen.some((e) => e.key === "watch:after-reconnect"));
    await follower.stop();
  });

  it("a cursor never passes an event whose transaction is still open", async () => {
    const { store, options } = await openTarget("postgres");
    const client = new pg.Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      const table = `"${options.schema}".events`;
      await client.query("BEGIN");
      const early = await client.query(
        `INSERT INTO ${table} (at, kind, key, agent) VALUES (0, 'noted', 'gap:early', 'raw') RETURNING id`,
      );
      const earlyId = Number(early.rows[0].id);
      // A later id, committed first.
      const late = await store.recordEvent({ kind: "noted", key: "gap:late", agent: "me", commit: null, detail: null });
      expect(late.id).toBeGreaterThan(earlyId);
      // Reading past the open transaction's id now would lose it for ever: the cursor waits.
      expect(await store.events({ afterId: earlyId - 1, limit: 10 })).toEqual([]);
      await client.query("COMMIT");
      const after = await store.events({ afterId: earlyId - 1, limit: 10 });
      expect(after.map((e) => e.key)).toEqual(["gap:early", "gap:late"]);
      // A rolled-back id leaves a gap that holds nothing back once nobody is writing.
      await client.query("BEGIN");
      await client.query(`INSERT INTO ${table} (at, kind, key, agent) VALUES (0, 'noted', 'gap:gone', 'raw')`);
      await client.query("ROLLBACK");
      const next = await store.recordEvent({ kind: "noted", key: "gap:next", agent: "me", commit: null, detail: null });
      expect((await store.events({ afterId: late.id, limit: 10 })).map((e) => e.id)).toEqual([next.id]);
    } finally {
      await client.end();
    }
  });
});
