/**
 * The built CLI end to end, as real processes on real SQLite files: every command,
 * the seed verbs under both names, expiry, `baton run`, where the database lives,
 * configuration precedence, and bad input that changes nothing.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, cleanEnv, cli, tempDir } from "./helpers.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>;

function dbEnv(): { BATON_DB: string } {
  return { BATON_DB: join(tempDir(), "cli.db") };
}

/** Everything in the database, to prove a command changed nothing. */
function snapshot(env: Record<string, string>): string {
  const list = cli(["list", "--state", "all", "--json"], { env });
  const log = cli(["log", "--limit", "100000", "--json"], { env });
  return `${list.stdout}\n${log.stdout}`;
}

describe("claim commands", () => {
  it("claim, renew, complete, release, abandon, show, list, log, check — each one JSON object", () => {
    const env = dbEnv();
    const g = json(cli(["claim", "task:1", "--as", "a", "--ttl", "30m", "--meta", '{"issue":1}', "--json"], { env }).stdout);
    expect(g).toMatchObject({ ok: true, outcome: "granted", claim: { key: "task:1", agent: "a", meta: { issue: 1 } } });
    const token = g.claim.token as number;
    expect(json(cli(["claim", "task:1", "--as", "a", "--json"], { env }).stdout)).toMatchObject({ outcome: "renewed", claim: { token } });
    const denied = cli(["claim", "task:1", "--as", "b"], { env });
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^denied: task:1 is held by a since \S+ \(expires \S+, in \d+m\)/);
    expect(cli(["renew", "task:1", "--as", "a", "--ttl", "2h"], { env }).code).toBe(0);
    expect(cli(["renew", "task:1", "--as", "b", "--json"], { env })).toMatchObject({ code: 1 });
    expect(cli(["check", "task:1", "--token", String(token)], { env }).code).toBe(0);
    expect(cli(["check", "task:1", "--token", String(token + 1)], { env }).code).toBe(1);
    const done = json(cli(["complete", "task:1", "--as", "a", "--result", "fixed", "--commit", "abc1234", "--json"], { env }).stdout);
    expect(done).toMatchObject({ ok: true, outcome: "completed", claim: { result: "fixed", commit: "abc1234" } });
    const redo = cli(["claim", "task:1", "--as", "b"], { env });
    expect(redo.code).toBe(1);
    expect(redo.stdout).toContain("done by a at");
    expect(redo.stdout).toContain("fixed — verify instead of redoing");
    expect(cli(["claim", "task:1", "--as", "b", "--reopen"], { env }).code).toBe(0);
    expect(cli(["release", "task:1", "--as", "b", "--commit", "def5678"], { env }).code).toBe(0);
    expect(cli(["claim", "task:2", "--as", "c"], { env }).code).toBe(0);
    expect(json(cli(["abandon", "task:2", "--as", "c", "--reason", "blocked", "--json"], { env }).stdout)).toMatchObject({
      outcome: "abandoned",
      claim: { reason: "blocked" },
    });
    const show = json(cli(["show", "task:1", "--json"], { env }).stdout);
    expect(show.claim).toMatchObject({ state: "released", commit: "def5678" });
    expect(show.events.map((e: { kind: string }) => e.kind)).toEqual(["granted", "renewed", "denied", "renewed", "completed", "denied", "granted", "released"]);
    cli(["claim", "topic:x", "--as", "a"], { env });
    expect(json(cli(["list", "--json"], { env }).stdout).claims.map((c: { key: string }) => c.key)).toEqual(["topic:x"]);
    expect(json(cli(["list", "--mine", "--as", "c", "--state", "all", "--json"], { env }).stdout).claims).toHaveLength(1);
    expect(json(cli(["list", "--prefix", "task:", "--state", "released,abandoned", "--json"], { env }).stdout).claims).toHaveLength(2);
    const log = json(cli(["log", "--agent", "b", "--json"], { env }).stdout);
    expect(log.events.map((e: { kind: string }) => e.kind)).toEqual(["denied", "denied", "granted", "released"]);
    expect(json(cli(["log", "task:2", "--since", "1h", "--limit", "1", "--json"], { env }).stdout).events).toHaveLength(1);
    const human = cli(["log"], { env }).stdout;
    expect(human).toMatch(/granted\s+task:1\s+a\s+token=/);
    expect(human).toMatch(/denied\s+task:1\s+b\s+\(CLAIM_HELD: a\)/);
  });

  it("a mutating command without an agent exits 2 and says how to set one; BATON_AGENT works", () => {
    const env = dbEnv();
    const r = cli(["claim", "task:1", "--json"], { env });
    expect(r.code).toBe(2);
    expect(json(r.stdout).error).toMatchObject({ code: "MISSING_AGENT" });
    expect(json(r.stdout).error.message).toContain("BATON_AGENT");
    expect(cli(["claim", "task:1"], { env: { ...env, BATON_AGENT: "env-agent" } }).code).toBe(0);
    expect(json(cli(["show", "task:1", "--json"], { env }).stdout).claim.agent).toBe("env-agent");
    // --as beats the environment.
    expect(cli(["renew", "task:1", "--as", "other"], { env: { ...env, BATON_AGENT: "env-agent" } }).code).toBe(1);
  });

  it("expires short claims: the old holder cannot renew or complete; another takes over with a larger token; reap", async () => {
    const env = dbEnv();
    const a = json(cli(["claim", "k", "--as", "a", "--ttl", "1s", "--json"], { env }).stdout);
    await sleep(1200);
    expect(json(cli(["renew", "k", "--as", "a", "--json"], { env }).stdout)).toMatchObject({ ok: false, code: "CLAIM_EXPIRED" });
    expect(cli(["complete", "k", "--as", "a"], { env }).code).toBe(1);
    const reap = cli(["reap", "--min-age", "0s"], { env });
    expect(reap.stdout).toContain("reaped 1 stale claim (expired >0ms) -> abandoned");
    const b = json(cli(["claim", "k", "--as", "b", "--json"], { env }).stdout);
    expect(b.claim.token).toBeGreaterThan(a.claim.token);
  });
});

describe("seed verbs", () => {
  it("work the same under baton and under the coordination name", () => {
    const env = dbEnv();
    const dir = tempDir();
    const coordination = join(dir, "coordination");
    symlinkSync(CLI, coordination);
    const claimed = cli(["work-claim", "session-1", "gh:acme/api#1", "--ttl", "60"], { env, bin: coordination });
    expect(claimed).toMatchObject({ code: 0, stdout: "claimed gh:acme/api#1 (expires in 60 min)\n" });
    const denied = cli(["work-claim", "session-2", "gh:acme/api#1", "--ttl", "60"], { env });
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^DENIED: already claimed by session-1 \(expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\n$/);
    expect(cli(["work-list"], { env, bin: coordination }).stdout).toContain("gh:acme/api#1");
    expect(cli(["work-complete", "session-1", "gh:acme/api#1", "--result", "merged"], { env, bin: coordination }).code).toBe(0);
    expect(cli(["work-claim", "s3", "gh:acme/api#2", "--ttl", "60"], { env }).code).toBe(0);
    expect(cli(["work-abandon", "s3", "gh:acme/api#2", "--reason", "blocked"], { env, bin: coordination }).code).toBe(0);
    const reaped = cli(["work-reap", "--min-age-hours", "24"], { env, bin: coordination });
    expect(reaped.stdout).toMatch(/^reaped 0 stale claims .* -> abandoned/);
  });
});

describe("baton run", () => {
  it("renews past its TTL while the command runs, and completes on exit 0", async () => {
    const env = dbEnv();
    const child = spawn(process.execPath, [CLI, "run", "job", "--as", "a", "--ttl", "1s", "--", process.execPath, "-e", "setTimeout(()=>{},2500)"], {
      env: cleanEnv(env),
    });
    const exited = new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? -1)));
    await sleep(1800); // past the first TTL
    const mid = json(cli(["show", "job", "--json"], { env }).stdout);
    expect(mid.claim).toMatchObject({ agent: "a", state: "active" });
    expect(await exited).toBe(0);
    expect(json(cli(["show", "job", "--json"], { env }).stdout).claim.state).toBe("completed");
    expect(json(cli(["log", "job", "--kind", "renewed", "--json"], { env }).stdout).events.length).toBeGreaterThanOrEqual(2);
  });

  it("releases on failure and returns the command's code; denied runs nothing", () => {
    const env = dbEnv();
    expect(cli(["run", "job", "--as", "a", "--", process.execPath, "-e", "process.exit(7)"], { env }).code).toBe(7);
    expect(json(cli(["show", "job", "--json"], { env }).stdout).claim.state).toBe("released");
    cli(["claim", "held", "--as", "other"], { env });
    const marker = join(tempDir(), "ran");
    const r = cli(["run", "held", "--as", "a", "--", process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "x")`], { env });
    expect(r.code).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });

  it("killed with SIGKILL, leaves a claim that expires and is reaped", async () => {
    const env = dbEnv();
    const child = spawn(process.execPath, [CLI, "run", "job", "--as", "a", "--ttl", "1s", "--", process.execPath, "-e", "setTimeout(()=>{},10000)"], {
      env: cleanEnv(env),
      stdio: "ignore",
    });
    await sleep(600);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("close", resolve));
    expect(json(cli(["show", "job", "--json"], { env }).stdout).claim.state).toBe("active");
    await sleep(1300);
    expect(json(cli(["show", "job", "--json"], { env }).stdout).claim.state).toBe("expired");
    const reaped = json(cli(["reap", "--min-age", "0s", "--json"], { env }).stdout);
    expect(reaped.reaped.map((c: { key: string }) => c.key)).toEqual(["job"]);
  });
});

describe("where the database lives, and configuration", () => {
  it("is baton/baton.db in the git common dir, shared by worktrees; .baton/baton.db outside git", () => {
    const root = tempDir();
    const repo = join(root, "repo");
    mkdirSync(repo);
    execFileSync("git", ["init", "-q"], { cwd: repo });
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "--allow-empty", "-m", "r"], { cwd: repo });
    execFileSync("git", ["worktree", "add", "-q", join(root, "wt")], { cwd: repo });
    expect(cli(["claim", "task:1", "--as", "a"], { cwd: repo }).code).toBe(0);
    expect(existsSync(join(repo, ".git", "baton", "baton.db"))).toBe(true);
    expect(cli(["claim", "task:1", "--as", "b"], { cwd: join(root, "wt") }).code).toBe(1);
    const plain = tempDir();
    expect(cli(["claim", "task:1", "--as", "a"], { cwd: plain }).code).toBe(0);
    expect(existsSync(join(plain, ".baton", "baton.db"))).toBe(true);
  });

  it("resolves flags > environment > config file > defaults", () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".baton"));
    writeFileSync(join(dir, ".baton", "config.json"), JSON.stringify({ agent: "file-agent", db: "from-file.db", defaultTtl: "5m" }));
    const r = json(cli(["claim", "t1", "--json"], { cwd: dir }).stdout);
    expect(r.claim.agent).toBe("file-agent");
    expect(new Date(r.claim.expiresAt).getTime() - new Date(r.claim.claimedAt).getTime()).toBe(300_000);
    expect(existsSync(join(dir, "from-file.db"))).toBe(true);
    const envDb = join(dir, "from-env.db");
    expect(json(cli(["claim", "t2", "--json"], { cwd: dir, env: { BATON_AGENT: "env-agent", BATON_DB: envDb } }).stdout).claim.agent).toBe("env-agent");
    expect(existsSync(envDb)).toBe(true);
    expect(json(cli(["claim", "t3", "--as", "flag-agent", "--db", join(dir, "flag.db"), "--json"], { cwd: dir, env: { BATON_AGENT: "env-agent" } }).stdout).claim.agent).toBe("flag-agent");
    writeFileSync(join(dir, ".baton", "config.json"), JSON.stringify({ agnet: "typo" }));
    const bad = cli(["claim", "t4", "--as", "a", "--json"], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(json(bad.stdout).error.code).toBe("BAD_CONFIG");
  });
});

describe("bad input", () => {
  it("gets its stable code, exit 2, and changes nothing in the database", () => {
    const env = dbEnv();
    cli(["claim", "task:1", "--as", "a"], { env });
    const before = snapshot(env);
    const cases: [string[], string][] = [
      [["claim", "bad\u0001key", "--as", "a"], "BAD_KEY"],
      [["claim", "x".repeat(600), "--as", "a"], "BAD_KEY"],
      [["claim", "  ", "--as", "a"], "BAD_KEY"],
      [["claim", "task:2", "--as", "bad agent"], "BAD_AGENT"],
      [["claim", "task:2", "--as", "a", "--ttl", "5x"], "BAD_DURATION"],
      [["claim", "task:2", "--as", "a", "--ttl", "0"], "BAD_DURATION"],
      [["claim", "task:2", "--as", "a", "--meta", "{oops"], "BAD_META"],
      [["claim", "task:2", "--as", "a", "--meta", "[1]"], "BAD_META"],
      [["complete", "task:1", "--as", "a", "--commit", "nope"], "BAD_INPUT"],
      [["check", "task:1", "--token", "abc"], "BAD_TOKEN"],
      [["list", "--state", "sideways"], "BAD_OPTION"],
      [["log", "--since", "whenever"], "BAD_DURATION"],
      [["reap", "--min-age", "-1h"], "BAD_DURATION"],
      [["frobnicate"], "UNKNOWN_COMMAND"],
      [["claim", "task:2", "--as", "a", "--bogus"], "BAD_OPTION"],
    ];
    for (const [args, code] of cases) {
      const r = cli([...args, "--json"], { env });
      expect(r.code, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(json(r.stdout).error.code, args.join(" ")).toBe(code);
    }
    expect(snapshot(env)).toBe(before);
    // Bad input never creates a database either.
    const fresh = join(tempDir(), "never.db");
    expect(cli(["claim", "", "--as", "a"], { env: { BATON_DB: fresh } }).code).toBe(2);
    expect(existsSync(fresh)).toBe(false);
  });
});
