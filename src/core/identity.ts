import { BatonError } from "./errors.js";

/** Longest key, in characters after normalisation. */
export const MAX_KEY_LENGTH = 512;
/** Longest agent name. */
export const MAX_AGENT_LENGTH = 128;

// C0 and C1 control characters, DEL included.
// Matching control characters is the point of this pattern.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
const AGENT_RE = /^[A-Za-z0-9._:@/-]+$/;

/**
 * Normalise and validate a work key: NFC, trimmed, 1–512 characters, no control
 * characters. The namespace before the first `:` (`github:`, `task:`, `topic:`) is a
 * convention, not a requirement.
 *
 * @throws BatonError `BAD_KEY`
 */
export function parseKey(input: unknown): string {
  if (typeof input !== "string") {
    throw new BatonError("BAD_KEY", "invalid key: expected a string", { value: input });
  }
  const key = input.normalize("NFC").trim();
  if (key.length === 0) {
    throw new BatonError("BAD_KEY", "invalid key: empty (name the work, e.g. github:owner/repo#123 or task:42)", {
      value: input,
    });
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new BatonError("BAD_KEY", `invalid key: ${key.length} characters, at most ${MAX_KEY_LENGTH} allowed`, {
      length: key.length,
    });
  }
  if (CONTROL_RE.test(key)) {
    throw new BatonError("BAD_KEY", `invalid key ${JSON.stringify(key)}: control characters are not allowed`, {
      value: key,
    });
  }
  return key;
}

/**
 * Validate an agent name: 1–128 of letters, digits and `._:@/-`.
 *
 * @throws BatonError `BAD_AGENT`
 */
export function parseAgent(input: unknown): string {
  if (typeof input !== "string") {
    throw new BatonError("BAD_AGENT", "invalid agent name: expected a string", { value: input });
  }
  if (input.length === 0 || input.length > MAX_AGENT_LENGTH || !AGENT_RE.test(input)) {
    throw new BatonError(
      "BAD_AGENT",
      `invalid agent name ${JSON.stringify(input)}: use 1-${MAX_AGENT_LENGTH} letters, digits and . _ : @ / -`,
      { value: input },
    );
  }
  return input;
}

/**
 * Parse a fencing token: a positive integer (as a number or decimal string).
 *
 * @throws BatonError `BAD_TOKEN`
 */
export function parseToken(input: unknown): number {
  const text = typeof input === "number" ? String(input) : typeof input === "string" ? input.trim() : "";
  const value = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new BatonError("BAD_TOKEN", `invalid token ${JSON.stringify(input)}: expected a positive integer`, {
      value: input,
    });
  }
  return value;
}

/** The key's namespace: the text before the first `:`, or `""` when there is none. */
export function keyNamespace(key: string): string {
  const at = key.indexOf(":");
  return at <= 0 ? "" : key.slice(0, at);
}
