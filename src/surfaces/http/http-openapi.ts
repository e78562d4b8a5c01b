/**
 * The OpenAPI 3.1 document of `baton serve`, generated from the operation catalogue's zod
 * schemas (the same ones that validate requests), so the document cannot drift.
 */
import { z } from "zod";
import type { Operation } from "../../api/catalogue.js";
import { ERROR_CODES, ERROR_KINDS } from "../../core/errors.js";
import { HARNESSES, HOOK_EVENTS } from "../../services/harness.js";

/** What to do next, as data (docs/ERRORS.md): the operation, the key, an input to give, an alternative. */
const HINT = {
  type: "object",
  properties: {
    action: { type: "string", enum: ["verify", "claim", "retry"] },
    key: { type: "string" },
    option: { type: "string" },
    value: { type: "string" },
    or: { type: "object" },
  },
  required: ["action"],
};

const RESULT = {
  type: "object",
  properties: {
    ok: { type: "boolean" },
    code: { type: "string", description: "a stable code (docs/ERRORS.md) when ok is false" },
    message: { type: "string" },
    kind: { type: "string", enum: [...ERROR_KINDS], description: "when ok is false: denial" },
    hint: HINT,
    holder: { type: "object" },
    data: {},
  },
  required: ["ok", "message"],
};

const ERROR = {
  type: "object",
  properties: {
    ok: { const: false },
    code: { type: "string", enum: Object.keys(ERROR_CODES) },
    kind: { type: "string", enum: [...ERROR_KINDS] },
    message: { type: "string" },
    details: { type: "object" },
    hint: HINT,
  },
  required: ["ok", "code", "kind", "message"],
};

function bodySchema(operation: Operation): Record<string, unknown> {
  const schema = z.toJSONSchema(operation.input.extend({ as: z.string().optional() }).strict(), {
    target: "draft-2020-12",
    unrepresentable: "any",
  }) as Record<string, unknown>;
  delete schema.$schema;
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  if (properties?.as) properties.as.description = "act as this agent (admin tokens only; default: the token's agent)";
  return schema;
}

const json = (schema: unknown) => ({ "application/json": { schema } });
const errors = (statuses: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(statuses).map(([status, description]) => [status, { description, content: json(ERROR) }]),
  );

/**
 * `POST /v1/hooks/{event}` (src/surfaces/http/http-hooks.ts): the harness's hook payload in,
 * the body `baton hook HARNESS EVENT` prints out (the harness's own answer format).
 */
const HOOKS = {
  post: {
    operationId: "hook",
    summary:
      "A harness hook (Claude Code's http hooks): the hook's JSON in, the answer `baton hook HARNESS EVENT` prints out. pre-tool-use needs ?repo=.",
    security: [{ bearer: [] }],
    parameters: [
      { name: "event", in: "path", required: true, schema: { type: "string", enum: [...HOOK_EVENTS] } },
      {
        name: "harness",
        in: "query",
        schema: { type: "string", enum: [...HARNESSES], default: "claude" },
        description: "the answer's format",
      },
      {
        name: "repo",
        in: "query",
        schema: { type: "string", pattern: "^(root:[0-9a-f]{7,64}|dir:\\S.*)$" },
        description:
          "the repository identity (root:<root commit>): needed by pre-tool-use; session-end releases its path claims there",
      },
      {
        name: "root",
        in: "query",
        schema: { type: "string" },
        description: "the checkout's root (absolute) for pre-tool-use (default: the payload's cwd)",
      },
    ],
    requestBody: {
      required: false,
      content: json({
        type: "object",
        description: "the hook's payload as the harness sends it; fields Baton reads:",
        properties: {
          session_id: { type: "string" },
          cwd: { type: "string" },
          hook_event_name: { type: "string" },
          source: { type: "string" },
          tool_name: { type: "string" },
          tool_input: { type: "object", description: "file_path / notebook_path / path; for Codex the patch" },
        },
        additionalProperties: true,
      }),
    },
    responses: {
      "200": {
        description:
          "the harness's answer (an empty body lets the call through; Gemini gets {} or a decision). A failure Baton answered for (fail open, or refused with hookFailure closed) names its reason in x-baton-hook-failure.",
        headers: { "x-baton-hook-failure": { schema: { type: "string" } } },
        content: json({
          anyOf: [
            {
              type: "object",
              properties: {
                hookSpecificOutput: {
                  type: "object",
                  properties: {
                    hookEventName: { type: "string", enum: ["SessionStart", "PreToolUse"] },
                    additionalContext: { type: "string", description: "session-start: the rules and the context" },
                    env: { type: "object", description: "Codex: the session's identity" },
                    permissionDecision: { const: "deny" },
                    permissionDecisionReason: { type: "string" },
                  },
                  required: ["hookEventName"],
                },
              },
              required: ["hookSpecificOutput"],
            },
            {
              type: "object",
              description: "Gemini CLI",
              properties: { decision: { type: "string", enum: ["allow", "deny"] }, reason: { type: "string" } },
            },
          ],
        }),
      },
      ...errors({
        "401": "no valid token",
        "403": "a read-only token on a hook that changes claims",
        "404": "no such hook or harness (UNKNOWN_ROUTE)",
        "413": "the payload is too large",
      }),
    },
  },
};

/** The routes beside the operations: who am I, this document, the MCP endpoint, the dashboard. */
const OTHER_ROUTES = {
  "/v1/whoami": {
    get: {
      operationId: "whoami",
      summary: "The token's agent and role.",
      security: [{ bearer: [] }],
      responses: {
        "200": {
          description: "who this token acts as",
          content: json({
            type: "object",
            properties: {
              ok: { const: true },
              agent: { type: "string" },
              role: { type: "string", enum: ["agent", "admin", "read-only"] },
            },
            required: ["ok", "agent", "role"],
          }),
        },
        ...errors({ "401": "no valid token" }),
      },
    },
  },
  "/openapi.json": {
    get: { operationId: "openapi", summary: "This document.", responses: { "200": { description: "OpenAPI 3.1" } } },
  },
  "/mcp": Object.fromEntries(
    (["post", "get", "delete"] as const).map((method) => [
      method,
      {
        operationId: `mcp_${method}`,
        summary: "The MCP tools over streamable HTTP (the MCP protocol; a session belongs to its token).",
        security: [{ bearer: [] }],
        responses: {
          "200": { description: "MCP" },
          ...errors({ "401": "no valid token", "403": "another token's session" }),
        },
      },
    ]),
  ),
  "/": {
    get: { operationId: "dashboard", summary: "The dashboard page.", responses: { "200": { description: "HTML" } } },
  },
  "/dashboard/{file}": {
    get: {
      operationId: "dashboard_asset",
      summary: "The dashboard's script and styles.",
      parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }],
      responses: { "200": { description: "an asset" }, "404": { description: "no such file" } },
    },
  },
};

/** The document for these operations. */
export function openApiDocument(operations: readonly Operation[], version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const operation of operations) {
    const statuses = new Set(operation.codes.map((code) => ERROR_CODES[code as keyof typeof ERROR_CODES]?.http ?? 409));
    const responses: Record<string, unknown> = {
      "200": { description: "done", content: { "application/json": { schema: RESULT } } },
      "400": { description: "bad input (nothing changed)", content: { "application/json": { schema: ERROR } } },
      "401": { description: "no valid token", content: { "application/json": { schema: ERROR } } },
      "403": { description: "the token may not do this", content: { "application/json": { schema: ERROR } } },
      "503": { description: "the store is unavailable", content: { "application/json": { schema: ERROR } } },
    };
    for (const status of statuses) {
      responses[String(status)] = {
        description: `the expected no: ${operation.codes.join(", ")}`,
        content: { "application/json": { schema: RESULT } },
      };
    }
    paths[`/v1/${operation.name.replaceAll("_", "/")}`] = {
      post: {
        operationId: operation.name,
        summary: operation.summary,
        security: [{ bearer: [] }],
        requestBody: { required: true, content: { "application/json": { schema: bodySchema(operation) } } },
        responses,
      },
    };
  }
  paths["/v1/events"] = {
    get: {
      operationId: "events",
      summary: "The audit log as Server-Sent Events; ids are event ids (resume with Last-Event-ID or ?after=).",
      security: [{ bearer: [] }],
      parameters: [
        { name: "after", in: "query", schema: { type: "integer", minimum: 0 } },
        { name: "key", in: "query", schema: { type: "string" } },
        { name: "agent", in: "query", schema: { type: "string" } },
        { name: "kind", in: "query", schema: { type: "string" }, description: "comma-separated event kinds" },
        { name: "Last-Event-ID", in: "header", schema: { type: "string" } },
      ],
      responses: { "200": { description: "an event stream", content: { "text/event-stream": {} } } },
    },
  };
  paths["/v1/hooks/{event}"] = HOOKS;
  Object.assign(paths, OTHER_ROUTES);
  paths["/healthz"] = {
    get: { operationId: "healthz", summary: "The store is reachable.", responses: { "200": { description: "ok" } } },
  };
  paths["/metrics"] = {
    get: { operationId: "metrics", summary: "Prometheus metrics.", responses: { "200": { description: "text" } } },
  };
  return {
    openapi: "3.1.0",
    info: { title: "Baton", version, description: "Atomic work claims for fleets of autonomous agents." },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    paths,
  };
}
