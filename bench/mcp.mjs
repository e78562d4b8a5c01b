// Per-call latency of Baton's MCP tools over stdio (the SDK's client driving `baton mcp`
// in a child process), against one CLI call doing the same claim in the same run.
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { spawnSync } from "node:child_process";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CLI, cliClaimMedian, fmt, latencyRow, startServe, table, tempDir } from "./lib.mjs";

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
  const measure = async (client, prefix) => {
    const time = async (name, args) => {
      const start = performance.now();
      const r = await client.callTool({ name, arguments: args });
      const ms = performance.now() - start;
      if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
      return ms;
    };
    for (let i = 0; i < 50; i++) await time("claim", { key: `${prefix}warm:${i}` });
    const claim = [];
    const show = [];
    for (let i = 0; i < calls; i++) {
      claim.push(await time("claim", { key: `${prefix}fresh:${i}` }));
      show.push(await time("show", { key: `${prefix}fresh:${i}` }));
    }
    await client.close();
    return { claim, show };
  };
  const stdio = await measure(client, "stdio:");
  // The same tools over streamable HTTP at /mcp under baton serve (its own file: one server per file).
  const httpEnv = { ...env, BATON_DB: join(dir, "mcp-http.db") };
  delete httpEnv.BATON_AGENT;
  const token = JSON.parse(
    spawnSync(process.execPath, [CLI, "tokens", "add", "bench", "--json"], { env: httpEnv, encoding: "utf8" }).stdout,
  ).token;
  const server = await startServe(httpEnv);
  const url = server.url;
  const httpClient = new Client({ name: "bench-http", version: "1.0.0" });
  await httpClient.connect(
    new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  const http = await measure(httpClient, "http:");
  await server.stop();
  const c = cliClaimMedian(env, quick);
  const row = (label, xs) => latencyRow(label, xs, c);
  const rows = [
    row("stdio: claim <fresh key>", stdio.claim),
    row("stdio: show <key>", stdio.show),
    row("HTTP /mcp: claim <fresh key>", http.claim),
    row("HTTP /mcp: show <key>", http.show),
    ["baton claim (one CLI call, baseline)", fmt(c, 1), "", "1x", ""],
  ];
  return {
    name: "mcp",
    rows,
    text: table(
      `MCP tools over stdio (baton mcp) and streamable HTTP (/mcp under baton serve), ${calls} calls each, one client (target: p50 <= 2 ms)`,
      ["tool call", "p50 ms", "p99 ms", "faster than a CLI call", "target"],
      rows,
    ),
  };
}
