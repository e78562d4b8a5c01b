/**
 * The git guards on real repositories: a bare remote, two clones and a worktree,
 * several agents sharing one registry. sync-check, probe, and the hooks (pre-commit
 * guard, pre-push sync check, post-commit record), chained to a user's own hook.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, tempDir } from "./helpers.js";

interface Fleet {
  root: string;
  remote: string;
  a: string;
  b: string;
  env: Record<string, string>;
}

function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function tryGit(cwd: string, args: string[], env: Record<string, string> = {}): { code: number; stderr: string } {
  try {
    git(cwd, args, env);
    return { code: 0, stderr: "" };
  } catch (error) {
    const e = error as { status: number; stderr: Buffer | string };
    return { code: e.status, stderr: String(e.stderr) };
  }
}

/** A bare remote with one commit on main, cloned twice (alice in a, bob in b), one registry. */
function fleet(): Fleet {
  const root = tempDir();
  const remote = join(root, "remote.git");
  git(root, ["init", "-q", "--bare", "-b", "main", remote]);
  const a = join(root, "a");
  const b = join(root, "b");
  git(root, ["clone", "-q", remote, a]);
  git(a, ["config", "user.email", "alice@example.com"]);
  git(a, ["config", "user.name", "alice"]);
  git(a, ["checkout", "-q", "-B", "main"]);
  mkdirSync(join(a, "src"));
  writeFileSync(join(a, "src", "app.ts"), "1\n");
  git(a, ["add", "."]);
  git(a, ["commit", "-qm", "root"]);
  git(a, ["push", "-q", "origin", "main"]);
  git(root, ["clone", "-q", remote, b]);
  git(b, ["config", "user.email", "bob@example.com"]);
  git(b, ["config", "user.name", "bob"]);
  return { root, remote, a, b, env: { BATON_DB: join(root, "registry.db") } };
}

function commit(cwd: string, file: string, text: string, message: string, env: Record<string, string> = {}) {
  mkdirSync(join(cwd, file, ".."), { recursive: true });
  writeFileSync(join(cwd, file), text);
  git(cwd, ["add", file]);
  return tryGit(cwd, ["commit", "-qm", message], env);
}

const json = (s: string) => JSON.parse(s) as Record<string, any>;

describe("baton sync-check", () => {
  it("passes in sync and ahead; refuses behind, diverged and dirty, naming the fix", () => {
    const f = fleet();
    expect(cli(["sync-check"], { cwd: f.b, env: f.env }).code).toBe(0);
    commit(f.a, "src/a.ts", "a\n", "alice one");
    git(f.a, ["push", "-q", "origin", "main"]);
    const behind = cli(["sync-check"], { cwd: f.b, env: f.env });
    expect(behind.code).toBe(1);
    expect(behind.stdout).toContain("1 commit behind origin/main");
    expect(behind.stdout).toContain("git pull --rebase origin main");
    git(f.b, ["pull", "-q", "--rebase", "origin", "main"]);
    commit(f.b, "src/b.ts", "b\n", "bob local");
    const ahead = json(cli(["sync-check", "--json"], { cwd: f.b, env: f.env }).stdout);
    expect(ahead).toMatchObject({ ok: true, ahead: 1, behind: 0 });
    commit(f.a, "src/c.ts", "c\n", "alice two");
    git(f.a, ["push", "-q", "origin", "main"]);
    const diverged = json(cli(["sync-check", "--json"], { cwd: f.b, env: f.env }).stdout);
    expect(diverged).toMatchObject({ ok: false, code: "OUT_OF_SYNC", ahead: 1, behind: 1 });
    expect(diverged.findings.map((x: { kind: string }) => x.kind)).toEqual(["diverged"]);
    git(f.b, ["pull", "-q", "--rebase", "origin", "main"]);
    writeFileSync(join(f.b, "scratch.txt"), "wip\n");
    expect(
      json(cli(["sync-check", "--json"], { cwd: f.b, env: f.env }).stdout).findings.map(
        (x: { kind: string }) => x.kind,
      ),
    ).toEqual(["dirty"]);
    expect(cli(["sync-check", "--allow-dirty"], { cwd: f.b, env: f.env }).code).toBe(0);
    // Without fetching, the remote-tracking branch is what it was.
    commit(f.a, "src/d.ts", "d\n", "alice three");
    git(f.a, ["push", "-q", "origin", "main"]);
    expect(cli(["sync-check", "--allow-dirty", "--no-fetch"], { cwd: f.b, env: f.env }).code).toBe(0);
    expect(cli(["sync-check", "--allow-dirty"], { cwd: f.b, env: f.env }).code).toBe(1);
  });

  it("with --holding, refuses when the claim is lost or re-granted under another token", () => {
    const f = fleet();
    const token = json(cli(["claim", "deploy:prod", "--as", "bob", "--json"], { cwd: f.b, env: f.env }).stdout).claim
      .token;
    expect(
      cli(["sync-check", "--holding", "deploy:prod", `deploy:prod:${token}`, "--as", "bob"], { cwd: f.b, env: f.env })
        .code,
    ).toBe(0);
    const stale = json(
      cli(["sync-check", "--holding", `deploy:prod:${token + 5}`, "--as", "bob", "--json"], { cwd: f.b, env: f.env })
        .stdout,
    );
    expect(stale.findings.map((x: { kind: string }) => x.kind)).toEqual(["token_changed"]);
    const other = json(
      cli(["sync-check", "--holding", "deploy:prod", "--as", "alice", "--json"], { cwd: f.b, env: f.env }).stdout,
    );
    expect(other.findings[0].message).toContain("alice no longer holds deploy:prod");
    expect(cli(["sync-check", "--holding", "deploy:prod"], { cwd: f.b, env: f.env }).code).toBe(2);
  });

  it("refuses bad input and places that are not repositories, with codes", () => {
    const f = fleet();
    expect(json(cli(["sync-check", "--remote", "nowhere", "--json"], { cwd: f.b, env: f.env }).stdout).error.code).toBe(
      "GIT_FAILED",
    );
    expect(json(cli(["sync-check", "--json"], { cwd: tempDir(), env: f.env }).stdout).error.code).toBe("NOT_GIT_REPO");
    expect(
      json(cli(["sync-check", "--holding", "bad\u0001key", "--as", "b", "--json"], { cwd: f.b, env: f.env }).stdout)
        .error.code,
    ).toBe("BAD_KEY");
  });
});

describe("baton probe", () => {
  it("finds a sibling's commit, path claim, uncommitted edit in another worktree and work claim; clear otherwise", () => {
    const f = fleet();
    // Alice's root commit touched src/app.ts a moment ago: seen.
    const root = json(cli(["probe", "src/", "--as", "bob", "--json"], { cwd: f.b, env: f.env }).stdout);
    expect(root.commits.map((c: { author: string }) => c.author)).toEqual(["alice"]);
    // Bob's own commit does not count.
    commit(f.b, "mine/b.ts", "m\n", "bob's own");
    expect(cli(["probe", "mine/", "--as", "bob"], { cwd: f.b, env: f.env }).code).toBe(0);
    // Alice's commit, pushed: seen after a fetch.
    commit(f.a, "src/auth/login.ts", "x\n", "alice login");
    git(f.a, ["push", "-q", "origin", "main"]);
    expect(cli(["probe", "src/auth/", "--as", "bob"], { cwd: f.b, env: f.env }).code).toBe(0);
    const fetched = json(
      cli(["probe", "src/auth/", "--as", "bob", "--fetch", "--json"], { cwd: f.b, env: f.env }).stdout,
    );
    expect(fetched).toMatchObject({ ok: false, code: "PATHS_BUSY" });
    expect(fetched.commits.map((c: { subject: string }) => c.subject)).toEqual(["alice login"]);
    // A path claim of alice's overlapping the probe.
    cli(["paths", "claim", "lib/**", "--as", "alice", "--reason", "lib move"], { cwd: f.a, env: f.env });
    const claimed = cli(["probe", "lib/x.ts", "--as", "bob"], { cwd: f.b, env: f.env });
    expect(claimed.code).toBe(1);
    expect(claimed.stdout).toContain("lib/**: alice (exclusive");
    // An uncommitted edit in another worktree of the same repository.
    const wt = join(f.root, "bob-wt");
    git(f.b, ["worktree", "add", "-q", "-b", "side", wt]);
    writeFileSync(join(wt, "docs.md"), "draft\n");
    const dirty = json(cli(["probe", "docs.md", "--as", "bob", "--json"], { cwd: f.b, env: f.env }).stdout);
    expect(dirty.worktreeChanges).toEqual([{ worktree: wt, path: "docs.md", status: "??" }]);
    // A work claim whose metadata names the path.
    cli(["claim", "task:7", "--as", "carol", "--meta", '{"files":["config/app.yml"]}'], { cwd: f.a, env: f.env });
    const work = json(cli(["probe", "config/", "--as", "bob", "--json"], { cwd: f.b, env: f.env }).stdout);
    expect(work.workClaims.map((c: { key: string }) => c.key)).toEqual(["task:7"]);
    expect(json(cli(["probe", "nothing/here.ts", "--as", "bob", "--json"], { cwd: f.b, env: f.env }).stdout).ok).toBe(
      true,
    );
  });
});

describe("baton hooks", () => {
  it("pre-commit blocks another agent's commit, lets the holder commit, logs a bypass, chains to the user's hook", () => {
    const f = fleet();
    const log = join(f.root, "user-hook.log");
    const userHook = join(f.a, ".git", "hooks", "pre-commit");
    writeFileSync(userHook, `#!/bin/sh\necho ran >> ${JSON.stringify(log)}\n`);
    chmodSync(userHook, 0o755);
    const install = cli(["hooks", "install", "--json"], { cwd: f.a, env: f.env });
    expect(install.code, install.stderr).toBe(0);
    expect(json(install.stdout).changes.map((c: { action: string }) => c.action)).toEqual([
      "chained",
      "installed",
      "installed",
      "installed",
    ]);
    expect(
      cli(["paths", "claim", "src/billing/", "--as", "bob", "--reason", "billing rewrite"], { cwd: f.b, env: f.env })
        .code,
    ).toBe(0);
    const blocked = commit(f.a, "src/billing/pay.ts", "x\n", "alice pay", { ...f.env, BATON_AGENT: "alice" });
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain("src/billing/pay.ts: held by bob as src/billing/ (exclusive");
    expect(blocked.stderr).toContain("billing rewrite");
    expect(readFileSync(log, "utf8")).toBe("ran\n");
    // The holder commits (the same repository, as bob).
    expect(tryGit(f.a, ["commit", "-qm", "bob pay"], { ...f.env, BATON_AGENT: "bob" }).code).toBe(0);
    // A human without BATON_AGENT is not stopped; an explicit bypass is logged.
    commit(f.a, "src/billing/human.ts", "h\n", "human", f.env);
    expect(git(f.a, ["log", "-1", "--format=%s"]).trim()).toBe("human");
    expect(
      commit(f.a, "src/billing/rush.ts", "r\n", "alice rush", { ...f.env, BATON_AGENT: "alice", BATON_GUARD: "off" })
        .code,
    ).toBe(0);
    const bypassed = json(cli(["log", "--kind", "bypassed", "--json"], { cwd: f.a, env: f.env }).stdout).events;
    expect(bypassed.map((e: { key: string; agent: string }) => `${e.key} ${e.agent}`)).toEqual([
      "path:src/billing/rush.ts alice",
    ]);
    // A user hook that fails still stops the commit.
    writeFileSync(join(f.a, ".git", "hooks", "pre-commit.baton-chained"), "#!/bin/sh\nexit 3\n");
    expect(commit(f.a, "free.txt", "f\n", "blocked by user hook", { ...f.env, BATON_AGENT: "bob" }).code).not.toBe(0);
    // Uninstall restores exactly the user's hook.
    writeFileSync(
      join(f.a, ".git", "hooks", "pre-commit.baton-chained"),
      `#!/bin/sh\necho ran >> ${JSON.stringify(log)}\n`,
    );
    expect(cli(["hooks", "uninstall"], { cwd: f.a, env: f.env }).code).toBe(0);
    expect(readFileSync(userHook, "utf8")).toBe(`#!/bin/sh\necho ran >> ${JSON.stringify(log)}\n`);
    expect(existsSync(join(f.a, ".git", "hooks", "post-commit"))).toBe(false);
    expect(existsSync(`${userHook}.baton-chained`)).toBe(false);
  });

  it("post-commit records the commit against my path claims and, when asked, releases them", () => {
    const f = fleet();
    expect(cli(["hooks", "install", "--release-on-commit"], { cwd: f.a, env: f.env }).code).toBe(0);
    cli(["paths", "claim", "src/app.ts", "docs/", "--as", "alice"], { cwd: f.a, env: f.env });
    expect(commit(f.a, "src/app.ts", "2\n", "alice app", { ...f.env, BATON_AGENT: "alice" }).code).toBe(0);
    const sha = git(f.a, ["rev-parse", "HEAD"]).trim();
    const events = json(cli(["log", "--kind", "committed,released", "--json"], { cwd: f.a, env: f.env }).stdout).events;
    expect(events.map((e: { kind: string; key: string; commit: string }) => `${e.kind} ${e.key} ${e.commit}`)).toEqual([
      `committed path:src/app.ts ${sha}`,
      `released path:src/app.ts ${sha}`,
    ]);
    const live = json(cli(["paths", "list", "--json"], { cwd: f.a, env: f.env }).stdout).claims;
    expect(live.map((c: { pattern: string }) => c.pattern)).toEqual(["docs/"]);
  });

  it("pre-push refuses a push from a branch that is behind or has diverged", () => {
    const f = fleet();
    expect(cli(["hooks", "install"], { cwd: f.b, env: f.env }).code).toBe(0);
    commit(f.a, "src/x.ts", "x\n", "alice x");
    git(f.a, ["push", "-q", "origin", "main"]);
    commit(f.b, "src/y.ts", "y\n", "bob y");
    const push = tryGit(f.b, ["push", "-q", "origin", "main"], f.env);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toContain("baton: push refused");
    expect(push.stderr).toContain("diverged from origin/main");
    git(f.b, ["pull", "-q", "--rebase", "origin", "main"]);
    expect(tryGit(f.b, ["push", "-q", "origin", "main"], f.env).code).toBe(0);
    appendFileSync(join(f.b, "src", "y.ts"), "more\n");
  });
});
