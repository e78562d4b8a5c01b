/**
 * The error registry: every failure Baton reports has a stable `code` string,
 * shared by every surface. Each code maps to a CLI exit code and an HTTP status
 * here, in one table, so no surface invents its own mapping.
 *
 * Exit codes: 0 done, 1 the expected "no" (denied, not held, already done),
 * 2 bad input, 3 store unavailable, 4 internal.
 */

/** Exit code for the expected "no": denied, not held, already done. */
export const EXIT_NO = 1;
/** Exit code for bad input (keys, agents, durations, options, JSON). */
export const EXIT_BAD_INPUT = 2;
/** Exit code when the store cannot be used (locked, unreadable, newer schema). */
export const EXIT_UNAVAILABLE = 3;
/** Exit code for a bug or an unexpected failure. */
export const EXIT_INTERNAL = 4;

/**
 * What kind of failure a code is, for a surface that does not know every code:
 * - `denial`: the expected "no" (held, done, not mine); a value in the library, exit 1;
 * - `input`: the request is wrong (a bad key, option, path, or a git checkout missing); exit 2;
 * - `auth`: the caller is not known, or may not do this (a server's refusal); exit 2;
 * - `unavailable`: the store (or a lock) cannot be used now; retrying may help; exit 3;
 * - `internal`: a bug; exit 4.
 */
export type ErrorKind = "denial" | "input" | "auth" | "unavailable" | "internal";

/** Every kind, in the order above. */
export const ERROR_KINDS: readonly ErrorKind[] = ["denial", "input", "auth", "unavailable", "internal"];

interface CodeSpec {
  readonly kind: ErrorKind;
  readonly exit: number;
  readonly http: number;
  readonly summary: string;
}

/**
 * What to do after a "no" or a failure, as data: each surface words it in its own terms
 * (the CLI in flags and commands, MCP in tool and argument names, HTTP in fields).
 * `option` names an input of the operation (`reopen`, `similar`), or a setting (`busyTimeout`).
 */
export interface Hint {
  /** The operation to call next (`verify`, `claim`), or `retry`. */
  readonly action: "verify" | "claim" | "retry";
  /** The key to act on, when it is not the one just refused. */
  readonly key?: string;
  /** An input of that operation (or a setting) to give. */
  readonly option?: "reopen" | "similar" | "busyTimeout";
  /** The value for `option`, when it is not simply `true`. */
  readonly value?: string;
  /** An alternative, when the first step is not the right one. */
  readonly or?: Hint;
}

/** The hint of a store that stayed busy: retry, or wait longer for its lock. */
export const RETRY_BUSY: Hint = { action: "retry", option: "busyTimeout" };

/** Every error and denial code Baton emits, with its kind, exit code, HTTP status and meaning. */
export const ERROR_CODES = {
  // The expected "no": values in the library, exit 1 in the CLI.
  CLAIM_HELD: { kind: "denial", exit: EXIT_NO, http: 409, summary: "The key is held by another agent." },
  CLAIM_DONE: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary: "The work was completed recently; verify it instead of redoing it (or claim it again with reopen).",
  },
  NOT_HOLDER: { kind: "denial", exit: EXIT_NO, http: 409, summary: "You do not hold a live claim on the key." },
  CLAIM_EXPIRED: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary: "Your claim on the key expired; claim it again before acting.",
  },
  NOT_FOUND: { kind: "denial", exit: EXIT_NO, http: 404, summary: "No claim exists for the key." },
  CLAIM_SIMILAR: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary: "A live claim with a similar key exists (strict near-duplicate check): probably the same work.",
  },
  NOT_COMPLETED: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary: "The key is not completed, so there is nothing to verify.",
  },
  NOT_LOOSE_END: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary: "The key is not a loose end (it is live, completed or released), so there is nothing to resolve.",
  },
  RULES_MISSING: { kind: "denial", exit: EXIT_NO, http: 404, summary: "There is no operating-rules file yet." },
  RULES_INCOMPLETE: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary: "The operating rules still have empty slots.",
  },
  NOTHING_READY: {
    kind: "denial",
    exit: EXIT_NO,
    http: 404,
    summary: "No ready task to take (tier 3): explore instead of shopping for lanes.",
  },
  TASK_EXISTS: { kind: "denial", exit: EXIT_NO, http: 409, summary: "A task with this id exists (use task update)." },
  TASK_NOT_FOUND: { kind: "denial", exit: EXIT_NO, http: 404, summary: "No task with this id (use task add)." },
  PATH_CONFLICT: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary: "A requested path overlaps another agent's live path claim.",
  },
  OUT_OF_SYNC: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary:
      "A deploy from here would not ship the remote branch plus local commits (behind, diverged, dirty, or a claim lost).",
  },
  PATHS_BUSY: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary: "Someone else is on these paths: recent commits, path claims, uncommitted edits or work claims.",
  },
  PATH_BLOCKED: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary:
      "Staged files fall under another agent's live exclusive path claim, or are protected or outside the agent's write scope (the pre-commit guard, the harness edit hook).",
  },
  GATE_MARKED: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary: "The gate was already marked within the window: the side effect was done, do not repeat it.",
  },
  TOKEN_STALE: {
    kind: "denial",
    exit: EXIT_NO,
    http: 409,
    summary: "The fencing token is not the live holder's token.",
  },
  // Bad input: exit 2, nothing changed.
  BAD_INPUT: { kind: "input", exit: EXIT_BAD_INPUT, http: 400, summary: "The input is invalid." },
  BAD_KEY: { kind: "input", exit: EXIT_BAD_INPUT, http: 400, summary: "The key is invalid." },
  BAD_AGENT: { kind: "input", exit: EXIT_BAD_INPUT, http: 400, summary: "The agent name is invalid." },
  MISSING_AGENT: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "A mutating command needs an agent name (as, or BATON_AGENT).",
  },
  BAD_DURATION: { kind: "input", exit: EXIT_BAD_INPUT, http: 400, summary: "The duration is invalid." },
  BAD_META: { kind: "input", exit: EXIT_BAD_INPUT, http: 400, summary: "The metadata is not a JSON object." },
  BAD_TOKEN: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "The fencing token is not a positive integer.",
  },
  BAD_OPTION: { kind: "input", exit: EXIT_BAD_INPUT, http: 400, summary: "An option or argument is invalid." },
  BAD_CONFIG: { kind: "input", exit: EXIT_BAD_INPUT, http: 400, summary: "The configuration file is invalid." },
  BLOCKER_UNKNOWN: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "A task's blocker names no task (not in the backlog, nor in the same write or import).",
  },
  BLOCKER_CYCLE: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "The blockers would form a cycle, so no task in it could ever be ready.",
  },
  BAD_MARKER_DIR: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "The gate marker folder is not a folder, or cannot be read or written.",
  },
  BAD_PATH: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "The path pattern is empty, outside the repository, or not a valid glob.",
  },
  NOT_GIT_REPO: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "The directory is not inside a git repository.",
  },
  GIT_FAILED: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 422,
    summary: "A git command failed (unknown remote or ref, network, git missing).",
  },
  UNKNOWN_COMMAND: { kind: "input", exit: EXIT_BAD_INPUT, http: 404, summary: "No such command." },
  // The server's own refusals (baton serve).
  UNAUTHENTICATED: {
    kind: "auth",
    exit: EXIT_BAD_INPUT,
    http: 401,
    summary: "No valid bearer token: create one with baton tokens add AGENT and send it as BATON_TOKEN.",
  },
  FORBIDDEN: {
    kind: "auth",
    exit: EXIT_BAD_INPUT,
    http: 403,
    summary: "The token may not do this: act as another agent (admin only) or change state (read-only token).",
  },
  BODY_TOO_LARGE: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 413,
    summary: "The request body is larger than the server accepts.",
  },
  UNKNOWN_ROUTE: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 404,
    summary: "No such route on the server (see /openapi.json).",
  },
  REMOTE_UNSUPPORTED: {
    kind: "input",
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "The command does not run through a server (BATON_URL) yet: it needs a registry opened here.",
  },
  SERVER_RUNNING: {
    kind: "unavailable",
    exit: EXIT_UNAVAILABLE,
    http: 503,
    summary: "Another baton serve already serves this SQLite file (one server per file).",
  },
  // The store cannot be used: exit 3.
  STORE_BUSY: {
    kind: "unavailable",
    exit: EXIT_UNAVAILABLE,
    http: 503,
    summary: "The store stayed locked past the busy timeout.",
  },
  STORE_UNAVAILABLE: {
    kind: "unavailable",
    exit: EXIT_UNAVAILABLE,
    http: 503,
    summary: "The store cannot be opened or read.",
  },
  SCHEMA_TOO_NEW: {
    kind: "unavailable",
    exit: EXIT_UNAVAILABLE,
    http: 503,
    summary: "The store was written by a newer Baton; upgrade Baton to use it.",
  },
  RESOURCE_BUSY: {
    kind: "unavailable",
    exit: EXIT_UNAVAILABLE,
    http: 503,
    summary: "A fenced file's lock file stayed held by another live process past the lock timeout.",
  },
  STORE_CLOSED: { kind: "unavailable", exit: EXIT_UNAVAILABLE, http: 503, summary: "The Baton handle was closed." },
  // Everything else.
  INTERNAL: { kind: "internal", exit: EXIT_INTERNAL, http: 500, summary: "An internal error; please report it." },
} as const satisfies Record<string, CodeSpec>;

/** A stable error or denial code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes that are an expected "no" rather than a failure. */
export type DenialCode =
  | "CLAIM_HELD"
  | "CLAIM_DONE"
  | "NOT_HOLDER"
  | "CLAIM_EXPIRED"
  | "NOT_FOUND"
  | "TOKEN_STALE"
  | "PATH_CONFLICT"
  | "CLAIM_SIMILAR"
  | "NOT_COMPLETED"
  | "NOT_LOOSE_END"
  | "RULES_MISSING"
  | "RULES_INCOMPLETE"
  | "NOTHING_READY"
  | "TASK_EXISTS"
  | "TASK_NOT_FOUND"
  | "OUT_OF_SYNC"
  | "PATHS_BUSY"
  | "PATH_BLOCKED"
  | "GATE_MARKED";

/**
 * A typed Baton failure. Bad input and store failures are thrown as `BatonError`;
 * expected "no" answers are returned as values instead.
 */
export class BatonError extends Error {
  override readonly name = "BatonError";
  /** The stable code, e.g. `BAD_KEY` or `STORE_BUSY`. */
  readonly code: ErrorCode;
  /** Structured details for machine output (which field, which value). */
  readonly details: Record<string, unknown> | undefined;
  /** What to do about it, for the surface to word (see {@link Hint}). */
  readonly hint: Hint | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown; hint?: Hint },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = details;
    this.hint = options?.hint;
  }

  /** The kind of failure (see {@link ErrorKind}). */
  get kind(): ErrorKind {
    return ERROR_CODES[this.code].kind;
  }

  /** The CLI exit code for this error. */
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  /** The HTTP status for this error. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown>; hint?: Hint } {
    return {
      code: this.code,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
      ...(this.hint === undefined ? {} : { hint: this.hint }),
    };
  }
}

/** True when `value` is a {@link BatonError}, also across bundle boundaries. */
export function isBatonError(value: unknown): value is BatonError {
  return (
    value instanceof BatonError ||
    (value instanceof Error &&
      value.name === "BatonError" &&
      typeof (value as { code?: unknown }).code === "string" &&
      (value as unknown as { code: string }).code in ERROR_CODES)
  );
}

/** The kind of any code (`internal` for one Baton does not know). */
export function kindOf(code: string): ErrorKind {
  return code in ERROR_CODES ? ERROR_CODES[code as ErrorCode].kind : "internal";
}

/** The exit code for any thrown value: a BatonError's own, else internal. */
export function exitCodeFor(error: unknown): number {
  return isBatonError(error) ? ERROR_CODES[error.code].exit : EXIT_INTERNAL;
}
