/**
 * The OpenAPI 3.1 document of `baton serve`, generated from the operation catalogue's zod
 * schemas (the same ones that validate requests), so the document cannot drift.
 */
import { z } from "zod";
import type { Operation } from "../../api/catalogue.js";
import { ERROR_CODES, ERROR_KINDS } from "../../core/errors.js";

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
