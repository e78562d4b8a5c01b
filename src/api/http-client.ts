/**
 * {@link HttpBatonApi}: the {@link BatonApi} against `baton serve`. Each operation is a
 * `POST /v1/<name, _ as />` with a JSON body and the bearer token; an expected "no" comes
 * back as the same {@link OperationResult} the in-process API answers, and every error
 * body becomes a `BatonError` with the server's code (so exit codes and `code` checks are
 * the same either way). Uses Node's global fetch (undici), which keeps connections alive
 * between calls, or another {@link HttpTransport} (the CLI passes {@link nodeHttpTransport}:
 * one call from a fresh process pays ~15 ms for node:http, ~120 ms for initialising undici).
 * Loads neither zod nor the catalogue.
 */

/** One HTTP exchange, as {@link HttpBatonApi} needs it. A failure to connect rejects. */
export type HttpTransport = (request: {
  readonly method: "GET" | "POST";
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly timeoutMs: number;
}) => Promise<{ readonly status: number; readonly text: string }>;

/** The default transport: Node's global fetch (undici; keep-alive connections across calls). */
export const fetchTransport: HttpTransport = async ({ method, url, headers, body, timeoutMs }) => {
  const response = await fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: response.status, text: await response.text() };
};

/**
 * A transport on node:http / node:https: cheap to load in a short-lived process (the CLI
 * makes one or two calls, so undici's start-up would dominate them).
 */
export const nodeHttpTransport: HttpTransport = ({ method, url, headers, body, timeoutMs }) =>
  new Promise((resolve, reject) => {
    const send = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method,
        headers: body === undefined ? headers : { ...headers, "content-length": String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: "ETIMEDOUT" })),
    );
    req.on("error", reject);
    req.end(body);
  });
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { BatonError, ERROR_CODES, type ErrorCode, EXIT_NO } from "../core/errors.js";
import { type ApiEvent, type ApiIdentity, type EventQuery, eventsOf, logInput, OperationMethods } from "./baton-api.js";
import type { OperationInput, OperationName, OperationResult } from "./catalogue.js";

/** Options of {@link HttpBatonApi}. */
export interface HttpBatonApiOptions {
  /** The server, e.g. `http://127.0.0.1:7357` (what `baton serve` prints). */
  readonly url: string;
  /** The bearer token (`baton tokens add AGENT`): it decides the agent. */
  readonly token: string;
  /**
   * Act as this agent. The server refuses (`FORBIDDEN`) a name other than the token's
   * agent unless the token is an admin's. Default: the token's agent.
   */
  readonly as?: string;
  /** Give up on a request after this many ms (default 30 000): `STORE_UNAVAILABLE`. */
  readonly timeoutMs?: number;
  /** How requests are sent (default {@link fetchTransport}). */
  readonly transport?: HttpTransport;
}

function isCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

/** {@link BatonApi} over HTTP, against `baton serve`. */
export class HttpBatonApi extends OperationMethods {
  readonly #base: string;
  readonly #token: string;
  readonly #as: string | undefined;
  readonly #timeoutMs: number;
  readonly #transport: HttpTransport;

  constructor(options: HttpBatonApiOptions) {
    super();
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new BatonError(
        "BAD_OPTION",
        `invalid server URL ${JSON.stringify(options.url)}: e.g. http://127.0.0.1:7357`,
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new BatonError("BAD_OPTION", `invalid server URL ${JSON.stringify(options.url)}: http:// or https://`);
    }
    if (typeof options.token !== "string" || options.token.trim() === "") {
      throw new BatonError(
        "UNAUTHENTICATED",
        "a server needs a bearer token (BATON_TOKEN or --token; baton tokens add AGENT)",
      );
    }
    this.#base = url.href.replace(/\/+$/, "");
    this.#token = options.token.trim();
    this.#as = options.as;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#transport = options.transport ?? fetchTransport;
  }

  /** The server's base URL. */
  get url(): string {
    return this.#base;
  }

  /**
   * This client's server, token and transport, acting as `agent` (what a seed verb's SESSION
   * names): the server refuses (`FORBIDDEN`, nothing changed) an agent other than the token's
   * unless the token is an admin's.
   */
  actingAs(agent: string): HttpBatonApi {
    return new HttpBatonApi({
      url: this.#base,
      token: this.#token,
      as: agent,
      timeoutMs: this.#timeoutMs,
      transport: this.#transport,
    });
  }

  async call<N extends OperationName>(name: N, input: OperationInput<N>): Promise<OperationResult> {
    const body = { ...(input as Record<string, unknown>), ...(this.#as === undefined ? {} : { as: this.#as }) };
    const { status, value } = await this.#request("POST", `/v1/${name.replaceAll("_", "/")}`, body);
    if (status >= 200 && status < 300) return value as unknown as OperationResult;
    if (status === 404 && value.code === "UNKNOWN_ROUTE") {
      throw new BatonError(
        "UNKNOWN_ROUTE",
        `${name} is not offered by the server at ${this.#base} (it needs the caller's checkout, or the server is older)`,
      );
    }
    // An expected "no" (held, done, not held …) is an answer, not an error.
    if (
      value.ok === false &&
      isCode(value.code) &&
      ERROR_CODES[value.code].exit === EXIT_NO &&
      typeof value.message === "string"
    ) {
      return value as unknown as OperationResult;
    }
    throw this.#error(status, value);
  }

  async events(query: EventQuery = {}): Promise<ApiEvent[]> {
    return eventsOf(await this.call("log", logInput(query)));
  }

  /**
   * Follow the server's audit log as it grows (`GET /v1/events`, Server-Sent Events): the
   * events after `after` matching the filter, in batches as they arrive, until `signal` is
   * aborted (then it returns). A stream the server ends, or cannot open, is an error with the
   * server's code (`STORE_UNAVAILABLE` when it just went away).
   */
  async *follow(
    query: Pick<EventQuery, "key" | "agent" | "kind"> & { readonly after: number },
    signal: AbortSignal,
  ): AsyncGenerator<ApiEvent[]> {
    const params = new URLSearchParams({ after: String(query.after) });
    if (query.key !== undefined) params.set("key", query.key);
    if (query.agent !== undefined) params.set("agent", query.agent);
    if (query.kind !== undefined) params.set("kind", query.kind.join(","));
    const url = `${this.#base}/v1/events?${params.toString()}`;
    const headers = { authorization: `Bearer ${this.#token}`, accept: "text/event-stream" };
    const batches: ApiEvent[][] = [];
    let failure: BatonError | null = null;
    let ended = false;
    let wake: (() => void) | null = null;
    const notify = (): void => {
      wake?.();
      wake = null;
    };
    const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(url, { method: "GET", headers }, (res) => {
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          let value: Record<string, unknown> = {};
          try {
            value = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
          } catch {
            // not JSON: the status says it
          }
          failure = this.#error(res.statusCode ?? 0, value);
          notify();
        });
        return;
      }
      res.setEncoding("utf8");
      let buffer = "";
      res.on("data", (text: string) => {
        buffer += text;
        const blocks = buffer.split("\n\n");
        buffer = blocks.pop() ?? "";
        const batch: ApiEvent[] = [];
        for (const block of blocks) {
          let kind = "message";
          let data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) kind = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data === "") continue; // a comment (the greeting, keep-alives)
          const value = JSON.parse(data) as Record<string, unknown>;
          if (kind === "error") {
            const code = isCode(value.code) ? value.code : "STORE_UNAVAILABLE";
            failure = new BatonError(code, `${this.#base}: the event stream failed (${code})`);
          } else batch.push(value as unknown as ApiEvent);
        }
        if (batch.length > 0) batches.push(batch);
        notify();
      });
      res.on("end", () => {
        ended = true;
        notify();
      });
      res.on("error", () => {
        ended = true;
        notify();
      });
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (!signal.aborted)
        failure = new BatonError(
          "STORE_UNAVAILABLE",
          `cannot reach baton serve at ${this.#base}: ${error.code ?? error.message}`,
        );
      notify();
    });
    const onAbort = (): void => {
      req.destroy();
      notify();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    req.end();
    try {
      for (;;) {
        const batch = batches.shift();
        if (batch !== undefined) {
          yield batch;
          continue;
        }
        if (signal.aborted) return;
        if (failure !== null) throw failure;
        if (ended)
          throw new BatonError("STORE_UNAVAILABLE", `${this.#base} ended the event stream (the server stopped?)`);
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      req.destroy();
    }
  }

  async whoami(): Promise<ApiIdentity> {
    const { status, value } = await this.#request("GET", "/v1/whoami");
    if (status !== 200) throw this.#error(status, value);
    return { agent: String(value.agent), role: String(value.role) };
  }

  /** Nothing to let go of: the global fetch's idle connections do not keep the process alive. */
  async close(): Promise<void> {}

  #error(status: number, value: Record<string, unknown>): BatonError {
    const message = typeof value.message === "string" ? value.message : `the server answered HTTP ${status}`;
    const details =
      typeof value.details === "object" && value.details !== null
        ? (value.details as Record<string, unknown>)
        : undefined;
    if (isCode(value.code)) return new BatonError(value.code, message, details);
    return new BatonError(status >= 500 ? "STORE_UNAVAILABLE" : "INTERNAL", `${this.#base}: ${message}`);
  }

  async #request(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ): Promise<{ status: number; value: Record<string, unknown> }> {
    let response: { readonly status: number; readonly text: string };
    try {
      response = await this.#transport({
        method,
        url: `${this.#base}${path}`,
        headers: {
          authorization: `Bearer ${this.#token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        timeoutMs: this.#timeoutMs,
      });
    } catch (error) {
      const own = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
      const why = own.cause?.code ?? own.code ?? own.cause?.message ?? own.message;
      throw new BatonError("STORE_UNAVAILABLE", `cannot reach baton serve at ${this.#base}: ${why}`, undefined, {
        cause: error,
      });
    }
    const text = response.text;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = null;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      const code = response.status >= 500 ? "STORE_UNAVAILABLE" : "INTERNAL";
      throw new BatonError(
        code,
        `${this.#base}${path}: HTTP ${response.status} without a JSON body (is this baton serve?)`,
      );
    }
    return { status: response.status, value: value as Record<string, unknown> };
  }
}
