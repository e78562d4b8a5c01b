/**
 * Path patterns for path claims: normalisation, overlap and matching. Pure: no
 * file system, no git; the caller passes the repository root and the directory the
 * user typed the pattern in.
 *
 * Terminology (see docs/PATHS.md for the full semantics and the decision procedure):
 *
 * - **pattern**: repository-relative, POSIX separators, e.g. `src/app.ts`,
 *   `src/auth/`, `src/**\/*.ts`, `docs/{a,b}.md`.
 * - **names a path**: a pattern with no `*`, `?` or `**` in at least one of its brace
 *   expansions (`src/a.ts`, `src/auth/`, `app/[id]/page.tsx`). It covers that path and
 *   everything under it, because a name may be a folder.
 * - **glob**: any other pattern; it covers exactly the paths it matches.
 * - **folder pattern**: ends with `/`; it covers everything under what it matches.
 * - **overlap**: some path is covered by both patterns. Over-approximation is allowed
 *   (a false "overlap" only refuses a claim); under-approximation never is.
 */
import { BatonError } from "./errors.js";
import { describeInput } from "./identity.js";

/** Longest normalised pattern, so `path:` plus the pattern fits in a claim key. */
export const MAX_PATTERN_LENGTH = 400;
/** Most alternatives one segment may expand to (brace groups and `[...]` readings). */
export const MAX_SEGMENT_ALTERNATIVES = 256;

/** Where a pattern was typed: the repository root, and the working directory. */
export interface PathContext {
  /** Absolute path of the repository's working tree root (`git rev-parse --show-toplevel`). */
  repoRoot: string;
  /**
   * The directory relative patterns are resolved from: absolute, or relative to
   * `repoRoot`. Default: `repoRoot`.
   */
  cwd?: string;
}

// ---------------------------------------------------------------------------
// Compiled form
// ---------------------------------------------------------------------------

/** One character position of a segment. */
type Token =
  | { readonly kind: "char"; readonly char: string }
  | { readonly kind: "any" }
  | { readonly kind: "star" }
  | { readonly kind: "class"; readonly negated: boolean; readonly ranges: readonly (readonly [number, number])[] };

/** A segment is `**` (zero or more whole segments) or a set of alternative token strings. */
type Segment = { readonly kind: "globstar" } | { readonly kind: "part"; readonly alts: readonly Alt[] };

/** One alternative of a segment: its tokens, and its text when it is a plain name. */
interface Alt {
  readonly tokens: readonly Token[];
  readonly text: string | null;
  /** For a wildcard alternative: an anchored regular expression, to test plain names fast. */
  readonly regex: RegExp | null;
}

const hex = (code: number): string => `\\u{${code.toString(16)}}`;

/** The anchored regular expression for a token string; `u` makes `[^]` one code point, as tokens are. */
function tokensRegex(tokens: readonly Token[]): RegExp {
  let source = "^";
  for (const t of tokens) {
    if (t.kind === "char") source += hex(t.char.codePointAt(0) as number);
    else if (t.kind === "any") source += "[^]";
    else if (t.kind === "star") source += "[^]*";
    else
      source += `[${t.negated ? "^" : ""}${t.ranges.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join("")}]`;
  }
  return new RegExp(`${source}$`, "u");
}

const GLOBSTAR: Segment = { kind: "globstar" };
const STAR: Token = { kind: "star" };
const ANY: Token = { kind: "any" };

/** A parsed pattern, ready for {@link compiledOverlap}. Cache it when comparing one pattern many times. */
export interface CompiledPattern {
  /** The pattern text it was compiled from. */
  readonly source: string;
  /** `path`: names a path (covers it and what is under it); `folder`: ends with `/`; `glob`: exact matches. */
  readonly kind: "path" | "folder" | "glob";
  /** Segments to match, with a trailing `**` already added for `path` and `folder` patterns. */
  readonly segments: readonly Segment[];
  /** The leading segments that are plain names (no wildcard, no alternatives). */
  readonly prefix: readonly string[];
}

const GLOB_CHARS = /[*?[{]/;
// C0 and C1 control characters, DEL included.
// Matching control characters is the point of this pattern.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
const EXTGLOB_RE = /[?*+@!]\(/;
const DRIVE_RE = /^[A-Za-z]:\//;

function isAbsolutePath(path: string): boolean {
  const text = path.replaceAll("\\", "/");
  return text.startsWith("/") || DRIVE_RE.test(text);
}

function bad(message: string, pattern: string, details: Record<string, unknown> = {}): BatonError {
  return new BatonError("BAD_PATH", message, { pattern, ...details });
}

// ---------------------------------------------------------------------------
// Segment parser
// ---------------------------------------------------------------------------

/** Index of the `]` closing the class opened at `open`, or -1. */
function classEnd(text: string, open: number): number {
  let i = open + 1;
  if (text[i] === "!" || text[i] === "^") i++;
  if (text[i] === "]") i++; // a `]` first in the class is a member
  const close = text.indexOf("]", i);
  return close;
}

/** Index of the `}` closing the group opened at `open` (nesting and classes respected), or -1. */
function braceEnd(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "[") {
      const close = classEnd(text, i);
      if (close !== -1) i = close;
    } else if (c === "{") depth++;
    else if (c === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Split the inside of a brace group at its top-level commas. */
function splitAlternatives(inner: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (c === "[") {
      const close = classEnd(inner, i);
      if (close !== -1) i = close;
    } else if (c === "{") depth++;
    else if (c === "}") depth--;
    else if (c === "," && depth === 0) {
      parts.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(inner.slice(start));
  return parts;
}

function parseClass(body: string, source: string): Token {
  let i = 0;
  let negated = false;
  if (body[0] === "!" || body[0] === "^") {
    negated = true;
    i = 1;
  }
  const chars = Array.from(body.slice(i));
  if (chars.length === 0) throw bad(`invalid path pattern ${JSON.stringify(source)}: empty [] class`, source);
  if (body.includes("[:")) {
    throw bad(
      `invalid path pattern ${JSON.stringify(source)}: POSIX classes like [[:alpha:]] are not supported; list the characters, e.g. [a-zA-Z]`,
      source,
    );
  }
  const ranges: [number, number][] = [];
  for (let k = 0; k < chars.length; k++) {
    const lo = chars[k] as string;
    const hi = chars[k + 2];
    if (chars[k + 1] === "-" && hi !== undefined) {
      const a = lo.codePointAt(0) as number;
      const b = hi.codePointAt(0) as number;
      if (a > b) throw bad(`invalid path pattern ${JSON.stringify(source)}: reversed range [${lo}-${hi}]`, source);
      ranges.push([a, b]);
      k += 2;
    } else {
      const a = lo.codePointAt(0) as number;
      ranges.push([a, a]);
    }
  }
  return { kind: "class", negated, ranges };
}

function cross(left: Token[][], right: readonly (readonly Token[])[], source: string): Token[][] {
  const out: Token[][] = [];
  for (const a of left) for (const b of right) out.push([...a, ...b]);
  if (out.length > MAX_SEGMENT_ALTERNATIVES) {
    throw bad(
      `invalid path pattern ${JSON.stringify(source)}: expands to more than ${MAX_SEGMENT_ALTERNATIVES} alternatives in one segment`,
      source,
    );
  }
  return out;
}

/** Parse text without `/` into alternative token strings. */
function parseAlternatives(text: string, source: string): Token[][] {
  let alts: Token[][] = [[]];
  const push = (token: Token): void => {
    for (const alt of alts) alt.push(token);
  };
  const chars = Array.from(text);
  // Work on code points, but find brackets by string index: rebuild indexes as we go.
  let i = 0;
  let offset = 0; // string index of chars[i]
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === "*") push(STAR);
    else if (c === "?") push(ANY);
    else if (c === "[") {
      const close = classEnd(text, offset);
      if (close === -1) {
        throw bad(
          `invalid path pattern ${JSON.stringify(source)}: unclosed "[" (a [...] class matches one character and cannot contain "/")`,
          source,
        );
      }
      const raw = text.slice(offset, close + 1);
      const cls = parseClass(raw.slice(1, -1), source);
      // Read `[id]` both as a class and as its own text: `app/[id]/page.tsx` is a real
      // file name in several web frameworks, and a claim on it must cover that file.
      const literal = Array.from(raw, (ch): Token => ({ kind: "char", char: ch }));
      alts = cross(alts, [[cls], literal], source);
      const skipped = Array.from(raw).length;
      i += skipped;
      offset += raw.length;
      continue;
    } else if (c === "{") {
      const close = braceEnd(text, offset);
      if (close === -1) {
        throw bad(
          `invalid path pattern ${JSON.stringify(source)}: unclosed "{" (a {a,b} group cannot span a "/": write separate patterns)`,
          source,
        );
      }
      const inner = text.slice(offset + 1, close);
      const parts = splitAlternatives(inner);
      if (parts.length > 1) {
        const options: Token[][] = [];
        for (const part of parts) options.push(...parseAlternatives(part, source));
        alts = cross(alts, options, source);
        const raw = text.slice(offset, close + 1);
        i += Array.from(raw).length;
        offset += raw.length;
        continue;
      }
      // No comma: the braces are plain characters, as in bash and picomatch.
      push({ kind: "char", char: c });
    } else push({ kind: "char", char: c });
    offset += c.length;
    i++;
  }
  return alts;
}

/** Collapse runs of `*` and drop duplicate alternatives. */
function tidy(alts: Token[][]): Token[][] {
  const seen = new Set<string>();
  const out: Token[][] = [];
  for (const alt of alts) {
    const tokens: Token[] = [];
    for (const t of alt) if (!(t.kind === "star" && tokens[tokens.length - 1]?.kind === "star")) tokens.push(t);
    const key = tokens
      .map((t) =>
        t.kind === "char" ? `c${t.char}` : t.kind === "class" ? `[${t.negated}${t.ranges.join(";")}` : t.kind,
      )
      .join("\u0000");
    if (!seen.has(key)) {
      seen.add(key);
      out.push(tokens);
    }
  }
  return out;
}

function literalText(alt: readonly Token[]): string | null {
  let text = "";
  for (const t of alt) {
    if (t.kind !== "char") return null;
    text += t.char;
  }
  return text;
}

function parseSegment(text: string, source: string): Segment {
  if (text === "**") return GLOBSTAR;
  const alts = tidy(parseAlternatives(text, source)).map((tokens): Alt => {
    const plain = literalText(tokens);
    return { tokens, text: plain, regex: plain === null ? tokensRegex(tokens) : null };
  });
  for (const alt of alts) {
    const literal = alt.text;
    if (literal === "" || literal === "." || literal === "..") {
      throw bad(
        `invalid path pattern ${JSON.stringify(source)}: segment ${JSON.stringify(text)} can expand to ${literal === "" ? "an empty name" : JSON.stringify(literal)}`,
        source,
      );
    }
  }
  return { kind: "part", alts };
}

/** True when a segment has an alternative that is a plain name. */
function hasPlainAlternative(segment: Segment): boolean {
  return segment.kind === "part" && segment.alts.some((alt) => alt.text !== null);
}

// ---------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------

/** Canonical text of one segment: `**` alone, any other run of stars as one `*`. */
function canonicalSegment(text: string): string {
  if (/^\*+$/.test(text)) return text.length === 2 ? "**" : "*";
  return text.replace(/\*{2,}/g, "*");
}

/** Split an absolute path into segments, resolving `.` and `..`; a drive letter is the first segment. */
function absoluteSegments(path: string, what: string): string[] {
  const text = path.replaceAll("\\", "/");
  let rest = text;
  const out: string[] = [];
  if (DRIVE_RE.test(text)) {
    out.push(`${(text[0] as string).toUpperCase()}:`);
    rest = text.slice(2);
  } else if (!text.startsWith("/")) {
    throw new BatonError("BAD_PATH", `${what} must be an absolute path, got ${JSON.stringify(path)}`, { path });
  }
  const floor = out.length;
  for (const seg of rest.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > floor) out.pop();
    } else out.push(seg);
  }
  return out;
}

/**
 * Normalise a path pattern typed by a user: relative to the repository root, POSIX
 * separators, `.` and `..` resolved, a leading `./` and repeated `/` dropped, runs of
 * `*` collapsed (`**` only as a whole segment). A trailing `/` is kept: `src/auth/` is a
 * folder pattern. The repository root itself (`.` typed at the root) becomes `**`.
 * The text is NFC-normalised; white space is kept (it is part of a file name).
 *
 * Pure: it never touches the file system, so symbolic links are not resolved; pass a
 * `repoRoot` and `cwd` spelled the same way (both real paths, as git prints them).
 *
 * @example normalizePathPattern("../lib/x.ts", { repoRoot: "/r", cwd: "/r/src" }) // "lib/x.ts"
 * @throws BatonError `BAD_PATH` for an empty pattern, one outside the repository, a `..`
 *   after a wildcard segment, invalid glob syntax (unclosed `[` or `{`, reversed range,
 *   POSIX class, a leading `!`, extglob `@(…)`), control characters, or over 400 characters.
 */
export function normalizePathPattern(input: unknown, context: PathContext): string {
  if (typeof input !== "string") throw bad("invalid path pattern: expected a string", describeInput(input));
  const source = input.normalize("NFC");
  if (source.trim().length === 0) {
    throw bad("invalid path pattern: empty (name a file, a folder like src/auth/, or a glob like src/**/*.ts)", input);
  }
  if (CONTROL_RE.test(source)) {
    throw bad(`invalid path pattern ${JSON.stringify(source)}: control characters are not allowed`, source);
  }
  const text = source.replaceAll("\\", "/");
  if (text.startsWith("!")) {
    throw bad(
      `invalid path pattern ${JSON.stringify(source)}: negated patterns are not supported; claim what you will change instead`,
      source,
    );
  }
  if (EXTGLOB_RE.test(text)) {
    throw bad(
      `invalid path pattern ${JSON.stringify(source)}: extglobs like @(a|b) are not supported; use {a,b}`,
      source,
    );
  }

  const root = absoluteSegments(context.repoRoot, "the repository root");
  // `C:/…` is an absolute Windows path only when the repository lives on a drive;
  // elsewhere `C:` is an ordinary folder name.
  const onDrive = root[0]?.endsWith(":") === true;
  let rest = text;
  let base: string[];
  if (onDrive && DRIVE_RE.test(text)) {
    base = [`${(text[0] as string).toUpperCase()}:`];
    rest = text.slice(2);
  } else if (text.startsWith("/")) base = [];
  else if (context.cwd === undefined) base = [...root];
  else if (isAbsolutePath(context.cwd)) base = absoluteSegments(context.cwd, "cwd");
  else base = absoluteSegments(`${context.repoRoot}/${context.cwd}`, "the repository root");
  // Segments that came from the pattern itself: only those are checked for wildcards.
  const fromInput = base.map(() => false);

  const parts = rest.split("/");
  const last = parts[parts.length - 1];
  const folder = last === "" || last === "." || last === "..";
  for (const seg of parts) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      const top = base[base.length - 1];
      if (top === undefined) {
        throw bad(`path pattern ${JSON.stringify(source)} is outside the repository ${context.repoRoot}`, source, {
          repoRoot: context.repoRoot,
        });
      }
      if (fromInput[fromInput.length - 1] === true && GLOB_CHARS.test(top)) {
        throw bad(
          `invalid path pattern ${JSON.stringify(source)}: ".." after the wildcard segment ${JSON.stringify(top)} cannot be resolved`,
          source,
        );
      }
      base.pop();
      fromInput.pop();
    } else {
      base.push(seg);
      fromInput.push(true);
    }
  }

  const inside = base.length >= root.length && root.every((seg, k) => base[k] === seg);
  if (!inside) {
    throw bad(`path pattern ${JSON.stringify(source)} is outside the repository ${context.repoRoot}`, source, {
      repoRoot: context.repoRoot,
    });
  }

  const segments: string[] = [];
  for (const raw of base.slice(root.length)) {
    const seg = canonicalSegment(raw);
    if (seg === "**" && segments[segments.length - 1] === "**") continue;
    parseSegment(seg, source); // validates the syntax
    segments.push(seg);
  }
  let result: string;
  if (segments.length === 0) result = "**";
  else if (segments[segments.length - 1] === "**") result = segments.join("/");
  else result = folder ? `${segments.join("/")}/` : segments.join("/");
  if (result.trim().length === 0)
    throw bad(`invalid path pattern ${JSON.stringify(source)}: names only white space`, source);
  if (result.startsWith("!")) {
    throw bad(
      `invalid path pattern ${JSON.stringify(source)}: a pattern may not start with "!" (it reads as a negation elsewhere)`,
      source,
    );
  }
  if (result.length > MAX_PATTERN_LENGTH) {
    throw bad(
      `invalid path pattern: ${result.length} characters, at most ${MAX_PATTERN_LENGTH} allowed`,
      result.slice(0, 80),
      { length: result.length },
    );
  }
  return result;
}

// ---------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------

const cache = new Map<string, CompiledPattern>();
const CACHE_LIMIT = 20_000;

/**
 * Compile a normalised pattern (the output of {@link normalizePathPattern}). Results
 * are cached. A pattern that is not normalised (leading `/`, `.` or `..` segments,
 * empty segments) is refused rather than guessed at.
 *
 * @throws BatonError `BAD_PATH`
 */
export function compilePathPattern(pattern: string): CompiledPattern {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  if (typeof pattern !== "string" || pattern.length === 0) {
    throw bad("invalid path pattern: empty", String(pattern));
  }
  if (pattern.startsWith("!"))
    throw bad(`invalid path pattern ${JSON.stringify(pattern)}: may not start with "!"`, pattern);
  const folder = pattern.endsWith("/");
  const parts = (folder ? pattern.slice(0, -1) : pattern).split("/");
  const segments: Segment[] = [];
  for (const part of parts) {
    if (part === "" || part === "." || part === "..") {
      throw bad(
        `path pattern ${JSON.stringify(pattern)} is not normalised (normalise it with normalizePathPattern first)`,
        pattern,
      );
    }
    const seg = parseSegment(part, pattern);
    if (seg.kind === "globstar" && segments[segments.length - 1]?.kind === "globstar") continue;
    segments.push(seg);
  }
  const namesPath = segments.every(hasPlainAlternative);
  const kind = folder ? "folder" : namesPath ? "path" : "glob";
  if (kind !== "glob" && segments[segments.length - 1]?.kind !== "globstar") segments.push(GLOBSTAR);
  const prefix: string[] = [];
  for (const seg of segments) {
    if (seg.kind !== "part" || seg.alts.length !== 1) break;
    const literal = (seg.alts[0] as Alt).text;
    if (literal === null) break;
    prefix.push(literal);
  }
  const compiled: CompiledPattern = { source: pattern, kind, segments, prefix };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(pattern, compiled);
  return compiled;
}

// ---------------------------------------------------------------------------
// Decision procedure
// ---------------------------------------------------------------------------

function inRanges(code: number, ranges: readonly (readonly [number, number])[]): boolean {
  for (const [lo, hi] of ranges) if (code >= lo && code <= hi) return true;
  return false;
}

/** Can one character satisfy both character-consuming tokens? */
function charsMeet(a: Token, b: Token): boolean {
  if (a.kind === "any" || b.kind === "any") return true; // every token admits some character
  if (a.kind === "char" && b.kind === "char") return a.char === b.char;
  if (a.kind === "char" && b.kind === "class") return inRanges(a.char.codePointAt(0) as number, b.ranges) !== b.negated;
  if (a.kind === "class" && b.kind === "char") return charsMeet(b, a);
  if (a.kind === "class" && b.kind === "class") {
    if (a.negated && b.negated) return true; // two finite exclusions leave characters for both
    if (!a.negated && !b.negated) {
      for (const [lo, hi] of a.ranges) for (const [lo2, hi2] of b.ranges) if (lo <= hi2 && lo2 <= hi) return true;
      return false;
    }
    // One includes P, the other excludes N: is some character of P outside N?
    const [pos, neg] = a.negated ? [b, a] : [a, b];
    for (const [lo, hi] of pos.ranges) {
      let c = lo;
      // Walk up through P's range, jumping over every N range that covers c.
      for (let moved = true; moved && c <= hi;) {
        moved = false;
        for (const [nlo, nhi] of neg.ranges) {
          if (c >= nlo && c <= nhi) {
            c = nhi + 1;
            moved = true;
          }
        }
      }
      if (c <= hi) return true;
    }
    return false;
  }
  return false;
}

/**
 * Do two token strings (one segment each, no `/`) share a string? Memoised DP over
 * (i, j): `*` either matches nothing (skip it) or swallows one character the other side
 * consumes; two consuming tokens advance together when one character satisfies both.
 * A witness never needs both stars to take the same character (drop it from both),
 * so these moves are complete.
 */
function tokensMeet(a: readonly Token[], b: readonly Token[]): boolean {
  const n = a.length;
  const m = b.length;
  // Quick rejection: before the first star and after the last one, positions align.
  for (let k = 0; k < n && k < m; k++) {
    const x = a[k] as Token;
    const y = b[k] as Token;
    if (x.kind === "star" || y.kind === "star") break;
    if (!charsMeet(x, y)) return false;
  }
  for (let k = 1; k <= n && k <= m; k++) {
    const x = a[n - k] as Token;
    const y = b[m - k] as Token;
    if (x.kind === "star" || y.kind === "star") break;
    if (!charsMeet(x, y)) return false;
  }
  // Bottom-up over suffixes: meet[i][j] says whether a[i..] and b[j..] share a string.
  const width = m + 1;
  const size = (n + 1) * width;
  if (scratch.length < size) scratch = new Uint8Array(Math.max(size, scratch.length * 2));
  const meet = scratch;
  for (let i = n; i >= 0; i--) {
    for (let j = m; j >= 0; j--) {
      let result: boolean;
      if (i === n && j === m) result = true;
      else {
        const x = a[i];
        const y = b[j];
        result = false;
        if (x?.kind === "star")
          result =
            meet[(i + 1) * width + j] === 1 || (y !== undefined && y.kind !== "star" && meet[i * width + j + 1] === 1);
        if (!result && y?.kind === "star")
          result =
            meet[i * width + j + 1] === 1 || (x !== undefined && x.kind !== "star" && meet[(i + 1) * width + j] === 1);
        if (!result && x !== undefined && y !== undefined && x.kind !== "star" && y.kind !== "star") {
          result = meet[(i + 1) * width + j + 1] === 1 && charsMeet(x, y);
        }
      }
      meet[i * width + j] = result ? 1 : 0;
    }
  }
  return meet[0] === 1;
}

/** Scratch table for {@link tokensMeet}, reused across calls (it never re-enters itself). */
let scratch = new Uint8Array(256);

function segmentsMeet(a: Segment, b: Segment): boolean {
  if (a.kind !== "part" || b.kind !== "part") return true;
  for (const x of a.alts) {
    for (const y of b.alts) {
      if (x.text !== null) {
        if (y.text !== null ? x.text === y.text : (y.regex as RegExp).test(x.text)) return true;
      } else if (y.text !== null ? (x.regex as RegExp).test(y.text) : tokensMeet(x.tokens, y.tokens)) return true;
    }
  }
  return false;
}

/**
 * Do two segment sequences share a path? The same DP one level up: `**` either matches
 * no segment or swallows one segment of the other side (any segment pattern matches
 * some name), and two ordinary segments advance together when {@link segmentsMeet}.
 */
function sequencesMeet(a: readonly Segment[], b: readonly Segment[]): boolean {
  const n = a.length;
  const m = b.length;
  // Quick rejection: the last segments align until a `**` on either side.
  for (let k = 1; k <= n && k <= m; k++) {
    const x = a[n - k] as Segment;
    const y = b[m - k] as Segment;
    if (x.kind === "globstar" || y.kind === "globstar") break;
    if (!segmentsMeet(x, y)) return false;
  }
  const memo = new Uint8Array((n + 1) * (m + 1));
  const go = (i: number, j: number): boolean => {
    const slot = i * (m + 1) + j;
    const known = memo[slot];
    if (known !== 0) return known === 2;
    let result = false;
    if (i === n && j === m) result = true;
    else {
      const x = a[i];
      const y = b[j];
      if (x?.kind === "globstar") result = go(i + 1, j) || (y !== undefined && y.kind !== "globstar" && go(i, j + 1));
      if (!result && y?.kind === "globstar") {
        result = go(i, j + 1) || (x !== undefined && x.kind !== "globstar" && go(i + 1, j));
      }
      if (!result && x?.kind === "part" && y?.kind === "part") result = segmentsMeet(x, y) && go(i + 1, j + 1);
    }
    memo[slot] = result ? 2 : 1;
    return result;
  };
  return go(0, 0);
}

/** Two plain-name prefixes that disagree rule out any overlap, without running the DP. */
function prefixesAgree(a: readonly string[], b: readonly string[]): boolean {
  const k = Math.min(a.length, b.length);
  for (let i = 0; i < k; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** {@link patternsOverlap} on compiled patterns, for callers that compare one pattern against many. */
export function compiledOverlap(a: CompiledPattern, b: CompiledPattern): boolean {
  if (!prefixesAgree(a.prefix, b.prefix)) return false;
  return sequencesMeet(a.segments, b.segments);
}

/**
 * True iff some path could be covered by both normalised patterns: `src/**` and
 * `src/a.ts`; `src/*.ts` and `src/b.ts` (but not `src/x/b.ts`); `src/auth/` and
 * `src/auth/login.ts`; `src/a.ts` and `src/a.ts/x` (a name may be a folder). `[...]`
 * classes are read both as one character and as their own text, so the answer may be
 * "overlap" where a strict glob reading says no; it is never "no overlap" where one exists.
 * Symmetric, and every pattern overlaps itself.
 *
 * @throws BatonError `BAD_PATH` when a pattern is not valid normalised pattern text.
 */
export function patternsOverlap(a: string, b: string): boolean {
  return compiledOverlap(compilePathPattern(a), compilePathPattern(b));
}

/**
 * True when a concrete repository-relative path (as git prints it: `src/a.ts`) is covered
 * by the pattern. A path ending in `/` is a directory: true when the pattern covers
 * anything inside it (as `git status` reports an untracked folder).
 *
 * @throws BatonError `BAD_PATH` for an invalid pattern, or a path with `..` or a leading `/`.
 */
export function pathMatches(pattern: string | CompiledPattern, path: string): boolean {
  const compiled = typeof pattern === "string" ? compilePathPattern(pattern) : pattern;
  const clean = path.normalize("NFC").replace(/^(\.\/)+/, "");
  const directory = clean.endsWith("/");
  const names = clean.split("/").filter((name) => name !== "" && name !== ".");
  if (clean.startsWith("/") || names.includes("..") || names.length === 0) {
    throw bad(`invalid path ${JSON.stringify(path)}: expected a repository-relative path like src/a.ts`, path);
  }
  if (!prefixesAgree(compiled.prefix, names)) return false;
  const segments: Segment[] = names.map((name) => ({
    kind: "part",
    alts: [{ tokens: Array.from(name, (char): Token => ({ kind: "char", char })), text: name, regex: null }],
  }));
  if (directory) segments.push(GLOBSTAR);
  return sequencesMeet(compiled.segments, segments);
}

/**
 * What a pattern is: `path` (names a file or folder and covers everything under it),
 * `folder` (a glob ending in `/`, covering everything under its matches) or `glob`.
 *
 * @throws BatonError `BAD_PATH`
 */
export function patternKind(pattern: string): CompiledPattern["kind"] {
  return compilePathPattern(pattern).kind;
}

/**
 * The leading plain folder names of a pattern, joined by `/` (`src/auth` for
 * `src/auth/**\/*.ts`, `""` for `**\/*.md`). Two patterns can only overlap when one's
 * prefix is a segment-wise prefix of the other's, so a store may use it as an index.
 *
 * @throws BatonError `BAD_PATH`
 */
export function literalPrefix(pattern: string): string {
  return compilePathPattern(pattern).prefix.join("/");
}
