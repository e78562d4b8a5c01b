/**
 * The path-claim use cases: validate, call one atomic store operation, and answer with
 * a result and a message. Also the question the pre-commit guard asks: which of these
 * files does another agent hold? They take a repository identity and repository-relative
 * patterns; finding those in a checkout (git, symbolic links) is the workspace's
 * (src/workspace/checkout.ts).
 */
import { formatDuration } from "../core/duration.js";
import { BatonError } from "../core/errors.js";
import { parseAgent } from "../core/identity.js";
import type { PathMode } from "../core/path-plan.js";
import { compilePathPattern, normalizePathPattern, pathMatches } from "../core/paths.js";
import { type DurationInput, durationMs, parseCommit, parseLimit, parseText } from "../core/schemas.js";
import { isoSeconds } from "../core/time.js";
import type { ClaimState, PathClaim } from "../core/types.js";
import type { ClaimInput, ClaimOutcome, PathConflict, Store } from "../store/store.js";
import { parseStates } from "./claims.js";

/** Default lease of a path claim: 30 minutes. */
export const DEFAULT_PATH_TTL_MS = 30 * 60_000;
/** Most patterns one call may claim. */
export const MAX_PATTERNS = 1000;

export interface PathClaimOptions extends RepoTarget {
  as: string;
  /** Shared claims conflict only with exclusive ones. Default exclusive. */
  shared?: boolean;
  /** Default 30 minutes. */
  ttl?: DurationInput;
  reason?: string;
  /** Grant despite conflicts, reporting them. Never the default. */
  advisory?: boolean;
}

/** The answer to a path claim. A conflict is a value, not an exception. */
export type PathClaimResult =
  | {
      readonly ok: true;
      readonly outcome: "granted";
      readonly repo: string;
      readonly claims: PathClaim[];
      /** Conflicts overridden in advisory mode (empty otherwise). */
      readonly conflicts: PathConflict[];
      readonly advisory: boolean;
      readonly message: string;
    }
  | {
      readonly ok: false;
      readonly outcome: "conflict";
      readonly code: "PATH_CONFLICT";
      readonly repo: string;
      readonly conflicts: PathConflict[];
      readonly message: string;
    };

/** The repository a path operation is about: its identity (`root:<sha>`, or any id the fleet agrees on). */
export interface RepoTarget {
  repo: string;
}

/** Validate a repository identity. @throws BatonError `BAD_INPUT` */
export function parseRepo(input: unknown): string {
  const text = typeof input === "string" ? parseText(input, "repo") : null;
  if (text === null || text.trim() === "") {
    throw new BatonError(
      "BAD_INPUT",
      "a path operation needs the repository identity (repo), e.g. root:<sha of its root commit>",
    );
  }
  return text.trim();
}

/** @throws BatonError `BAD_PATH` when no pattern, or too many, are given. */
export function checkPatternCount(patterns: readonly unknown[]): void {
  if (patterns.length === 0) {
    throw new BatonError(
      "BAD_PATH",
      "no path pattern given: name files, folders like src/auth/, or globs like src/**/*.ts",
    );
  }
  if (patterns.length > MAX_PATTERNS) {
    throw new BatonError("BAD_PATH", `too many path patterns (${patterns.length}); at most ${MAX_PATTERNS} per call`);
  }
}

/**
 * Validate, normalise and de-duplicate repository-relative patterns (as the workspace's
 * `checkoutPatterns` returns them, or as a caller without a checkout sends them). Pure:
 * no disk, no git.
 *
 * @throws BatonError `BAD_PATH` (none given, too many, outside the repository, invalid glob)
 */
export function repositoryPatterns(patterns: readonly string[]): string[] {
  checkPatternCount(patterns);
  const out: string[] = [];
  for (const input of patterns) {
    const pattern = normalizePathPattern(input, { repoRoot: "/" });
    compilePathPattern(pattern); // invalid glob syntax is refused here, before the store
    if (!out.includes(pattern)) out.push(pattern);
  }
  return out;
}

/** One line per conflict: pattern, holder, mode, expiry, reason. */
export function describeConflicts(conflicts: readonly PathConflict[], now: Date): string {
  return conflicts
    .map((c) => {
      const left = formatDuration(Math.max(0, c.held.expiresAt.getTime() - now.getTime()));
      const why = c.held.reason ? ` — ${c.held.reason}` : "";
      return `  ${c.pattern}: held by ${c.held.agent} as ${c.held.pattern} (${c.held.mode}, token ${c.held.token}, expires ${isoSeconds(c.held.expiresAt)}, in ${left})${why}`;
    })
    .join("\n");
}

/**
 * Path claims for one Baton handle. Every method takes the repository identity
 * (`options.repo`) and repository-relative patterns; nothing here reads a checkout.
 */
export class PathService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Validate everything a path claim needs, before the store is touched. */
  prepare(options: Omit<PathClaimOptions, "repo">): {
    agent: string;
    mode: PathMode;
    ttlMs: number;
    reason: string | null;
  } {
    return {
      agent: parseAgent(options.as),
      mode: options.shared === true ? "shared" : "exclusive",
      ttlMs: options.ttl === undefined ? DEFAULT_PATH_TTL_MS : durationMs(options.ttl, "ttl"),
      reason: options.reason === undefined ? null : parseText(options.reason, "reason"),
    };
  }

  /** Claim every pattern, or none (conflicts listed). */
  async claim(patterns: readonly string[], options: PathClaimOptions): Promise<PathClaimResult> {
    const prepared = this.prepare(options);
    const repo = parseRepo(options.repo);
    const normalized = repositoryPatterns(patterns);
    const { paths } = await this.#claimNormalized(repo, normalized, prepared, options.advisory === true, null);
    if (paths === null) throw new BatonError("INTERNAL", "a path claim without work was refused for work");
    return paths;
  }

  /**
   * Claim a work key and the paths it will touch in one store transaction: both, or
   * neither. `paths` is null when the work itself was refused (see `work`).
   */
  async claimWithWork(
    work: ClaimInput,
    patterns: readonly string[],
    options: PathClaimOptions,
  ): Promise<{ readonly paths: PathClaimResult | null; readonly work: ClaimOutcome | null }> {
    const prepared = this.prepare(options);
    const repo = parseRepo(options.repo);
    const normalized = repositoryPatterns(patterns);
    return this.#claimNormalized(repo, normalized, prepared, options.advisory === true, work);
  }

  async #claimNormalized(
    repo: string,
    patterns: string[],
    prepared: { agent: string; mode: PathMode; ttlMs: number; reason: string | null },
    advisory: boolean,
    work: ClaimInput | null,
  ): Promise<{ readonly paths: PathClaimResult | null; readonly work: ClaimOutcome | null }> {
    const outcome = await this.#store.claimPaths({
      repo,
      agent: prepared.agent,
      patterns,
      mode: prepared.mode,
      ttlMs: prepared.ttlMs,
      reason: prepared.reason,
      advisory,
      work,
    });
    if (outcome.outcome === "work_refused") return { paths: null, work: outcome.work };
    const now = await this.#store.now();
    if (outcome.outcome === "conflict") {
      const n = outcome.conflicts.length;
      return {
        work: null,
        paths: {
          ok: false,
          outcome: "conflict",
          code: "PATH_CONFLICT",
          repo,
          conflicts: outcome.conflicts,
          message: `denied: ${n} path conflict${n === 1 ? "" : "s"}, nothing claimed\n${describeConflicts(outcome.conflicts, now)}`,
        },
      };
    }
    const first = outcome.claims[0];
    const head = `claimed ${outcome.claims.length} path${outcome.claims.length === 1 ? "" : "s"} (${prepared.mode}, token ${first?.token}, expires in ${formatDuration(prepared.ttlMs)} at ${first ? isoSeconds(first.expiresAt) : "-"})`;
    const lines = outcome.claims.map((c) => `  ${c.pattern}`);
    const warning =
      outcome.conflicts.length > 0
        ? `\nADVISORY: granted despite ${outcome.conflicts.length} conflict${outcome.conflicts.length === 1 ? "" : "s"} (advisory):\n${describeConflicts(outcome.conflicts, now)}`
        : "";
    return {
      work: outcome.work,
      paths: {
        ok: true,
        outcome: "granted",
        repo,
        claims: outcome.claims,
        conflicts: outcome.conflicts,
        advisory,
        message: `${head}\n${lines.join("\n")}${warning}`,
      },
    };
  }

  /** Release my path claims: the patterns given, or all of mine in this repository. */
  async release(
    patterns: readonly string[] | null,
    options: RepoTarget & { as: string; commit?: string },
  ): Promise<{ readonly released: PathClaim[]; readonly message: string }> {
    const agent = parseAgent(options.as);
    const commit = options.commit === undefined ? null : parseCommit(options.commit);
    const repo = parseRepo(options.repo);
    const selected = patterns === null || patterns.length === 0 ? null : repositoryPatterns(patterns);
    const released = await this.#store.releasePaths({ repo, agent, patterns: selected, commit });
    const n = released.length;
    return {
      released,
      message:
        n === 0
          ? "released nothing: no matching path claims of yours"
          : `released ${n} path claim${n === 1 ? "" : "s"}\n${released.map((c) => `  ${c.pattern}`).join("\n")}`,
    };
  }

  /** Extend my live path claims: the patterns given, or all of mine in this repository. */
  async renew(
    patterns: readonly string[] | null,
    options: RepoTarget & { as: string; ttl?: DurationInput },
  ): Promise<
    | { readonly ok: true; readonly renewed: PathClaim[]; readonly message: string }
    | { readonly ok: false; readonly code: "NOT_HOLDER"; readonly renewed: PathClaim[]; readonly message: string }
  > {
    const agent = parseAgent(options.as);
    const ttlMs = options.ttl === undefined ? DEFAULT_PATH_TTL_MS : durationMs(options.ttl, "ttl");
    const repo = parseRepo(options.repo);
    const selected = patterns === null || patterns.length === 0 ? null : repositoryPatterns(patterns);
    const renewed = await this.#store.renewPaths({ repo, agent, patterns: selected, ttlMs });
    const n = renewed.length;
    // Nothing of mine to renew is the expected "no", as for a claim.
    if (n === 0)
      return { ok: false, code: "NOT_HOLDER", renewed, message: "renewed nothing: no live path claims of yours" };
    return {
      ok: true,
      renewed,
      message: `renewed ${n} path claim${n === 1 ? "" : "s"} (expires in ${formatDuration(ttlMs)})`,
    };
  }

  /**
   * Record `commit` against my live path claims that cover any of `files` (all of my
   * live path claims when `files` is null): the post-commit hook's note in the log.
   */
  async noteCommit(
    commit: string,
    files: readonly string[] | null,
    options: RepoTarget & { as: string },
  ): Promise<PathClaim[]> {
    const agent = parseAgent(options.as);
    const sha = parseCommit(commit) as string;
    const repo = parseRepo(options.repo);
    let patterns: string[] | null = null;
    if (files !== null) {
      const mine = await this.#store.listPaths({ repo, agent, states: ["active"], limit: 100_000 });
      patterns = mine.filter((c) => files.some((file) => pathMatches(c.pattern, file))).map((c) => c.pattern);
      if (patterns.length === 0) return [];
    }
    return this.#store.notePathCommit({ repo, agent, patterns, commit: sha });
  }

  /** Path claims of repository `options.repo` (or of every repository with `allRepos`), by state and agent. */
  async list(
    options: {
      repo?: string;
      allRepos?: boolean;
      agent?: string;
      state?: ClaimState | readonly ClaimState[] | "all";
      limit?: number;
    } = {},
  ): Promise<PathClaim[]> {
    const agent = options.agent === undefined ? undefined : parseAgent(options.agent);
    const limit = parseLimit(options.limit, 1000);
    const states = parseStates(options.state);
    const repo = options.allRepos === true ? undefined : parseRepo(options.repo);
    return this.#store.listPaths({ repo, agent, states, limit });
  }

  /**
   * Which of `files` (repository-relative, as git prints them) fall under a live
   * exclusive path claim of another agent: the pre-commit guard's question.
   */
  async blockers(
    files: readonly string[],
    options: RepoTarget & { as: string },
  ): Promise<{ readonly file: string; readonly held: PathClaim }[]> {
    const agent = parseAgent(options.as);
    const repo = parseRepo(options.repo);
    const live = await this.#store.listPaths({ repo, states: ["active"], limit: 100_000 });
    const others = live.filter((c) => c.agent !== agent && c.mode === "exclusive");
    const compiled = others.map((held) => ({ held, pattern: compilePathPattern(held.pattern) }));
    const out: { file: string; held: PathClaim }[] = [];
    for (const file of files) {
      for (const { held, pattern } of compiled) if (pathMatches(pattern, file)) out.push({ file, held });
    }
    return out;
  }
}
