/**
 * SQLite group commit (src/store/sqlite/sqlite-batch.ts), on real files: writes submitted
 * together share one transaction and are answered only after it commits (another connection
 * sees every answered write); each decision is atomic and in order; an operation that fails
 * rolls back only itself; a batch that cannot begin (the lock busy, the file replaced) answers
 * its error to everyone and changes nothing; close() commits what was submitted; at
 * synchronous=FULL the batches commit without a sync and are answered after one fsync of the
 * WAL off the event loop, reads too. The server side (many client processes, kill -9 after an
 * answer) is in group-commit-serve.test.ts.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync, renameSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { isBatonError } from "../src/core/errors.js";
import type { ClaimInput, TaskInput } from "../src/store/store.js";
import { GroupCommit } from "../src/store/sqlite/sqlite-batch.js";
import { openSqliteStore, type SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { dumpSqlite, tempDir, until } from "./helpers.js";

function open(options: { busyTimeoutMs?: number; synchronous?: "normal" | "full" } = {}): {
  store: SqliteStore;
  file: string;
} {
  const file = join(tempDir("baton-gc-"), "baton.db");
  return { store: openSqliteStore({ path: file, groupCommit: true, ...options }), file };
}

const claim = (key: string, agent: string): ClaimInput => ({
  key,
  agent,
  ttlMs: 60_000,
  meta: null,
  reopen: false,
  doneWindowMs: 86_400_000,
});

const task = (id: string): TaskInput => ({
  id,
  title: id,
  category: "c",
  priority: 1,
  done: false,
  blockedBy: [],
  paths: [],
  assignee: null,
  meta: null,
  source: null,
});

describe("SQLite group commit", () => {
  it("decides writes submitted together in one transaction, in order, one grant per key", async () => {
    const { store, file } = open();
    try {
      const inputs = Array.from({ length: 40 }, (_, i) => claim(`k${i % 5}`, `agent-${i}`));
      const outcomes = await Promise.all(inputs.map((input) => store.claim(input)));
      expect(store.groupCommitStats).toMatchObject({ batches: 1, operations: 40, retried: 0 });
      // The first submission for each key wins; every later one is denied naming that holder.
      outcomes.forEach((outcome, i) => {
        expect(outcome.outcome).toBe(i < 5 ? "granted" : "denied");
        expect(outcome.claim.agent).toBe(`agent-${i % 5}`);
      });
      const db = new Database(file, { readonly: true });
      const rows = db.prepare("SELECT key, agent, token FROM claims ORDER BY key").all() as {
        key: string;
        agent: string;
        token: number;
      }[];
      expect(rows).toEqual(
        outcomes.slice(0, 5).map((o) => ({ key: o.claim.key, agent: o.claim.agent, token: o.claim.token })),
      );
      // The audit log holds every decision in submission order, at non-decreasing times.
      const events = db.prepare("SELECT id, at, kind, key, agent FROM events ORDER BY id").all() as {
        at: number;
        kind: string;
        key: string;
        agent: string;
      }[];
      db.close();
      expect(events.map((e) => [e.kind, e.key, e.agent])).toEqual(
        inputs.map((input, i) => [i < 5 ? "granted" : "denied", input.key, input.agent]),
      );
      for (let i = 1; i < events.length; i++) expect(events[i]!.at).toBeGreaterThanOrEqual(events[i - 1]!.at);
    } finally {
      await store.close();
    }
  });

  it("a batch reads the clock mark and the token counter once, and forgets them when it ends: another connection's writes between batches count", async () => {
    const file = join(tempDir("baton-gc-"), "baton.db");
    let now = 1_000_000;
    const store = openSqliteStore({ path: file, groupCommit: { maxDelayMs: 0 }, clock: () => now });
    // Another process's connection, without group commit, whose clock runs ahead.
    const other = openSqliteStore({ path: file, clock: () => now + 50_000 });
    try {
      const first = await Promise.all(Array.from({ length: 5 }, (_, i) => store.claim(claim(`b1:${i}`, "a"))));
      expect(first.map((o) => o.claim.token)).toEqual([1, 2, 3, 4, 5]);
      // Between the batches the other connection draws a token and logs an event 50 s later.
      const between = await other.claim(claim("other", "b"));
      expect(between.claim.token).toBe(6);
      // The clock even steps back in the middle of the next batch: its times never go back.
      const second = Promise.all(
        Array.from({ length: 5 }, (_, i) => {
          if (i === 2) now -= 30_000;
          return store.claim(claim(`b2:${i}`, "a"));
        }),
      );
      const outcomes = await second;
      expect(store.groupCommitStats).toMatchObject({ batches: 2, operations: 10 });
      expect(outcomes.map((o) => o.claim.token)).toEqual([7, 8, 9, 10, 11]);
      for (const o of outcomes) expect(o.claim.claimedAt.getTime()).toBeGreaterThanOrEqual(1_050_000);
      const db = new Database(file, { readonly: true });
      const times = (db.prepare("SELECT at FROM events ORDER BY id").pluck().all() as number[]).slice(5);
      const counter = db.prepare("SELECT value FROM counters WHERE name = 'fencing_token'").pluck().get();
      db.close();
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]!);
      expect(counter).toBe(11);
    } finally {
      await other.close();
      await store.close();
    }
  });

  it("answers a write only after its commit: another connection already sees it", async () => {
    const { store, file } = open();
    const other = new Database(file, { readonly: true });
    try {
      const seen = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.claim(claim(`seen:${i}`, "a")).then((outcome) => ({
            token: outcome.claim.token,
            row: other.prepare("SELECT token FROM claims WHERE key = ?").get(`seen:${i}`) as
              { token: number } | undefined,
          })),
        ),
      );
      for (const { token, row } of seen) expect(row?.token).toBe(token);
    } finally {
      other.close();
      await store.close();
    }
  });

  it("an operation that fails in a batch fails alone: a refusal rolls back its savepoint, an error the batch, decided again op by op", async () => {
    const { store, file } = open();
    try {
      await store.putTasks([task("old")], "add");
      await store.addToken({ agent: "x", role: "agent", hash: "h".repeat(64) });
      const before = store.groupCommitStats?.batches ?? 0;
      const retried = store.groupCommitStats?.retried ?? 0;
      const [a, duplicate, tasks, b] = await Promise.allSettled([
        store.claim(claim("a", "alice")),
        // A constraint error from SQLite inside the batch (the hash is unique).
        store.addToken({ agent: "y", role: "agent", hash: "h".repeat(64) }),
        // A refusal that undoes the operation's own writes: "new" is written before "old" is met.
        store.putTasks([task("new"), task("old")], "add"),
        store.claim(claim("b", "bob")),
      ]);
      // The constraint error came from an operation without a savepoint: what it wrote cannot be
      // told apart, so the batch rolled back and every operation was decided again alone.
      expect(store.groupCommitStats?.batches).toBe(before);
      expect(store.groupCommitStats?.retried).toBe(retried + 1);
      expect(a).toMatchObject({ status: "fulfilled", value: { outcome: "granted" } });
      expect(b).toMatchObject({ status: "fulfilled", value: { outcome: "granted" } });
      expect(duplicate.status).toBe("rejected");
      expect(isBatonError((duplicate as PromiseRejectedResult).reason)).toBe(true);
      expect(tasks).toMatchObject({ status: "fulfilled", value: { ok: false, code: "TASK_EXISTS", id: "old" } });
      const db = new Database(file, { readonly: true });
      expect(db.prepare("SELECT key FROM claims ORDER BY key").all()).toEqual([{ key: "a" }, { key: "b" }]);
      expect(db.prepare("SELECT id FROM tasks").all()).toEqual([{ id: "old" }]);
      expect(db.prepare("SELECT agent FROM tokens").all()).toEqual([{ agent: "x" }]);
      db.close();
    } finally {
      await store.close();
    }
  });

  it("a refusal that undoes its own writes rolls back only its savepoint: the batch commits the others", async () => {
    const { store, file } = open();
    try {
      await store.putTasks([task("old")], "add");
      const before = store.groupCommitStats?.batches ?? 0;
      const [a, tasks, b] = await Promise.all([
        store.claim(claim("a", "alice")),
        store.putTasks([task("new"), task("old")], "add"),
        store.claim(claim("b", "bob")),
      ]);
      expect(store.groupCommitStats?.batches).toBe(before + 1);
      expect(store.groupCommitStats?.retried).toBe(0);
      expect([a.outcome, b.outcome]).toEqual(["granted", "granted"]);
      expect(tasks).toMatchObject({ ok: false, code: "TASK_EXISTS", id: "old" });
      const db = new Database(file, { readonly: true });
      expect(db.prepare("SELECT id FROM tasks").all()).toEqual([{ id: "old" }]);
      db.close();
    } finally {
      await store.close();
    }
  });

  it("a batch that SQLite rolls back under one operation answers nobody from it: each is decided again alone", async () => {
    const { store, file } = open();
    try {
      await store.claim(claim("warm", "a"));
      // Room for a few small writes, not for a 1 MB title: SQLITE_FULL ends the whole transaction.
      const pages = store.database.pragma("page_count", { simple: true }) as number;
      store.database.pragma(`max_page_count = ${pages + 40}`);
      const [a, big, b] = await Promise.allSettled([
        store.claim(claim("a", "alice")),
        store.putTasks([{ ...task("huge"), title: "x".repeat(1_000_000) }], "add"),
        store.claim(claim("b", "bob")),
      ]);
      expect(store.groupCommitStats?.retried).toBe(1);
      expect(a).toMatchObject({ status: "fulfilled", value: { outcome: "granted" } });
      expect(b).toMatchObject({ status: "fulfilled", value: { outcome: "granted" } });
      expect(big.status).toBe("rejected");
      expect((big as PromiseRejectedResult).reason).toMatchObject({ code: "STORE_UNAVAILABLE" });
      const db = new Database(file, { readonly: true });
      const rows = db.prepare("SELECT key, token FROM claims WHERE key IN ('a', 'b') ORDER BY key").all();
      expect(rows).toEqual([
        { key: "a", token: (a as PromiseFulfilledResult<{ claim: { token: number } }>).value.claim.token },
        { key: "b", token: (b as PromiseFulfilledResult<{ claim: { token: number } }>).value.claim.token },
      ]);
      expect(db.prepare("SELECT count(*) AS n FROM tasks").get()).toEqual({ n: 0 });
      // One grant event per answered grant: the rolled-back batch left nothing behind.
      expect(db.prepare("SELECT key FROM events WHERE kind = 'granted' ORDER BY id").all()).toEqual([
        { key: "warm" },
        { key: "a" },
        { key: "b" },
      ]);
      db.close();
    } finally {
      await store.close();
    }
  });

  it("a batch that cannot begin answers STORE_BUSY to everyone and changes nothing", async () => {
    const { store, file } = open({ busyTimeoutMs: 50 });
    const holder = new Database(file);
    try {
      await store.claim(claim("first", "a"));
      const before = dumpSqlite(file);
      holder.prepare("BEGIN IMMEDIATE").run();
      const answers = await Promise.allSettled([store.claim(claim("x", "a")), store.claim(claim("y", "b"))]);
      holder.prepare("ROLLBACK").run();
      for (const answer of answers) {
        expect(answer.status).toBe("rejected");
        expect((answer as PromiseRejectedResult).reason).toMatchObject({ code: "STORE_BUSY" });
      }
      expect(dumpSqlite(file)).toBe(before);
      // The lock gone, the next batch goes through.
      expect((await store.claim(claim("x", "a"))).outcome).toBe("granted");
    } finally {
      holder.close();
      await store.close();
    }
  });

  it("a file moved over the registry after the writes were submitted: the batch decides nothing, all answer STORE_UNAVAILABLE", async () => {
    const { store, file } = open();
    // Still the original file (same inode) once another is moved over its path.
    const original = new Database(file, { readonly: true });
    try {
      await store.claim(claim("first", "a"));
      const other = openSqliteStore({ path: join(tempDir("baton-gc-other-"), "other.db") });
      const otherPath = other.description.replace(/^sqlite:/, "");
      await other.close();
      // Submitted while the file is still the registry; the batch begins after the move.
      const answers = Promise.allSettled([store.claim(claim("x", "a")), store.claim(claim("y", "b"))]);
      renameSync(otherPath, file);
      for (const answer of await answers) {
        expect(answer.status).toBe("rejected");
        expect((answer as PromiseRejectedResult).reason).toMatchObject({
          code: "STORE_UNAVAILABLE",
          message: expect.stringMatching(/was deleted or replaced/),
        });
      }
      expect(original.prepare("SELECT key FROM claims ORDER BY key").all()).toEqual([{ key: "first" }]);
    } finally {
      original.close();
      await store.close();
    }
  });

  it("close() commits the writes already submitted", async () => {
    const { store, file } = open();
    const pending = [store.claim(claim("late:1", "a")), store.claim(claim("late:2", "b"))];
    await store.close();
    expect((await Promise.all(pending)).map((o) => o.outcome)).toEqual(["granted", "granted"]);
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT count(*) AS n FROM claims").get()).toEqual({ n: 2 });
    db.close();
  });

  it("one caller at a time gets one transaction per write, as without group commit", async () => {
    const { store } = open();
    try {
      for (let i = 0; i < 5; i++) await store.claim(claim(`seq:${i}`, "a"));
      expect(store.groupCommitStats).toMatchObject({ batches: 5, operations: 5, largest: 1 });
    } finally {
      await store.close();
    }
  });

  it("at synchronous=FULL: batches commit without a sync, answered after an fsync off the event loop", async () => {
    const { store, file } = open();
    try {
      // The connection commits at NORMAL (1); the store syncs the WAL itself.
      expect(store.database.pragma("synchronous", { simple: true })).toBe(1);
      for (let round = 0; round < 3; round++) {
        const outcomes = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.claim(claim(`full:${round}:${i}`, "a"))),
        );
        expect(outcomes.every((o) => o.outcome === "granted")).toBe(true);
        expect(await store.get(`full:${round}:0`)).toMatchObject({ agent: "a" });
      }
      const stats = store.groupCommitStats!;
      expect(stats.syncs).toBeGreaterThanOrEqual(1);
      expect(stats.syncs).toBeLessThanOrEqual(stats.batches);
      const db = new Database(file, { readonly: true });
      expect(db.prepare("SELECT count(*) AS n FROM claims").get()).toEqual({ n: 30 });
      db.close();
    } finally {
      await store.close();
    }
    const normal = open({ synchronous: "normal" });
    try {
      await Promise.all([normal.store.claim(claim("n:1", "a")), normal.store.claim(claim("n:2", "a"))]);
      expect(normal.store.groupCommitStats).toMatchObject({ syncs: 0 });
    } finally {
      await normal.store.close();
    }
  });

  describe("syncing off the event loop (GroupCommit with a sync, released by hand)", () => {
    /** A batcher on a real file whose WAL syncs (real fdatasync) run only when the test releases them. */
    function held() {
      const file = join(tempDir("baton-gc-sync-"), "batch.db");
      const db = new Database(file);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.exec("CREATE TABLE t (v INTEGER)");
      const waiting: (() => void)[] = [];
      let failWith: Error | null = null;
      let inline = 0;
      const group = new GroupCommit(
        db,
        { maxDelayMs: 0 },
        {
          sync: {
            later: (done) =>
              waiting.push(() => {
                if (failWith !== null) return done(failWith);
                const fd = openSync(`${file}-wal`, "r");
                fdatasync(fd, (error) => {
                  closeSync(fd);
                  done(error);
                });
              }),
            now: () => {
              inline++;
              if (failWith !== null) return failWith;
              const fd = openSync(`${file}-wal`, "r");
              fdatasyncSync(fd);
              closeSync(fd);
              return null;
            },
          },
        },
      );
      const insert = (v: number): Promise<number> =>
        group.submit(
          () => db.prepare("INSERT INTO t (v) VALUES (?)").run(v).changes,
          (error) => {
            throw error;
          },
          () => db.prepare("INSERT INTO t (v) VALUES (?)").run(v).changes,
        );
      const settled = <T>(p: Promise<T>) => {
        const state = { done: false, value: undefined as T | undefined, error: undefined as unknown };
        p.then(
          (value) => Object.assign(state, { done: true, value }),
          (error: unknown) => Object.assign(state, { done: true, error }),
        );
        return state;
      };
      const turn = () => new Promise((resolve) => setImmediate(resolve));
      /** Release the sync in flight, then wait until `answered` holds. */
      const release = async (answered: () => boolean) => {
        waiting.shift()?.();
        await until("the sync's answers", answered, 5000);
      };
      return {
        db,
        group,
        insert,
        settled,
        turn,
        release,
        waiting,
        fail: (e: Error) => (failWith = e),
        inline: () => inline,
        close: () => db.close(),
      };
    }

    it("answers nobody before the sync; one sync in flight; batches committed meanwhile wait for the next", async () => {
      const h = held();
      try {
        const first = [h.settled(h.insert(1)), h.settled(h.insert(2))];
        await h.turn();
        await h.turn();
        // Committed (another connection could read it) but not answered: the sync has not run.
        expect(h.db.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 2 });
        expect(h.waiting).toHaveLength(1);
        expect(first.some((s) => s.done)).toBe(false);
        // A second batch commits while the first sync is in flight: no second sync yet.
        const second = h.settled(h.insert(3));
        await h.turn();
        await h.turn();
        expect(h.group.stats).toMatchObject({ batches: 2, syncs: 1 });
        expect(h.waiting).toHaveLength(1);
        // A read now saw batch 2: it is answered only after the sync that covers batch 2.
        const read = h.settled(Promise.resolve(h.group.afterDurable("read")));
        await h.release(() => first.every((s) => s.done));
        await h.turn();
        expect(first.map((s) => s.value)).toEqual([1, 1]);
        expect(second.done).toBe(false);
        expect(read.done).toBe(false);
        expect(h.waiting).toHaveLength(1); // the second sync began when the first completed
        await h.release(() => second.done && read.done);
        expect(second.value).toBe(1);
        expect(read.value).toBe("read");
        expect(h.group.stats).toMatchObject({ batches: 2, syncs: 2 });
        // Nothing committed since: a read is answered at once.
        expect(h.group.afterDurable("now")).toBe("now");
        await h.group.drained();
      } finally {
        h.close();
      }
    });

    it("a failed sync answers its batch with the error", async () => {
      const h = held();
      try {
        h.fail(new Error("EIO"));
        const answers = [h.settled(h.insert(1)), h.settled(h.insert(2))];
        await h.turn();
        await h.turn();
        await h.release(() => answers.every((a) => a.done));
        for (const answer of answers) expect((answer.error as Error).message).toBe("EIO");
        // A lone write's sync on the loop fails the same way.
        await expect(h.insert(3)).rejects.toThrow("EIO");
      } finally {
        h.close();
      }
    });

    it("a lone write with nothing else in flight syncs on the event loop, answered without the thread pool", async () => {
      const h = held();
      try {
        expect(await h.insert(1)).toBe(1);
        expect(await h.insert(2)).toBe(1);
        expect(h.inline()).toBe(2);
        expect(h.waiting).toHaveLength(0);
        expect(h.group.stats).toMatchObject({ batches: 2, syncs: 2, inlineSyncs: 2 });
        // Two together go off the loop.
        const pair = [h.settled(h.insert(3)), h.settled(h.insert(4))];
        await h.turn();
        await h.turn();
        expect(h.waiting).toHaveLength(1);
        await h.release(() => pair.every((a) => a.done));
        expect(h.group.stats).toMatchObject({ batches: 3, syncs: 3, inlineSyncs: 2 });
      } finally {
        h.close();
      }
    });
  });
});
