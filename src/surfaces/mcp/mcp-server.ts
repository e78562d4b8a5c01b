/**
 * Baton's operations as MCP tools: a table from catalogue entries to tools, nothing
 * else. The acting agent is the server's (one server per agent session), never a tool
 * argument. An expected "no" (held, done, conflict, nothing ready) is a tool result with
 * `isError: true`, its `code`, the holder and the next step worded for a model; bad
 * arguments are protocol errors (invalid params) with the reason.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { CATALOGUE, CHECKOUT_FIELDS, type Operation, type OperationResult } from "../../api/catalogue.js";
import { inputError } from "../../api/input-errors.js";
import type { Baton } from "../../baton.js";
import { ERROR_CODES, isBatonError } from "../../core/errors.js";
import { nextStep } from "./mcp-hints.js";

declare const BATON_VERSION: string | undefined;
const VERSION = typeof BATON_VERSION === "string" ? BATON_VERSION : "0.0.0-dev";

export interface McpServerOptions {
  /** The acting agent for every tool call. */
  readonly agent: string;
  /** The checkout the agent works in. */
  readonly cwd: string;
  /** Offer the tools that need the checkout on this machine (probe, sync_check). */
  readonly local: boolean;
  /** Offer only the tools that change nothing (a read-only token). */
  readonly readOnly?: boolean;
  /** The repository identity of `cwd`, when the surface found it already; null: none (see OperationContext). */
  readonly repo?: string | null;
}

/**
 * What every tool answers in `structuredContent` (`ok` and `message` always; this list is
 * repeated in every tool, so it says only what a model reads).
 */
const OUTPUT_SCHEMA = {
  type: "object",
  properties: { ok: { type: "boolean" }, code: { type: "string" }, message: { type: "string" } },
} as const;

/** Drop what says nothing to a model from a JSON Schema node and the nodes under it. */
function compact(node: Record<string, unknown>): void {
  // zod's `.int()` bounds: the limits of a JavaScript number, not of the argument.
  if (node.maximum === Number.MAX_SAFE_INTEGER) delete node.maximum;
  if (node.minimum === Number.MIN_SAFE_INTEGER) delete node.minimum;
  // An enum of strings says its type.
  if (Array.isArray(node.enum) && node.type === "string" && node.enum.every((v) => typeof v === "string"))
    delete node.type;
  // `{type: object}` says what a free-form object needs; zod's propertyNames adds nothing.
  delete node.propertyNames;
  if (node.type === "object" && node.additionalProperties !== undefined) delete node.additionalProperties;
  for (const child of [node.items, ...Object.values((node.properties ?? {}) as Record<string, unknown>)]) {
    if (typeof child === "object" && child !== null) compact(child as Record<string, unknown>);
  }
}

/**
 * A compact JSON Schema of an operation's input (no `$schema`, no repeated noise), without
 * the fields the catalogue keeps out of tools (and, where the checkout is, what it supplies). Unknown
 * arguments are still refused (invalid params naming them): `additionalProperties: false`
 * on every tool cost ~100 tokens of the list and told a model nothing it acts on.
 */
function inputSchema(operation: Operation, local: boolean): Tool["inputSchema"] {
  const schema = z.toJSONSchema(operation.input, { target: "draft-2020-12", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  delete schema.$schema;
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  for (const field of [...(operation.toolHidden ?? []), ...(local ? CHECKOUT_FIELDS : [])]) delete properties[field];
  compact(schema);
  return schema as Tool["inputSchema"];
}

/** The tool list for these options, derived from the catalogue. */
export function toolsFor(options: Pick<McpServerOptions, "local" | "readOnly">): Tool[] {
  const key = `${options.local}:${options.readOnly === true}`;
  let tools = TOOL_LISTS.get(key);
  if (tools === undefined) {
    tools = buildTools(options);
    TOOL_LISTS.set(key, tools);
  }
  return tools;
}

/** The tool lists built so far: the catalogue is fixed, so each variant is built once. */
const TOOL_LISTS = new Map<string, Tool[]>();

function buildTools(options: Pick<McpServerOptions, "local" | "readOnly">): Tool[] {
  return CATALOGUE.filter(
    (operation) =>
      operation.tool !== false &&
      (options.local || !operation.local) &&
      (options.readOnly !== true || !operation.mutates),
  ).map((operation) => ({
    name: operation.name,
    description: operation.summary,
    inputSchema: inputSchema(operation, options.local),
    outputSchema: OUTPUT_SCHEMA as unknown as Tool["outputSchema"],
    // Only what differs from MCP's defaults (destructive and idempotent mean something
    // only for tools that change state).
    annotations: operation.mutates
      ? {
          ...(operation.destructive ? {} : { destructiveHint: false }),
          ...(operation.idempotent ? { idempotentHint: true } : {}),
          openWorldHint: false,
        }
      : { readOnlyHint: true, openWorldHint: false },
  }));
}

/**
 * Each operation's strict input schema, built once: zod compiles a schema's fast path on its
 * first parse, and a `.strict()` per call paid that every time (~1 ms of each tool call).
 */
const STRICT_INPUTS = new Map<Operation, z.ZodObject>();

function strictInput(operation: Operation): z.ZodObject {
  let schema = STRICT_INPUTS.get(operation);
  if (schema === undefined) {
    schema = operation.input.strict();
    STRICT_INPUTS.set(operation, schema);
  }
  return schema;
}

/** Bad arguments: invalid params, worded as every surface words a schema's refusal (src/api/input-errors.ts). */
function invalidParams(operation: Operation, error: z.ZodError): McpError {
  return new McpError(ErrorCode.InvalidParams, inputError(operation.name, error).message);
}

function toolResult(result: OperationResult): CallToolResult {
  const text = result.ok
    ? result.message
    : `${result.code ?? "DENIED"}: ${result.message}${result.code === undefined ? "" : `\nNext step: ${nextStep(result.code, result.hint)}`}`;
  return {
    content: [{ type: "text", text }],
    structuredContent: { ...result } as Record<string, unknown>,
    ...(result.ok ? {} : { isError: true }),
  };
}

/**
 * A failure that is not the expected "no": bad input becomes invalid params (the caller
 * must fix its arguments); an unavailable store or a bug becomes a tool error with the
 * code, never a stack trace.
 */
function failure(operation: Operation, error: unknown): CallToolResult {
  if (isBatonError(error)) {
    const spec = ERROR_CODES[error.code];
    if (spec.exit === 2) throw new McpError(ErrorCode.InvalidParams, `${operation.name}: ${error.message}`);
    return toolResult({ ok: false, code: error.code, message: error.message });
  }
  return toolResult({ ok: false, code: "INTERNAL", message: `${operation.name} failed unexpectedly` });
}

/** An MCP server (not yet connected) answering with `baton` as `options.agent`. */
export function createMcpServer(baton: Baton, options: McpServerOptions): Server {
  const server = new Server({ name: "baton", version: VERSION }, { capabilities: { tools: {} } });
  const tools = toolsFor(options);
  const offered = new Set(tools.map((tool) => tool.name));
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const operation = CATALOGUE.find((entry) => entry.name === request.params.name);
    if (operation === undefined || !offered.has(operation.name)) {
      throw new McpError(ErrorCode.InvalidParams, `unknown tool ${JSON.stringify(request.params.name)}`);
    }
    const parsed = strictInput(operation).safeParse(request.params.arguments ?? {});
    if (!parsed.success) throw invalidParams(operation, parsed.error);
    try {
      return toolResult(
        await operation.run(baton, parsed.data, {
          agent: options.agent,
          cwd: options.cwd,
          local: options.local,
          ...(options.repo === undefined ? {} : { repo: options.repo }),
        }),
      );
    } catch (error) {
      return failure(operation, error);
    }
  });
  return server;
}
