/**
 * Thin, typed helpers around the real `git` CLI, for `baton probe`, `baton sync-check`
 * and the git hooks. Each helper runs exactly one git process (`execFile`, no shell) and
 * parses its machine-readable output (`-z`, `--porcelain`, explicit `--format`).
 *
 * Environment: git exports `GIT_DIR`, `GIT_INDEX_FILE` and friends to the hooks it runs.
 * Inherited as they are, they would point every command at the hook's repository whatever
 * its `cwd`, so each helper removes them and finds the repository from `cwd` alone. The
 * one exception is {@link stagedFiles}, which reads the index a running commit is about
 * to write (see there). Commands run with `LC_ALL=C` (git's messages are parsed),
 * `GIT_TERMINAL_PROMPT=0` (never wait for a password) and `GIT_OPTIONAL_LOCKS=0` (a
 * read-only `status` must not take `index.lock` from under an agent that is committing).
 *
 * Failures are BatonErrors: `NOT_GIT_REPO` when `cwd` is not inside a working tree (or does
 * not exist), `GIT_FAILED` for anything else, with git's own message quoted.
 */
import { execFile } from "node:child_process";
import { existsSync, lstatSync, readlinkSync, realpathSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { BatonError } from "../core/errors.js";
import { pathMatches } from "../core/paths.js";
import { pickRootCommit, ROOT_COMMIT_PRETTY, UNBORN_HEAD } from "../core/root-commit.js";

/** Variables that would override how git finds the repository from `cwd`. */
const REPOSITORY_ENV = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_COMMON_DIR",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_NAMESPACE",
  "GIT_PREFIX",
  "GIT_QUARANTINE_PATH",
] as const;

/** Largest output accepted from one git command. */
const MAX_BUFFER = 256 * 1024 * 1024;
/** Default time limit for a command that talks to a remote. */
export const DEFAULT_FETCH_TIMEOUT_MS = 120_000;

interface RunOptions {
  cwd: string;
  /** Extra variables, applied after the repository variables are removed. */
  env?: Record<string, string>;
  /** Kill git after this long (ms). */
  timeoutMs?: number;
  /** Exit codes that are answers rather than failures (e.g. 1 for `symbolic-ref --quiet`). */
  okCodes?: readonly number[];
}

interface RunResult {
  stdout: string;
  code: number;
}

function gitEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REPOSITORY_ENV) delete env[name];
  return { ...env, LC_ALL: "C", LANGUAGE: "C", GIT_TERMINAL_PROMPT: "0", GIT_OPTIONAL_LOCKS: "0", ...extra };
}

/** The first meaningful line of git's complaint, without the `fatal: ` prefix. */
function firstLine(stderr: string): string {
  const line = stderr
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.length > 0 && !l.startsWith("hint:"));
  return (line ?? "").replace(/^(fatal|error): /, "");
}

/** Run one git command. Resolves with stdout; rejects with a BatonError. */
function git(args: readonly string[], options: RunOptions): Promise<RunResult> {
  const { cwd } = options;
  return new Promise((resolvePromise, reject) => {
    execFile(
      "git",
      args as string[],
      {
        cwd,
        env: gitEnv(options.env),
        encoding: "utf8",
        maxBuffer: MAX_BUFFER,
        timeout: options.timeoutMs ?? 0,
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolvePromise({ stdout, code: 0 });
          return;
        }
        const failure = error as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string | null };
        if (typeof failure.code === "number" && options.okCodes?.includes(failure.code)) {
          resolvePromise({ stdout, code: failure.code });
          return;
        }
        const command = `git ${args.join(" ")}`;
        const details = { command, cwd, stderr: stderr.trim(), exitCode: failure.code ?? null };
        if (failure.code === "ENOENT") {
          if (!existsSync(cwd)) {
            reject(new BatonError("NOT_GIT_REPO", `not a git repository: ${cwd} does not exist`, details));
          } else {
            reject(
              new BatonError("GIT_FAILED", "git was not found on PATH: install git to use path guards", details, {
                cause: error,
              }),
            );
          }
          return;
        }
        if (failure.killed === true || failure.signal != null) {
          const after = options.timeoutMs === undefined ? "" : ` after ${options.timeoutMs} ms`;
          reject(
            new BatonError("GIT_FAILED", `${command} was stopped${after} (${failure.signal ?? "killed"})`, details),
          );
          return;
        }
        const why = firstLine(stderr) || `exit code ${String(failure.code)}`;
        if (/not a git repository/i.test(stderr)) {
          reject(
            new BatonError(
              "NOT_GIT_REPO",
              `not a git repository: ${cwd} (run inside a repository's working tree)`,
              details,
            ),
          );
          return;
        }
        reject(new BatonError("GIT_FAILED", `${command} failed in ${cwd}: ${why}`, details, { cause: error }));
      },
    );
  });
}

const nulFields = (text: string): string[] => text.split("\0").filter((f) => f.length > 0);

/**
 * The root of the working tree that contains `cwd` (`git rev-parse --show-toplevel`),
 * as git prints it: absolute, symbolic links resolved.
 *
 * @throws BatonError `NOT_GIT_REPO` outside a working tree (a bare repository included).
 */
export async function repoRoot(cwd: string): Promise<string> {
  const { stdout } = await git(["rev-parse", "--show-toplevel"], { cwd }).catch((error: unknown) => {
    if (error instanceof BatonError && /must be run in a work tree/i.test(String(error.details?.stderr))) {
      throw new BatonError("NOT_GIT_REPO", `not a git working tree: ${cwd} is inside a bare repository`, error.details);
    }
    throw error;
  });
  return stdout.trim();
}

/**
 * The git directory shared by every worktree of the repository (`--git-common-dir`),
 * absolute and with symbolic links resolved. For a bare repository, the repository itself.
 *
 * @throws BatonError `NOT_GIT_REPO`
 */
export async function gitCommonDir(cwd: string): Promise<string> {
  const { stdout } = await git(["rev-parse", "--path-format=absolute", "--git-common-dir"], { cwd });
  const dir = resolve(cwd, stdout.trim());
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

/**
 * A stable identity for the repository, the same in every worktree and every clone:
 * `root:<sha>`, the hash of its root commit (when history has several roots, reachable from
 * HEAD, the one with the oldest commit date, then the smallest hash). Clones on different
 * machines agree, so one registry (a shared SQLite file or PostgreSQL) keys their path
 * claims together. Two caveats, both visible in the value:
 *
 * - a repository without commits yet has no root: `dir:<realpath of the common git dir>`
 *   (worktrees agree, clones do not); the identity changes with the first commit;
 * - a shallow clone does not know its root commit: refused (`GIT_FAILED`) rather than
 *   guessed, because a wrong identity silently hides other agents' claims. Surfaces can
 *   offer an override (e.g. a configured repository id) or `git fetch --unshallow`.
 *
 * One git process (two for a repository without commits).
 *
 * @throws BatonError `NOT_GIT_REPO`, or `GIT_FAILED` for a shallow clone.
 */
export async function repoIdentity(cwd: string): Promise<string> {
  const result = await git(["log", "--max-parents=0", `--format=${ROOT_COMMIT_PRETTY}`, "HEAD", "--"], {
    cwd,
  }).catch(async (error: unknown) => {
    // An unborn branch: HEAD names no commit yet.
    if (error instanceof BatonError && error.code === "GIT_FAILED") {
      const stderr = String(error.details?.stderr ?? "");
      if (UNBORN_HEAD.test(stderr)) return null;
    }
    throw error;
  });
  if (result === null) return `dir:${await gitCommonDir(cwd)}`;
  const root = pickRootCommit(result.stdout);
  if (root.kind === "shallow") {
    throw new BatonError(
      "GIT_FAILED",
      `cannot identify the repository at ${cwd}: it is a shallow clone, so its root commit is unknown (run git fetch --unshallow)`,
      { cwd, shallowAt: root.at },
    );
  }
  if (root.kind === "none")
    throw new BatonError("GIT_FAILED", `cannot identify the repository at ${cwd}: no root commit`);
  return `root:${root.hash}`;
}

/**
 * The branch checked out at `cwd` (`main`), or `null` when HEAD is detached. An unborn
 * branch (no commits yet) is still named.
 *
 * @throws BatonError `NOT_GIT_REPO`
 */
export async function currentBranch(cwd: string): Promise<string | null> {
  const { stdout, code } = await git(["symbolic-ref", "--quiet", "--short", "HEAD"], { cwd, okCodes: [1] });
  return code === 1 ? null : stdout.trim();
}

export interface StagedFilesOptions {
  /**
   * The index to read. Default: `GIT_INDEX_FILE` from the environment when set, else the
   * repository's own index. Inside a pre-commit hook git points `GIT_INDEX_FILE` at the
   * index it is about to commit (e.g. a temporary one for `git commit -a` or
   * `git commit PATH`), so the default checks exactly what will be committed. `null`
   * forces the repository's own index.
   */
  indexFile?: string | null;
}

/**
 * Repository-relative paths staged for the next commit (`git diff --cached`): added,
 * modified, deleted, and both sides of a rename. Works before the first commit too.
 *
 * @throws BatonError `NOT_GIT_REPO`
 */
export async function stagedFiles(cwd: string, options: StagedFilesOptions = {}): Promise<string[]> {
  const indexFile = options.indexFile === undefined ? process.env.GIT_INDEX_FILE : options.indexFile;
  const env = indexFile ? { GIT_INDEX_FILE: resolve(cwd, indexFile) } : undefined;
  const { stdout } = await git(["diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff"], {
    cwd,
    ...(env === undefined ? {} : { env }),
  }).catch((error: unknown) => {
    // Outside a repository `git diff` falls back to `--no-index` and rejects `--cached`.
    if (error instanceof BatonError && /diff --no-index/.test(String(error.details?.stderr))) {
      throw new BatonError("NOT_GIT_REPO", `not a git repository: ${cwd} (run inside a repository's working tree)`, {
        ...error.details,
        stderr: "",
      });
    }
    throw error;
  });
  return nulFields(stdout);
}

/** One worktree of a repository (`git worktree list --porcelain`). */
export interface Worktree {
  /** Absolute path of the worktree. */
  readonly path: string;
  /** The commit checked out, or `null` before the first commit. */
  readonly head: string | null;
  /** The branch checked out (`main`), or `null` when detached or bare. */
  readonly branch: string | null;
  /** The main repository entry of a bare repository (no working tree). */
  readonly bare: boolean;
  /** True when the worktree's folder is gone (`git worktree prune` would remove it). */
  readonly prunable: boolean;
}

/**
 * Every worktree of the repository that contains `cwd`, the main one first.
 *
 * @throws BatonError `NOT_GIT_REPO`
 */
export async function worktrees(cwd: string): Promise<Worktree[]> {
  const { stdout } = await git(["worktree", "list", "--porcelain"], { cwd });
  const out: Worktree[] = [];
  for (const block of stdout.split(/\n\n+/)) {
    let path: string | null = null;
    let head: string | null = null;
    let branch: string | null = null;
    let bare = false;
    let prunable = false;
    for (const line of block.split("\n")) {
      const space = line.indexOf(" ");
      const key = space === -1 ? line : line.slice(0, space);
      const value = space === -1 ? "" : line.slice(space + 1);
      if (key === "worktree") path = value;
      else if (key === "HEAD") head = /^0+$/.test(value) ? null : value;
      else if (key === "branch") branch = value.replace(/^refs\/heads\//, "");
      else if (key === "bare") bare = true;
      else if (key === "prunable") prunable = true;
    }
    if (path !== null) out.push({ path, head, branch, bare, prunable });
  }
  return out;
}

/** One uncommitted change in a working tree. */
export interface DirtyFile {
  /** Repository-relative path. */
  readonly path: string;
  /**
   * The two-letter `git status --porcelain` code: index then working tree, e.g. `M `
   * (staged), ` M` (modified, not staged), `A `, ` D`, `??` (untracked), `UU` (conflict).
   */
  readonly status: string;
  /** True for a file git does not track yet. */
  readonly untracked: boolean;
}

/**
 * Uncommitted changes in one working tree: staged and unstaged edits, deletions, and
 * untracked files (each listed, not their folder); ignored files are left out. Renames
 * are reported as a deletion and an addition. Never takes the index lock.
 *
 * @throws BatonError `NOT_GIT_REPO`, e.g. for a worktree whose folder is gone.
 */
export async function dirtyFiles(worktreePath: string): Promise<DirtyFile[]> {
  const { stdout } = await git(
    ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--ignore-submodules=dirty"],
    { cwd: worktreePath },
  );
  return nulFields(stdout).map((entry) => {
    const status = entry.slice(0, 2);
    return { path: entry.slice(3), status, untracked: status === "??" };
  });
}

export interface IsDirtyOptions {
  /** Count untracked (not ignored) files as dirty. Default true: a deploy could ship them. */
  untracked?: boolean;
}

/**
 * True when the working tree at `cwd` has uncommitted changes (staged, unstaged, or
 * untracked unless `untracked: false`).
 *
 * @throws BatonError `NOT_GIT_REPO`
 */
export async function isDirty(cwd: string, options: IsDirtyOptions = {}): Promise<boolean> {
  const untracked = options.untracked ?? true;
  const { stdout } = await git(
    ["status", "--porcelain=v1", "-z", `--untracked-files=${untracked ? "normal" : "no"}`, "--ignore-submodules=dirty"],
    { cwd },
  );
  return stdout.length > 0;
}

/** The trailer that names the agent who made a commit (added by Baton's prepare-commit-msg hook). */
export const AGENT_TRAILER = "Baton-Agent";

/** A commit found by {@link commitsTouching}. */
export interface CommitInfo {
  /** Full commit hash. */
  readonly hash: string;
  /** Author name. */
  readonly author: string;
  /** Author e-mail. */
  readonly email: string;
  /** Author date, ISO 8601 with the author's offset. */
  readonly date: string;
  /** First line (paragraph) of the message. */
  readonly subject: string;
  /** The agent named by the commit's `Baton-Agent:` trailer (the last one), or null. */
  readonly agent: string | null;
  /** The commit's paths that match the patterns (all its paths when no pattern is given). */
  readonly files: readonly string[];
}

export interface CommitsTouchingOptions {
  /** Only commits made after this time (committer date, as `git log --since`). */
  since: Date;
  /** Leave out commits whose author name or e-mail equals this (e-mail case-insensitively). */
  excludeAuthor?: string;
  /** Where to look: one ref or several (union). Default `HEAD`; e.g. `["HEAD", "origin/main"]`. */
  ref?: string | readonly string[];
}

/**
 * Commits since a time that touch any of the path patterns (normalised patterns, as
 * {@link ../core/paths.normalizePathPattern} returns; matched with the same semantics as
 * path claims, not git's pathspecs). Newest first. Merge commits count with the paths
 * they changed against their first parent. Renames count as both paths. Like
 * `git log --since`, the walk stops at a commit older than the window, so a recent commit
 * behind one with an older (skewed) committer date is not seen.
 *
 * @throws BatonError `NOT_GIT_REPO`; `GIT_FAILED` for an unknown ref; `BAD_PATH` for an
 *   invalid pattern.
 */
export async function commitsTouching(
  cwd: string,
  patterns: readonly string[],
  options: CommitsTouchingOptions,
): Promise<CommitInfo[]> {
  const refs =
    options.ref === undefined ? ["HEAD"] : typeof options.ref === "string" ? [options.ref] : [...options.ref];
  for (const ref of refs) {
    if (ref.startsWith("-") || ref.length === 0) {
      throw new BatonError("BAD_INPUT", `invalid git ref ${JSON.stringify(ref)}`, { ref });
    }
  }
  if (Number.isNaN(options.since.getTime())) {
    throw new BatonError("BAD_INPUT", "invalid --since time for commitsTouching", { since: String(options.since) });
  }
  // Validate the patterns before running git, so a bad one fails the same way every time.
  for (const pattern of patterns) pathMatches(pattern, "x");
  const { stdout } = await git(
    [
      "log",
      `--since=${options.since.toISOString()}`,
      `--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1f%(trailers:key=${AGENT_TRAILER},valueonly,separator=%x1d)`,
      "--name-only",
      "-z",
      "--no-renames",
      "--diff-merges=first-parent",
      ...refs,
      "--",
    ],
    { cwd },
  ).catch((error: unknown) => {
    const stderr = error instanceof BatonError ? String(error.details?.stderr ?? "") : "";
    // The default HEAD before the first commit: nothing to report.
    if (refs.length === 1 && refs[0] === "HEAD" && /'HEAD'/.test(stderr)) return { stdout: "", code: 0 };
    if (/unknown revision|bad revision|ambiguous argument/i.test(stderr)) {
      throw new BatonError(
        "GIT_FAILED",
        `unknown git ref in ${refs.join(", ")} at ${cwd} (fetch first, or check the branch name)`,
        (error as BatonError).details,
      );
    }
    throw error;
  });
  const exclude = options.excludeAuthor;
  const out: CommitInfo[] = [];
  for (const record of stdout.split("\x1e")) {
    if (record.length === 0) continue;
    const [header = "", ...rest] = record.split("\0");
    const [hash = "", author = "", email = "", date = "", subject = "", trailers = ""] = header.split("\x1f");
    const agent =
      trailers
        .split("\x1d")
        .map((t) => t.trim())
        .filter((t) => t.length > 0)
        .at(-1) ?? null;
    if (exclude !== undefined && (author === exclude || email.toLowerCase() === exclude.toLowerCase())) {
      continue;
    }
    const paths = rest.map((p) => p.replace(/^\n/, "")).filter((p) => p.length > 0);
    const files =
      patterns.length === 0 ? paths : paths.filter((p) => patterns.some((pattern) => pathMatches(pattern, p)));
    if (files.length > 0 || patterns.length === 0) out.push({ hash, author, email, date, subject, agent, files });
  }
  return out;
}

export interface FetchOptions {
  /** Kill git after this long. Default two minutes. */
  timeoutMs?: number;
}

/**
 * `git fetch --quiet REMOTE`: update the remote-tracking branches. Never prompts for
 * credentials (it fails instead).
 *
 * @throws BatonError `GIT_FAILED` for an unknown remote, a network or authentication
 *   failure, or the time limit; `NOT_GIT_REPO`.
 */
export async function fetch(cwd: string, remote = "origin", options: FetchOptions = {}): Promise<void> {
  if (remote.length === 0 || remote.startsWith("-")) {
    throw new BatonError("BAD_INPUT", `invalid remote name ${JSON.stringify(remote)}`, { remote });
  }
  await git(["fetch", "--quiet", remote], { cwd, timeoutMs: options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS }).catch(
    (error: unknown) => {
      if (
        error instanceof BatonError &&
        /does not appear to be a git repository|no such remote/i.test(String(error.details?.stderr))
      ) {
        throw new BatonError(
          "GIT_FAILED",
          `cannot fetch from ${JSON.stringify(remote)} at ${cwd}: no such remote, or it is unreachable (git remote -v lists the remotes)`,
          error.details,
        );
      }
      throw error;
    },
  );
}

/** How two refs have moved apart. */
export interface AheadBehind {
  /** Commits on the local ref that the remote ref lacks. */
  readonly ahead: number;
  /** Commits on the remote ref that the local ref lacks. */
  readonly behind: number;
}

/**
 * Count commits on each side of `localRef...remoteRef` (`git rev-list --left-right
 * --count`). Both zero: in sync; only `ahead`: a push is pending; only `behind`: pull
 * first; both: diverged.
 *
 * @throws BatonError `GIT_FAILED` when a ref does not exist (e.g. not fetched yet).
 */
export async function aheadBehind(cwd: string, localRef: string, remoteRef: string): Promise<AheadBehind> {
  for (const ref of [localRef, remoteRef]) {
    if (ref.startsWith("-") || ref.length === 0 || ref.includes("..")) {
      throw new BatonError("BAD_INPUT", `invalid git ref ${JSON.stringify(ref)}`, { ref });
    }
  }
  const { stdout } = await git(["rev-list", "--left-right", "--count", `${localRef}...${remoteRef}`, "--"], {
    cwd,
  }).catch((error: unknown) => {
    if (error instanceof BatonError && error.code === "GIT_FAILED") {
      throw new BatonError(
        "GIT_FAILED",
        `cannot compare ${localRef} with ${remoteRef} at ${cwd}: ${firstLine(String(error.details?.stderr ?? ""))} (does the branch exist? fetch first)`,
        error.details,
      );
    }
    throw error;
  });
  const [ahead = Number.NaN, behind = Number.NaN] = stdout.trim().split(/\s+/).map(Number);
  if (!Number.isInteger(ahead) || !Number.isInteger(behind)) {
    throw new BatonError("GIT_FAILED", `unexpected output from git rev-list: ${JSON.stringify(stdout)}`);
  }
  return { ahead, behind };
}

/**
 * The folder git runs hooks from: `core.hooksPath` when set (husky, lefthook and
 * friends set it), else `hooks` in the common git dir. Absolute.
 *
 * @throws BatonError `NOT_GIT_REPO`
 */
export async function hooksDir(cwd: string): Promise<string> {
  const { stdout } = await git(["rev-parse", "--path-format=absolute", "--git-path", "hooks"], { cwd });
  return resolve(cwd, stdout.trim());
}

/** The commit HEAD names, or `null` before the first commit. */
export async function headCommit(cwd: string): Promise<string | null> {
  const { stdout, code } = await git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], { cwd, okCodes: [1] });
  return code === 1 ? null : stdout.trim();
}

/** The repository-relative paths a commit changed (a root commit: every path it adds). */
export async function commitFiles(cwd: string, commit: string): Promise<string[]> {
  if (!/^[0-9a-f]{4,64}$/i.test(commit)) throw new BatonError("BAD_INPUT", `invalid commit ${JSON.stringify(commit)}`);
  const { stdout } = await git(
    ["diff-tree", "--no-commit-id", "--name-only", "-r", "-z", "--root", "--no-renames", commit],
    {
      cwd,
    },
  );
  return nulFields(stdout);
}

/**
 * Who commits here: the author e-mail git would record (`git var GIT_AUTHOR_IDENT`, which
 * honours `GIT_AUTHOR_EMAIL` and `user.email`), else the name; `null` when git knows neither.
 */
export async function gitUser(cwd: string): Promise<string | null> {
  const { stdout, code } = await git(["var", "GIT_AUTHOR_IDENT"], { cwd, okCodes: [128] });
  if (code !== 0) return null;
  const match = /^(.*?)\s*<([^>]*)>/.exec(stdout.trim());
  if (match === null) return null;
  const [, name = "", email = ""] = match;
  return email.trim() || name.trim() || null;
}

/**
 * Add (or replace) the trailer `KEY: VALUE` in a commit message file, as the
 * prepare-commit-msg hook does (`git interpret-trailers --in-place`).
 *
 * @throws BatonError `BAD_INPUT` for a key or value that cannot be a trailer; `GIT_FAILED`
 */
export async function addTrailer(cwd: string, file: string, key: string, value: string): Promise<void> {
  if (!/^[A-Za-z0-9-]+$/.test(key) || /[\r\n]/.test(value) || value.trim() === "") {
    throw new BatonError("BAD_INPUT", `invalid trailer ${JSON.stringify(`${key}: ${value}`)}`);
  }
  await git(
    ["interpret-trailers", "--in-place", "--if-exists", "replace", "--trailer", `${key}: ${value}`, resolve(cwd, file)],
    { cwd },
  );
}

/** Does the ref exist (e.g. `origin/main` before the first push)? */
export async function refExists(cwd: string, ref: string): Promise<boolean> {
  if (ref.startsWith("-") || ref.length === 0)
    throw new BatonError("BAD_INPUT", `invalid git ref ${JSON.stringify(ref)}`);
  const { code } = await git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { cwd, okCodes: [1] });
  return code === 0;
}

// ---------------------------------------------------------------------------
// Symbolic links in path patterns
// ---------------------------------------------------------------------------

/** Most links one pattern may go through (as the kernel's ELOOP limit). */
const MAX_LINK_HOPS = 40;
const GLOB_SEGMENT = /[*?[{]/;

const linkLoop = (pattern: string): BatonError =>
  new BatonError("BAD_PATH", `path pattern ${JSON.stringify(pattern)} goes through a loop of symbolic links`, {
    pattern,
  });

/**
 * `abs` with every symbolic link on it resolved, as the kernel would when a file there is
 * opened or created: the existing part through `realpath`, a dangling link by reading it
 * (writing through it would create its target), a missing tail kept as written.
 */
function physicalPath(abs: string, pattern: string, hops: { n: number }): string {
  try {
    return realpathSync(abs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw linkLoop(pattern);
  }
  const parent = dirname(abs);
  if (parent === abs) return abs;
  const dir = physicalPath(parent, pattern, hops);
  const candidate = join(dir, basename(abs));
  let target: string;
  try {
    if (!lstatSync(candidate).isSymbolicLink()) return candidate;
    target = readlinkSync(candidate);
  } catch {
    return candidate; // does not exist (yet): nothing to resolve
  }
  hops.n += 1;
  if (hops.n > MAX_LINK_HOPS) throw linkLoop(pattern);
  return physicalPath(resolve(dir, target), pattern, hops);
}

/**
 * A normalised, repository-relative pattern with the symbolic links in its literal
 * prefix (the segments before the first wildcard) resolved against the checkout at
 * `root`, so an alias names what it points at: with `alias -> src`, `alias/auth/login.ts`
 * reads as `src/auth/login.ts` and meets a claim on `src/auth/`. Returns the pattern as
 * an absolute path (for {@link ../core/paths.normalizePathPattern} to normalise again)
 * when a link was resolved, or `null` when nothing changed.
 *
 * @throws BatonError `BAD_PATH` when a link leads outside the repository (`out/passwd`
 *   with `out -> /etc`) or the links loop.
 */
export function resolvePatternLinks(pattern: string, root: string): string | null {
  const segments = pattern.split("/");
  const folder = pattern.endsWith("/");
  if (folder) segments.pop();
  const firstGlob = segments.findIndex((seg) => GLOB_SEGMENT.test(seg));
  const literal = firstGlob === -1 ? segments : segments.slice(0, firstGlob);
  const rest = firstGlob === -1 ? [] : segments.slice(firstGlob);
  if (literal.length === 0) return null;
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    realRoot = root;
  }
  const written = join(realRoot, ...literal);
  const physical = physicalPath(written, pattern, { n: 0 });
  if (physical === written) return null;
  const rel = relative(realRoot, physical);
  if (rel === ".." || rel.startsWith(`..${sep}`) || resolve(realRoot, rel) !== physical) {
    throw new BatonError(
      "BAD_PATH",
      `path pattern ${JSON.stringify(pattern)} goes through a symbolic link to ${physical}, outside the repository ${realRoot}`,
      { pattern, target: physical, repoRoot: realRoot },
    );
  }
  const tail = [...rest].join("/");
  return `${physical}${tail === "" ? "" : `/${tail}`}${folder || (rest.length === 0 && rel === "") ? "/" : ""}`;
}
