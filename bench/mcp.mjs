// Per-call latency of Baton's MCP tools over stdio (the SDK's client driving `baton mcp`
// in a child process), against one CLI call doing the same claim in the same run.
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CLI, fmt, median, percentile, table, tempDir, timeProcess } from "./lib.mjs";

export async function run({ quick }) {
  const calls = quick ? 300 : 1500;
  const dir = tempDir();
  const env = { ...process.env, BATON_DB: join(dir, "mcp.db"), BATON_AGENT: "bench" };
  for (const key of Object.keys(env)) if (key.startsWith("BATON_") && !["BATON_DB", "BATON_AGENT"].includes(key)) delete env[key];
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp"], env, stderr: "ignore" }));
  const time = async (name, args) => {
    const start = performance.now();
    const r = await client.callTool({ name, arguments: args });
    const ms = performance.now() - start;
    if (r.isError) throw new Error(`${name} failed: ${JSON.stringify(r.content)}`);
    return ms;
  };
  for (let i = 0; i < 50; i++) await time("claim", { key: `warm:${i}` });
  const claim = [];
  const show = [];
  for (let i = 0; i < calls; i++) {
    claim.push(await time("claim", { key: `fresh:${i}` }));
    show.push(await time("show", { key: `fresh:${i}` }));
  }
  await client.close();
  const cli = [];
  for (let i = 0; i < (quick ? 10 : 30); i++) cli.push(timeProcess([CLI, "claim", `cli:${i}`], env));
  const c = median(cli);
  const row = (label, xs) => [label, fmt(median(xs), 2), fmt(percentile(xs, 99), 2), `${(c / median(xs)).toFixed(0)}x`, median(xs) <= 2 ? "met" : "MISSED"];
  const rows = [row("claim <fresh key>", claim), row("show <key>", show), ["baton claim (one CLI call, baseline)", fmt(c, 1), "", "1x", ""]];
  return {
    name: "mcp",
    rows,
    text: table(
      `MCP tools over stdio, ${calls} calls each, one client (target: p50 <= 2 ms)`,
      ["tool call", "p50 ms", "p99 ms", "faster than a CLI call", "target"],
      rows,
    ),
  };
}
