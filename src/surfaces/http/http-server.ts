/**
 * `baton serve`'s HTTP surface: JSON routes under `/v1` generated from the operation
 * catalogue, bearer tokens deciding the agent, an OpenAPI document from the same zod
 * schemas, `/healthz`, `/metrics` (Prometheus) and the audit log as Server-Sent Events
 * with `Last-Event-ID` resume. It translates only: no decision lives here.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import { CATALOGUE, type Operation, type OperationResult } from "../../api/catalogue.js";
import { inputError } from "../../api/input-errors.js";
import { VIEW_OPERATIONS } from "../../api/views.js";
import type { Baton } from "../../baton.js";
import { BatonError, ERROR_CODES, type ErrorCode, type Hint, isBatonError, kindOf } from "../../core/errors.js";
import { TOKEN_LENGTH } from "../../core/tokens.js";
import type { Identity } from "../../services/tokens.js";
import { registerDashboard } from "./http-dashboard.js";
import { registerEventStream } from "./http-events.js";
import { type HookRouteOptions, registerHookRoutes } from "./http-hooks.js";
import { serverContext } from "./http-context.js";
import { registerMcpRoute } from "./http-mcp.js";
import { createMetrics, type Metrics } from "./http-metrics.js";
import { openApiDocument } from "./http-openapi.js";
import { isoString } from "../../core/time.js";

declare const BATON_VERSION: string | undefined;
const VERSION = typeof BATON_VERSION === "string" ? BATON_VERSION : "0.0.0-dev";

export interface HttpServerOptions {
  /** Largest accepted request body in bytes (default 64 KiB; larger is 413). */
  readonly bodyLimit?: number;
  /** For a store without the watch capability (or with `streamWatch: false`): how often an event stream reads again, ms (default 200). */
  readonly streamPollMs?: number;
  /**
   * Wake event streams through the store's watch capability when it has one (default true);
   * false: every stream polls the log every `streamPollMs` (a PostgreSQL behind a pooler
   * in transaction mode cannot LISTEN).
   */
  readonly streamWatch?: boolean;
  /** Seconds between keep-alive comments on an event stream (default 15). */
  readonly heartbeatSeconds?: number;
  /** The harness-hook policy and rules for `/v1/hooks/…` (default: the built-in defaults). */
  readonly hooks?: HookRouteOptions;
  /**
   * On `app.close()`: how long requests still running may take before their connections are
   * cut, ms (default 10,000). Idle keep-alive connections close at once.
   */
  readonly closeGraceMs?: number;
}

/** The route of an operation: `paths_claim` is `POST /v1/paths/claim`. */
export function routeOf(operation: Operation): string {
  return `/v1/${operation.name.replaceAll("_", "/")}`;
}

/** Operations a server offers: those that need no checkout on the caller's machine, and the operator views. */
export const SERVER_OPERATIONS: readonly Operation[] = [...CATALOGUE, ...VIEW_OPERATIONS].filter(
  (operation) => !operation.local,
);

/** An error answer: the code, its kind, the message, and the structured hint as a field (HTTP's wording of it). */
function fail(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
  hint?: Hint,
): FastifyReply {
  return reply.code(ERROR_CODES[code].http).send({
    ok: false,
    code,
    kind: ERROR_CODES[code].kind,
    message,
    ...(details === undefined ? {} : { details }),
    ...(hint === undefined ? {} : { hint }),
  });
}

const BEARER = "Bearer ";

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== "string") return null;
  // What every client sends, without the regular expression: "Bearer " and a token's length of
  // characters. (Any whitespace in them makes a value no token has, as the expression's would.)
  if (header.length === BEARER.length + TOKEN_LENGTH && header.startsWith(BEARER)) return header.slice(BEARER.length);
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

declare module "fastify" {
  interface FastifyRequest {
    identity: Identity | null;
  }
  interface FastifyInstance {
    /** Every route registered, as `METHOD /path` (parameters in OpenAPI's `{name}` form): each is in /openapi.json. */
    readonly batonRoutes: readonly string[];
  }
}

/** Pick the agent a request acts as: its token's, or (admin only) the one it names. */
function actingAgent(identity: Identity, named: unknown): string | BatonError {
  if (named === undefined || named === identity.agent) return identity.agent;
  if (identity.role === "admin" && typeof named === "string") return named;
  return new BatonError(
    "FORBIDDEN",
    `this token acts as ${identity.agent}; it cannot act as ${JSON.stringify(named)} (only an admin token can)`,
  );
}

/**
 * On `app.close()`, close every connection that is not answering a request — idle keep-alive
 * ones, ones that never sent a request (a client's pool may hold such), and each one as soon as
 * its answer (or event stream) ends — and cut what is still open after `graceMs`. Node's own
 * close only closes connections idle at that moment: one that goes idle later (an MCP session's
 * stream ends a moment after its transport closes), or that never sent a byte, would hold the
 * close for a minute, until its keep-alive or headers timeout.
 */
function closeWhenIdle(app: FastifyInstance, graceMs: number): void {
  const answering = new Map<Socket, number>();
  const open = new Set<Socket>();
  let closing = false;
  const settle = (socket: Socket): void => {
    // end(), not destroy(): an answer just written still reaches the client, then the FIN.
    if (closing && (answering.get(socket) ?? 0) === 0) socket.end();
  };
  app.server.on("connection", (socket: Socket) => {
    open.add(socket);
    socket.once("close", () => {
      open.delete(socket);
      answering.delete(socket);
    });
  });
  app.server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    answering.set(socket, (answering.get(socket) ?? 0) + 1);
    response.once("close", () => {
      answering.set(socket, (answering.get(socket) ?? 1) - 1);
      settle(socket);
    });
  });
  let cut: NodeJS.Timeout | undefined;
  app.addHook("preClose", async () => {
    closing = true;
    for (const socket of open) settle(socket);
    cut = setTimeout(() => {
      for (const socket of open) socket.destroy();
    }, graceMs);
    cut.unref();
  });
  app.addHook("onClose", async () => clearTimeout(cut));
}

/** Build the server (not yet listening). Close it with `app.close()`; the Baton stays open. */
export async function createHttpServer(baton: Baton, options: HttpServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit ?? 64 * 1024, return503OnClosing: true });
  const metrics: Metrics = createMetrics(baton);
  const tokens = baton.tokens;
  const streams = new Set<() => void>();
  // The acting agent per request; the server's folder and repository identity found once.
  const context = serverContext();
  app.decorateRequest("identity", null);
  const routes: string[] = [];
  app.decorate("batonRoutes", routes);
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) {
      if (method !== "HEAD") routes.push(`${method} ${route.url.replace(/:(\w+)/g, "{$1}")}`);
    }
  });

  // Streams never end by themselves: close them before the server waits for its connections.
  app.addHook("preClose", async () => {
    for (const end of streams) end();
  });
  closeWhenIdle(app, options.closeGraceMs ?? 10_000);

  app.setNotFoundHandler((request, reply) =>
    fail(reply, "UNKNOWN_ROUTE", `no route ${request.method} ${request.url.split("?")[0]}`),
  );
  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    if (isBatonError(error)) {
      // Bad input's details (which field, which blocker) are the client's to read; nothing else's.
      const details = ERROR_CODES[error.code].kind === "input" ? error.details : undefined;
      return fail(reply, error.code, error.message, details, error.hint);
    }
    if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      const limit = request.routeOptions.bodyLimit;
      return fail(
        reply,
        "BODY_TOO_LARGE",
        `the request body is too large: ${request.method} ${request.url.split("?")[0]} accepts at most ${limit} bytes`,
        { limit },
      );
    }
    if (typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500) {
      // Malformed JSON, a wrong content type, an empty body: the client's to fix.
      return reply
        .code(error.statusCode === 415 ? 415 : 400)
        .send({ ok: false, code: "BAD_INPUT", kind: "input", message: error.message });
    }
    metrics.storeErrors.inc();
    process.stderr.write(`baton serve: internal error: ${error.stack ?? error.message}\n`);
    return fail(reply, "INTERNAL", "internal error");
  });

  // Authentication for everything under /v1: the token decides who the caller is.
  app.addHook("onRequest", async (request, reply) => {
    if (!request.url.startsWith("/v1/") && request.url !== "/mcp" && !request.url.startsWith("/mcp?")) return;
    const token = bearer(request);
    if (token === null)
      return fail(reply, "UNAUTHENTICATED", "send Authorization: Bearer <token> (baton tokens add AGENT)");
    const identity = await tokens.authenticate(token);
    if (identity === null) return fail(reply, "UNAUTHENTICATED", "unknown or revoked token");
    request.identity = identity;
  });

  app.get("/healthz", async (_request, reply) => {
    try {
      const now = await baton.now();
      return {
        ok: true,
        store: baton.store.description.replace(/:\/\/([^:@/]+):[^@/]*@/, "://$1:***@"),
        now: isoString(now),
      };
    } catch (error) {
      return fail(reply, isBatonError(error) ? error.code : "STORE_UNAVAILABLE", "the store is not reachable");
    }
  });

  app.get("/openapi.json", async () => openApiDocument(SERVER_OPERATIONS, VERSION));

  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get("/v1/whoami", async (request) => ({
    ok: true,
    agent: request.identity?.agent,
    role: request.identity?.role,
  }));

  for (const operation of SERVER_OPERATIONS) {
    const schema = operation.input.extend({ as: z.string().optional() }).strict();
    const measured = metrics.forOperation(operation.name);
    // A bulk operation (task_import) takes a larger body than the server's default.
    const routeOptions = operation.bodyLimit === undefined ? {} : { bodyLimit: operation.bodyLimit };
    app.post(routeOf(operation), routeOptions, async (request, reply) => {
      const identity = request.identity as Identity;
      const parsed = schema.safeParse(request.body ?? {});
      if (!parsed.success) {
        const refused = inputError(operation.name, parsed.error);
        return fail(reply, refused.code, refused.message, refused.details);
      }
      const { as: named, ...input } = parsed.data as Record<string, unknown>;
      const agent = actingAgent(identity, named);
      if (agent instanceof BatonError) return fail(reply, agent.code, agent.message);
      if (operation.mutates && identity.role === "read-only") {
        return fail(reply, "FORBIDDEN", `${operation.name} changes state; this token is read-only`);
      }
      if (operation.admin === true && identity.role !== "admin") {
        return fail(
          reply,
          "FORBIDDEN",
          `${operation.name} is for admin tokens (baton tokens add NAME --admin); this token is ${identity.agent}'s`,
        );
      }
      const stop = measured.startTimer();
      let result: OperationResult;
      try {
        result = await operation.run(baton, input as never, context.known(agent) ?? (await context(agent)));
      } catch (error) {
        stop();
        measured.error();
        if (isBatonError(error) && ERROR_CODES[error.code].exit === 3) metrics.storeErrors.inc();
        throw error;
      }
      stop();
      measured.record(result);
      if (result.ok) return result;
      const code = (result.code ?? "CLAIM_HELD") as ErrorCode;
      // A "no" carries its kind too (always `denial`), so a client reads every failure one way.
      return reply.code(ERROR_CODES[code]?.http ?? 409).send({ ...result, kind: kindOf(code) });
    });
  }

  registerMcpRoute(app, baton, context);
  registerDashboard(app);
  registerHookRoutes(app, baton, options.hooks);

  registerEventStream(app, baton, metrics, streams, {
    pollMs: options.streamPollMs,
    watch: options.streamWatch,
    heartbeatSeconds: options.heartbeatSeconds,
  });

  return app;
}
