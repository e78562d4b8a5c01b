/**
 * MCP over streamable HTTP at `/mcp` under `baton serve`: the same tools as `baton mcp`,
 * minus those that need the agent's checkout, with the bearer token deciding the agent.
 * A session (from `initialize` on) keeps one MCP server bound to the token that opened it:
 * another token cannot use it (403), and sessions idle for half an hour are closed.
 *
 * The SDK's web-standard transport is fed straight from fastify: a request view over Node's
 * headers (no `Request` object, no body stream: fastify has parsed the body), and the
 * `Response` it answers with written back through fastify. The SDK's Node transport wraps the
 * same class in its hono adapter, which converts both ways and cost ~1 ms a call here.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Baton } from "../../baton.js";
import { type ServerContext, serverContext } from "./http-context.js";
import { ERROR_CODES } from "../../core/errors.js";
import type { Identity } from "../../services/tokens.js";

/**
 * The MCP SDK and Baton's MCP server, loaded by the first session: ~100 ms of `baton serve`'s
 * ~450 ms start, which a server nobody reaches over MCP never needs.
 */
let mcpModules:
  | Promise<{
      Transport: typeof WebStandardStreamableHTTPServerTransport;
      createMcpServer: typeof import("../mcp/mcp-server.js").createMcpServer;
    }>
  | undefined;
const loadMcp = () =>
  (mcpModules ??= Promise.all([
    import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"),
    import("../mcp/mcp-server.js"),
  ]).then(([transport, server]) => ({
    Transport: transport.WebStandardStreamableHTTPServerTransport,
    createMcpServer: server.createMcpServer,
  })));

interface Session {
  readonly server: Server;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly tokenId: number;
  lastUsed: number;
}

const IDLE_MS = 30 * 60_000;

/** What the web-standard transport reads of a request's headers: `get` and `entries`. */
class HeaderView {
  constructor(readonly raw: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
  }
  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) yield [name, this.get(name) as string];
  }
}

/**
 * The request as the transport sees it (method, url, headers; the body comes parsed). Only
 * what WebStandardStreamableHTTPServerTransport reads, which test/http.test.ts drives.
 */
function webRequest(request: FastifyRequest): Request {
  const url = `http://${request.headers.host ?? "localhost"}${request.url}`;
  return { method: request.method, url, headers: new HeaderView(request.headers) } as unknown as Request;
}

/** Write the transport's answer: JSON and empty bodies through fastify, event streams piped. */
async function send(reply: FastifyReply, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (response.body === null) return void reply.code(response.status).headers(headers).send();
  if ((headers["content-type"] ?? "").startsWith("text/event-stream")) {
    reply.hijack();
    reply.raw.writeHead(response.status, headers);
    Readable.fromWeb(response.body as NodeReadableStream).pipe(reply.raw);
    return;
  }
  return void reply
    .code(response.status)
    .headers(headers)
    .send(await response.text());
}

export function registerMcpRoute(app: FastifyInstance, baton: Baton, context: ServerContext = serverContext()): void {
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
        return void reply.code(404).send({
          ok: false,
          code: "UNKNOWN_ROUTE",
          kind: "input",
          message: "unknown or closed MCP session: initialize again",
        });
      }
      if (session.tokenId !== identity.tokenId) {
        return void reply
          .code(ERROR_CODES.FORBIDDEN.http)
          .send({ ok: false, code: "FORBIDDEN", kind: "auth", message: "this MCP session belongs to another token" });
      }
      session.lastUsed = now;
      return send(reply, await session.transport.handleRequest(webRequest(request), { parsedBody: request.body }));
    }
    for (const [id, session] of sessions) if (now - session.lastUsed > IDLE_MS) close(id, session);
    const { Transport, createMcpServer } = await loadMcp();
    const server = createMcpServer(baton, {
      ...(await context(identity.agent)),
      readOnly: identity.role === "read-only",
    });
    const transport: WebStandardStreamableHTTPServerTransport = new Transport({
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
    return send(reply, await transport.handleRequest(webRequest(request), { parsedBody: request.body }));
  };
  app.post("/mcp", handle);
  app.get("/mcp", handle);
  app.delete("/mcp", handle);
}
