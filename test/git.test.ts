/**
 * The git helpers against real repositories in temporary folders: a bare "origin",
 * clones, worktrees, real commits and a real pre-commit hook. No mocks.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { isBatonError } from "../src/core/errors.js";
import {
  aheadBehind,
  commitsTouching,
  currentBranch,
  dirtyFiles,
  fetch,
  gitCommonDir,
  isDirty,
  repoIdentity,
  repoRoot,
  stagedFiles,
  worktrees,
} from "../src/workspace/git.js";
import { ROOT, tempDir } from "./helpers.js";

/** Git with a fixed identity, no user or system config, and no inherited repository variables. */
function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("GIT_")) env[k] = v;
  return {
    ...env,
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "Alice",
    GIT_AUTHOR_EMAIL: "alice@example.com",
    GIT_COMMITTER_NAME: "Alice",
    GIT_COMMITTER_EMAIL: "alice@example.com",
    ...extra,
  };
}

function sh(cwd: string, args: string[], extra: Record<string, string> = {}): string {
  return execFileSync("git", args, { cwd, env: gitEnv(extra), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function write(dir: string, path: string, text: string): void {
  const full = join(dir, path);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, text);
}

/** Commit everything in `dir` as `who` (name), optionally at a given date. */
function commitAll(dir: string, message: string, who = "Alice", date?: string): string {
  const email = `${who.toLowerCase()}@example.com`;
  const ident: Record<string, string> = {
    GIT_AUTHOR_NAME: who,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: who,
    GIT_COMMITTER_EMAIL: email,
  };
  if (date !== undefined) Object.assign(ident, { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
  sh(dir, ["add", "-A"]);
  sh(dir, ["commit", "-q", "--allow-empty", "-m", message], ident);
  return sh(dir, ["rev-parse", "HEAD"]).trim();
}

/** A new repository with one commit (made now, or at `date`). */
function newRepo(name = "repo", date?: string): string {
  const dir = join(tempDir("baton-git-"), name);
  mkdirSync(dir);
  sh(dir, ["init", "-q", "-b", "main"]);
  write(dir, "README.md", "# test\n");
  write(dir, "src/a.ts", "export const a = 1;\n");
  commitAll(dir, "initial", "Alice", date);
  return realpathSync(dir);
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect(isBatonError(error), String(error)).toBe(true);
    return error as { code: string; message: string };
  }
  throw new Error("expected a rejection");
}

describe("repository discovery", () => {
  it("finds the root, the common git dir and the identity from any folder and worktree", async () => {
    const repo = newRepo();
    mkdirSync(join(repo, "src", "deep"), { recursive: true });
    expect(await repoRoot(join(repo, "src", "deep"))).toBe(repo);
    expect(await gitCommonDir(join(repo, "src"))).toBe(join(repo, ".git"));

    const wt = join(repo, "..", "wt");
    sh(repo, ["worktree", "add", "-q", "-b", "feature", wt]);
    expect(await repoRoot(wt)).toBe(realpathSync(wt));
    expect(await gitCommonDir(wt)).toBe(join(repo, ".git"));

    const root = sh(repo, ["rev-list", "--max-parents=0", "HEAD"]).trim();
    expect(await repoIdentity(repo)).toBe(`root:${root}`);
    expect(await repoIdentity(wt)).toBe(`root:${root}`);

    // A clone elsewhere has its own git dir but the same identity.
    const clone = join(tempDir("baton-git-"), "clone");
    sh(repo, ["clone", "-q", repo, clone]);
    expect(await gitCommonDir(clone)).not.toBe(await gitCommonDir(repo));
    expect(await repoIdentity(clone)).toBe(`root:${root}`);
  });

  it("picks the oldest root when unrelated histories were merged", async () => {
    const repo = newRepo();
    const first = sh(repo, ["rev-list", "--max-parents=0", "HEAD"]).trim();
    sh(repo, ["checkout", "-q", "--orphan", "other"]);
    sh(repo, ["rm", "-q", "-rf", "."]);
    write(repo, "other.txt", "x\n");
    commitAll(repo, "other root", "Bob", "2001-01-01T00:00:00Z");
    const older = sh(repo, ["rev-parse", "HEAD"]).trim();
    sh(repo, ["checkout", "-q", "main"]);
    sh(repo, ["merge", "-q", "--allow-unrelated-histories", "-m", "merge", "other"]);
    expect(await repoIdentity(repo)).toBe(`root:${older}`);
    expect(older).not.toBe(first);
  });

  it("names a repository without commits by its git dir, and refuses a shallow clone", async () => {
    const empty = join(tempDir("baton-git-"), "empty");
    mkdirSync(empty);
    sh(empty, ["init", "-q", "-b", "main"]);
    expect(await repoIdentity(empty)).toBe(`dir:${realpathSync(join(empty, ".git"))}`);
    expect(await currentBranch(empty)).toBe("main");
    expect(await commitsTouching(empty, [], { since: new Date(0) })).toEqual([]);

    const repo = newRepo();
    write(repo, "b.txt", "b\n");
    commitAll(repo, "second");
    const shallow = join(tempDir("baton-git-"), "shallow");
    sh(repo, ["clone", "-q", "--depth", "1", `file://${repo}`, shallow]);
    const error = await rejection(repoIdentity(shallow));
    expect(error.code).toBe("GIT_FAILED");
    expect(error.message).toContain("shallow clone");
    expect(error.message).toContain("--unshallow");
  });

  it("refuses folders that are not a working tree", async () => {
    const plain = tempDir("baton-nogit-");
    const calls: [string, () => Promise<unknown>][] = [
      ["repoRoot", () => repoRoot(plain)],
      ["gitCommonDir", () => gitCommonDir(plain)],
      ["repoIdentity", () => repoIdentity(plain)],
      ["currentBranch", () => currentBranch(plain)],
      ["stagedFiles", () => stagedFiles(plain)],
      ["worktrees", () => worktrees(plain)],
      ["dirtyFiles", () => dirtyFiles(plain)],
      ["isDirty", () => isDirty(plain)],
      ["commitsTouching", () => commitsTouching(plain, [], { since: new Date(0) })],
      ["fetch", () => fetch(plain)],
      ["aheadBehind", () => aheadBehind(plain, "main", "origin/main")],
    ];
    for (const [name, call] of calls) {
      const error = await rejection(call());
      expect(error.code, name).toBe("NOT_GIT_REPO");
      expect(error.message, name).toContain(plain);
    }
    const missing = join(plain, "does-not-exist");
    const gone = await rejection(repoRoot(missing));
    expect(gone.code).toBe("NOT_GIT_REPO");
    expect(gone.message).toContain("does not exist");

    const bare = join(plain, "bare.git");
    sh(plain, ["init", "-q", "--bare", bare]);
    const error = await rejection(repoRoot(bare));
    expect(error.code).toBe("NOT_GIT_REPO");
    expect(error.message).toContain("bare");
  });

  it("ignores GIT_DIR and GIT_INDEX_FILE inherited from a hook: cwd decides", async () => {
    const one = newRepo("one");
    const two = newRepo("two");
    write(two, "staged.txt", "x\n");
    sh(two, ["add", "staged.txt"]);
    const saved = { dir: process.env.GIT_DIR, work: process.env.GIT_WORK_TREE };
    process.env.GIT_DIR = join(one, ".git");
    process.env.GIT_WORK_TREE = one;
    try {
      expect(await repoRoot(two)).toBe(two);
      expect(await dirtyFiles(two)).toEqual([{ path: "staged.txt", status: "A ", untracked: false }]);
    } finally {
      if (saved.dir === undefined) delete process.env.GIT_DIR;
      else process.env.GIT_DIR = saved.dir;
      if (saved.work === undefined) delete process.env.GIT_WORK_TREE;
      else process.env.GIT_WORK_TREE = saved.work;
    }
  });
});

describe("branches, worktrees and uncommitted changes", () => {
  it("names the branch, or null when detached", async () => {
    const repo = newRepo();
    expect(await currentBranch(repo)).toBe("main");
    sh(repo, ["checkout", "-q", "-b", "feature/x"]);
    expect(await currentBranch(repo)).toBe("feature/x");
    sh(repo, ["checkout", "-q", "--detach"]);
    expect(await currentBranch(repo)).toBeNull();
  });

  it("lists every worktree with its branch, detached and pruned ones included", async () => {
    const repo = newRepo();
    const base = join(repo, "..");
    sh(repo, ["worktree", "add", "-q", "-b", "agent-1", join(base, "wt1")]);
    sh(repo, ["worktree", "add", "-q", "--detach", join(base, "wt 2")]);
    sh(repo, ["worktree", "add", "-q", "-b", "agent-3", join(base, "wt3")]);
    rmSync(join(base, "wt3"), { recursive: true, force: true });
    const head = sh(repo, ["rev-parse", "HEAD"]).trim();
    const [main, ...others] = await worktrees(join(base, "wt1"));
    expect([main, ...others.sort((x, y) => (x.path < y.path ? -1 : 1))]).toEqual([
      { path: repo, head, branch: "main", bare: false, prunable: false },
      { path: join(base, "wt 2"), head, branch: null, bare: false, prunable: false },
      { path: join(base, "wt1"), head, branch: "agent-1", bare: false, prunable: false },
      { path: join(base, "wt3"), head, branch: "agent-3", bare: false, prunable: true },
    ]);
    const gone = await rejection(dirtyFiles(join(base, "wt3")));
    expect(gone.code).toBe("NOT_GIT_REPO");
  });

  it("reports staged, unstaged, deleted and untracked files, not ignored ones", async () => {
    const repo = newRepo();
    write(repo, ".gitignore", "*.log\n");
    write(repo, "docs/old.md", "old\n");
    commitAll(repo, "more");
    expect(await dirtyFiles(repo)).toEqual([]);
    expect(await isDirty(repo)).toBe(false);

    write(repo, "src/a.ts", "export const a = 2;\n"); // unstaged
    write(repo, "README.md", "# staged\n");
    sh(repo, ["add", "README.md"]); // staged
    rmSync(join(repo, "docs", "old.md")); // deleted
    write(repo, "new/deep/file ü.ts", "x\n"); // untracked, nested, odd name
    write(repo, "debug.log", "ignored\n");
    const dirty = await dirtyFiles(repo);
    expect(dirty.sort((x, y) => (x.path < y.path ? -1 : 1))).toEqual([
      { path: "README.md", status: "M ", untracked: false },
      { path: "docs/old.md", status: " D", untracked: false },
      { path: "new/deep/file ü.ts", status: "??", untracked: true },
      { path: "src/a.ts", status: " M", untracked: false },
    ]);
    expect(await isDirty(repo)).toBe(true);
  });

  it("sees uncommitted edits in a sibling worktree, without locking its index", async () => {
    const repo = newRepo();
    const wt = join(repo, "..", "sibling");
    sh(repo, ["worktree", "add", "-q", "-b", "sibling", wt]);
    write(wt, "src/a.ts", "sibling edit\n");
    const [, sibling] = await worktrees(repo);
    expect(await dirtyFiles(sibling?.path as string)).toEqual([{ path: "src/a.ts", status: " M", untracked: false }]);
    expect(await dirtyFiles(repo)).toEqual([]);
    // GIT_OPTIONAL_LOCKS=0: status must work while another process holds index.lock.
    const lock = join(repo, ".git", "worktrees", "sibling", "index.lock");
    writeFileSync(lock, "");
    try {
      expect(await dirtyFiles(wt)).toHaveLength(1);
    } finally {
      rmSync(lock);
    }
  });

  it("counts untracked files as dirty unless told not to", async () => {
    const repo = newRepo();
    write(repo, "scratch/notes.txt", "x\n");
    expect(await isDirty(repo)).toBe(true);
    expect(await isDirty(repo, { untracked: false })).toBe(false);
    write(repo, "src/a.ts", "changed\n");
    expect(await isDirty(repo, { untracked: false })).toBe(true);
  });
});

describe("stagedFiles", () => {
  it("lists additions, edits, deletions and both sides of a rename, from any folder", async () => {
    const repo = newRepo();
    expect(await stagedFiles(repo)).toEqual([]);
    write(repo, "src/b.ts", "b\n");
    write(repo, "src/a.ts", "a2\n");
    write(repo, "unstaged.txt", "not staged\n");
    sh(repo, ["add", "src/b.ts", "src/a.ts"]);
    sh(repo, ["mv", "README.md", "docs.md"]);
    const staged = await stagedFiles(join(repo, "src"));
    expect(staged.sort()).toEqual(["README.md", "docs.md", "src/a.ts", "src/b.ts"]);
  });

  it("works before the first commit", async () => {
    const dir = join(tempDir("baton-git-"), "fresh");
    mkdirSync(dir);
    sh(dir, ["init", "-q", "-b", "main"]);
    write(dir, "a b/c.txt", "x\n");
    sh(dir, ["add", "."]);
    expect(await stagedFiles(dir)).toEqual(["a b/c.txt"]);
  });

  it("reads the index named by GIT_INDEX_FILE or the option, as git does inside a commit", async () => {
    const repo = newRepo();
    const other = join(repo, ".git", "other-index");
    write(repo, "only-in-other.txt", "x\n");
    sh(repo, ["read-tree", "HEAD"], { GIT_INDEX_FILE: other });
    sh(repo, ["add", "only-in-other.txt"], { GIT_INDEX_FILE: other });
    expect(await stagedFiles(repo)).toEqual([]);
    expect(await stagedFiles(repo, { indexFile: other })).toEqual(["only-in-other.txt"]);
    const saved = process.env.GIT_INDEX_FILE;
    process.env.GIT_INDEX_FILE = other;
    try {
      expect(await stagedFiles(repo)).toEqual(["only-in-other.txt"]);
      expect(await stagedFiles(repo, { indexFile: null })).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.GIT_INDEX_FILE;
      else process.env.GIT_INDEX_FILE = saved;
    }
  });

  describe("inside a real pre-commit hook", () => {
    let bundle: string;
    beforeAll(async () => {
      // The hook runs plain node, so bundle the helper once for it.
      bundle = join(tempDir("baton-hook-"), "staged.mjs");
      const entry = join(tempDir("baton-hook-"), "entry.ts");
      writeFileSync(
        entry,
        `import { appendFileSync } from "node:fs";
import { stagedFiles, dirtyFiles, worktrees } from ${JSON.stringify(join(ROOT, "src", "workspace", "git.ts"))};
const staged = await stagedFiles(process.cwd());
const trees = await worktrees(process.cwd());
const dirty = [];
for (const t of trees) for (const f of await dirtyFiles(t.path)) dirty.push(t.path + ":" + f.path);
appendFileSync(process.env.HOOK_OUT, JSON.stringify({ staged: staged.sort(), dirty: dirty.sort() }) + "\\n");
`,
      );
      await build({
        entryPoints: [entry],
        bundle: true,
        platform: "node",
        format: "esm",
        outfile: bundle,
        logLevel: "error",
      });
    });

    function installHook(repo: string): void {
      const hook = join(repo, ".git", "hooks", "pre-commit");
      writeFileSync(hook, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(bundle)}\n`);
      chmodSync(hook, 0o755);
    }

    function commitWithHook(dir: string, args: string[], out: string): { staged: string[]; dirty: string[] } {
      writeFileSync(out, "");
      const result = spawnSync("git", ["commit", "-q", "-m", "hooked", ...args], {
        cwd: dir,
        env: gitEnv({ HOOK_OUT: out }),
        encoding: "utf8",
      });
      expect(result.status, result.stderr).toBe(0);
      return JSON.parse(execFileSync("cat", [out], { encoding: "utf8" }).trim());
    }

    it("sees exactly what `git commit`, `commit -a` and `commit PATH` will commit, in a worktree too", async () => {
      const repo = newRepo();
      installHook(repo);
      const out = join(repo, "..", "hook-out.jsonl");

      write(repo, "src/a.ts", "staged\n");
      sh(repo, ["add", "src/a.ts"]);
      write(repo, "README.md", "unstaged\n");
      expect(commitWithHook(repo, [], out).staged).toEqual(["src/a.ts"]);

      // -a commits the unstaged edit too, through a temporary index the hook must read.
      write(repo, "src/a.ts", "again\n");
      expect(commitWithHook(repo, ["-a"], out).staged).toEqual(["README.md", "src/a.ts"]);

      // A worktree: git sets GIT_DIR for the hook; other worktrees must still be read right.
      const wt = join(repo, "..", "wt");
      sh(repo, ["worktree", "add", "-q", "-b", "wt", wt]);
      write(repo, "main-only.txt", "uncommitted in main\n");
      write(wt, "src/a.ts", "from wt\n");
      write(wt, "README.md", "also from wt\n");
      const seen = commitWithHook(wt, ["src/a.ts"], out);
      expect(seen.staged).toEqual(["src/a.ts"]);
      expect(seen.dirty).toContain(`${repo}:main-only.txt`);
      expect(seen.dirty).toContain(`${realpathSync(wt)}:README.md`);
    });
  });
});

describe("commitsTouching", () => {
  it("finds other authors' commits on matching paths inside the window", async () => {
    const repo = newRepo("repo", "1999-01-01T00:00:00Z");
    const old = commitAll(repo, "ancient", "Carol", "2000-01-01T00:00:00Z");
    write(repo, "src/auth/login.ts", "bob\n");
    const bob = commitAll(repo, "bob: login\n\nbody text", "Bob");
    write(repo, "docs/guide.md", "alice\n");
    const alice = commitAll(repo, "alice: docs", "Alice");
    write(repo, "src/auth/session.ts", "carol\n");
    write(repo, "src/other.ts", "carol\n");
    const carol = commitAll(repo, "carol: session", "Carol");

    const since = new Date(Date.now() - 3_600_000);
    const all = await commitsTouching(repo, [], { since });
    expect(all.map((c) => c.hash)).toEqual([carol, alice, bob]);
    expect(all.map((c) => c.hash)).not.toContain(old);

    const auth = await commitsTouching(repo, ["src/auth/"], { since });
    expect(auth.map((c) => [c.hash, c.files])).toEqual([
      [carol, ["src/auth/session.ts"]],
      [bob, ["src/auth/login.ts"]],
    ]);
    const [first] = auth;
    expect(first).toMatchObject({ author: "Carol", email: "carol@example.com", subject: "carol: session" });
    expect(Number.isNaN(Date.parse(first?.date as string))).toBe(false);

    expect((await commitsTouching(repo, ["src/auth/"], { since, excludeAuthor: "Carol" })).map((c) => c.hash)).toEqual([
      bob,
    ]);
    expect(
      (await commitsTouching(repo, ["src/**/*.ts"], { since, excludeAuthor: "CAROL@example.com" })).map((c) => c.hash),
    ).toEqual([bob]);
    expect((await commitsTouching(repo, ["src/*.ts"], { since })).map((c) => c.files)).toEqual([["src/other.ts"]]);
    expect(await commitsTouching(repo, ["lib/**"], { since })).toEqual([]);
    expect(await commitsTouching(repo, ["src/auth/"], { since: new Date(Date.now() + 3_600_000) })).toEqual([]);
    const subject = (await commitsTouching(repo, ["src/auth/login.ts"], { since }))[0]?.subject;
    expect(subject).toBe("bob: login");
  });

  it("reads other refs, counts renames as both paths and merges by their first-parent diff", async () => {
    const repo = newRepo();
    sh(repo, ["checkout", "-q", "-b", "side"]);
    write(repo, "side.txt", "side\n");
    const side = commitAll(repo, "side work", "Bob");
    sh(repo, ["checkout", "-q", "main"]);
    expect(await commitsTouching(repo, ["side.txt"], { since: new Date(0) })).toEqual([]);
    expect((await commitsTouching(repo, ["side.txt"], { since: new Date(0), ref: "side" })).map((c) => c.hash)).toEqual(
      [side],
    );

    sh(repo, ["mv", "src/a.ts", "src/renamed.ts"]);
    const rename = commitAll(repo, "rename", "Alice");
    const renamed = await commitsTouching(repo, ["src/a.ts"], { since: new Date(0) });
    expect(renamed[0]?.hash).toBe(rename);
    expect(renamed[0]?.files).toEqual(["src/a.ts"]);

    sh(repo, ["merge", "-q", "--no-ff", "-m", "merge side", "side"], {
      GIT_AUTHOR_NAME: "Alice",
      GIT_COMMITTER_NAME: "Alice",
    });
    const merge = sh(repo, ["rev-parse", "HEAD"]).trim();
    const both = await commitsTouching(repo, ["side.txt"], { since: new Date(0), ref: ["HEAD", "side"] });
    expect(both.map((c) => c.hash)).toEqual([merge, side]);
  });

  it("refuses unknown refs and invalid patterns", async () => {
    const repo = newRepo();
    const unknown = await rejection(commitsTouching(repo, [], { since: new Date(0), ref: "origin/nope" }));
    expect(unknown.code).toBe("GIT_FAILED");
    expect(unknown.message).toContain("origin/nope");
    expect((await rejection(commitsTouching(repo, ["../x"], { since: new Date(0) }))).code).toBe("BAD_PATH");
    expect((await rejection(commitsTouching(repo, [], { since: new Date(0), ref: "--all" }))).code).toBe("BAD_INPUT");
  });
});

describe("fetch and aheadBehind against a bare origin", () => {
  it("reports in sync, behind, ahead and diverged", async () => {
    const base = tempDir("baton-remote-");
    const origin = join(base, "origin.git");
    sh(base, ["init", "-q", "--bare", "-b", "main", origin]);
    const seed = newRepo("seed");
    sh(seed, ["push", "-q", origin, "main"]);
    const a = join(base, "a");
    const b = join(base, "b");
    sh(base, ["clone", "-q", origin, a]);
    sh(base, ["clone", "-q", origin, b]);

    await fetch(a);
    expect(await aheadBehind(a, "main", "origin/main")).toEqual({ ahead: 0, behind: 0 });

    // b pushes two commits: a is behind by 2 only after a fetch.
    write(b, "b1.txt", "1\n");
    commitAll(b, "b1", "Bob");
    write(b, "b2.txt", "2\n");
    commitAll(b, "b2", "Bob");
    sh(b, ["push", "-q", "origin", "main"]);
    expect(await aheadBehind(a, "main", "origin/main")).toEqual({ ahead: 0, behind: 0 });
    await fetch(a, "origin");
    expect(await aheadBehind(a, "main", "origin/main")).toEqual({ ahead: 0, behind: 2 });

    // a commits locally: diverged.
    write(a, "a1.txt", "1\n");
    commitAll(a, "a1", "Alice");
    expect(await aheadBehind(a, "HEAD", "origin/main")).toEqual({ ahead: 1, behind: 2 });

    // After a rebase, only ahead.
    sh(a, ["rebase", "-q", "origin/main"]);
    expect(await aheadBehind(a, "main", "origin/main")).toEqual({ ahead: 1, behind: 0 });

    // The remote-tracking branch is searchable after the fetch.
    const theirs = await commitsTouching(a, ["b*.txt"], {
      since: new Date(Date.now() - 3_600_000),
      ref: "origin/main",
      excludeAuthor: "Alice",
    });
    expect(theirs.map((c) => c.subject)).toEqual(["b2", "b1"]);
  });

  it("fails clearly for an unknown remote, an unreachable one and an unknown ref", async () => {
    const repo = newRepo();
    const unknown = await rejection(fetch(repo, "nope"));
    expect(unknown.code).toBe("GIT_FAILED");
    expect(unknown.message).toContain('"nope"');
    expect(unknown.message).toContain("git remote -v");

    sh(repo, ["remote", "add", "gone", join(repo, "..", "missing.git")]);
    expect((await rejection(fetch(repo, "gone"))).code).toBe("GIT_FAILED");
    expect((await rejection(fetch(repo, "--upload-pack=evil"))).code).toBe("BAD_INPUT");

    const ref = await rejection(aheadBehind(repo, "main", "origin/main"));
    expect(ref.code).toBe("GIT_FAILED");
    expect(ref.message).toContain("origin/main");
    expect(ref.message).toContain("fetch first");
    expect((await rejection(aheadBehind(repo, "--all", "main"))).code).toBe("BAD_INPUT");
  });
});
