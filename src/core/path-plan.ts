/**
 * Deciding a path claim, pure: given the live path claims of a repository and a
 * request, which patterns conflict with whom, which of the caller's own claims are
 * renewed, and which patterns are new. Both stores call this under their lock, so
 * the decision is the same on SQLite and PostgreSQL.
 *
 * Conflict rule: an exclusive request conflicts with every overlapping live claim of
 * another agent; a shared request conflicts only with overlapping exclusive claims of
 * another agent. The caller's own claims never conflict with it.
 */
import { type CompiledPattern, compiledOverlap, compilePathPattern } from "./paths.js";

/** How a path claim is held. */
export type PathMode = "exclusive" | "shared";

/** What the planner needs to know of a live path claim. */
export interface LivePath {
  readonly pattern: string;
  readonly agent: string;
  readonly mode: PathMode;
}

/** A requested pattern and the live claim it collides with. */
export interface PlannedConflict<T extends LivePath> {
  readonly pattern: string;
  readonly held: T;
}

/** The decision for one request. */
export interface PathPlan<T extends LivePath> {
  /** Every (requested pattern, live claim of another agent) pair that conflicts. */
  readonly conflicts: PlannedConflict<T>[];
  /** The caller's own live claims on exactly a requested pattern: renewed in place. */
  readonly renew: T[];
  /** Requested patterns the caller does not hold yet: inserted. */
  readonly insert: string[];
}

/** Do two modes of different agents exclude each other? */
export function modesConflict(requested: PathMode, held: PathMode): boolean {
  return requested === "exclusive" || held === "exclusive";
}

/**
 * Plan a path claim of `patterns` (normalised, distinct) in `mode` by `agent` against
 * the repository's `live` claims.
 */
export function planPathClaim<T extends LivePath>(
  live: readonly T[],
  request: { readonly agent: string; readonly mode: PathMode; readonly patterns: readonly string[] },
): PathPlan<T> {
  const compiled = new Map<string, CompiledPattern>();
  const compile = (pattern: string): CompiledPattern => {
    let c = compiled.get(pattern);
    if (c === undefined) {
      c = compilePathPattern(pattern);
      compiled.set(pattern, c);
    }
    return c;
  };
  // Two patterns whose first segments are different plain names cannot overlap: every
  // path either covers starts with that name. Live claims are bucketed by that name, so a
  // request looks only at its own bucket and at claims that start with a wildcard.
  const head = (pattern: string): string | null => {
    const first = pattern.split("/", 1)[0] ?? "";
    return first === "" || /[*?[{]/.test(first) ? null : first;
  };
  const buckets = new Map<string | null, T[]>();
  const own = new Map<string, T>();
  for (const held of live) {
    if (held.agent === request.agent) {
      own.set(held.pattern, held);
      continue;
    }
    const h = head(held.pattern);
    const bucket = buckets.get(h);
    if (bucket === undefined) buckets.set(h, [held]);
    else bucket.push(held);
  }
  const conflicts: PlannedConflict<T>[] = [];
  const renew: T[] = [];
  const insert: string[] = [];
  for (const pattern of request.patterns) {
    const mine = compile(pattern);
    const h = head(pattern);
    const candidates =
      h === null
        ? live.filter((held) => held.agent !== request.agent)
        : [...(buckets.get(h) ?? []), ...(buckets.get(null) ?? [])];
    for (const held of candidates) {
      if (!modesConflict(request.mode, held.mode)) continue;
      if (compiledOverlap(mine, compile(held.pattern))) conflicts.push({ pattern, held });
    }
    const mineHeld = own.get(pattern);
    if (mineHeld === undefined) insert.push(pattern);
    else renew.push(mineHeld);
  }
  return { conflicts, renew, insert };
}
