/**
 * {@link HttpBatonApi}: the {@link BatonApi} against `baton serve`. Each operation is a
 * `POST /v1/<name, _ as />` with a JSON body and the bearer token; an expected "no" comes
 * back as the same {@link OperationResult} the in-process API answers, and every error
 * body becomes a `BatonError` with the server's code (so exit codes and `code` checks are
 * the same either way). Uses Node's global fetch (undici), which keeps connections alive
 * between calls. Loads neither zod nor the catalogue.
 */
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

  constructor(options: HttpBatonApiOptions) {
    super();
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new BatonError("BAD_OPTION", `invalid server URL ${JSON.stringify(options.url)}: e.g. http://127.0.0.1:7357`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new BatonError("BAD_OPTION", `invalid server URL ${JSON.stringify(options.url)}: http:// or https://`);
    }
    if (typeof options.token !== "string" || options.token.trim() === "") {
      throw new BatonError("UNAUTHENTICATED", "a server needs a bearer token (BATON_TOKEN or --token; baton tokens add AGENT)");
    }
    this.#base = url.href.replace(/\/+$/, "");
    this.#token = options.token.trim();
    this.#as = options.as;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The server's base URL. */
  get url(): string {
    return this.#base;
  }

  async call<N extends OperationName>(name: N, input: OperationInput<N>): Promise<OperationResult> {
    const body = { ...(input as Record<string, unknown>), ...(this.#as === undefined ? {} : { as: this.#as }) };
    const { status, value } = await this.#request("POST", `/v1/${name.replaceAll("_", "/")}`, body);
    if (status >= 200 && status < 300) return value as unknown as OperationResult;
    if (status === 404 && value.code === "UNKNOWN_ROUTE") {
      throw new BatonError("UNKNOWN_ROUTE", `${name} is not offered by the server at ${this.#base} (it needs the caller's checkout, or the server is older)`);
    }
    // An expected "no" (held, done, not held …) is an answer, not an error.
    if (value.ok === false && isCode(value.code) && ERROR_CODES[value.code].exit === EXIT_NO && typeof value.message === "string") {
      return value as unknown as OperationResult;
    }
    throw this.#error(status, value);
  }

  async events(query: EventQuery = {}): Promise<ApiEvent[]> {
    return eventsOf(await this.call("log", logInput(query)));
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
    const details = typeof value.details === "object" && value.details !== null ? (value.details as Record<string, unknown>) : undefined;
    if (isCode(value.code)) return new BatonError(value.code, message, details);
    return new BatonError(status >= 500 ? "STORE_UNAVAILABLE" : "INTERNAL", `${this.#base}: ${message}`);
  }

  async #request(method: "GET" | "POST", path: string, body?: unknown): Promise<{ status: number; value: Record<string, unknown> }> {
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.#token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new BatonError("STORE_UNAVAILABLE", `cannot reach baton serve at ${this.#base}: ${why}`, undefined, { cause: error });
    }
    const text = await response.text();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = null;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      const code = response.status >= 500 ? "STORE_UNAVAILABLE" : "INTERNAL";
      throw new BatonError(code, `${this.#base}${path}: HTTP ${response.status} without a JSON body (is this baton serve?)`);
    }
    return { status: response.status, value: value as Record<string, unknown> };
  }
}
