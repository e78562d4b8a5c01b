// Instructions a request costs the server, counted by valgrind's callgrind: what a change to the
// server's hot path saves, read the same on a loaded machine as on a quiet one (wall and CPU
// time on this shared 2-core machine move by 2x from run to run; instruction counts by ~1%).
// Baseline, in the same run: a bare node:http server answering the same requests with a
// claim's JSON, no framework, no store — the floor of Node's HTTP. Both run under callgrind
// with 32 keep-alive clients (the lean client); only the main thread's instructions are
// counted, after a warm-up, for a fixed number of requests.
//
// Needs valgrind (Debian: apt-get install valgrind); without it the benchmark says so and
// reports nothing. Instructions are not time: a printf-heavy builtin and a tight C loop cost
// very different time per instruction, and kernel work (syscalls, TCP) is not counted. Use it
// to compare builds of the same path, and `serve` for claims/s.
//
// BATON_BENCH_BASELINE=DIR: also count the build in DIR (a checkout with dist/ built).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, leanClient, table, tempDir } from "./lib.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLIENTS = 32;

function hasValgrind() {
  return spawnSync("valgrind", ["--version"], { encoding: "utf8" }).status === 0;
}

/** A bare node:http server answering every POST with a granted claim's JSON (the floor). */
const BARE_SERVER = `
const http = require("node:http");
const body = (key) => JSON.stringify({ ok: true, message: "claimed " + key, data: { outcome: "granted",
  claim: { key, agent: "bench", token: 1, state: "active", claimedAt: new Date().toISOString(),
  expiresAt: new Date(Date.now() + 3600000).toISOString(), endedAt: null, meta: null, result: null,
  commit: null, reason: null }, previous: null, similar: [] } });
const server = http.createServer((req, res) => {
  let text = ""; req.setEncoding("utf8");
  req.on("data", (c) => (text += c));
  req.on("end", () => { const out = body(JSON.parse(text).key);
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(out) });
    res.end(out); });
});
server.listen(0, "127.0.0.1", () => console.log("listening on http://127.0.0.1:" + server.address().port));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;

/** Instructions a request (thousands, main thread) of the server `args` starts, under callgrind. */
async function count(args, env, { warm, measured, token, route }) {
  const dir = tempDir("baton-bench-cg-");
  const out = join(dir, "cg.out");
  const child = spawn(
    "valgrind",
    ["--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes", `--callgrind-out-file=${out}`, ...args],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  const url = await new Promise((resolve, reject) => {
    let text = "";
    child.stdout.on("data", (c) => {
      text += c;
      const m = /^listening on (\S+)\n/m.exec(text);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`server under valgrind exited ${code}: ${stderr.slice(-500)}`)));
  });
  const client = leanClient(url, token, CLIENTS);
  const run = async (n, prefix) => {
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let i = 0; i < n / CLIENTS; i++) {
          const answer = await client.post(route, { key: `${prefix}:${c}:${i}` });
          if (answer.status !== 200) throw new Error(`${route} answered ${answer.status}: ${answer.body}`);
        }
      }),
    );
  };
  await run(warm, "warm");
  execFileSync("callgrind_control", ["-i", "on", String(child.pid)], { stdio: "ignore" });
  await run(measured, "m");
  execFileSync("callgrind_control", ["-i", "off", String(child.pid)], { stdio: "ignore" });
  client.close();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  // One file per thread; the main thread is thread 1.
  for (const file of readdirSync(dir).filter((f) => f.startsWith("cg.out"))) {
    const text = readFileSync(join(dir, file), "utf8");
    if (!/^thread: 1$/m.test(text)) continue;
    const totals = /^totals: (\d+)/m.exec(text) ?? /^summary: (\d+)/m.exec(text);
    if (totals) return Number(totals[1]) / measured / 1000;
  }
  throw new Error("callgrind wrote no main-thread totals");
}

/** `baton serve` of the checkout at `root` on a fresh SQLite file at FULL, with a token. */
function batonTarget(root) {
  const cli = join(root, "dist", "cli", "baton.js");
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build it first (node scripts/build.mjs)`);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BATON_DB: join(tempDir(), "serve.db"),
    BATON_SQLITE_SYNC: "full",
  };
  const made = spawnSync(process.execPath, [cli, "tokens", "add", "bench", "--json"], { env, encoding: "utf8" });
  if (made.status !== 0) throw new Error(`tokens add failed: ${made.stderr}`);
  const { token } = JSON.parse(made.stdout);
  return { args: [process.execPath, cli, "serve", "--port", "0", "--no-reap"], env, token };
}

export async function run({ quick }) {
  const name = "instructions";
  if (!hasValgrind()) {
    const text =
      "\n### Instructions per request (callgrind)\n\nskipped: valgrind is not installed (apt-get install valgrind)";
    return { name, rows: [], text };
  }
  const warm = quick ? 1600 : 6400;
  const measured = quick ? 800 : 1600;
  const bare = await count(
    [process.execPath, "-e", BARE_SERVER],
    { PATH: process.env.PATH },
    {
      warm,
      measured,
      token: "none",
      route: "/v1/claim",
    },
  );
  const builds = [["this build", ROOT]];
  if (process.env.BATON_BENCH_BASELINE) builds.push(["baseline build", process.env.BATON_BENCH_BASELINE]);
  const rows = [["bare node:http, the same requests (floor)", fmt(bare, 1), "1.00x"]];
  for (const [label, root] of builds) {
    const target = batonTarget(root);
    const claim = await count(target.args, target.env, { warm, measured, token: target.token, route: "/v1/claim" });
    rows.push([`baton serve, POST /v1/claim <fresh key> (${label})`, fmt(claim, 1), `${(claim / bare).toFixed(2)}x`]);
  }
  const text = table(
    `Instructions per request, server main thread (callgrind; ${CLIENTS} keep-alive clients, ${fmt(measured)} requests after ${fmt(warm)}; SQLite FULL, group commit)`,
    ["server", "k instructions / request", "vs bare node:http"],
    rows,
  );
  return { name, rows, text };
}
