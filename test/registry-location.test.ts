/**
 * Where the default registry lives: one per repository (its root commit) in the user's state
 * directory, shared by every clone and worktree; outside a repository the nearest `.baton/`
 * up the tree, else one per-user default. `baton db status` says which and why, and creates
 * nothing. XDG_STATE_HOME is a fresh folder per test (test/helpers.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { locateRegistry } from "../src/workspace/registry-location.js";
import { cli, stateHome, tempDir } from "./helpers.js";

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@x", ...args], { cwd, encoding: "utf8" }).trim();
}

const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>;

function status(cwd: string, env: Record<string, string> = {}): Record<string, any> {
  const r = cli(["db", "status", "--json"], { cwd, env });
  expect(r.code, r.stderr).toBe(0);
  return json(r.stdout);
}

/** Everything under a folder, as relative paths. */
function tree(dir: string): string[] {
  return existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]).sort() : [];
}

/** A `.baton/` folder above `dir` (left by another program) would take the place of the per-user default. */
function batonAbove(dir: string): string | null {
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(join(d, ".baton"))) return join(d, ".baton");
    if (dirname(d) === d) return null;
  }
}

describe("the default registry", () => {
  it("is one per repository: two clones and a worktree meet the same claims", () => {
    const root = tempDir();
    const origin = join(root, "origin");
    mkdirSync(join(origin, "src"), { recursive: true });
    git(root, "init", "-q", origin);
    writeFileSync(join(origin, "src", "app.ts"), "1\n");
    git(origin, "add", ".");
    git(origin, "commit", "-qm", `root ${root}`);
    const sha = git(origin, "rev-parse", "HEAD");
    const a = join(root, "a");
    const b = join(root, "b");
    git(root, "clone", "-q", origin, a);
    git(root, "clone", "-q", origin, b);
    const wt = join(root, "wt");
    git(a, "worktree", "add", "-q", "-b", "side", wt);

    expect(cli(["claim", "task:1", "--as", "alice"], { cwd: a }).code).toBe(0);
    const denied = cli(["claim", "task:1", "--as", "bob", "--json"], { cwd: b });
    expect(denied.code).toBe(1);
    expect(json(denied.stdout)).toMatchObject({ code: "CLAIM_HELD", holder: "alice" });
    expect(json(cli(["claim", "task:1", "--as", "carol", "--json"], { cwd: join(wt, "src") }).stdout)).toMatchObject({
      code: "CLAIM_HELD",
      holder: "alice",
    });
    // The same file, claimed exclusively from two clones: the second is refused.
    expect(cli(["paths", "claim", "src/app.ts", "--as", "alice"], { cwd: a }).code).toBe(0);
    const file = cli(["paths", "claim", "src/app.ts", "--as", "bob"], { cwd: b });
    expect(file.code).toBe(1);
    expect(file.stdout).toContain("src/app.ts: held by alice");

    const db = join(stateHome, "baton", sha, "baton.db");
    expect(existsSync(db)).toBe(true);
    for (const cwd of [a, b, wt]) {
      expect(status(cwd)).toMatchObject({
        exists: true,
        registry: { path: db, rule: "repository", identity: `root:${sha}` },
      });
      expect(existsSync(join(cwd, ".baton"))).toBe(false);
    }
    const human = cli(["db", "status"], { cwd: b }).stdout;
    expect(human).toContain(
      `registry: ${db}\n  why: inside a git repository: the registry of the repository whose root commit is ${sha}`,
    );
    // BATON_DB, --db and the config file still win, and db status names them.
    const elsewhere = join(root, "elsewhere.db");
    expect(status(a, { BATON_DB: elsewhere }).registry).toMatchObject({ path: elsewhere, rule: "env" });
    expect(status(a, {}).registry.rule).toBe("repository");
    expect(json(cli(["db", "status", "--json", "--db", elsewhere], { cwd: a }).stdout).registry.rule).toBe("flag");
    mkdirSync(join(b, ".baton"));
    writeFileSync(join(b, ".baton", "config.json"), JSON.stringify({ db: "local.db" }));
    expect(status(b).registry).toMatchObject({ path: join(b, "local.db"), rule: "file" });
  });

  it("db status says which registry and why, and creates no file and no folder", () => {
    const root = tempDir();
    const repo = join(root, "repo");
    git(root, "init", "-q", repo);
    const unborn = status(repo);
    expect(unborn).toMatchObject({
      ok: true,
      exists: false,
      registry: { rule: "git-dir", path: join(repo, ".git", "baton", "baton.db") },
    });
    expect(unborn.registry.reason).toContain("no commit yet");
    git(repo, "commit", "-q", "--allow-empty", "-m", `root ${root}`);
    const born = status(repo);
    expect(born).toMatchObject({ exists: false, registry: { rule: "repository" } });
    const outside = join(root, "outside");
    mkdirSync(outside);
    expect(status(outside)).toMatchObject({ exists: false });
    expect(cli(["db", "status"], { cwd: outside }).stdout).toContain("not created yet");
    // Nothing written anywhere: no registry, no state folder, no cache in the git dir, no .baton/.
    expect(tree(stateHome)).toEqual([]);
    expect(existsSync(join(repo, ".git", "baton"))).toBe(false);
    expect(tree(root).filter((p) => p.includes(".baton"))).toEqual([]);
    // The first write creates it where db status said.
    expect(cli(["claim", "x:1", "--as", "a"], { cwd: repo }).code).toBe(0);
    expect(existsSync(born.registry.path)).toBe(true);
    expect(status(repo)).toMatchObject({ exists: true, version: expect.any(Number) });
  });

  it("outside a repository: sibling folders share the per-user default; a .baton/ folder up the tree wins", () => {
    const base = tempDir();
    const a = join(base, "a");
    const b = join(base, "b");
    mkdirSync(a);
    mkdirSync(b);
    const above = batonAbove(base);
    const shared = above === null ? join(stateHome, "baton", "default", "baton.db") : join(above, "baton.db");
    expect(cli(["claim", "x:1", "--as", "alice"], { cwd: a }).code).toBe(0);
    const denied = cli(["claim", "x:1", "--as", "bob", "--json"], { cwd: b });
    expect(denied.code).toBe(1);
    expect(json(denied.stdout)).toMatchObject({ code: "CLAIM_HELD", holder: "alice" });
    expect(status(b).registry).toMatchObject({ path: shared, rule: above === null ? "user-default" : "baton-folder" });
    expect(existsSync(join(a, ".baton"))).toBe(false);
    // A project folder with .baton/ keeps its own registry, for every folder below it.
    const project = join(base, "project");
    const deep = join(project, "src", "deep");
    mkdirSync(join(project, ".baton"), { recursive: true });
    mkdirSync(deep, { recursive: true });
    expect(status(deep).registry).toMatchObject({ path: join(project, ".baton", "baton.db"), rule: "baton-folder" });
    expect(cli(["claim", "x:1", "--as", "carol"], { cwd: deep }).code).toBe(0);
    expect(cli(["claim", "x:1", "--as", "dave"], { cwd: project }).code).toBe(1);
    expect(existsSync(join(project, ".baton", "baton.db"))).toBe(true);
  });

  it("a repository without a commit keeps its registry in its git dir; db status names it once it is no longer used", () => {
    const root = tempDir();
    const repo = join(root, "repo");
    git(root, "init", "-q", repo);
    expect(cli(["claim", "x:1", "--as", "alice"], { cwd: repo }).code).toBe(0);
    expect(existsSync(join(repo, ".git", "baton", "baton.db"))).toBe(true);
    expect(cli(["claim", "x:1", "--as", "bob"], { cwd: repo }).code).toBe(1);
    // An older Baton's registry in the git dir is named by db status once the repository has an identity.
    git(repo, "commit", "-q", "--allow-empty", "-m", `root ${root}`);
    const after = status(repo);
    expect(after.registry).toMatchObject({ rule: "repository", unused: join(repo, ".git", "baton", "baton.db") });
    expect(cli(["db", "status"], { cwd: repo }).stdout).toContain(
      "is an older registry of this repository, no longer used",
    );
  });

  it("a shallow clone, whose root commit is unknown, keeps its registry in its git dir and says why", () => {
    const root = tempDir();
    const origin = join(root, "origin");
    git(root, "init", "-q", origin);
    git(origin, "commit", "-q", "--allow-empty", "-m", `one ${root}`);
    git(origin, "commit", "-q", "--allow-empty", "-m", "two");
    const shallow = join(root, "shallow");
    git(root, "clone", "-q", "--depth", "1", `file://${origin}`, shallow);
    const r = status(shallow);
    expect(r.registry).toMatchObject({ rule: "git-dir", path: join(shallow, ".git", "baton", "baton.db") });
    expect(r.registry.reason).toContain("shallow clone");
  });

  it("follows XDG_STATE_HOME when absolute, else ~/.local/state (the XDG rule), in the library too", () => {
    const dir = join(tempDir(), "plain");
    mkdirSync(dir);
    const home = tempDir();
    const where = (env: NodeJS.ProcessEnv) => locateRegistry(dir, { env }).path;
    if (batonAbove(dir) !== null) return; // another program's .baton/ above the temp folder decides instead
    expect(where({ XDG_STATE_HOME: "/srv/state", HOME: home })).toBe("/srv/state/baton/default/baton.db");
    expect(where({ XDG_STATE_HOME: "relative/state", HOME: home })).toBe(
      join(home, ".local", "state", "baton", "default", "baton.db"),
    );
    expect(where({ HOME: home })).toBe(join(home, ".local", "state", "baton", "default", "baton.db"));
    expect(locateRegistry(dir, { env: { HOME: home } }).rule).toBe("user-default");
  });
});
