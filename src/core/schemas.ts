/**
 * Validation shared by every surface: each parser turns untrusted input into a
 * typed value or throws a BatonError with a stable code, so the CLI, the library
 * and later the HTTP and MCP surfaces reject bad input with the same words.
 */
import { parseDuration } from "./duration.js";
import { BatonError } from "./errors.js";

/** Largest accepted metadata, serialised. */
export const MAX_META_BYTES = 16 * 1024;
/** Largest accepted free text (result, reason, note). */
export const MAX_TEXT_LENGTH = 4096;

/**
 * Parse claim metadata from a JSON string or an object.
 *
 * @throws BatonError `BAD_META`
 */
export function parseMeta(input: unknown): Record<string, unknown> | null {
  if (input === undefined || input === null) return null;
  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new BatonError(
        "BAD_META",
        `invalid --meta: not JSON (${(error as Error).message}); pass an object, e.g. '{"issue":123}'`,
      );
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BatonError("BAD_META", "invalid --meta: must be a JSON object, e.g. '{\"issue\":123}'");
  }
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new BatonError("BAD_META", `invalid --meta: not serialisable as JSON (${(error as Error).message})`);
  }
  const size = Buffer.byteLength(text);
  if (size > MAX_META_BYTES) {
    throw new BatonError("BAD_META", `invalid --meta: ${size} bytes, at most ${MAX_META_BYTES} allowed`);
  }
  // Store what JSON can carry (drops undefined, functions), exactly as it will be read back.
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Validate optional free text (a result, a reason): at most 4096 characters.
 *
 * @throws BatonError `BAD_INPUT`
 */
export function parseText(input: unknown, name: string): string | null {
  if (input === undefined || input === null) return null;
  if (typeof input !== "string") throw new BatonError("BAD_INPUT", `invalid ${name}: expected text`);
  if (input.length > MAX_TEXT_LENGTH) {
    throw new BatonError("BAD_INPUT", `invalid ${name}: ${input.length} characters, at most ${MAX_TEXT_LENGTH}`);
  }
  return input;
}

const COMMIT_RE = /^[0-9a-f]{4,64}$/i;

/**
 * Validate a commit id: 4–64 hex digits (short or full SHA-1/SHA-256).
 *
 * @throws BatonError `BAD_INPUT`
 */
export function parseCommit(input: unknown): string | null {
  if (input === undefined || input === null) return null;
  if (typeof input !== "string" || !COMMIT_RE.test(input)) {
    throw new BatonError("BAD_INPUT", `invalid commit ${JSON.stringify(input)}: expected 4-64 hex digits`);
  }
  return input.toLowerCase();
}

/**
 * A duration given to the library: milliseconds as a number, or text as on the
 * command line (`30s`, `15m`, `2h`, `1d`).
 */
export type DurationInput = number | string;

/**
 * Parse a library duration: a number is milliseconds, a string is parsed like the CLI's.
 *
 * @throws BatonError `BAD_DURATION`
 */
export function durationMs(input: DurationInput, name: string, allowZero = false): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0 || (input === 0 && !allowZero)) {
      throw new BatonError("BAD_DURATION", `invalid ${name} ${input}: expected a positive number of milliseconds`);
    }
    return parseDuration(`${Math.round(input)}ms`, { name, allowZero });
  }
  return parseDuration(input, { name, allowZero });
}

/** The limit for list and log: 1..100000. */
export function parseLimit(input: unknown, fallback: number): number {
  if (input === undefined || input === null) return fallback;
  const value = typeof input === "number" ? input : /^\d+$/.test(String(input).trim()) ? Number(input) : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > 100_000) {
    throw new BatonError("BAD_OPTION", `invalid limit ${JSON.stringify(input)}: expected an integer from 1 to 100000`);
  }
  return value;
}
