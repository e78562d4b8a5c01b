// Per-call latency of Baton's MCP tools over stdio (the SDK's client driving `baton mcp` in a
// child process) and over streamable HTTP (`/mcp` under `baton serve`), against one CLI call doing
// the same claim in the same run. Over HTTP two clients take turns on one server: the SDK's
// client (fetch) and a lean keep-alive node:http JSON-RPC client, so the client's share of a call
// shows apart from the server's; the server's own CPU per call is read from /proc, with
// `POST /v1/show` on the same server as the floor the MCP layers add to.
import { join } from "node:path";
import { setMaxListeners } from "node:events";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { spawnSync } from "node:child_process";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CLI, cliClaimMedian, fmt, jsonClient, latencyRow, processCpuMs, startServe, table, tempDir } from "./lib.mjs";

const PROTOCOL_VERSION = "2025-06-18";

/**
 * The SDK client's transport passes one AbortSignal to every fetch, and undici keeps each
 * request's abort listener on it until the request is garbage-collected: after ~1,500 calls
 * Node warns of a leak that is not one (MaxListenersExceededWarning). Lift the limit on that
 * signal only; aborting on close works as before.
 */
function fetchWithoutListenerWarning() {
  const lifted = new WeakSet();
  return (url, init) => {
    const signal = init?.signal;
    if (signal && !lifted.has(signal)) {
      lifted.add(signal);
      setMaxListeners(0, signal);
    }
    return fetch(url, init);
  };
}

/**
 * A lean MCP client over streamable HTTP: JSON-RPC over one keep-alive node:http connection,
 * no SDK (no schema validation, no fetch), so what it measures is the server's side.
 * `callTool` answers like the SDK client's (the JSON-RPC result).
 */
function leanMcpClient(url, token) {
  const client = jsonClient(url, token);
  let session;
  let id = 0;
  const rpc = async (method, params, notification = false) => {
    const headers = { accept: "application/json, text/event-stream", "mcp-protocol-version": PROTOCOL_VERSION };
    if (session !== undefined) headers["mcp-session-id"] = session;
    const message = notification ? { jsonrpc: "2.0", method, params } : { jsonrpc: "2.0", id: ++id, method, params };
    const r = await client.post("/mcp", message, headers);
    session ??= r.headers["mcp-session-id"];
    if (notification) return undefined;
    if (r.status !== 200) throw new Error(`${method} answered ${r.status}: ${r.body}`);
    // JSON response mode; an event stream's `data:` line would carry the same message.
    const text = (r.headers["content-type"] ?? "").startsWith("text/event-stream")
      ? r.body
          .split("\n")
          .find((line) => line.startsWith("data: "))
          .slice(6)
      : r.body;
    const answer = JSON.parse(text);
    if (answer.error !== undefined) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
    return answer.result;
  };
  return {
    async connect() {
      await rpc("initialize", {
        protocolVersion: PROTOCOL_VERSION,
        capabilities: {},
        clientInfo: { name: "bench-lean", version: "1.0.0" },
      });
      await rpc("notifications/initialized", undefined, true);
    },
    callTool: ({ name, arguments: args }) => rpc("tools/call", { name, arguments: args }),
    close: async () => client.close(),
  };
}

/** `calls` fresh-key claims and shows through `client`, after `warm` warm-up claims: { claim, show } ms. */
async function measure(client, prefix, calls, warm = 50) {
  const time = async (name, args) => {
    const start = performance.now();
    const r = await client.callTool({ name, arguments: args });
    const ms = performance.now() - start;
    if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
    return ms;
  };
  for (let i = 0; i < warm; i++) await time("claim", { key: `${prefix}warm:${i}` });
  const claim = [];
  const show = [];
  for (let i = 0; i < calls; i++) {
    claim.push(await time("claim", { key: `${prefix}fresh:${i}` }));
    show.push(await time("show", { key: `${prefix}fresh:${i}` }));
  }
  return { claim, show };
}

export async function run({ quick }) {
  const calls = quick ? 300 : 1500;
  const dir = tempDir();
  const env = { ...process.env, BATON_DB: join(dir, "mcp.db"), BATON_AGENT: "bench" };
  for (const key of Object.keys(env))
    if (key.startsWith("BATON_") && !["BATON_DB", "BATON_AGENT"].includes(key)) delete env[key];
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp"], env, stderr: "ignore" }),
  );
  const stdio = await measure(client, "stdio:", calls);
  await client.close();

  // The same tools over streamable HTTP at /mcp under baton serve (its own file: one server per file).
  const httpEnv = { ...env, BATON_DB: join(dir, "mcp-http.db") };
  delete httpEnv.BATON_AGENT;
  const token = JSON.parse(
    spawnSync(process.execPath, [CLI, "tokens", "add", "bench", "--json"], { env: httpEnv, encoding: "utf8" }).stdout,
  ).token;
  const server = await startServe(httpEnv);
  const sdk = new Client({ name: "bench-http", version: "1.0.0" });
  await sdk.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
      fetch: fetchWithoutListenerWarning(),
    }),
  );
  const lean = leanMcpClient(server.url, token);
  await lean.connect();
  const rest = jsonClient(server.url, token);
  const restClient = {
    async callTool({ name, arguments: args }) {
      const r = await rest.post(`/v1/${name}`, args);
      if (r.status !== 200) throw new Error(`/v1/${name} answered ${r.status}: ${r.body}`);
      return JSON.parse(r.body);
    },
  };
  // The three clients take turns in rounds on the one server, so a drift in the machine's load
  // hits them alike; the server's CPU is read around each client's turns.
  const clients = { sdk, lean, rest: restClient };
  const results = Object.fromEntries(Object.keys(clients).map((k) => [k, { claim: [], show: [], cpuMs: 0 }]));
  const rounds = quick ? 3 : 10;
  const perRound = Math.ceil(calls / rounds);
  for (const [name, c] of Object.entries(clients)) await measure(c, `${name}:`, 0);
  for (let round = 0; round < rounds; round++) {
    for (const [name, c] of Object.entries(clients)) {
      const before = processCpuMs(server.pid);
      const r = await measure(c, `${name}:${round}:`, perRound, 0);
      const after = processCpuMs(server.pid);
      results[name].claim.push(...r.claim);
      results[name].show.push(...r.show);
      results[name].cpuMs = before === null || after === null ? null : results[name].cpuMs + (after - before);
    }
  }
  await sdk.close();
  await lean.close();
  rest.close();
  await server.stop();

  const c = cliClaimMedian(env, quick);
  // Server CPU per call: each turn made perRound claims and perRound shows.
  const cpu = (name) => (results[name].cpuMs === null ? "n/a" : fmt(results[name].cpuMs / (rounds * 2 * perRound), 2));
  const row = (label, xs, cpuCell = "") => {
    const [l, p50, p99, faster, target] = latencyRow(label, xs, c);
    return [l, p50, p99, cpuCell, faster, target];
  };
  const rows = [
    row("stdio: claim <fresh key>", stdio.claim),
    row("stdio: show <key>", stdio.show),
    row("HTTP /mcp, SDK client: claim <fresh key>", results.sdk.claim, cpu("sdk")),
    row("HTTP /mcp, SDK client: show <key>", results.sdk.show),
    row("HTTP /mcp, lean client: claim <fresh key>", results.lean.claim, cpu("lean")),
    row("HTTP /mcp, lean client: show <key>", results.lean.show),
    row("POST /v1/claim, same server (floor)", results.rest.claim, cpu("rest")),
    row("POST /v1/show, same server (floor)", results.rest.show),
    ["baton claim (one CLI call, baseline)", fmt(c, 1), "", "", "1x", ""],
  ];
  return {
    name: "mcp",
    rows,
    text: table(
      `MCP tools over stdio (baton mcp) and streamable HTTP (/mcp under baton serve), ${calls} calls each, one client at a time; over HTTP the clients take turns in ${rounds} rounds; server CPU per call (claims and shows together) from /proc (target: p50 <= 2 ms)`,
      ["tool call", "p50 ms", "p99 ms", "server CPU ms/call", "faster than a CLI call", "target"],
      rows,
    ),
  };
}
