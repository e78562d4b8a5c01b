/**
 * Installing the git hooks where git will look (a hooks folder that does not exist yet),
 * how installed hooks find Baton (PATH, the recorded CLI, a moved node, nothing), the
 * Baton-Agent trailer, and probe telling apart agents that share one git identity.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, cli, ROOT, tempDir } from "./helpers.js";

function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function tryGit(cwd: string, args: string[], env: Record<string, string> = {}): { code: number; stderr: string } {
  const r = spawnSync("git", args, { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stderr: r.stderr };
}

/** A repository with one commit; every agent commits as the same git user, fleet. */
function repo(initArgs: string[] = []): string {
  const dir = join(tempDir(), "repo");
  execFileSync("git", ["init", "-q", ...initArgs, dir]);
  git(dir, ["config", "user.name", "fleet"]);
  git(dir, ["config", "user.email", "fleet@example.com"]);
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "app.ts"), "1\n");
  git(dir, ["add", "."]);
  git(dir, ["commit", "-qm", `root ${dir}`]);
  return dir;
}

function commit(cwd: string, file: string, message: string, env: Record<string, string> = {}) {
  mkdirSync(join(cwd, file, ".."), { recursive: true });
  writeFileSync(join(cwd, file), `${message}\n`);
  git(cwd, ["add", file]);
  return tryGit(cwd, ["commit", "-qm", message], env);
}

const json = (s: string) => JSON.parse(s) as Record<string, any>;

/** Replace the recorded `name='…'` line of an installed hook (to simulate a moved node or bundle). */
function rewriteRecorded(hook: string, name: "baton_node" | "baton_cli", value: string): void {
  const text = readFileSync(hook, "utf8");
  const next = text.replace(new RegExp(`^${name}=.*$`, "m"), `${name}='${value}'`);
  expect(next).not.toBe(text);
  writeFileSync(hook, next);
}

/** A bare `npx baton` would run whatever package the registry calls `baton`. */
const BARE_NPX = /(?<!--no-install )\bnpx\s+baton\b/;

describe("baton hooks install", () => {
  it("creates a hooks folder that does not exist yet (git init --template=, a fresh core.hooksPath)", () => {
    const bare = repo(["--template="]);
    expect(existsSync(join(bare, ".git", "hooks"))).toBe(false);
    const installed = cli(["hooks", "install", "--json"], { cwd: bare });
    expect(installed.code, installed.stdout + installed.stderr).toBe(0);
    expect(
      json(installed.stdout).changes.map((c: { hook: string; action: string }) => `${c.hook} ${c.action}`),
    ).toEqual(["pre-commit installed", "prepare-commit-msg installed", "pre-push installed", "post-commit installed"]);
    expect(readdirSync(join(bare, ".git", "hooks")).sort()).toEqual([
      "post-commit",
      "pre-commit",
      "pre-push",
      "prepare-commit-msg",
    ]);

    const custom = repo();
    git(custom, ["config", "core.hooksPath", ".githooks/local"]);
    const r = cli(["hooks", "install"], { cwd: custom });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`installed Baton's git hooks in ${join(custom, ".githooks", "local")}`);
    // The installed hooks run: an agent's commit goes through the guard and gets its trailer.
    expect(commit(custom, "src/b.ts", "b", { BATON_AGENT: "alice" }).code).toBe(0);
    expect(git(custom, ["log", "-1", "--format=%(trailers:key=Baton-Agent,valueonly)"]).trim()).toBe("alice");
    for (const hook of readdirSync(join(custom, ".githooks", "local"))) {
      expect(readFileSync(join(custom, ".githooks", "local", hook), "utf8")).not.toMatch(BARE_NPX);
    }
  });

  it("installed hooks find Baton on PATH, else the recorded CLI (with node from PATH when the recorded one moved), else say so in one line", () => {
    const dir = repo();
    expect(cli(["hooks", "install"], { cwd: dir }).code).toBe(0);
    const hook = join(dir, ".git", "hooks", "pre-commit");
    expect(cli(["paths", "claim", "src/held/", "--as", "bob"], { cwd: dir }).code).toBe(0);
    const alice = { BATON_AGENT: "alice" };

    // 1. `baton` on PATH comes first.
    const bin = tempDir();
    const calls = join(bin, "calls.log");
    writeFileSync(join(bin, "baton"), `#!/bin/sh\necho "$@" >> '${calls}'\nexec '${process.execPath}' '${CLI}' "$@"\n`);
    chmodSync(join(bin, "baton"), 0o755);
    const onPath = commit(dir, "src/held/a.ts", "a", { ...alice, PATH: `${bin}:${process.env.PATH}` });
    expect(onPath.code).toBe(1);
    expect(onPath.stderr).toContain("src/held/a.ts: held by bob");
    expect(readFileSync(calls, "utf8")).toContain("hooks run pre-commit");

    // 2. The recorded node is gone: node from PATH runs the recorded CLI, and the guard still holds.
    rewriteRecorded(hook, "baton_node", join(tempDir(), "gone", "node"));
    const moved = tryGit(dir, ["commit", "-qm", "a"], alice);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toContain("src/held/a.ts: held by bob");
    expect(moved.stderr).not.toMatch(/\n\s+at /);

    // 3. Nothing to run: one line, the commit goes through (fail open) ...
    git(dir, ["reset", "-q"]);
    rmSync(join(dir, "src", "held"), { recursive: true });
    const gone = join(tempDir(), "moved", "baton.js");
    rewriteRecorded(hook, "baton_cli", gone);
    const open = commit(dir, "src/free.ts", "free", alice);
    expect(open.code).toBe(0);
    expect(open.stderr.trim().split("\n")).toEqual([
      `baton: pre-commit guard skipped: Baton is not on PATH and ${gone} (recorded by baton hooks install) cannot be run; put baton on PATH or run baton hooks install again`,
    ]);
    // ... unless the repository says the guard is required.
    git(dir, ["config", "baton.hooks.required", "true"]);
    const closed = commit(dir, "src/free2.ts", "free2", alice);
    expect(closed.code).toBe(1);
    expect(closed.stderr.trim().split("\n")).toHaveLength(1);
    expect(closed.stderr).toContain("baton: commit refused: Baton is not on PATH");
    // Reinstalling records the CLI again.
    git(dir, ["config", "baton.hooks.required", "false"]);
    expect(cli(["hooks", "install"], { cwd: dir }).stdout).toContain("pre-commit: updated");
    expect(readFileSync(hook, "utf8")).toContain(`baton_cli='${CLI}'`);
    // 4. Baton found but unable to run (here: its store unavailable, exit 3): the same decision, in one more line.
    const broken = tempDir();
    writeFileSync(
      join(broken, "baton"),
      `#!/bin/sh\ncase "$*" in *pre-commit*) echo "Error: cannot open the store at /x: disk I/O error" >&2; exit 3 ;; esac\nexec '${process.execPath}' '${CLI}' "$@"\n`,
    );
    chmodSync(join(broken, "baton"), 0o755);
    const failed = tryGit(dir, ["commit", "-qm", "free2"], { ...alice, PATH: `${broken}:${process.env.PATH}` });
    expect(failed.code).toBe(0);
    expect(failed.stderr.trim().split("\n")).toEqual([
      "Error: cannot open the store at /x: disk I/O error",
      "baton: pre-commit guard skipped: Baton could not run (exit 3, see above)",
    ]);
  });

  it("README.md, docs/ and the generated hooks never call a bare npx baton", () => {
    const dir = repo();
    expect(cli(["hooks", "install", "--release-on-commit"], { cwd: dir }).code).toBe(0);
    const texts: [string, string][] = readdirSync(join(dir, ".git", "hooks"))
      .filter((f) => !f.endsWith(".sample"))
      .map((f) => [`hook ${f}`, readFileSync(join(dir, ".git", "hooks", f), "utf8")]);
    texts.push(["README.md", readFileSync(join(ROOT, "README.md"), "utf8")]);
    for (const f of readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md"))) {
      texts.push([`docs/${f}`, readFileSync(join(ROOT, "docs", f), "utf8")]);
    }
    expect(texts.length).toBeGreaterThan(5);
    for (const [name, text] of texts) expect(text, name).not.toMatch(BARE_NPX);
    // The check itself: a bare call is caught, the safe spelling is not.
    expect("run: npx baton hooks run pre-commit").toMatch(BARE_NPX);
    expect("run: npx --no-install baton hooks run pre-commit").not.toMatch(BARE_NPX);
  });
});

describe("probe tells apart agents that share one git identity", () => {
  it("by the Baton-Agent trailer and by Baton's committed records", () => {
    const dir = repo();
    expect(cli(["hooks", "install"], { cwd: dir }).code).toBe(0);
    // Alice commits (same git user as bob): the trailer names her.
    expect(commit(dir, "src/auth/login.ts", "alice login", { BATON_AGENT: "alice" }).code).toBe(0);
    expect(git(dir, ["log", "-1", "--format=%B"])).toContain("Baton-Agent: alice");
    const seen = json(cli(["probe", "src/auth/", "--as", "bob", "--json"], { cwd: dir }).stdout);
    expect(seen).toMatchObject({ ok: false, code: "PATHS_BUSY" });
    expect(seen.commits.map((c: { subject: string; agent: string }) => `${c.agent} ${c.subject}`)).toEqual([
      "alice alice login",
    ]);
    expect(cli(["probe", "src/auth/", "--as", "bob"], { cwd: dir }).stdout).toContain(
      "agent alice, fleet <fleet@example.com>",
    );
    // Her own commit is not "someone else" to her.
    expect(cli(["probe", "src/auth/", "--as", "alice"], { cwd: dir }).code).toBe(0);

    // Without the trailer (the hook removed), Baton's committed event still names her.
    rmSync(join(dir, ".git", "hooks", "prepare-commit-msg"));
    expect(cli(["paths", "claim", "src/billing/", "--as", "alice"], { cwd: dir }).code).toBe(0);
    expect(commit(dir, "src/billing/pay.ts", "alice pay", { BATON_AGENT: "alice" }).code).toBe(0);
    expect(git(dir, ["log", "-1", "--format=%B"])).not.toContain("Baton-Agent");
    const recorded = json(cli(["probe", "src/billing/", "--as", "bob", "--json"], { cwd: dir }).stdout);
    expect(recorded.commits.map((c: { subject: string; agent: string }) => `${c.agent} ${c.subject}`)).toEqual([
      "alice alice pay",
    ]);
    expect(cli(["probe", "src/billing/pay.ts", "--as", "alice", "--json"], { cwd: dir }).stdout).toContain(
      '"commits":[]',
    );

    // A commit Baton cannot attribute falls back to the git author: the shared user counts as me.
    expect(commit(dir, "src/misc/note.ts", "human note").code).toBe(0);
    expect(json(cli(["probe", "src/misc/", "--as", "bob", "--json"], { cwd: dir }).stdout).commits).toEqual([]);
  });
});
