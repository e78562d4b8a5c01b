// baton next with 100,000 tasks, 1,000 live claims and 1,000,000 events (latency, both stores, target
// under 50 ms on SQLite), vs a backlog of 100 tasks; and 8 processes calling next in
// a loop (selections/s) vs 1 process.
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { fillEvents, fmt, LIB, median, postgres, table, storeTargets } from "./lib.mjs";

const { openBaton } = await import(pathToFileURL(LIB).href);
const WORKER = fileURLToPath(new URL("./next-worker.mjs", import.meta.url));
const CATEGORIES = ["auth", "billing", "docs", "infra", "perf", "search", "ui", "api"];

async function fill(baton, count) {
  for (let start = 0; start < count; start += 5000) {
    const batch = Array.from({ length: Math.min(5000, count - start) }, (_, j) => {
      const i = start + j;
      return {
        id: `t${i}`,
        title: `task ${i}`,
        category: CATEGORIES[i % CATEGORIES.length],
        priority: i % 101,
        ...(i % 10 === 9 ? { blockedBy: [`t${i - 1}`] } : {}),
      };
    });
    const r = await baton.tasks.put(batch, "add");
    if (!r.ok) throw new Error(`fill: ${r.code}`);
  }
}

async function latency(baton, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const r = await baton.next({ as: "bench", seed: i, cwd: "/" });
    times.push(performance.now() - start);
    if (!r.ok) throw new Error("nothing ready");
  }
  return median(times);
}

function loop(options, processes, ms) {
  const until = Date.now() + 1500 + ms;
  return Promise.all(
    Array.from(
      { length: processes },
      (_, i) =>
        new Promise((resolve, reject) => {
          const child = spawn(
            process.execPath,
            [WORKER, pathToFileURL(LIB).href, JSON.stringify(options), `w${i}`, String(until)],
            { stdio: ["ignore", "pipe", "inherit"] },
          );
          let out = "";
          child.stdout.on("data", (c) => (out += c));
          child.on("close", (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`worker ${code}`))));
        }),
    ),
  ).then((counts) => counts.reduce((a, b) => a + b, 0) / (ms / 1000));
}

export async function run({ quick }) {
  const big = quick ? 10_000 : 100_000;
  const events = quick ? 100_000 : 1_000_000;
  const server = await postgres();
  const rows = [];
  try {
    const targets = storeTargets(server.url, "next", "normal");
    for (const [name, make] of targets) {
      const smallOptions = make();
      const small = await openBaton(smallOptions);
      await fill(small, 100);
      const base = await latency(small, 20);
      await small.close();
      const options = make();
      const baton = await openBaton(options);
      await fill(baton, big);
      for (let i = 0; i < 1000; i++) await baton.claim(`other:${i}`, { as: `agent-${i % 20}`, similar: "off" });
      await fillEvents(options, events);
      const loaded = await latency(baton, 20);
      await baton.close();
      rows.push([
        `${name}: next latency, ${fmt(big)} tasks + 1,000 live claims + ${fmt(events)} events`,
        fmt(base, 1),
        fmt(loaded, 1),
        `${(loaded / base).toFixed(1)}x`,
        name === "SQLite" ? (loaded < 50 ? "met (< 50 ms)" : "MISSED (< 50 ms)") : "",
      ]);
      const one = await loop(options, 1, quick ? 1500 : 3000);
      const eight = await loop(options, 8, quick ? 1500 : 3000);
      rows.push([
        `${name}: selections/s, 8 processes vs 1`,
        fmt(one, 0),
        fmt(eight, 0),
        `${(eight / one).toFixed(2)}x`,
        "",
      ]);
    }
  } finally {
    await server.stop();
  }
  return {
    name: "next",
    rows,
    text: table(
      "baton next (median ms; baseline: a 100-task backlog / one process)",
      ["measure", "baseline", "loaded", "ratio", "target"],
      rows,
    ),
  };
}
