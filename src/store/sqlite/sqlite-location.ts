/**
 * Where the embedded store lives by default: `baton/baton.db` inside the
 * repository's common git dir (shared by every worktree, never committed), or
 * `.baton/baton.db` in the working directory outside a repository.
 *
 * The git dir is found by reading `.git` from the filesystem, the way git does
 * (a folder, or a `gitdir:` file in a worktree whose `commondir` points home),
 * instead of spawning `git rev-parse` on every CLI call.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";

function readTrimmed(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/** The common git dir for `cwd`, or null when `cwd` is not inside a repository. */
export function findGitCommonDir(cwd: string): string | null {
  let dir = resolve(cwd);
  for (;;) {
    const dotGit = join(dir, ".git");
    let isDir: boolean | null = null;
    try {
      isDir = statSync(dotGit).isDirectory();
    } catch {
      isDir = null;
    }
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

/** The default database file for a process running in `cwd`. */
export function defaultDbPath(cwd: string): string {
  const common = findGitCommonDir(cwd);
  return common === null ? join(resolve(cwd), ".baton", "baton.db") : join(common, "baton", "baton.db");
}
