/**
 * The CLI's words for a structured {@link Hint}: commands and flags. The services say
 * what to do as data; this is the one place that turns it into `--reopen` and
 * `BATON_BUSY_TIMEOUT`.
 */
import type { Hint } from "../../core/errors.js";

/** The flag (or setting) for each option a hint can name. */
const FLAGS: Record<NonNullable<Hint["option"]>, string> = {
  reopen: "--reopen",
  similar: "--similar",
  busyTimeout: "BATON_BUSY_TIMEOUT",
};

function step(hint: Hint): string {
  switch (hint.action) {
    case "verify":
      return `baton verify ${hint.key ?? "KEY"}`;
    case "claim":
      return hint.option === undefined
        ? "claim it again"
        : `claim with ${FLAGS[hint.option]}${hint.value === undefined ? "" : ` ${hint.value}`}`;
    case "retry":
      return hint.option === "busyTimeout" ? `retry, or raise ${FLAGS.busyTimeout}` : "retry";
  }
}

/**
 * The hint as the tail of a message: ` (baton verify KEY), or claim with --reopen` after
 * a "verify instead" denial, `; retry, or raise BATON_BUSY_TIMEOUT` after a busy store.
 */
export function wordHint(hint: Hint): string {
  const alternative = hint.or === undefined ? "" : `, or ${step(hint.or)}`;
  return hint.action === "verify" ? ` (${step(hint)})${alternative}` : `; ${step(hint)}${alternative}`;
}

/** `message` with the hint (if any) worded after it. */
export function withHint(message: string, hint: Hint | undefined): string {
  return hint === undefined ? message : `${message}${wordHint(hint)}`;
}
