/**
 * `baton paths …` and `baton claim KEY --paths …` end to end: the built CLI on real
 * git repositories (a clone and a worktree sharing one registry), bad input that
 * changes nothing, and the same answers on PostgreSQL.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freshSchema, storeSelected, testDatabaseUrl } from "./contract/targets.js";
import { cli, stateHome, tempDir } from "./helpers.js";

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@x",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@x",
    },
  });
}

function repo(): { main: string; worktree: string } {
  const root = tempDir();
  const main = join(root, "main");
  mkdirSync(join(main, "src", "auth"), { recursive: true });
  git(main, "init", "-q", "-b", "main");
  git(main, "commit", "-q", "--allow-empty", "-m", "root");
  const worktree = join(root, "wt");
  git(main, "worktree", "add", "-q", worktree);
  return { main, worktree };
}

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>;

describe("baton paths on SQLite, in a repository and its worktree", () => {
  it("claims all or nothing, lists conflicts with holder and expiry, releases", () => {
    const { main, worktree } = repo();
    const a = cli(["paths", "claim", "src/auth/", "docs/*.md", "--as", "a", "--reason", "auth rewrite", "--json"], {
      cwd: main,
    });
    expect(a.code, a.stderr).toBe(0);
    const granted = json(a.stdout);
    expect((granted.claims as { pattern: string }[]).map((c) => c.pattern)).toEqual(["src/auth/", "docs/*.md"]);
    // The default database is the repository's, in the state directory: the worktree sees the same claims.
    expect(existsSync(join(stateHome, "baton", git(main, "rev-parse", "HEAD").trim(), "baton.db"))).toBe(true);
    mkdirSync(join(worktree, "src"), { recursive: true });
    const b = cli(["paths", "claim", "../README.md", "auth/login.ts", "--as", "b"], { cwd: join(worktree, "src") });
    expect(b.code).toBe(1);
    expect(b.stdout).toContain("src/auth/login.ts: held by a as src/auth/ (exclusive");
    expect(b.stdout).toContain("auth rewrite");
    const listed = json(cli(["paths", "list", "--json"], { cwd: worktree }).stdout);
    expect((listed.claims as { agent: string }[]).map((c) => c.agent)).toEqual(["a", "a"]);
    // Relative patterns resolve from the working directory.
    const rel = cli(["paths", "claim", "../lib/", "--as", "b", "--json"], { cwd: join(main, "src") });
    expect((json(rel.stdout).claims as { pattern: string }[])[0]?.pattern).toBe("lib/");
    expect(cli(["paths", "release", "--as", "a"], { cwd: main }).stdout).toContain("released 2 path claims");
    expect(cli(["paths", "claim", "src/auth/login.ts", "--as", "b"], { cwd: main }).code).toBe(0);
    const log = cli(["log", "--json"], { cwd: main });
    const kinds = (json(log.stdout).events as { kind: string; key: string }[]).map((e) => `${e.kind} ${e.key}`);
    expect(kinds).toContain("denied path:src/auth/login.ts");
    expect(kinds).toContain("released path:src/auth/");
  });

  it("shared claims coexist; exclusive meets them; --advisory grants and says so", () => {
    const { main } = repo();
    expect(cli(["paths", "claim", "lib/", "--shared", "--as", "a"], { cwd: main }).code).toBe(0);
    expect(cli(["paths", "claim", "lib/x.ts", "--shared", "--as", "b"], { cwd: main }).code).toBe(0);
    expect(cli(["paths", "claim", "lib/*.ts", "--as", "c"], { cwd: main }).code).toBe(1);
    const advisory = cli(["paths", "claim", "lib/*.ts", "--as", "c", "--advisory"], { cwd: main });
    expect(advisory.code).toBe(0);
    expect(advisory.stdout).toContain("ADVISORY: granted despite 2 conflicts");
  });

  it("claims a work key and its paths together, or neither", () => {
    const { main } = repo();
    expect(cli(["paths", "claim", "src/", "--as", "a"], { cwd: main }).code).toBe(0);
    const refused = cli(["claim", "task:1", "--as", "b", "--paths", "src/a.ts", "--json"], { cwd: main });
    expect(refused.code).toBe(1);
    expect(json(refused.stdout)).toMatchObject({ ok: false, code: "PATH_CONFLICT" });
    expect(json(cli(["show", "task:1", "--json"], { cwd: main }).stdout).claim).toBeNull();
    const both = cli(["claim", "task:1", "--as", "b", "--paths", "lib/", "test/", "--json"], { cwd: main });
    expect(both.code, both.stderr).toBe(0);
    const result = json(both.stdout) as { claim: { token: number }; paths: { token: number; workKey: string }[] };
    expect(result.paths.map((p) => p.token)).toEqual([result.claim.token, result.claim.token]);
    expect(result.paths[0]?.workKey).toBe("task:1");
    const held = cli(["claim", "task:1", "--as", "c", "--paths", "docs/", "--json"], { cwd: main });
    expect(json(held.stdout)).toMatchObject({ ok: false, code: "CLAIM_HELD" });
    const docs = json(cli(["paths", "list", "--agent", "c", "--json"], { cwd: main }).stdout);
    expect(docs.claims).toEqual([]);
  });

  it("refuses bad input with its code and changes nothing", () => {
    const { main } = repo();
    const outside = tempDir();
    const cases: [string[], string, string][] = [
      [["paths", "claim", "../../etc/passwd", "--as", "a", "--json"], main, "BAD_PATH"],
      [["paths", "claim", "", "--as", "a", "--json"], main, "BAD_PATH"],
      [["paths", "claim", "src/[", "--as", "a", "--json"], main, "BAD_PATH"],
      [["paths", "claim", "!src/", "--as", "a", "--json"], main, "BAD_PATH"],
      [["paths", "claim", "src/", "--json"], main, "MISSING_AGENT"],
      [["paths", "claim", "src/", "--as", "a", "--ttl", "5x", "--json"], main, "BAD_DURATION"],
      [["paths", "claim", "src/", "--as", "a", "--json"], outside, "NOT_GIT_REPO"],
      [["claim", "task:1", "--as", "a", "--paths", "../x", "--json"], main, "BAD_PATH"],
    ];
    for (const [args, cwd, code] of cases) {
      const r = cli(args, { cwd });
      expect(r.code, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(2);
      expect((json(r.stdout).error as { code: string }).code).toBe(code);
    }
    // Nothing was created: bad input never opens the store.
    expect(existsSync(join(main, ".git", "baton"))).toBe(false);
    expect(existsSync(join(outside, ".baton"))).toBe(false);
  });
});

describe.skipIf(!storeSelected("postgres"))("baton paths on PostgreSQL", () => {
  it("answers as on SQLite", () => {
    const { main } = repo();
    const env = { BATON_DATABASE_URL: testDatabaseUrl(), BATON_PG_SCHEMA: freshSchema("paths") };
    expect(cli(["paths", "claim", "src/", "--as", "a"], { cwd: main, env }).code).toBe(0);
    const b = cli(["paths", "claim", "src/x.ts", "--as", "b"], { cwd: main, env });
    expect(b.code).toBe(1);
    expect(b.stdout).toContain("src/x.ts: held by a as src/ (exclusive");
    expect(existsSync(join(main, ".git", "baton"))).toBe(false);
  });
});
