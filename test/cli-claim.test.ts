/**
 * The built CLI end to end (helpers: test/cli-helpers.ts): claim, renew, complete,
 * release and abandon with their output and `--json`, the agent (`--as` / BATON_AGENT),
 * and the exit codes. Split from the one CLI test file by area so two workers share the
 * CLI tests evenly: test/cli-read, cli-seed, cli-run and cli-input are the others.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dbEnv, j, keys, kinds, snapshot } from "./cli-helpers.js";
import { cli, tempDir } from "./helpers.js";

describe("claim", () => {
  it("grants with a fencing token; claiming again renews and keeps the token", () => {
    const env = dbEnv();
    const human = cli(["claim", "task:1", "--as", "a", "--ttl", "30m"], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^claimed task:1 \(token \d+, expires in 30m at \S+Z\)\n$/);
    const first = j(["show", "task:1"], env).claim;
    const again = j(["claim", "task:1", "--as", "a", "--ttl", "2h", "--meta", '{"issue":1,"paths":["src/a.ts"]}'], env);
    expect(again).toMatchObject({
      ok: true,
      outcome: "renewed",
      claim: { key: "task:1", agent: "a", token: first.token, state: "active" },
    });
    expect(Date.parse(again.claim.expiresAt)).toBeGreaterThan(Date.parse(first.expiresAt));
    expect(again.message).toMatch(/^renewed task:1 \(token \d+, expires in 2h at /);
    const granted = j(["claim", "task:2", "--as", "a", "--meta", '{"issue":2}'], env);
    expect(granted).toMatchObject({
      ok: true,
      outcome: "granted",
      claim: { key: "task:2", meta: { issue: 2 } },
      previous: null,
    });
    expect(granted.claim.token).toBeGreaterThan(first.token);
    // Default TTL: 60 minutes.
    expect(Date.parse(granted.claim.expiresAt) - Date.parse(granted.claim.claimedAt)).toBe(3_600_000);
  });

  it("denies another agent, naming the holder, since when and until when (exit 1)", () => {
    const env = dbEnv();
    const held = j(["claim", "github:acme/api#2880", "--as", "session-7f8b"], env).claim;
    const human = cli(["claim", "github:acme/api#2880", "--as", "session-9a2c"], { env });
    expect(human.code).toBe(1);
    expect(human.stdout).toBe(
      `denied: github:acme/api#2880 is held by session-7f8b since ${held.claimedAt} (expires ${held.expiresAt}, in 59m)\n`,
    );
    const denied = j(["claim", "github:acme/api#2880", "--as", "session-9a2c"], env, 1);
    expect(denied).toMatchObject({
      ok: false,
      outcome: "denied",
      code: "CLAIM_HELD",
      holder: "session-7f8b",
      claim: { agent: "session-7f8b", token: held.token, claimedAt: held.claimedAt, expiresAt: held.expiresAt },
    });
    // The denials are in the audit log, and the holder is unchanged.
    const log = j(["log", "github:acme/api#2880"], env).events;
    expect(kinds(log)).toEqual(["granted", "denied", "denied"]);
    expect(log[1]).toMatchObject({ agent: "session-9a2c", detail: { code: "CLAIM_HELD", holder: "session-7f8b" } });
    expect(j(["show", "github:acme/api#2880"], env).claim).toMatchObject({
      agent: "session-7f8b",
      token: held.token,
      state: "active",
    });
  });

  it("refuses work completed in the last 24 h with 'verify instead of redoing', unless --reopen", () => {
    const env = dbEnv();
    const g = j(["claim", "blog:post", "--as", "s1"], env).claim;
    const done = j(["complete", "blog:post", "--as", "s1", "--result", "published"], env).claim;
    for (const agent of ["s2", "s1"]) {
      const r = cli(["claim", "blog:post", "--as", agent], { env });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(
        `denied: blog:post was done by s1 at ${done.endedAt}: published — verify instead of redoing (baton verify blog:post), or claim with --reopen\n`,
      );
    }
    expect(j(["claim", "blog:post", "--as", "s2"], env, 1)).toMatchObject({
      ok: false,
      outcome: "done",
      code: "CLAIM_DONE",
      holder: "s1",
    });
    expect(j(["show", "blog:post"], env).claim).toMatchObject({ state: "completed", token: g.token });
    const reopened = j(["claim", "blog:post", "--as", "s2", "--reopen"], env);
    expect(reopened).toMatchObject({
      ok: true,
      outcome: "granted",
      claim: { agent: "s2" },
      previous: { state: "completed", agent: "s1" },
    });
    expect(reopened.claim.token).toBeGreaterThan(g.token);
  });
});

describe("renew, complete, release, abandon", () => {
  it("renew extends my live claim; others and never-claimed keys get exit 1", () => {
    const env = dbEnv();
    const g = j(["claim", "task:1", "--as", "a", "--ttl", "10m"], env).claim;
    const human = cli(["renew", "task:1", "--as", "a", "--ttl", "3h"], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^renewed task:1 \\(token ${g.token}, expires in 3h at \\S+\\)\\n$`));
    const renewed = j(["renew", "task:1", "--as", "a", "--ttl", "4h"], env);
    expect(renewed).toMatchObject({ ok: true, outcome: "renewed", claim: { token: g.token, state: "active" } });
    expect(Date.parse(renewed.claim.expiresAt) - Date.now()).toBeGreaterThan(3.5 * 3_600_000);
    const other = cli(["renew", "task:1", "--as", "b"], { env });
    expect(other.code).toBe(1);
    expect(other.stdout).toBe(`b does not hold task:1: it is held by a (token ${g.token})\n`);
    expect(j(["renew", "task:1", "--as", "b"], env, 1)).toMatchObject({
      ok: false,
      outcome: "not_held",
      code: "NOT_HOLDER",
    });
    expect(j(["renew", "task:404", "--as", "a"], env, 1)).toMatchObject({ ok: false, code: "NOT_FOUND", claim: null });
    expect(kinds(j(["log", "task:1"], env).events)).toEqual(["granted", "renewed", "renewed"]);
  });

  it("complete records --result and --commit; only the live holder can complete", () => {
    const env = dbEnv();
    const g = j(["claim", "task:1", "--as", "a"], env).claim;
    expect(j(["complete", "task:1", "--as", "b", "--result", "mine now"], env, 1)).toMatchObject({
      code: "NOT_HOLDER",
    });
    const human = cli(["complete", "task:1", "--as", "a", "--result", "login fixed", "--commit", "3fa9c1e"], { env });
    expect(human).toMatchObject({ code: 0, stdout: `completed task:1 (token ${g.token}, commit 3fa9c1e)\n` });
    const claim = j(["show", "task:1"], env).claim;
    expect(claim).toMatchObject({
      state: "completed",
      agent: "a",
      result: "login fixed",
      commit: "3fa9c1e",
      token: g.token,
    });
    expect(claim.endedAt).not.toBeNull();
    // Completing twice: no longer held.
    expect(j(["complete", "task:1", "--as", "a"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    const json = j(["claim", "task:2", "--as", "a"], env);
    expect(j(["complete", "task:2", "--as", "a", "--result", "r", "--commit", "ABCDEF0"], env)).toMatchObject({
      ok: true,
      outcome: "completed",
      claim: { key: "task:2", token: json.claim.token, result: "r" },
    });
    const log = j(["log", "task:1"], env).events;
    expect(kinds(log)).toEqual(["granted", "completed"]);
    expect(log[1]).toMatchObject({ agent: "a", commit: "3fa9c1e", detail: { result: "login fixed" } });
  });

  it("release frees the key at once; abandon with --reason leaves a loose end", () => {
    const env = dbEnv();
    const a = j(["claim", "task:1", "--as", "a"], env).claim;
    expect(j(["release", "task:1", "--as", "b"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    const rel = cli(["release", "task:1", "--as", "a", "--commit", "def5678"], { env });
    expect(rel).toMatchObject({ code: 0, stdout: `released task:1 (token ${a.token})\n` });
    expect(j(["show", "task:1"], env).claim).toMatchObject({ state: "released", commit: "def5678" });
    const b = j(["claim", "task:1", "--as", "b"], env);
    expect(b).toMatchObject({ outcome: "granted", previous: { state: "released", agent: "a" } });
    expect(b.claim.token).toBeGreaterThan(a.token);
    const ab = cli(["abandon", "task:1", "--as", "b", "--reason", "blocked on the API key"], { env });
    expect(ab).toMatchObject({
      code: 0,
      stdout: `abandoned task:1 (token ${b.claim.token}): blocked on the API key\n`,
    });
    expect(j(["abandon", "task:1", "--as", "b"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    expect(j(["show", "task:1"], env).claim).toMatchObject({
      state: "abandoned",
      agent: "b",
      reason: "blocked on the API key",
    });
    expect(keys(j(["list", "--state", "abandoned"], env).claims)).toEqual(["task:1"]);
    expect(j(["list"], env).claims).toEqual([]);
    // Abandoned is free to claim again.
    expect(j(["claim", "task:1", "--as", "c"], env)).toMatchObject({
      outcome: "granted",
      previous: { state: "abandoned" },
    });
    const log = j(["log", "task:1"], env).events;
    expect(kinds(log)).toEqual(["granted", "released", "granted", "abandoned", "granted"]);
    expect(log[1]).toMatchObject({ commit: "def5678" });
    expect(log[3]).toMatchObject({ agent: "b", detail: { reason: "blocked on the API key" } });
  });
});

describe("the agent", () => {
  it("comes from --as, else BATON_AGENT; --as wins", () => {
    const env = dbEnv();
    const fromEnv = j(["claim", "task:1"], { ...env, BATON_AGENT: "env-agent" });
    expect(fromEnv.claim.agent).toBe("env-agent");
    const fromFlag = j(["claim", "task:2", "--as", "flag-agent"], { ...env, BATON_AGENT: "env-agent" });
    expect(fromFlag.claim.agent).toBe("flag-agent");
    // --as other than the holder, with the holder in the environment: not held.
    expect(j(["renew", "task:1", "--as", "other"], { ...env, BATON_AGENT: "env-agent" }, 1)).toMatchObject({
      code: "NOT_HOLDER",
    });
    expect(j(["complete", "task:1"], { ...env, BATON_AGENT: "env-agent" })).toMatchObject({ outcome: "completed" });
    expect(keys(j(["list", "--mine"], { ...env, BATON_AGENT: "flag-agent" }).claims)).toEqual(["task:2"]);
  });

  it("a command that changes state without --as or BATON_AGENT exits 2, says how to set one, changes nothing", () => {
    const env = dbEnv();
    j(["claim", "task:1", "--as", "a"], env);
    const before = snapshot(env);
    const marker = join(tempDir(), "ran");
    const mutating: [string, string[]][] = [
      ["claim", ["claim", "task:2"]],
      ["renew", ["renew", "task:1"]],
      ["complete", ["complete", "task:1"]],
      ["release", ["release", "task:1"]],
      ["abandon", ["abandon", "task:1"]],
      [
        "run",
        ["run", "task:3", "--", process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "x")`],
      ],
    ];
    for (const [name, args] of mutating) {
      const human = cli(args, { env });
      expect(human.code, name).toBe(2);
      expect(human.stdout, name).toBe("");
      expect(human.stderr, name).toBe(
        `Error: ${name} needs an agent name: pass --as NAME or set BATON_AGENT (e.g. export BATON_AGENT=session-$$)\n`,
      );
      const json = j(args, env, 2);
      expect(json, name).toMatchObject({ ok: false, error: { code: "MISSING_AGENT" } });
      expect(json.error.message).toContain("--as NAME or set BATON_AGENT");
      // An empty BATON_AGENT is no agent either.
      expect(cli(args, { env: { ...env, BATON_AGENT: "" } }).code, name).toBe(2);
    }
    expect(existsSync(marker)).toBe(false);
    expect(snapshot(env)).toBe(before);
    // Reading needs no agent; reap records one only when given.
    for (const args of [
      ["show", "task:1"],
      ["list"],
      ["log"],
      ["check", "task:1", "--token", "1"],
      ["reap"],
      ["work-list"],
    ]) {
      expect(cli(args, { env }).code, args.join(" ")).toBe(0);
    }
  });
});

describe("exit codes", () => {
  it("0 done, 1 the expected no, 2 bad input, 3 a store that cannot be used; --json errors carry code", () => {
    const env = dbEnv();
    expect(cli(["claim", "task:1", "--as", "a"], { env }).code).toBe(0);
    const no = j(["claim", "task:1", "--as", "b"], env, 1);
    expect(no).toMatchObject({ ok: false, code: "CLAIM_HELD" });
    const bad = j(["claim", "task:1", "--as", "b", "--ttl", "5x"], env, 2);
    expect(bad).toEqual({
      ok: false,
      error: expect.objectContaining({ code: "BAD_DURATION", message: expect.any(String) }),
    });
    // Not a database: exit 3, and the file is left as it was.
    const junk = join(tempDir(), "junk.db");
    const text = `not a database ${"x".repeat(200)}`;
    writeFileSync(junk, text);
    const unavailable = j(["claim", "task:1", "--as", "a"], { BATON_DB: junk }, 3);
    expect(unavailable.error).toMatchObject({ code: "STORE_UNAVAILABLE" });
    expect(unavailable.error.message).toContain(junk);
    expect(readFileSync(junk, "utf8")).toBe(text);
    const human = cli(["list"], { env: { BATON_DB: junk } });
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(/^Error: the store at .* cannot be used/);
    // A folder is not a database file either.
    expect(j(["list"], { BATON_DB: tempDir() }, 3).error.code).toBe("STORE_UNAVAILABLE");
  });
});
