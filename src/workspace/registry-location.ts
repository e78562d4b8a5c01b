/**
 * Where the embedded store lives by default, so that every agent on one machine
 * working on one repository meets the same claims:
 *
 * 1. inside a git repository: `$XDG_STATE_HOME/baton/<root commit>/baton.db`, one
 *    registry per repository identity (its root commit) per user, shared by every
 *    clone and every worktree, and never inside a working tree where it could be
 *    committed. `XDG_STATE_HOME` defaults to `~/.local/state`.
 *    A repository without a commit yet (or a shallow clone, whose root is unknown)
 *    has no identity: its registry is `baton/baton.db` in its common git dir, shared
 *    by its worktrees but not by other clones.
 * 2. outside a repository: `baton.db` in the nearest `.baton/` folder up the tree;
 * 3. else one per-user default, `$XDG_STATE_HOME/baton/default/baton.db`.
 *
 * The git dir is found by reading `.git` from the filesystem, the way git does
 * (a folder, or a `gitdir:` file in a worktree whose `commondir` points home),
 * instead of spawning git on every CLI call. The root commit costs one git process
 * the first time; it is then cached in `<common git dir>/baton/root-commit` (a
 * repository's root commit does not change; delete the file after rewriting it).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pickRootCommit, ROOT_COMMIT_PRETTY, UNBORN_HEAD } from "../core/root-commit.js";

function readTrimmed(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

function isDirectory(path: string): boolean | null {
  try {
    return statSync(path).isDirectory();
  } catch {
    return null;
  }
}

/** The common git dir for `cwd`, or null when `cwd` is not inside a repository. */
export function findGitCommonDir(cwd: string): string | null {
  let dir = resolve(cwd);
  for (;;) {
    const dotGit = join(dir, ".git");
    const isDir = isDirectory(dotGit);
    if (isDir === true) return dotGit;
    if (isDir === false) {
      // A worktree or submodule: ".git" is a file "gitdir: <path>".
      const pointer = readTrimmed(dotGit);
      const match = pointer === null ? null : /^gitdir:\s*(.+)$/m.exec(pointer);
      if (match?.[1]) {
        const gitDir = isAbsolute(match[1]) ? match[1] : resolve(dir, match[1]);
        const common = readTrimmed(join(gitDir, "commondir"));
        if (common === null || common === "") return gitDir;
        return isAbsolute(common) ? common : resolve(gitDir, common);
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The rule that chose a registry. */
export type RegistryRule = "repository" | "git-dir" | "baton-folder" | "user-default";

/** Which SQLite file is the default for a folder, and why. */
export interface RegistryLocation {
  /** The database file (it may not exist yet). */
  readonly path: string;
  readonly rule: RegistryRule;
  /** One sentence: why this file. */
  readonly reason: string;
  /** `root:<sha>` when the repository rule chose it. */
  readonly identity?: string;
  /** The repository's common git dir, inside a repository. */
  readonly gitDir?: string;
}

export interface LocateOptions {
  /** Where `XDG_STATE_HOME` and `HOME` are read. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Cache a freshly computed root commit in the git dir (default true). `false`
   * writes nothing at all (for `baton db status`).
   */
  cache?: boolean;
}

/** `$XDG_STATE_HOME`, or `~/.local/state` when it is unset or not absolute (as the XDG spec says). */
export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return xdg;
  const home = env.HOME !== undefined && isAbsolute(env.HOME) ? env.HOME : homedir();
  return join(home, ".local", "state");
}

const CACHE_FILE = "root-commit";

/** The variables git would use instead of finding the repository from `cwd`. */
const REPOSITORY_ENV =
  /^GIT_(DIR|WORK_TREE|INDEX_FILE|COMMON_DIR|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|NAMESPACE|PREFIX|QUARANTINE_PATH)$/;

/** Ask git for the root commit of the repository at `cwd`: its hash, or why there is none. */
function askRootCommit(cwd: string): { hash: string } | { why: "unborn" | "shallow" | "git-failed" } {
  const env: NodeJS.ProcessEnv = { LC_ALL: "C", GIT_TERMINAL_PROMPT: "0", GIT_OPTIONAL_LOCKS: "0" };
  for (const [k, v] of Object.entries(process.env)) if (!REPOSITORY_ENV.test(k) && !(k in env)) env[k] = v;
  let stdout: string;
  try {
    stdout = execFileSync("git", ["log", "--max-parents=0", `--format=${ROOT_COMMIT_PRETTY}`, "HEAD", "--"], {
      cwd,
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "");
    return { why: UNBORN_HEAD.test(stderr) ? "unborn" : "git-failed" };
  }
  const root = pickRootCommit(stdout);
  if (root.kind === "root") return { hash: root.hash };
  return { why: root.kind === "shallow" ? "shallow" : "unborn" };
}

function rootCommit(
  gitDir: string,
  cwd: string,
  cache: boolean,
): { hash: string } | { why: "unborn" | "shallow" | "git-failed" } {
  const cacheFile = join(gitDir, "baton", CACHE_FILE);
  const cached = readTrimmed(cacheFile);
  if (cached !== null && /^[0-9a-f]{40,64}$/.test(cached)) return { hash: cached };
  const asked = askRootCommit(cwd);
  if (cache && "hash" in asked) {
    try {
      // Written aside and renamed, so a concurrent reader never sees half a hash.
      mkdirSync(dirname(cacheFile), { recursive: true });
      const aside = `${cacheFile}.${process.pid}`;
      writeFileSync(aside, `${asked.hash}\n`);
      renameSync(aside, cacheFile);
    } catch {
      // A read-only git dir: ask again next time.
    }
  }
  return asked;
}

/**
 * The repository identity (`root:<hash>`) of the repository at `cwd` as the registry's
 * cache knows it, without running git; null when it is not cached yet (or outside a
 * repository). The same identity path claims use, so a caller on a hot path (a harness
 * hook) can skip a git process.
 */
export function cachedRepoIdentity(cwd: string): string | null {
  const gitDir = findGitCommonDir(cwd);
  if (gitDir === null) return null;
  const cached = readTrimmed(join(gitDir, "baton", CACHE_FILE));
  return cached !== null && /^[0-9a-f]{40,64}$/.test(cached) ? `root:${cached}` : null;
}

const NO_ROOT: Record<"unborn" | "shallow" | "git-failed", string> = {
  unborn: "this repository has no commit yet, so it has no identity",
  shallow: "this is a shallow clone, so its root commit is unknown (git fetch --unshallow gives it one)",
  "git-failed": "git could not read its root commit",
};

/**
 * The default registry for a process running in `cwd`, and the rule that chose it.
 * Reads the filesystem; runs git once per repository (then cached, unless
 * `cache: false`). Creates no database and no folder for it.
 */
export function locateRegistry(cwd: string, options: LocateOptions = {}): RegistryLocation {
  const env = options.env ?? process.env;
  const gitDir = findGitCommonDir(cwd);
  if (gitDir !== null) {
    const root = rootCommit(gitDir, resolve(cwd), options.cache !== false);
    if ("hash" in root) {
      return {
        path: join(stateHome(env), "baton", root.hash, "baton.db"),
        rule: "repository",
        reason: `inside a git repository: the registry of the repository whose root commit is ${root.hash}, shared by all its clones and worktrees on this machine`,
        identity: `root:${root.hash}`,
        gitDir,
      };
    }
    return {
      path: join(gitDir, "baton", "baton.db"),
      rule: "git-dir",
      reason: `inside a git repository, but ${NO_ROOT[root.why]}: the registry is in its git dir, shared by its worktrees but not by other clones (it moves to the repository's registry once the root commit is known)`,
      gitDir,
    };
  }
  let dir = resolve(cwd);
  for (;;) {
    const folder = join(dir, ".baton");
    if (isDirectory(folder) === true) {
      return {
        path: join(folder, "baton.db"),
        rule: "baton-folder",
        reason: `outside a git repository: the nearest .baton/ folder up the tree, ${folder}`,
      };
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return {
    path: join(stateHome(env), "baton", "default", "baton.db"),
    rule: "user-default",
    reason: "outside a git repository and below no .baton/ folder: this user's default registry",
  };
}

/** The default database file for a process running in `cwd` (see {@link locateRegistry}). */
export function defaultDbPath(cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return locateRegistry(cwd, { env }).path;
}
