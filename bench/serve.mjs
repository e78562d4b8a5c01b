// Per-call latency through `baton serve` over keep-alive HTTP (fetch), against one CLI call
// doing the same claim in the same run; and claims/s with 1, 8 and 32 concurrent clients.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { CLI, fmt, median, percentile, startServe, table, tempDir, timeProcess } from "./lib.mjs";

export async function run({ quick }) {
  const dir = tempDir();
  const env = { ...process.env, BATON_DB: join(dir, "serve.db") };
  for (const key of Object.keys(env)) if (key.startsWith("BATON_") && key !== "BATON_DB") delete env[key];
  const token = JSON.parse(spawnSync(process.execPath, [CLI, "tokens", "add", "bench", "--json"], { env, encoding: "utf8" }).stdout).token;
  const server = await startServe(env);
  const call = async (path, body) => {
    const start = performance.now();
    const r = await fetch(server.url + path, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    await r.arrayBuffer();
    return performance.now() - start;
  };
  const n = quick ? 300 : 1500;
  for (let i = 0; i < 50; i++) await call("/v1/claim", { key: `warm:${i}` });
  const claim = [];
  const show = [];
  for (let i = 0; i < n; i++) {
    claim.push(await call("/v1/claim", { key: `fresh:${i}` }));
    show.push(await call("/v1/show", { key: `fresh:${i}` }));
  }
  const throughput = [];
  for (const clients of [1, 8, 32]) {
    let done = 0;
    const until = performance.now() + (quick ? 1000 : 3000);
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; performance.now() < until; i++) {
          await call("/v1/claim", { key: `tp:${clients}:${c}:${i}` });
          done++;
        }
      }),
    );
    throughput.push([clients, (done * 1000) / (quick ? 1000 : 3000)]);
  }
  await server.stop();
  const cli = [];
  for (let i = 0; i < (quick ? 10 : 30); i++) cli.push(timeProcess([CLI, "claim", `cli:${i}`], { ...env, BATON_AGENT: "bench" }));
  const c = median(cli);
  const row = (label, xs) => [label, fmt(median(xs), 2), fmt(percentile(xs, 99), 2), `${(c / median(xs)).toFixed(0)}x`, median(xs) <= 2 ? "met" : "MISSED"];
  const rows = [
    row("POST /v1/claim <fresh key>", claim),
    row("POST /v1/show <key>", show),
    ["baton claim (one CLI call, baseline)", fmt(c, 1), "", "1x", ""],
    ...throughput.map(([clients, rate]) => [`claims/s, ${clients} clients (SQLite FULL, commit per request)`, fmt(rate), "", "", ""]),
  ];
  return {
    name: "serve",
    rows,
    text: table(
      `Through baton serve on loopback, keep-alive, ${n} calls each (target: p50 <= 2 ms)`,
      ["call", "p50 ms", "p99 ms", "faster than a CLI call", "target"],
      rows,
    ),
  };
}
