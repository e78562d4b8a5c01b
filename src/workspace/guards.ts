/**
 * Git guards: `sync-check` (is a deploy from here exactly the remote plus my
 * commits, and do I still hold what I think I hold?) and `probe` (is anyone else
 * working on these paths?). They read git and the registry; they change nothing.
 */
import { formatDuration } from "../core/duration.js";
import { BatonError } from "../core/errors.js";
import { parseAgent, parseKey, parseToken } from "../core/identity.js";
import { compilePathPattern, pathMatches, patternsOverlap } from "../core/paths.js";
import type { Claim, PathClaim } from "../core/types.js";
import type { Store } from "../store/store.js";
import {
  aheadBehind,
  type CommitInfo,
  commitsTouching,
  currentBranch,
  dirtyFiles,
  fetch,
  gitUser,
  isDirty,
  refExists,
  worktrees,
} from "./git.js";
import { checkoutPatterns, type RepoOptions, resolveCheckout } from "./checkout.js";
import { isoSeconds as iso } from "../core/time.js";

/** A claim an agent says it holds: `KEY` or `KEY:TOKEN` (the token after the last `:`). */
export interface Holding {
  readonly key: string;
  readonly token: number | null;
}

/**
 * Parse `KEY[:TOKEN]`. Keys often end in `:digits` themselves (`task:42`), so both
 * readings are returned: the whole text as a key, and, when it ends in `:digits`,
 * the text before as the key with that token. {@link syncCheck} picks the reading
 * that names a claim in the store, preferring the whole text.
 */
export function parseHolding(input: string): Holding[] {
  const readings: Holding[] = [{ key: parseKey(input), token: null }];
  const match = /^(.*):(\d+)$/.exec(input);
  if (match !== null && match[1] !== undefined && match[1].trim().length > 0) {
    readings.push({ key: parseKey(match[1]), token: parseToken(match[2]) });
  }
  return readings;
}

/** One reason a guard says no. */
export interface GuardFinding {
  readonly kind: "behind" | "diverged" | "dirty" | "no_upstream" | "not_holding" | "token_changed";
  readonly message: string;
}

export interface SyncCheckOptions extends RepoOptions {
  remote?: string;
  /** Default: the branch checked out. */
  branch?: string;
  allowDirty?: boolean;
  /** Claims this agent must still hold (with the token, if given). */
  holding?: readonly string[];
  /** The agent for `holding`. */
  as?: string;
  /** Fetch first (default true). */
  fetch?: boolean;
}

export interface SyncCheckResult {
  readonly ok: boolean;
  readonly code?: "OUT_OF_SYNC";
  readonly branch: string;
  readonly remoteRef: string;
  readonly ahead: number;
  readonly behind: number;
  readonly dirty: boolean;
  readonly findings: GuardFinding[];
  readonly message: string;
}

/**
 * Would a deploy from this working tree ship exactly the remote branch plus local
 * commits? Fetches (unless told not to), then refuses when behind or diverged, when
 * the tree is dirty (unless allowed), and when a claim named in `holding` is no
 * longer this agent's, or is held under another token.
 *
 * @throws BatonError `NOT_GIT_REPO`, `GIT_FAILED` (unknown remote, network), `BAD_INPUT`, `MISSING_AGENT`
 */
export async function syncCheck(store: Store, options: SyncCheckOptions = {}): Promise<SyncCheckResult> {
  const readings = (options.holding ?? []).map(parseHolding);
  if (readings.length > 0 && options.as === undefined) {
    throw new BatonError("MISSING_AGENT", "--holding needs an agent name: pass --as NAME or set BATON_AGENT");
  }
  const agent = options.as === undefined ? null : parseAgent(options.as);
  const repo = await resolveCheckout(options);
  const cwd = repo.cwd;
  const remote = options.remote ?? "origin";
  const branch = options.branch ?? (await currentBranch(cwd));
  if (branch === null) {
    throw new BatonError("BAD_INPUT", "HEAD is detached: name the branch to compare with --branch");
  }
  if (options.fetch !== false) await fetch(cwd, remote);
  const remoteRef = `${remote}/${branch}`;
  const findings: GuardFinding[] = [];
  let ahead = 0;
  let behind = 0;
  if (await refExists(cwd, remoteRef)) {
    ({ ahead, behind } = await aheadBehind(cwd, "HEAD", remoteRef));
    if (behind > 0 && ahead > 0) {
      findings.push({
        kind: "diverged",
        message: `diverged from ${remoteRef}: ${ahead} local and ${behind} remote commits differ; run git pull --rebase ${remote} ${branch}, test, then deploy`,
      });
    } else if (behind > 0) {
      findings.push({
        kind: "behind",
        message: `${behind} commit${behind === 1 ? "" : "s"} behind ${remoteRef}: a deploy from here would roll them back; run git pull --rebase ${remote} ${branch}`,
      });
    }
  } else {
    findings.push({
      kind: "no_upstream",
      message: `${remoteRef} does not exist: push the branch first (git push -u ${remote} ${branch}) or name another with --branch`,
    });
  }
  const dirty = await isDirty(cwd);
  if (dirty && options.allowDirty !== true) {
    findings.push({
      kind: "dirty",
      message:
        "the working tree has uncommitted or untracked changes a deploy would ship: commit or stash them (or --allow-dirty)",
    });
  }
  for (const [whole, split] of readings) {
    let holding = whole as Holding;
    let claim = await store.get(holding.key);
    if (claim === null && split !== undefined) {
      const other = await store.get(split.key);
      if (other !== null) {
        holding = split;
        claim = other;
      }
    }
    if (claim === null || claim.state !== "active" || claim.agent !== agent) {
      findings.push({
        kind: "not_holding",
        message: `${agent} no longer holds ${holding.key}: ${claim === null ? "it was never claimed" : `it is ${claim.state}, last held by ${claim.agent} (token ${claim.token})`}`,
      });
    } else if (holding.token !== null && claim.token !== holding.token) {
      findings.push({
        kind: "token_changed",
        message: `${holding.key} is held under token ${claim.token}, not ${holding.token}: the work was re-granted since`,
      });
    }
  }
  const ok = findings.length === 0;
  const state = `${branch} vs ${remoteRef}: ${ahead} ahead, ${behind} behind${dirty ? ", dirty" : ""}`;
  return {
    ok,
    ...(ok ? {} : { code: "OUT_OF_SYNC" as const }),
    branch,
    remoteRef,
    ahead,
    behind,
    dirty,
    findings,
    message: ok
      ? `in sync: ${state}; a deploy from here ships ${remoteRef}${ahead > 0 ? ` plus ${ahead} local commit${ahead === 1 ? "" : "s"}` : ""}`
      : `not safe to deploy (${state}):\n${findings.map((f) => `  ${f.message}`).join("\n")}`,
  };
}

export interface ProbeOptions extends RepoOptions {
  /** How far back to look for commits. Default 30 minutes. */
  sinceMs?: number;
  /** Fetch first and look at the upstream branch too. */
  fetch?: boolean;
  remote?: string;
  /** The asking agent: its own claims do not count. */
  as?: string;
}

export interface ProbeResult {
  readonly ok: boolean;
  readonly code?: "PATHS_BUSY";
  readonly patterns: string[];
  readonly commits: CommitInfo[];
  readonly pathClaims: PathClaim[];
  readonly worktreeChanges: { readonly worktree: string; readonly path: string; readonly status: string }[];
  readonly workClaims: Claim[];
  readonly message: string;
}

/** How far before the commit window `committed` events are read: commits and their events may be stamped by different clocks. */
const EVENT_SLACK_MS = 60 * 60_000;

/**
 * The commits made by someone else. A commit's agent is its `Baton-Agent` trailer, else the
 * agent Baton recorded it for (a `committed` event of the post-commit hook). When both that
 * and the asking agent are known, they decide; otherwise the git author does (e-mail, or name,
 * differing from mine). Agents of one fleet often share one git identity, so the git author
 * alone would hide them from each other.
 */
async function othersCommits(
  store: Store,
  commits: readonly CommitInfo[],
  options: { agent: string | null; me: string | null; windowMs: number },
): Promise<CommitInfo[]> {
  if (commits.length === 0) return [];
  const recorded = new Map<string, string>();
  if (commits.some((c) => c.agent === null)) {
    const events = await store.events({
      kinds: ["committed"],
      sinceMs: options.windowMs + EVENT_SLACK_MS,
      limit: 100_000,
    });
    for (const e of events) if (e.commit !== null && e.agent !== null) recorded.set(e.commit, e.agent);
  }
  const me = options.me;
  const out: CommitInfo[] = [];
  for (const commit of commits) {
    const agent = commit.agent ?? recorded.get(commit.hash) ?? null;
    const mine =
      agent !== null && options.agent !== null
        ? agent === options.agent
        : me !== null && (commit.author === me || commit.email.toLowerCase() === me.toLowerCase());
    if (!mine) out.push({ ...commit, agent });
  }
  return out;
}

/**
 * Is anyone else here? For the paths given: commits by others in the window (and on
 * the upstream branch after a fetch), live path claims of other agents that overlap,
 * uncommitted changes in the repository's other worktrees, and live work claims of
 * other agents whose metadata names one of the paths.
 *
 * "Others" for commits: another agent, by the commit's `Baton-Agent` trailer or Baton's own
 * `committed` record; for a commit Baton cannot attribute (or without `as`), an author whose
 * e-mail (or name) differs from this repository's `user.email` (or `user.name`). For work
 * claims: the metadata, as JSON text, contains
 * one of the normalised patterns or, for a folder or glob, its literal folder prefix.
 */
export async function probe(store: Store, paths: readonly string[], options: ProbeOptions = {}): Promise<ProbeResult> {
  const agent = options.as === undefined ? null : parseAgent(options.as);
  const repo = await resolveCheckout(options);
  const patterns = checkoutPatterns(paths, repo);
  const compiled = patterns.map((p) => compilePathPattern(p));
  const covers = (file: string): boolean => compiled.some((c) => pathMatches(c, file));
  const remote = options.remote ?? "origin";
  const refs = ["HEAD"];
  if (options.fetch === true) {
    await fetch(repo.cwd, remote);
    const branch = await currentBranch(repo.cwd);
    if (branch !== null && (await refExists(repo.cwd, `${remote}/${branch}`))) refs.push(`${remote}/${branch}`);
  }
  const me = await gitUser(repo.cwd);
  const windowMs = options.sinceMs ?? 30 * 60_000;
  const since = new Date(Date.now() - windowMs);
  const touching = await commitsTouching(repo.cwd, patterns, { since, ref: refs });
  const commits = await othersCommits(store, touching, { agent, me, windowMs });
  const live = await store.listPaths({ repo: repo.id, states: ["active"], limit: 100_000 });
  const pathClaims = live.filter((c) => c.agent !== agent && patterns.some((p) => patternsOverlap(p, c.pattern)));
  const worktreeChanges: ProbeResult["worktreeChanges"] = [];
  for (const wt of await worktrees(repo.cwd)) {
    if (wt.bare || wt.prunable || wt.path === repo.root) continue;
    for (const file of await dirtyFiles(wt.path)) {
      if (covers(file.path)) worktreeChanges.push({ worktree: wt.path, path: file.path, status: file.status });
    }
  }
  const needles = patterns.flatMap((p) => {
    const prefix = compilePathPattern(p).prefix.join("/");
    return prefix.length > 0 && prefix !== p ? [p, prefix] : [p];
  });
  const claims = await store.list({ states: ["active"], limit: 100_000 });
  const workClaims = claims.filter(
    (c) => c.agent !== agent && c.meta !== null && needles.some((n) => JSON.stringify(c.meta).includes(n)),
  );
  const ok = commits.length + pathClaims.length + worktreeChanges.length + workClaims.length === 0;
  const now = await store.now();
  const sections: string[] = [];
  if (commits.length > 0) {
    sections.push(
      `commits by others since ${iso(since)}:\n${commits.map((c) => `  ${c.hash.slice(0, 10)} ${c.agent === null ? "" : `agent ${c.agent}, `}${c.author} <${c.email}> ${c.date}: ${c.subject} (${c.files.join(", ")})`).join("\n")}`,
    );
  }
  if (pathClaims.length > 0) {
    sections.push(
      `path claims:\n${pathClaims.map((c) => `  ${c.pattern}: ${c.agent} (${c.mode}, token ${c.token}, expires in ${formatDuration(c.expiresAt.getTime() - now.getTime())})${c.reason ? ` — ${c.reason}` : ""}`).join("\n")}`,
    );
  }
  if (worktreeChanges.length > 0) {
    sections.push(
      `uncommitted changes in other worktrees:\n${worktreeChanges.map((w) => `  ${w.worktree}: ${w.status.trim() || "?"} ${w.path}`).join("\n")}`,
    );
  }
  if (workClaims.length > 0) {
    sections.push(
      `work claims naming these paths:\n${workClaims.map((c) => `  ${c.key}: ${c.agent} (token ${c.token}, expires ${iso(c.expiresAt)}) ${JSON.stringify(c.meta)}`).join("\n")}`,
    );
  }
  return {
    ok,
    ...(ok ? {} : { code: "PATHS_BUSY" as const }),
    patterns,
    commits,
    pathClaims,
    worktreeChanges,
    workClaims,
    message: ok
      ? `clear: nobody else is on ${patterns.join(", ")}`
      : `someone is here (${patterns.join(", ")}):\n${sections.join("\n")}`,
  };
}
