/**
 * MCP over streamable HTTP at `/mcp` under `baton serve`: the same tools as `baton mcp`,
 * minus those that need the agent's checkout, with the bearer token deciding the agent.
 * Stateless: each request gets a fresh server and transport bound to the caller's
 * identity, so no session can outlive or change its token.
 */
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { FastifyInstance } from "fastify";
import type { Baton } from "../../baton.js";
import type { Identity } from "../../services/tokens.js";
import { createMcpServer } from "../mcp/mcp-server.js";

export function registerMcpRoute(app: FastifyInstance, baton: Baton): void {
  const handle = async (request: import("fastify").FastifyRequest, reply: import("fastify").FastifyReply): Promise<void> => {
    const identity = request.identity as Identity;
    const server = createMcpServer(baton, { agent: identity.agent, cwd: process.cwd(), local: false, readOnly: identity.role === "read-only" });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    reply.raw.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(request.raw, reply.raw, request.body);
  };
  app.post("/mcp", handle);
  app.get("/mcp", handle);
  app.delete("/mcp", handle);
}
