/**
 * The checkout a command runs in: its working-tree root, its repository identity, and
 * path patterns typed there made repository-relative (symbolic links in the checkout
 * resolved). Everything here reads the local disk or runs git; the path services take
 * what it returns (an identity and normalised patterns) and never look at a checkout.
 */
import { realpathSync } from "node:fs";
import { resolve } from "node:path";
import { BatonError } from "../core/errors.js";
import { normalizePathPattern } from "../core/paths.js";
import { parseText } from "../core/schemas.js";
import { checkPatternCount, repositoryPatterns } from "../services/paths.js";
import type { PathResolver } from "../services/tasks.js";
import { repoIdentity, repoRoot, resolvePatternLinks } from "./git.js";

/** Where the repository is: the directory patterns are typed in (default the process's). */
export interface RepoOptions {
  cwd?: string;
  /** A repository identity to use instead of asking git (e.g. for a shallow clone). */
  repo?: string;
}

/** A resolved checkout: its working-tree root, its identity, and the (real) directory patterns are typed in. */
export interface Checkout {
  readonly root: string;
  readonly id: string;
  readonly cwd: string;
}

function realCwd(cwd: string | undefined): string {
  const dir = resolve(cwd ?? process.cwd());
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/** The identity given (trimmed), or null when none was. */
function givenIdentity(options: RepoOptions): string | null {
  const given = options.repo === undefined ? null : parseText(options.repo, "repo");
  return given === null || given.trim() === "" ? null : given.trim();
}

/**
 * The checkout at `options.cwd` (its root from git) and its identity (from git, or
 * `options.repo` when given: then one git process, for the root).
 *
 * @throws BatonError `NOT_GIT_REPO`, `GIT_FAILED`
 */
export async function resolveCheckout(options: RepoOptions = {}): Promise<Checkout> {
  const cwd = realCwd(options.cwd);
  const root = await repoRoot(cwd);
  const id = givenIdentity(options) ?? (await repoIdentity(cwd));
  return { root, id, cwd };
}

/**
 * The repository identity for `options`: the one given (no git at all), else git's for
 * the checkout at `options.cwd`.
 *
 * @throws BatonError `NOT_GIT_REPO`, `GIT_FAILED`
 */
export async function repositoryId(options: RepoOptions = {}): Promise<string> {
  return givenIdentity(options) ?? repoIdentity(realCwd(options.cwd));
}

/**
 * Normalise and de-duplicate patterns typed at `checkout.cwd` into repository-relative
 * ones, as the path services take them.
 *
 * Symbolic links in a pattern's literal prefix are resolved against the checkout: a link
 * inside the repository reads as its target, one that leaves the repository is refused.
 *
 * @throws BatonError `BAD_PATH` (none given, too many, outside the repository — also through
 *   a symbolic link —, invalid glob)
 */
export function checkoutPatterns(patterns: readonly string[], checkout: Checkout): string[] {
  checkPatternCount(patterns); // before the disk is read
  const out: string[] = [];
  for (const input of patterns) {
    const written = normalizePathPattern(input, { repoRoot: checkout.root, cwd: checkout.cwd });
    // Through the checkout's symbolic links: an alias conflicts like what it points at.
    const physical = resolvePatternLinks(written, checkout.root);
    const pattern = physical === null ? written : normalizePathPattern(physical, { repoRoot: checkout.root });
    if (!out.includes(pattern)) out.push(pattern);
  }
  return repositoryPatterns(out);
}

/**
 * The identity and repository-relative patterns for a path operation: resolved against
 * the checkout at `options.cwd`; with an identity given and no checkout there, the
 * patterns are taken as repository-relative (what a caller without a checkout, such as a
 * server's client, sends).
 *
 * @throws BatonError `NOT_GIT_REPO` (no checkout and no identity), `GIT_FAILED`, `BAD_PATH`
 */
export async function pathTarget(
  patterns: readonly string[] | null,
  options: RepoOptions = {},
): Promise<{ readonly repo: string; readonly patterns: string[] | null }> {
  const given = givenIdentity(options);
  if (patterns === null || patterns.length === 0)
    return { repo: given ?? (await repositoryId(options)), patterns: null };
  let checkout: Checkout;
  try {
    checkout = await resolveCheckout(options);
  } catch (error) {
    if (given !== null && error instanceof BatonError && error.code === "NOT_GIT_REPO") {
      return { repo: given, patterns: repositoryPatterns(patterns) };
    }
    throw error;
  }
  return { repo: checkout.id, patterns: checkoutPatterns(patterns, checkout) };
}

/**
 * Task paths and `next`'s repository from the local checkout: what the library's task
 * service uses (a task's paths typed at `cwd`; `next` outside a repository has none).
 */
export const CHECKOUT_PATHS: PathResolver = {
  async repository(at) {
    try {
      return await repositoryId(at);
    } catch {
      return null;
    }
  },
  async patterns(patterns, at) {
    checkPatternCount(patterns);
    return checkoutPatterns(patterns, await resolveCheckout(at));
  },
  async patternLists(lists, at) {
    for (const patterns of lists) checkPatternCount(patterns);
    const checkout = await resolveCheckout(at);
    return lists.map((patterns) => checkoutPatterns(patterns, checkout));
  },
};
