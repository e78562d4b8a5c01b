/**
 * Validation shared by every surface: each parser turns untrusted input into a
 * typed value or throws a BatonError with a stable code, so the CLI, the library
 * and later the HTTP and MCP surfaces reject bad input with the same words.
 */
import { MAX_DURATION_MS, parseDuration } from "./duration.js";
import { BatonError } from "./errors.js";
import { describeInput } from "./identity.js";

/** Largest accepted metadata, serialised. */
export const MAX_META_BYTES = 16 * 1024;
/** Deepest accepted metadata nesting: objects and arrays inside each other, the outer object being 1. */
export const MAX_META_DEPTH = 32;
/**
 * Deepest nesting a reader accepts from the store. Baton itself never writes deeper than
 * {@link MAX_META_DEPTH} plus a few levels of event detail; a deeper value can only come
 * from outside (a row written by hand, an older build) and is shown as unreadable.
 */
export const MAX_STORED_DEPTH = 64;

/**
 * True when `value` nests objects and arrays deeper than `limit` (the outer value is
 * level 1). Walks without recursion, so no value can exhaust the stack here; a cycle
 * counts as too deep.
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (typeof item !== "object" || item === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * A JSON object read back from the store (text on SQLite, parsed on PostgreSQL), made
 * safe for every reader: text that is not JSON, a value that is not an object, or one
 * nested deeper than {@link MAX_STORED_DEPTH} becomes `{ "$unreadable": "why" }` instead
 * of an exception, so no value one agent stores can crash another agent's command.
 */
export function readStoredObject(value: unknown): Record<string, unknown> | null {
  if (value === null || value === undefined) return null;
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      return { $unreadable: `not JSON (${Buffer.byteLength(value)} bytes)` };
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { $unreadable: "not a JSON object" };
  }
  if (nestedDeeperThan(parsed, MAX_STORED_DEPTH)) {
    return { $unreadable: `nested deeper than ${MAX_STORED_DEPTH} levels` };
  }
  return parsed as Record<string, unknown>;
}

/**
 * A JSON list of strings read back from the store; anything else reads as `[]` (and
 * items that are not strings are dropped) rather than failing the reader.
 */
export function readStoredList(value: unknown): string[] {
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      return [];
    }
  }
  return Array.isArray(parsed) ? parsed.filter((item): item is string => typeof item === "string") : [];
}

/** Largest accepted free text (result, reason, note). */
export const MAX_TEXT_LENGTH = 4096;

/**
 * Parse claim metadata from a JSON string or an object: a JSON object of at most
 * {@link MAX_META_BYTES} bytes serialised, nested at most {@link MAX_META_DEPTH} deep.
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
        `invalid meta: not JSON (${(error as Error).message}); pass an object, e.g. '{"issue":123}'`,
      );
    }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BatonError("BAD_META", "invalid meta: must be a JSON object, e.g. '{\"issue\":123}'");
  }
  // Before serialising: a deep value would exhaust the stack in JSON.stringify here, and in
  // every reader that later prints it.
  let deep: boolean;
  try {
    deep = nestedDeeperThan(value, MAX_META_DEPTH);
  } catch (error) {
    throw new BatonError("BAD_META", `invalid meta: cannot be read (${(error as Error).message})`);
  }
  if (deep) {
    throw new BatonError(
      "BAD_META",
      `invalid meta: nested deeper than ${MAX_META_DEPTH} levels (or circular); keep metadata flat, e.g. '{"issue":123}'`,
      { maxDepth: MAX_META_DEPTH },
    );
  }
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new BatonError("BAD_META", `invalid meta: not serialisable as JSON (${(error as Error).message})`);
  }
  const size = Buffer.byteLength(text);
  if (size > MAX_META_BYTES) {
    throw new BatonError("BAD_META", `invalid meta: ${size} bytes, at most ${MAX_META_BYTES} allowed`);
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
    throw new BatonError("BAD_INPUT", `invalid commit ${describeInput(input)}: expected 4-64 hex digits`);
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
    const ms = Math.round(input);
    // In range: the answer parseDuration would give, without writing and reading it back.
    if ((ms > 0 || allowZero) && ms <= MAX_DURATION_MS) return ms;
    return parseDuration(`${ms}ms`, { name, allowZero });
  }
  if (typeof input !== "string") {
    throw new BatonError("BAD_DURATION", `invalid ${name}: expected milliseconds or text like 30s, 15m, 2h, 1d`);
  }
  return parseDuration(input, { name, allowZero });
}

/** The limit for list and log: 1..100000. */
export function parseLimit(input: unknown, fallback: number): number {
  if (input === undefined || input === null) return fallback;
  const value =
    typeof input === "number"
      ? input
      : typeof input === "string" && /^\d+$/.test(input.trim())
        ? Number(input)
        : Number.NaN;
  if (!Number.isInteger(value) || value < 1 || value > 100_000) {
    throw new BatonError("BAD_OPTION", `invalid limit ${describeInput(input)}: expected an integer from 1 to 100000`);
  }
  return value;
}
