/**
 * Near-duplicate keys: two sessions that claim `blog:convergent-work-coordination`
 * and `blog:convergent-work-multi-agent` are about to write the same post.
 *
 * The measure (pure, symmetric, a key is always similar to itself):
 * 1. Only keys in the same namespace (text before the first `:`) are compared.
 * 2. The rest is split into tokens: lower case, NFKC, split at anything that is not a
 *    letter or digit, English stop words dropped, simple plurals folded
 *    (`posts` → `post`, `stories` → `story`).
 * 3. Keys that carry numbers name one thing (an issue, a PR): they are similar only
 *    when their tokens are equal as sets — `github:acme/api#42` and `github:Acme/API#42`
 *    are, `#42` and `#43` are not, nor `acme/api#42` and `acme/web#42`.
 * 4. Otherwise the score is the overlap coefficient |A ∩ B| / min(|A|, |B|), counted
 *    only when at least two tokens are shared (or both keys are one equal token).
 *    The default threshold is 0.6: two of three topic words in common.
 */

/** Default similarity threshold. */
export const DEFAULT_SIMILARITY_THRESHOLD = 0.6;

const STOP_WORDS = new Set([
  "a",
  "an",
  "the",
  "and",
  "or",
  "of",
  "for",
  "to",
  "in",
  "on",
  "at",
  "by",
  "with",
  "about",
  "is",
  "are",
  "be",
  "how",
  "what",
  "why",
  "from",
  "into",
  "vs",
  "via",
  "my",
  "our",
  "your",
]);

function singular(token: string): string {
  if (token.length > 4 && token.endsWith("ies")) return `${token.slice(0, -3)}y`;
  if (token.length > 3 && token.endsWith("s") && !token.endsWith("ss") && !/\d/.test(token)) return token.slice(0, -1);
  return token;
}

/** The namespace of a key: the text before the first `:` (empty when there is none). */
export function namespaceOf(key: string): string {
  const at = key.indexOf(":");
  return at <= 0 ? "" : key.slice(0, at);
}

/** The normalised tokens of a key, namespace left out. */
export function keyTokens(key: string): string[] {
  const ns = namespaceOf(key);
  const rest = (ns === "" ? key : key.slice(ns.length + 1)).normalize("NFKC").toLowerCase();
  const tokens = rest
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0 && !STOP_WORDS.has(t))
    .map(singular);
  return [...new Set(tokens)];
}

/**
 * Whether a key is numbered (one of its tokens has a digit): it names one thing, similar
 * only to keys with the same words (see {@link keySimilarity}).
 */
export function isNumberedKey(key: string): boolean {
  const ns = namespaceOf(key);
  // An ASCII digit outlives NFKC, lower-casing and the split into tokens, and no stop word
  // has one: found in the text, no need to tokenise (a claim's hot path asks this).
  if (/[0-9]/.test(ns === "" ? key : key.slice(ns.length + 1))) return true;
  return keyTokens(key).some((t) => /\d/.test(t));
}

/** How similar two keys are, 0..1 (see the module comment for the measure). */
export function keySimilarity(a: string, b: string): number {
  if (a === b) return 1;
  if (namespaceOf(a) !== namespaceOf(b)) return 0;
  const ta = keyTokens(a);
  const tb = keyTokens(b);
  if (ta.length === 0 || tb.length === 0) return 0;
  const sb = new Set(tb);
  const shared = ta.filter((t) => sb.has(t)).length;
  const numbered = ta.some((t) => /\d/.test(t)) || tb.some((t) => /\d/.test(t));
  if (numbered) return shared === ta.length && shared === tb.length ? 1 : 0;
  if (shared < 2 && !(ta.length === 1 && tb.length === 1 && shared === 1)) return 0;
  return shared / Math.min(ta.length, tb.length);
}
