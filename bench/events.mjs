// Event latency: a claim acknowledged in one process -> the `granted` event read by an SSE
// client of `baton serve` (another process), p50 and p95, with the store's watch
// (PostgreSQL LISTEN/NOTIFY; SQLite data_version every 50 ms) against the polling fallback
// (--stream-poll 200ms, what every stream did before watch) measured in the same run.
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CLI, fmt, LIB, median, percentile, postgres, ROOT, startServe, storeTargets, table } from "./lib.mjs";

const WORKER = join(ROOT, "bench", "events-worker.mjs");
const wall = () => performance.timeOrigin + performance.now();

function envFor(options) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("BATON_")) delete env[key];
  if (options.db) return { ...env, BATON_DB: options.db };
  return { ...env, BATON_DATABASE_URL: options.databaseUrl, BATON_PG_SCHEMA: options.schema };
}

/** Latencies (ms) of `count` writes by a worker process, as seen on one SSE stream. */
async function measure(options, args, count, gapMs) {
  const env = envFor(options);
  const token = JSON.parse(
    spawnSync(process.execPath, [CLI, "tokens", "add", "bench", "--json"], { env, encoding: "utf8" }).stdout,
  ).token;
  const server = await startServe(env, args);
  const seen = new Map();
  const controller = new AbortController();
  const response = await fetch(`${server.url}/v1/events?kind=granted`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const reading = (async () => {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const at = wall();
      buffer += decoder.decode(value, { stream: true });
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame.split("\n").find((l) => l.startsWith("data: "));
        if (data) seen.set(JSON.parse(data.slice(6)).key, at);
      }
    }
  })().catch(() => undefined);
  const writes = [];
  await new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [WORKER, pathToFileURL(LIB).href, JSON.stringify(options), String(count), String(gapMs)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`events worker exited ${code}`));
      for (const line of out.split("\n")) if (line.trim()) writes.push(JSON.parse(line));
      resolve();
    });
  });
  const deadline = Date.now() + 5_000;
  while (writes.some((w) => !seen.has(w.key)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  controller.abort();
  await reading;
  await server.stop();
  const missing = writes.filter((w) => !seen.has(w.key)).length;
  if (missing > 0) throw new Error(`${missing} of ${writes.length} events never reached the stream`);
  return writes.map((w) => seen.get(w.key) - w.t);
}

/**
 * What migration 11 costs PostgreSQL writers (a NOTIFY at commit, and until schema 12 a
 * shared lock per inserting transaction; with a follower, also its reads and horizon locks): claims/s with
 * `clients` concurrent callers in this process, on a schema with the triggers dropped (the
 * baseline), with them and a watch open, and with them and a follower following the log;
 * rounds interleaved, the best of `rounds` kept for each.
 */
async function triggerCost(url, clients, ms, rounds) {
  const { openBaton } = await import(pathToFileURL(LIB).href);
  const modes = ["dropped", "triggers", "follower"];
  const result = Object.fromEntries(modes.map((m) => [m, 0]));
  for (let round = 0; round < rounds; round++) {
    for (const mode of modes) {
      const schema = `bench_trig_${mode}_${Date.now().toString(36)}`;
      const baton = await openBaton({ databaseUrl: url, schema, poolSize: clients + 1 });
      if (mode === "dropped") {
        const events = `"${schema}".events`;
        await baton.store.pool.query(
          `DROP TRIGGER events_notify ON ${events}; DROP TRIGGER IF EXISTS events_in_flight ON ${events}`,
        );
      }
      const stop = new AbortController();
      let followed = 0;
      const unwatch = mode === "triggers" ? await baton.store.watchEvents(() => undefined) : undefined;
      const following =
        mode === "follower"
          ? (async () => {
              for await (const batch of baton.follow({ signal: stop.signal })) followed += batch.length;
            })()
          : undefined;
      let done = 0;
      const until = performance.now() + ms;
      await Promise.all(
        Array.from({ length: clients }, async (_, c) => {
          for (let i = 0; performance.now() < until; i++) {
            await baton.claim(`tp:${c}:${i}`, { as: `agent-${c}` });
            done++;
          }
        }),
      );
      result[mode] = Math.max(result[mode], (done * 1000) / ms);
      stop.abort();
      await following;
      await unwatch?.();
      if (mode === "follower" && followed === 0) throw new Error("the follower saw nothing");
      await baton.close();
    }
  }
  return result;
}

export async function run({ quick }) {
  const count = quick ? 40 : 150;
  const gapMs = 40;
  const server = await postgres();
  const rows = [];
  const costRows = [];
  try {
    for (const [name, make] of storeTargets(server.url, "events", "full")) {
      const polled = await measure(make(), ["--stream-poll", "200ms"], count, gapMs);
      const watched = await measure(make(), [], count, gapMs);
      const row = (label, xs) => [`${name}: ${label}`, fmt(median(xs), 1), fmt(percentile(xs, 95), 1)];
      rows.push([...row("polling every 200 ms (baseline)", polled), "1x"]);
      rows.push([...row("watch", watched), `${(median(polled) / median(watched)).toFixed(1)}x`]);
    }
    const cost = await triggerCost(server.url, 8, quick ? 1500 : 3000, quick ? 2 : 3);
    const ratio = (x) => `${(x / cost.dropped).toFixed(2)}x`;
    costRows.push(["PostgreSQL claims/s, 8 clients: event triggers dropped (baseline)", fmt(cost.dropped), "1x"]);
    costRows.push(["... with the triggers (migration 11), a watch open", fmt(cost.triggers), ratio(cost.triggers)]);
    costRows.push([
      "... with the triggers and a follower following the log (same process)",
      fmt(cost.follower),
      ratio(cost.follower),
    ]);
  } finally {
    await server.stop();
  }
  return {
    name: "events",
    rows: [...rows, ...costRows],
    text: `${table(
      `Event latency: a write acknowledged in another process -> the event on a baton serve SSE stream (${count} writes each)`,
      ["stream", "p50 ms", "p95 ms", "faster than polling"],
      rows,
    )}\n${table(
      "What the event triggers cost PostgreSQL writers (in-process library, one schema each)",
      ["measure", "claims/s", "ratio"],
      costRows,
    )}`,
  };
}
