/**
 * The in-process {@link BatonApi}: each call is parsed by its catalogue schema (bad input
 * is a `BAD_INPUT` BatonError, nothing changed) and run on a {@link Baton} as one agent.
 * This is today's library behind the interface the HTTP client also implements.
 */
import type { Baton } from "../baton.js";
import { BatonError } from "../core/errors.js";
import { parseAgent } from "../core/identity.js";
import { type ApiEvent, type ApiIdentity, type EventQuery, eventsOf, logInput, OperationMethods } from "./baton-api.js";
import {
  findOperation,
  type Operation,
  type OperationContext,
  type OperationInput,
  type OperationName,
  type OperationResult,
} from "./catalogue.js";
import { inputError } from "./input-errors.js";

/** Options of {@link InProcessBatonApi}. */
export interface InProcessBatonApiOptions {
  /** The agent every call acts as. */
  readonly agent: string;
  /** The checkout path operations, rules and probe use (default: the process's cwd). */
  readonly cwd?: string;
  /**
   * `cwd` is the caller's own checkout (default true): path operations may then resolve
   * patterns typed there. False (a caller elsewhere): they need `repo` and repository-relative
   * patterns, and nothing on this machine is read for them.
   */
  readonly local?: boolean;
  /** Close the Baton with {@link InProcessBatonApi.close} (default false: the caller owns it). */
  readonly ownsBaton?: boolean;
}

/** Each operation's schema refusing unknown fields, as the server's routes do (built once). */
const strict = new Map<string, Operation["input"]>();
function strictInput(operation: Operation): Operation["input"] {
  let schema = strict.get(operation.name);
  if (schema === undefined) strict.set(operation.name, (schema = operation.input.strict()));
  return schema;
}

/** {@link BatonApi} on a Baton in this process, acting as one agent. */
export class InProcessBatonApi extends OperationMethods {
  readonly #baton: Baton;
  readonly #context: OperationContext;
  readonly #owns: boolean;

  constructor(baton: Baton, options: InProcessBatonApiOptions) {
    super();
    this.#baton = baton;
    this.#context = {
      agent: parseAgent(options.agent),
      cwd: options.cwd ?? process.cwd(),
      local: options.local ?? true,
    };
    this.#owns = options.ownsBaton ?? false;
  }

  async call<N extends OperationName>(name: N, input: OperationInput<N>): Promise<OperationResult> {
    const operation = findOperation(name);
    if (operation === undefined) throw new BatonError("UNKNOWN_COMMAND", `no operation ${JSON.stringify(name)}`);
    const parsed = strictInput(operation).safeParse(input ?? {});
    if (!parsed.success) throw inputError(operation.name, parsed.error);
    return operation.run(this.#baton, parsed.data, this.#context);
  }

  async events(query: EventQuery = {}): Promise<ApiEvent[]> {
    return eventsOf(await this.call("log", logInput(query)));
  }

  async whoami(): Promise<ApiIdentity> {
    return { agent: this.#context.agent, role: "agent" };
  }

  async close(): Promise<void> {
    if (this.#owns) await this.#baton.close();
  }
}
