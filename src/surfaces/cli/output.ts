/**
 * How the CLI speaks: one JSON object on stdout with `--json`, readable lines
 * otherwise; errors as `Error: <message>` on stderr (or a JSON error object), and
 * exit codes from the error registry.
 */
import { BatonError, ERROR_CODES, EXIT_INTERNAL, EXIT_NO, type Hint, isBatonError } from "../../core/errors.js";
import { withHint } from "./hints.js";

export interface OutputMode {
  readonly json: boolean;
}

/** Print a command's answer. */
export function emit(mode: OutputMode, value: unknown, human: string | (() => string)): void {
  if (mode.json) process.stdout.write(`${JSON.stringify(value)}\n`);
  else {
    const text = typeof human === "function" ? human() : human;
    if (text.length > 0) process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }
}

/**
 * Print an expected "no" (denied, not held, done) and set exit code 1. A structured
 * `hint` on the answer is worded in the CLI's terms right after its message, in both
 * the text and the JSON `message`.
 */
export function emitNo(mode: OutputMode, value: unknown, human: string): void {
  const answer = value as { message?: unknown; hint?: Hint } | null;
  if (
    answer !== null &&
    typeof answer === "object" &&
    answer.hint !== undefined &&
    typeof answer.message === "string"
  ) {
    const message = withHint(answer.message, answer.hint);
    const text = human.startsWith(answer.message)
      ? `${message}${human.slice(answer.message.length)}`
      : withHint(human, answer.hint);
    emit(mode, { ...answer, message }, text);
  } else emit(mode, value, human);
  process.exitCode = EXIT_NO;
}

/** Print a failure and set its exit code. */
export function emitError(mode: OutputMode, error: unknown): void {
  if (isBatonError(error)) {
    const message = withHint(error.message, error.hint);
    if (mode.json) process.stdout.write(`${JSON.stringify({ ok: false, error: { ...error.toJSON(), message } })}\n`);
    else process.stderr.write(`Error: ${message}\n`);
    process.exitCode = ERROR_CODES[error.code].exit;
    if (process.env.BATON_DEBUG && error.stack) process.stderr.write(`${error.stack}\n`);
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  const internal = new BatonError("INTERNAL", `internal error: ${message} (set BATON_DEBUG=1 for the stack)`);
  if (mode.json) process.stdout.write(`${JSON.stringify({ ok: false, error: internal.toJSON() })}\n`);
  else process.stderr.write(`Error: ${internal.message}\n`);
  if (process.env.BATON_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exitCode = EXIT_INTERNAL;
}

/** Render rows as aligned columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
