// Scale: claim, list and log latency with a large audit log and 100,000 claims vs an empty store.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fmt, LIB, percentile, median, table, tempDir } from "./lib.mjs";

const require = createRequire(import.meta.url);

async function measure(baton, label, fn, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn(i);
    times.push(performance.now() - start);
  }
  return { label, median: median(times), p99: percentile(times, 99) };
}

export async function run({ quick }) {
  const events = quick ? 100_000 : 1_000_000;
  const { openBaton } = await import(pathToFileURL(LIB).href);
  const results = {};
  for (const size of [0, events]) {
    const path = join(tempDir(), "scale.db");
    const baton = await openBaton({ db: path, synchronous: "normal" });
    if (size > 0) {
      // Fill the log directly: 1 000 agents over 100 000 keys, as a busy fleet would leave it.
      const Database = require("better-sqlite3");
      const db = new Database(path);
      const insert = db.prepare("INSERT INTO events (at, kind, key, agent, token, detail) VALUES (?, ?, ?, ?, ?, ?)");
      const kinds = ["granted", "denied", "renewed", "completed"];
      const t0 = Date.now() - 30 * 86_400_000;
      // And 100,000 claim rows: the tasks of a busy backlog, 1,000 of them live.
      const claim = db.prepare(
        "INSERT INTO claims (key, agent, token, state, claimed_at, expires_at, ended_at, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      );
      db.transaction(() => {
        for (let i = 0; i < size; i++) {
          insert.run(t0 + i * 2, kinds[i % 4], `task:${i % 100_000}`, `agent-${i % 1000}`, i, '{"ttlMs":3600000}');
        }
        for (let i = 0; i < 100_000; i++) {
          const live = i % 100 === 0;
          const at = t0 + i * 20;
          claim.run(
            `task:${i}`,
            `agent-${i % 1000}`,
            size + i,
            live ? "active" : "completed",
            live ? Date.now() : at,
            live ? Date.now() + 3_600_000 : at + 3_600_000,
            live ? null : at + 1000,
            live ? null : "ok",
          );
        }
      })();
      db.close();
    }
    results[size] = [
      await measure(
        baton,
        "claim + complete (fresh key)",
        async (i) => {
          await baton.claim(`new:${i}`, { as: "bench" });
          await baton.complete(`new:${i}`, { as: "bench" });
        },
        300,
      ),
      await measure(baton, "list (live claims)", () => baton.list({}), 50),
      await measure(baton, "list --agent A", (i) => baton.list({ agent: `agent-${i * 10}` }), 50),
      await measure(
        baton,
        "list --state completed --limit 100",
        () => baton.list({ state: "completed", limit: 100 }),
        20,
      ),
      await measure(baton, "log --limit 50", () => baton.log({ limit: 50 }), 200),
      await measure(baton, "log KEY", (i) => baton.log({ key: `task:${i * 7}`, limit: 100 }), 200),
      await measure(baton, "log --agent A --limit 50", (i) => baton.log({ agent: `agent-${i}`, limit: 50 }), 200),
      await measure(baton, "log --since 1h", () => baton.log({ since: "1h", limit: 100 }), 200),
    ];
    await baton.close();
  }
  const rows = results[0].map((empty, i) => {
    const full = results[events][i];
    return [
      empty.label,
      fmt(empty.median * 1000),
      fmt(full.median * 1000),
      fmt(full.p99 * 1000),
      `${(full.median / empty.median).toFixed(2)}x`,
    ];
  });
  return {
    name: "scale",
    rows,
    text: table(
      `Scale: latency with ${fmt(events)} audit events and 100,000 claims (1,000 live) vs an empty store (SQLite, synchronous=NORMAL)`,
      ["operation", "empty: median µs", "full: median µs", "full: p99 µs", "full vs empty"],
      rows,
    ),
  };
}
