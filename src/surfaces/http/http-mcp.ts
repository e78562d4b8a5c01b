/**
 * MCP over streamable HTTP at `/mcp` under `baton serve`: the same tools as `baton mcp`,
 * minus those that need the agent's checkout, with the bearer token deciding the agent.
 * A session (from `initialize` on) keeps one MCP server bound to the token that opened it:
 * another token cannot use it (403), and sessions idle for half an hour are closed.
 */
import { randomUUID } from "node:crypto";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Baton } from "../../baton.js";
import { ERROR_CODES } from "../../core/errors.js";
import type { Identity } from "../../services/tokens.js";
import { createMcpServer } from "../mcp/mcp-server.js";

interface Session {
  readonly server: Server;
  readonly transport: StreamableHTTPServerTransport;
  readonly tokenId: number;
  lastUsed: number;
}

const IDLE_MS = 30 * 60_000;

export function registerMcpRoute(app: FastifyInstance, baton: Baton): void {
  const sessions = new Map<string, Session>();
  const close = (id: string, session: Session): void => {
    sessions.delete(id);
    void session.transport.close();
    void session.server.close();
  };
  app.addHook("preClose", async () => {
    for (const [id, session] of sessions) close(id, session);
  });

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const identity = request.identity as Identity;
    const now = Date.now();
    const header = request.headers["mcp-session-id"];
    if (typeof header === "string" && header !== "") {
      const session = sessions.get(header);
      if (session === undefined) {
        return void reply.code(404).send({ ok: false, code: "UNKNOWN_ROUTE", kind: "input", message: "unknown or closed MCP session: initialize again" });
      }
      if (session.tokenId !== identity.tokenId) {
        return void reply
          .code(ERROR_CODES.FORBIDDEN.http)
          .send({ ok: false, code: "FORBIDDEN", kind: "auth", message: "this MCP session belongs to another token" });
      }
      session.lastUsed = now;
      reply.hijack();
      await session.transport.handleRequest(request.raw, reply.raw, request.body);
      return;
    }
    for (const [id, session] of sessions) if (now - session.lastUsed > IDLE_MS) close(id, session);
    const server = createMcpServer(baton, {
      agent: identity.agent,
      cwd: process.cwd(),
      local: false,
      readOnly: identity.role === "read-only",
    });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        sessions.set(id, { server, transport, tokenId: identity.tokenId, lastUsed: Date.now() });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    reply.hijack();
    await transport.handleRequest(request.raw, reply.raw, request.body);
  };
  app.post("/mcp", handle);
  app.get("/mcp", handle);
  app.delete("/mcp", handle);
}
