// Scale: claim and log latency with a large audit log vs an empty one.
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
      db.transaction(() => {
        for (let i = 0; i < size; i++) {
          insert.run(t0 + i * 2, kinds[i % 4], `task:${i % 100_000}`, `agent-${i % 1000}`, i, '{"ttlMs":3600000}');
        }
      })();
      db.close();
    }
    results[size] = [
      await measure(baton, "claim + complete (fresh key)", async (i) => {
        await baton.claim(`new:${i}`, { as: "bench" });
        await baton.complete(`new:${i}`, { as: "bench" });
      }, 300),
      await measure(baton, "log --limit 50", () => baton.log({ limit: 50 }), 200),
      await measure(baton, "log KEY", (i) => baton.log({ key: `task:${i * 7}`, limit: 100 }), 200),
      await measure(baton, "log --agent A --limit 50", (i) => baton.log({ agent: `agent-${i}`, limit: 50 }), 200),
      await measure(baton, "log --since 1h", () => baton.log({ since: "1h", limit: 100 }), 200),
    ];
    await baton.close();
  }
  const rows = results[0].map((empty, i) => {
    const full = results[events][i];
    return [empty.label, fmt(empty.median * 1000), fmt(full.median * 1000), fmt(full.p99 * 1000), `${(full.median / empty.median).toFixed(2)}x`];
  });
  return {
    name: "scale",
    rows,
    text: table(
      `Scale: latency with ${fmt(events)} audit events vs an empty log (SQLite, synchronous=NORMAL)`,
      ["operation", "empty: median µs", "full: median µs", "full: p99 µs", "full vs empty"],
      rows,
    ),
  };
}
