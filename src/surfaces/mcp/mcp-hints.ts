/**
 * The next step after an expected "no", worded for a model calling MCP tools: tool
 * names and argument names, never CLI flags. A structured {@link Hint} from the service
 * is worded first; otherwise one line per code.
 */
import type { Hint } from "../../core/errors.js";

/** The argument (or, for a setting, what to do instead) for each option a hint names. */
const ARGUMENTS: Record<NonNullable<Hint["option"]>, string> = {
  reopen: "reopen: true",
  similar: "similar",
  busyTimeout: "a longer wait",
};

function step(hint: Hint): string {
  switch (hint.action) {
    case "verify":
      return `call verify${hint.key === undefined ? "" : ` on ${hint.key}`} instead of redoing the work`;
    case "claim":
      return hint.option === undefined
        ? "call claim again"
        : `call claim with ${hint.value === undefined ? ARGUMENTS[hint.option] : `${ARGUMENTS[hint.option]}: "${hint.value}"`} only if it must be done anyway`;
    case "retry":
      return "retry in a few seconds";
  }
}

/** A hint in MCP terms: tools and their arguments. */
export function wordHint(hint: Hint): string {
  return `${step(hint)}${hint.or === undefined ? "" : `; or ${step(hint.or)}`}.`;
}

const NEXT_STEPS: Readonly<Record<string, string>> = {
  CLAIM_HELD: "pick other work (call next), or come back after the holder's lease expires.",
  CLAIM_DONE:
    "verify the finished work (call verify) instead of redoing it; claim with reopen: true only if it must be redone.",
  CLAIM_SIMILAR: "a similar key is already claimed: it is probably the same work; pick other work (call next).",
  CLAIM_EXPIRED: "your lease ran out: call claim again before acting, then check nothing changed under you.",
  NOT_HOLDER: "you do not hold this claim: do not act on it; call show to see who does.",
  NOT_FOUND: "nothing is claimed under this key: call claim first.",
  NOT_LOOSE_END: "only an abandoned or expired claim is a loose end; a live one belongs to its holder.",
  NOT_COMPLETED: "the key is not completed, so there is nothing to verify.",
  NOTHING_READY: "no task is ready: call supply to see why, and explore or stop instead of shopping for lanes.",
  TASK_EXISTS: "a task with this id exists: call task_show.",
  TASK_NOT_FOUND: "no task with this id: call task_list.",
  PATH_CONFLICT:
    "another agent holds these paths: edit other files, pick other work (call next), or call probe to see who is there.",
  PATHS_BUSY: "someone else is working on these paths: coordinate or pick other work.",
  OUT_OF_SYNC: "do not deploy from this checkout: pull or commit first, and hold the claims named.",
  STORE_BUSY: "the registry is busy: retry in a few seconds.",
  STORE_UNAVAILABLE: "the registry cannot be reached: retry later; do not act on shared work meanwhile.",
};

/** The next step for a "no": its hint worded for a model, else the line for `code`, else a generic one. */
export function nextStep(code: string, hint?: Hint): string {
  if (hint !== undefined) return wordHint(hint);
  return NEXT_STEPS[code] ?? "read the message, then pick other work or retry.";
}
