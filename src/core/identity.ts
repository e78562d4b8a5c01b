import { BatonError } from "./errors.js";

/** Longest key, in characters after normalisation. */
export const MAX_KEY_LENGTH = 512;
/** Longest agent name. */
export const MAX_AGENT_LENGTH = 128;

/**
 * Characters a key may not contain. A key is compared code point by code point, so two
 * keys that look the same must be the same key: anything that renders as nothing (or as
 * a plain space) would let `task:4\u200B2` and `task:42` be two claims on one piece of
 * work. Refused: control characters (C0, C1, DEL), format characters (Unicode Cf:
 * zero-width spaces and joiners, bidi overrides, the BOM, tag characters), every other
 * default-ignorable code point (variation selectors, Hangul fillers…), line and paragraph
 * separators, white space other than the plain space, lone surrogates, noncharacters, and
 * U+FFFD — the mark a decoder leaves where bytes were not valid UTF-8 (`\xff` and `\xfe`
 * both arrive as U+FFFD, so accepting it would merge different keys).
 */
const UNSAFE_SOURCE =
  "[\\p{Cc}\\p{Cf}\\p{Cs}\\p{Zl}\\p{Zp}\\p{Default_Ignorable_Code_Point}\\p{Noncharacter_Code_Point}\\uFFFD]|(?! )\\p{White_Space}";
/** Built on the first text that is not plain ASCII: building its Unicode property sets takes ~5 ms, a CLI call's budget. */
let unsafeRe: RegExp | undefined;

/** Printable ASCII, where the only white space is the plain space: no unsafe character, checked without the sets. */
const PLAIN_ASCII_RE = /^[\x20-\x7e]*$/;

/** What an unsafe character is, for the message. */
function describeUnsafe(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  const name = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  if (code === 0xfffd) return `${name} (the replacement character: the input was not valid UTF-8)`;
  if (code >= 0xd800 && code <= 0xdfff) return `${name} (a lone surrogate: not valid Unicode text)`;
  if (/\p{Cc}/u.test(char)) return `${name} (a control character)`;
  if (/[\p{Zl}\p{Zp}]/u.test(char) || /\p{White_Space}/u.test(char))
    return `${name} (white space other than a plain space)`;
  if (/\p{Noncharacter_Code_Point}/u.test(char)) return `${name} (a noncharacter)`;
  return `${name} (an invisible or format character)`;
}

/** `text` with every unsafe character written as `\u{…}`, so a message shows what is there. */
export function visibleText(text: string): string {
  if (PLAIN_ASCII_RE.test(text)) return text;
  return text.replace(new RegExp(UNSAFE_SOURCE, "gu"), (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
}

/**
 * The first character of `text` that a key may not contain (see the key rules in
 * {@link parseKey}), with its index and a description; `null` when there is none.
 */
export function findUnsafeChar(text: string): { index: number; char: string; description: string } | null {
  if (PLAIN_ASCII_RE.test(text)) return null;
  unsafeRe ??= new RegExp(UNSAFE_SOURCE, "u");
  const match = unsafeRe.exec(text);
  if (match === null) return null;
  return { index: match.index, char: match[0], description: describeUnsafe(match[0]) };
}

/**
 * A value as a message may show it: JSON where it can be (at most 200 characters), else its
 * type. Never throws — not on a BigInt, a cycle or an object without a prototype.
 */
export function describeInput(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    if (text !== undefined) return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    // not JSON: fall through to the type
  }
  return typeof value === "object" ? (value === null ? "null" : "an object") : `a ${typeof value}`;
}

const AGENT_RE = /^[A-Za-z0-9._:@/-]+$/;

/**
 * Normalise and validate a work key: NFC, trimmed, 1–512 characters. Characters that
 * render as nothing or could merge two keys are refused: control and format characters
 * (zero-width, bidi overrides), other default-ignorable code points, line/paragraph
 * separators, white space other than the plain space, lone surrogates, noncharacters and
 * U+FFFD (what invalid UTF-8 decodes to). Visible look-alikes (Latin `a` and Cyrillic `а`)
 * stay distinct keys. The namespace before the first `:` (`github:`, `task:`, `topic:`) is
 * a convention, not a requirement.
 *
 * @throws BatonError `BAD_KEY`
 */
export function parseKey(input: unknown): string {
  if (typeof input !== "string") {
    throw new BatonError("BAD_KEY", "invalid key: expected a string", { value: describeInput(input) });
  }
  // Printable ASCII is its own NFC form: normalize() (an ICU call) only for other text.
  const key = (PLAIN_ASCII_RE.test(input) ? input : input.normalize("NFC")).trim();
  // normalize() keeps lone surrogates; the message shows every refused character escaped.
  const bad = findUnsafeChar(key);
  if (bad !== null) {
    const shown = visibleText(key.slice(0, 200));
    throw new BatonError(
      "BAD_KEY",
      `invalid key "${shown}": ${bad.description} at position ${bad.index} is not allowed`,
      { value: shown, codePoint: bad.char.codePointAt(0), index: bad.index },
    );
  }
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
  return key;
}

/**
 * Validate an agent name: 1–128 of letters, digits and `._:@/-`.
 *
 * @throws BatonError `BAD_AGENT`
 */
export function parseAgent(input: unknown): string {
  if (typeof input !== "string") {
    throw new BatonError("BAD_AGENT", "invalid agent name: expected a string", { value: describeInput(input) });
  }
  if (input.length === 0 || input.length > MAX_AGENT_LENGTH || !AGENT_RE.test(input)) {
    throw new BatonError(
      "BAD_AGENT",
      `invalid agent name "${visibleText(input.slice(0, 200))}": use 1-${MAX_AGENT_LENGTH} letters, digits and . _ : @ / -`,
      { value: visibleText(input.slice(0, 200)) },
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
    throw new BatonError("BAD_TOKEN", `invalid token ${describeInput(input)}: expected a positive integer`, {
      value: describeInput(input),
    });
  }
  return value;
}

/** The key's namespace: the text before the first `:`, or `""` when there is none. */
export function keyNamespace(key: string): string {
  const at = key.indexOf(":");
  return at <= 0 ? "" : key.slice(0, at);
}
