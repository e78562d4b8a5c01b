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

interface CodeSpec {
  readonly exit: number;
  readonly http: number;
  readonly summary: string;
}

/** Every error and denial code Baton emits, with its exit code, HTTP status and meaning. */
export const ERROR_CODES = {
  // The expected "no": values in the library, exit 1 in the CLI.
  CLAIM_HELD: { exit: EXIT_NO, http: 409, summary: "The key is held by another agent." },
  CLAIM_DONE: {
    exit: EXIT_NO,
    http: 409,
    summary: "The work was completed recently; verify it instead of redoing it (or pass --reopen).",
  },
  NOT_HOLDER: { exit: EXIT_NO, http: 409, summary: "You do not hold a live claim on the key." },
  CLAIM_EXPIRED: {
    exit: EXIT_NO,
    http: 409,
    summary: "Your claim on the key expired; claim it again before acting.",
  },
  NOT_FOUND: { exit: EXIT_NO, http: 404, summary: "No claim exists for the key." },
  CLAIM_SIMILAR: {
    exit: EXIT_NO,
    http: 409,
    summary: "A live claim with a similar key exists (strict near-duplicate check): probably the same work.",
  },
  NOT_COMPLETED: { exit: EXIT_NO, http: 409, summary: "The key is not completed, so there is nothing to verify." },
  NOT_LOOSE_END: {
    exit: EXIT_NO,
    http: 409,
    summary: "The key is not a loose end (it is live, completed or released), so there is nothing to resolve.",
  },
  RULES_MISSING: { exit: EXIT_NO, http: 404, summary: "There is no operating-rules file yet." },
  RULES_INCOMPLETE: { exit: EXIT_NO, http: 409, summary: "The operating rules still have empty slots." },
  NOTHING_READY: { exit: EXIT_NO, http: 404, summary: "No ready task to take (tier 3): explore instead of shopping for lanes." },
  TASK_EXISTS: { exit: EXIT_NO, http: 409, summary: "A task with this id exists (use task update)." },
  TASK_NOT_FOUND: { exit: EXIT_NO, http: 404, summary: "No task with this id (use task add)." },
  PATH_CONFLICT: {
    exit: EXIT_NO,
    http: 409,
    summary: "A requested path overlaps another agent's live path claim.",
  },
  OUT_OF_SYNC: {
    exit: EXIT_NO,
    http: 409,
    summary: "A deploy from here would not ship the remote branch plus local commits (behind, diverged, dirty, or a claim lost).",
  },
  PATHS_BUSY: {
    exit: EXIT_NO,
    http: 409,
    summary: "Someone else is on these paths: recent commits, path claims, uncommitted edits or work claims.",
  },
  PATH_BLOCKED: {
    exit: EXIT_NO,
    http: 409,
    summary:
      "Staged files fall under another agent's live exclusive path claim, or are protected or outside the agent's write scope (the pre-commit guard, the harness edit hook).",
  },
  GATE_MARKED: {
    exit: EXIT_NO,
    http: 409,
    summary: "The gate was already marked within the window: the side effect was done, do not repeat it.",
  },
  TOKEN_STALE: {
    exit: EXIT_NO,
    http: 409,
    summary: "The fencing token is not the live holder's token.",
  },
  // Bad input: exit 2, nothing changed.
  BAD_INPUT: { exit: EXIT_BAD_INPUT, http: 400, summary: "The input is invalid." },
  BAD_KEY: { exit: EXIT_BAD_INPUT, http: 400, summary: "The key is invalid." },
  BAD_AGENT: { exit: EXIT_BAD_INPUT, http: 400, summary: "The agent name is invalid." },
  MISSING_AGENT: {
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "A mutating command needs an agent name (--as NAME or BATON_AGENT).",
  },
  BAD_DURATION: { exit: EXIT_BAD_INPUT, http: 400, summary: "The duration is invalid." },
  BAD_META: { exit: EXIT_BAD_INPUT, http: 400, summary: "The metadata is not a JSON object." },
  BAD_TOKEN: { exit: EXIT_BAD_INPUT, http: 400, summary: "The fencing token is not a positive integer." },
  BAD_OPTION: { exit: EXIT_BAD_INPUT, http: 400, summary: "An option or argument is invalid." },
  BAD_CONFIG: { exit: EXIT_BAD_INPUT, http: 400, summary: "The configuration file is invalid." },
  BLOCKER_UNKNOWN: {
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "A task's blocker names no task (not in the backlog, nor in the same write or import).",
  },
  BLOCKER_CYCLE: { exit: EXIT_BAD_INPUT, http: 400, summary: "The blockers would form a cycle, so no task in it could ever be ready." },
  BAD_MARKER_DIR: {
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "The gate marker folder is not a folder, or cannot be read or written.",
  },
  BAD_PATH: {
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "The path pattern is empty, outside the repository, or not a valid glob.",
  },
  NOT_GIT_REPO: { exit: EXIT_BAD_INPUT, http: 400, summary: "The directory is not inside a git repository." },
  GIT_FAILED: {
    exit: EXIT_BAD_INPUT,
    http: 422,
    summary: "A git command failed (unknown remote or ref, network, git missing).",
  },
  UNKNOWN_COMMAND: { exit: EXIT_BAD_INPUT, http: 404, summary: "No such command." },
  // The server's own refusals (baton serve).
  UNAUTHENTICATED: {
    exit: EXIT_BAD_INPUT,
    http: 401,
    summary: "No valid bearer token: create one with baton tokens add AGENT and send it as BATON_TOKEN.",
  },
  FORBIDDEN: {
    exit: EXIT_BAD_INPUT,
    http: 403,
    summary: "The token may not do this: act as another agent (admin only) or change state (read-only token).",
  },
  BODY_TOO_LARGE: { exit: EXIT_BAD_INPUT, http: 413, summary: "The request body is larger than the server accepts." },
  UNKNOWN_ROUTE: { exit: EXIT_BAD_INPUT, http: 404, summary: "No such route on the server (see /openapi.json)." },
  REMOTE_UNSUPPORTED: {
    exit: EXIT_BAD_INPUT,
    http: 400,
    summary: "The command does not run through a server (BATON_URL) yet: it needs a registry opened here.",
  },
  SERVER_RUNNING: {
    exit: EXIT_UNAVAILABLE,
    http: 503,
    summary: "Another baton serve already serves this SQLite file (one server per file).",
  },
  // The store cannot be used: exit 3.
  STORE_BUSY: {
    exit: EXIT_UNAVAILABLE,
    http: 503,
    summary: "The store stayed locked past the busy timeout.",
  },
  STORE_UNAVAILABLE: {
    exit: EXIT_UNAVAILABLE,
    http: 503,
    summary: "The store cannot be opened or read.",
  },
  SCHEMA_TOO_NEW: {
    exit: EXIT_UNAVAILABLE,
    http: 503,
    summary: "The store was written by a newer Baton; upgrade Baton to use it.",
  },
  RESOURCE_BUSY: {
    exit: EXIT_UNAVAILABLE,
    http: 503,
    summary: "A fenced file's lock file stayed held by another live process past the lock timeout.",
  },
  STORE_CLOSED: { exit: EXIT_UNAVAILABLE, http: 503, summary: "The Baton handle was closed." },
  // Everything else.
  INTERNAL: { exit: EXIT_INTERNAL, http: 500, summary: "An internal error; please report it." },
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

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** The CLI exit code for this error. */
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }

  /** The HTTP status for this error. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
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

/** The exit code for any thrown value: a BatonError's own, else internal. */
export function exitCodeFor(error: unknown): number {
  return isBatonError(error) ? ERROR_CODES[error.code].exit : EXIT_INTERNAL;
}
