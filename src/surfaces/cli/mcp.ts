/**
 * `baton mcp`: Baton's operations as MCP tools over stdio, for one agent. The agent is
 * `--as` / `BATON_AGENT` / the config file's; the store is opened as for every command.
 * stdout carries only the protocol; diagnostics go to stderr.
 */
import { BatonError } from "../../core/errors.js";
import { parseAgent } from "../../core/identity.js";
import type { CommonFlags } from "./main.js";
import { emitError } from "./output.js";
import { configFor, openFromConfig } from "./session.js";

/** Serve MCP on stdin/stdout until the client closes the stream. */
export async function mcp(flags: CommonFlags): Promise<void> {
  const mode = { json: false };
  try {
    const config = await configFor(flags);
    if (config.agent === undefined) {
      throw new BatonError(
        "MISSING_AGENT",
        'baton mcp serves one agent: pass --as NAME, set BATON_AGENT, or put "agent" in .baton/config.json ' +
          "(e.g. claude mcp add baton -e BATON_AGENT=claude-1 -- baton mcp)",
      );
    }
    const agent = parseAgent(config.agent);
    const cwd = process.cwd();
    // The checkout's repository identity, found once for the session (null: not a repository),
    // so `next` runs no git process per call.
    const [{ createMcpServer }, { StdioServerTransport }, repo] = await Promise.all([
      import("../mcp/mcp-server.js"),
      import("@modelcontextprotocol/sdk/server/stdio.js"),
      import("../../workspace/checkout.js").then(({ repositoryId }) => repositoryId({ cwd }).catch(() => null)),
    ]);
    const baton = await openFromConfig(config);
    const server = createMcpServer(baton, { agent, cwd, local: true, repo });
    const closed = new Promise<void>((resolve) => {
      server.onclose = () => resolve();
      process.stdin.once("end", () => resolve());
    });
    await server.connect(new StdioServerTransport());
    process.stderr.write(`baton mcp: serving ${agent} on ${baton.store.description}\n`);
    await closed;
    await server.close().catch(() => undefined);
    await baton.close();
  } catch (error) {
    emitError(mode, error);
  }
}
