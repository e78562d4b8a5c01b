/**
 * The built CLI end to end, as real processes on real SQLite files in temp dirs:
 * every claim command and its output, `--json` (one object per call), the agent
 * (`--as` / BATON_AGENT), the seed verbs under both names (`baton`, `coordination`),
 * expiry and takeover, `baton run` (renewal, completion, failure, denial, signals,
 * SIGKILL), where the database lives, configuration precedence, and bad input that
 * exits 2 and changes nothing.
 *
 * Real time is used only where expiry is the point (1–2 s TTLs), and always by
 * waiting for a state, never by asserting how long something took.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, type CliResult, cleanEnv, cli, tempDir } from "./helpers.js";

type Env = Record<string, string>;
// JSON answers are checked field by field.
type Json = Record<string, any>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh database path (not yet created). */
function dbEnv(extra: Env = {}): Env {
  return { BATON_DB: join(tempDir(), "cli.db"), ...extra };
}

/** The `coordination` binary as npm installs it: a link with that name to the one bundled file. */
let coordinationBin: string | undefined;
function coordination(): string {
  if (coordinationBin === undefined) {
    coordinationBin = join(tempDir("baton-bin-"), "coordination");
    symlinkSync(CLI, coordinationBin);
  }
  return coordinationBin;
}
const binFor = (name: "baton" | "coordination"): string => (name === "baton" ? CLI : coordination());

/** stdout must be exactly one JSON object on one line; returns it. */
function one(r: CliResult): Json {
  expect(r.stdout.endsWith("\n"), `stdout: ${JSON.stringify(r.stdout)} stderr: ${r.stderr}`).toBe(true);
  const lines = r.stdout.slice(0, -1).split("\n");
  expect(lines, r.stdout).toHaveLength(1);
  const value = JSON.parse(lines[0] as string) as unknown;
  expect(typeof value === "object" && value !== null && !Array.isArray(value), r.stdout).toBe(true);
  return value as Json;
}

/** `args` with --json added before any `--` (after it, it would be the command's). */
function withJson(args: string[]): string[] {
  const at = args.indexOf("--");
  return at === -1 ? [...args, "--json"] : [...args.slice(0, at), "--json", ...args.slice(at)];
}

/** Run with --json and return the one object, checking the exit code. */
function j(args: string[], env: Env, code = 0, options: { cwd?: string; bin?: string } = {}): Json {
  const r = cli(withJson(args), { env, ...options });
  expect(r.code, `${args.join(" ")} -> ${r.stdout}${r.stderr}`).toBe(code);
  return one(r);
}

/** Everything the database says (claims in every state, the whole log), to prove nothing changed. */
function snapshot(env: Env, cwd?: string): string {
  const opts = cwd === undefined ? { env } : { env, cwd };
  const list = cli(["list", "--state", "all", "--json"], opts);
  const log = cli(["log", "--limit", "100000", "--json"], opts);
  expect(list.code).toBe(0);
  expect(log.code).toBe(0);
  return `${list.stdout}${log.stdout}`;
}

const kinds = (events: { kind: string }[]): string[] => events.map((e) => e.kind);
const keys = (claims: { key: string }[]): string[] => claims.map((c) => c.key);
const isoSeconds = (iso: string): string => iso.replace(/\.\d{3}Z$/, "Z");

/** Poll `probe` until it is true (or fail after `timeoutMs`). */
async function waitFor(what: string, probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function stateOf(key: string, env: Env): string {
  return one(cli(["show", key, "--json"], { env })).claim?.state as string;
}

/** Spawn the CLI without waiting, to signal or kill it. */
function spawnCli(args: string[], env: Env): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: tempDir(), env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code: code ?? (signal === "SIGKILL" ? 137 : -1), stdout, stderr }));
  });
  return { child, done };
}

/**
 * A command for `baton run`: records its pid and BATON_* environment in DIR/env.json,
 * waits `--hold` ms, writes DIR/ready, then waits for DIR/go (or SIGTERM, on which it
 * writes DIR/terminated and exits 3), then exits with `--exit`.
 */
function workerScript(dir: string): string {
  const path = join(dir, "worker.cjs");
  writeFileSync(
    path,
    `
const fs = require("node:fs");
const path = require("node:path");
const [dir, hold, code] = process.argv.slice(2);
fs.writeFileSync(path.join(dir, "env.json"), JSON.stringify({
  pid: process.pid, key: process.env.BATON_KEY, token: process.env.BATON_TOKEN, agent: process.env.BATON_AGENT,
}));
process.on("SIGTERM", () => { fs.writeFileSync(path.join(dir, "terminated"), "1"); process.exit(3); });
setTimeout(() => {
  fs.writeFileSync(path.join(dir, "ready"), "1");
  const deadline = Date.now() + 30000;
  const poll = setInterval(() => {
    if (fs.existsSync(path.join(dir, "go")) || Date.now() > deadline) { clearInterval(poll); process.exit(Number(code)); }
  }, 25);
}, Number(hold));
`,
  );
  return path;
}

describe("claim", () => {
  it("grants with a fencing token; claiming again renews and keeps the token", () => {
    const env = dbEnv();
    const human = cli(["claim", "task:1", "--as", "a", "--ttl", "30m"], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^claimed task:1 \(token \d+, expires in 30m at \S+Z\)\n$/);
    const first = j(["show", "task:1"], env).claim;
    const again = j(["claim", "task:1", "--as", "a", "--ttl", "2h", "--meta", '{"issue":1,"paths":["src/a.ts"]}'], env);
    expect(again).toMatchObject({ ok: true, outcome: "renewed", claim: { key: "task:1", agent: "a", token: first.token, state: "active" } });
    expect(Date.parse(again.claim.expiresAt)).toBeGreaterThan(Date.parse(first.expiresAt));
    expect(again.message).toMatch(/^renewed task:1 \(token \d+, expires in 2h at /);
    const granted = j(["claim", "task:2", "--as", "a", "--meta", '{"issue":2}'], env);
    expect(granted).toMatchObject({ ok: true, outcome: "granted", claim: { key: "task:2", meta: { issue: 2 } }, previous: null });
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
    expect(j(["show", "github:acme/api#2880"], env).claim).toMatchObject({ agent: "session-7f8b", token: held.token, state: "active" });
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
    expect(j(["claim", "blog:post", "--as", "s2"], env, 1)).toMatchObject({ ok: false, outcome: "done", code: "CLAIM_DONE", holder: "s1" });
    expect(j(["show", "blog:post"], env).claim).toMatchObject({ state: "completed", token: g.token });
    const reopened = j(["claim", "blog:post", "--as", "s2", "--reopen"], env);
    expect(reopened).toMatchObject({ ok: true, outcome: "granted", claim: { agent: "s2" }, previous: { state: "completed", agent: "s1" } });
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
    expect(j(["renew", "task:1", "--as", "b"], env, 1)).toMatchObject({ ok: false, outcome: "not_held", code: "NOT_HOLDER" });
    expect(j(["renew", "task:404", "--as", "a"], env, 1)).toMatchObject({ ok: false, code: "NOT_FOUND", claim: null });
    expect(kinds(j(["log", "task:1"], env).events)).toEqual(["granted", "renewed", "renewed"]);
  });

  it("complete records --result and --commit; only the live holder can complete", () => {
    const env = dbEnv();
    const g = j(["claim", "task:1", "--as", "a"], env).claim;
    expect(j(["complete", "task:1", "--as", "b", "--result", "mine now"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    const human = cli(["complete", "task:1", "--as", "a", "--result", "login fixed", "--commit", "3fa9c1e"], { env });
    expect(human).toMatchObject({ code: 0, stdout: `completed task:1 (token ${g.token}, commit 3fa9c1e)\n` });
    const claim = j(["show", "task:1"], env).claim;
    expect(claim).toMatchObject({ state: "completed", agent: "a", result: "login fixed", commit: "3fa9c1e", token: g.token });
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
    expect(ab).toMatchObject({ code: 0, stdout: `abandoned task:1 (token ${b.claim.token}): blocked on the API key\n` });
    expect(j(["abandon", "task:1", "--as", "b"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    expect(j(["show", "task:1"], env).claim).toMatchObject({ state: "abandoned", agent: "b", reason: "blocked on the API key" });
    expect(keys(j(["list", "--state", "abandoned"], env).claims)).toEqual(["task:1"]);
    expect(j(["list"], env).claims).toEqual([]);
    // Abandoned is free to claim again.
    expect(j(["claim", "task:1", "--as", "c"], env)).toMatchObject({ outcome: "granted", previous: { state: "abandoned" } });
    const log = j(["log", "task:1"], env).events;
    expect(kinds(log)).toEqual(["granted", "released", "granted", "abandoned", "granted"]);
    expect(log[1]).toMatchObject({ commit: "def5678" });
    expect(log[3]).toMatchObject({ agent: "b", detail: { reason: "blocked on the API key" } });
  });
});

describe("show, list, log, check", () => {
  it("show: the state and the latest events; never claimed is exit 1 NOT_FOUND", () => {
    const env = dbEnv();
    const g = j(["claim", "topic:x", "--as", "a", "--meta", '{"issue":7}'], env).claim;
    cli(["claim", "topic:x", "--as", "b"], { env });
    const human = cli(["show", "topic:x"], { env });
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split("\n");
    expect(lines.slice(0, 5)).toEqual([
      "key:      topic:x",
      "state:    active (expires in 59m)",
      `holder:   a (token ${g.token}) since ${isoSeconds(g.claimedAt)}`,
      `expires:  ${isoSeconds(g.expiresAt)}`,
      'meta:     {"issue":7}',
    ]);
    expect(lines[5]).toBe("events:");
    expect(lines[6]).toMatch(new RegExp(`granted\\s+topic:x\\s+a\\s+token=${g.token}$`));
    expect(lines[7]).toMatch(/denied\s+topic:x\s+b\s+\(CLAIM_HELD: a\)$/);
    const json = j(["show", "topic:x"], env);
    expect(json).toMatchObject({ ok: true, key: "topic:x", claim: { agent: "a", state: "active", meta: { issue: 7 } } });
    expect(kinds(json.events)).toEqual(["granted", "denied"]);
    const missing = cli(["show", "topic:never"], { env });
    expect(missing).toMatchObject({ code: 1, stdout: "topic:never: never claimed\n" });
    expect(j(["show", "topic:never"], env, 1)).toMatchObject({ ok: false, code: "NOT_FOUND", claim: null, events: [] });
  });

  it("list: live claims by default; --state, --agent, --mine, --prefix, --limit", () => {
    const env = dbEnv();
    expect(cli(["list"], { env }).stdout).toBe("no live claims\n");
    j(["claim", "github:acme/api#1", "--as", "a"], env);
    j(["claim", "github:acme/api#2", "--as", "b"], env);
    j(["claim", "github:acme/web#3", "--as", "a"], env);
    j(["claim", "task:4", "--as", "b"], env);
    j(["claim", "task:5", "--as", "c"], env);
    j(["complete", "github:acme/api#2", "--as", "b"], env);
    j(["release", "task:4", "--as", "b"], env);
    j(["abandon", "task:5", "--as", "c", "--reason", "r"], env);
    // Newest grant first.
    expect(keys(j(["list"], env).claims)).toEqual(["github:acme/web#3", "github:acme/api#1"]);
    expect(keys(j(["list", "--state", "active"], env).claims)).toEqual(["github:acme/web#3", "github:acme/api#1"]);
    expect(keys(j(["list", "--state", "completed"], env).claims)).toEqual(["github:acme/api#2"]);
    expect(keys(j(["list", "--state", "released,abandoned"], env).claims)).toEqual(["task:5", "task:4"]);
    expect(j(["list", "--state", "expired"], env).claims).toEqual([]);
    expect(keys(j(["list", "--state", "all"], env).claims)).toHaveLength(5);
    expect(keys(j(["list", "--state", "all", "--agent", "b"], env).claims)).toEqual(["task:4", "github:acme/api#2"]);
    expect(keys(j(["list", "--mine", "--as", "a"], env).claims)).toEqual(["github:acme/web#3", "github:acme/api#1"]);
    expect(keys(j(["list", "--mine", "--state", "all"], { ...env, BATON_AGENT: "c" }).claims)).toEqual(["task:5"]);
    expect(keys(j(["list", "--prefix", "github:acme/api", "--state", "all"], env).claims)).toEqual([
      "github:acme/api#2",
      "github:acme/api#1",
    ]);
    expect(keys(j(["list", "--prefix", "github:"], env).claims)).toEqual(["github:acme/web#3", "github:acme/api#1"]);
    expect(keys(j(["list", "--state", "all", "--limit", "2"], env).claims)).toEqual(["task:5", "task:4"]);
    const table = cli(["list", "--state", "all", "--agent", "a"], { env }).stdout.trimEnd().split("\n");
    expect(table[0]).toMatch(/^KEY\s+AGENT\s+TOKEN\s+STATE\s+WHEN$/);
    expect(table[1]).toMatch(/^github:acme\/web#3\s+a\s+\d+\s+active\s+expires in 59m$/);
    expect(table[2]).toMatch(/^github:acme\/api#1\s+a\s+\d+\s+active\s+expires in 59m$/);
    expect(cli(["list", "--state", "expired"], { env }).stdout).toBe("no claims\n");
  });

  it("log: oldest first, every kind, filtered by KEY, --agent, --kind, --since, --limit", async () => {
    const env = dbEnv();
    j(["claim", "k:2", "--as", "a"], env);
    j(["claim", "k:2", "--as", "b"], env, 1); // denied
    j(["renew", "k:2", "--as", "a"], env); // renewed
    j(["complete", "k:2", "--as", "a", "--result", "ok"], env); // completed
    j(["claim", "k:3", "--as", "b"], env);
    j(["release", "k:3", "--as", "b"], env); // released
    j(["claim", "k:4", "--as", "c"], env);
    j(["abandon", "k:4", "--as", "c", "--reason", "stuck"], env); // abandoned
    j(["claim", "k:1", "--as", "a", "--ttl", "1s"], env);
    await waitFor("k:1 to expire", () => stateOf("k:1", env) === "expired");
    const reap = j(["reap", "--min-age", "0s", "--as", "reaper"], env); // reaped
    expect(keys(reap.reaped)).toEqual(["k:1"]);
    const all = j(["log"], env).events;
    expect(kinds(all)).toEqual([
      "granted",
      "denied",
      "renewed",
      "completed",
      "granted",
      "released",
      "granted",
      "abandoned",
      "granted",
      "reaped",
    ]);
    const ids = all.map((e: { id: number }) => e.id);
    expect(ids).toEqual([...ids].sort((x: number, y: number) => x - y));
    expect(all[9]).toMatchObject({ kind: "reaped", key: "k:1", agent: "a", detail: { by: "reaper" } });
    const human = cli(["log"], { env }).stdout.trimEnd().split("\n");
    expect(human).toHaveLength(10);
    expect(human[1]).toMatch(/^\S+Z\s+denied\s+k:2\s+b\s+\(CLAIM_HELD: a\)$/);
    expect(human[3]).toMatch(/completed\s+k:2\s+a\s+token=\d+\s+result="ok"$/);
    expect(human[7]).toMatch(/abandoned\s+k:4\s+c\s+token=\d+\s+reason="stuck"$/);
    expect(human[9]).toMatch(/reaped\s+k:1\s+a\s+token=\d+\s+by=reaper$/);
    expect(kinds(j(["log", "k:2"], env).events)).toEqual(["granted", "denied", "renewed", "completed"]);
    expect(kinds(j(["log", "--agent", "b"], env).events)).toEqual(["denied", "granted", "released"]);
    expect(kinds(j(["log", "k:2", "--agent", "a"], env).events)).toEqual(["granted", "renewed", "completed"]);
    expect(j(["log", "--kind", "denied,reaped"], env).events.map((e: Json) => `${e.kind} ${e.key}`)).toEqual([
      "denied k:2",
      "reaped k:1",
    ]);
    // --limit: the newest N, still oldest first.
    expect(kinds(j(["log", "--limit", "3"], env).events)).toEqual(["abandoned", "granted", "reaped"]);
    expect(j(["log", "k:404"], env).events).toEqual([]);
    expect(cli(["log", "k:404"], { env }).stdout).toBe("no events\n");
    // --since: a window that starts just after k:1's grant (the ninth event) and so
    // holds only the reap, which came at least the 1 s TTL later.
    const grantAt = Date.parse(all[8].at);
    expect(Date.parse(all[9].at) - grantAt).toBeGreaterThanOrEqual(1000);
    const since = Date.now() - grantAt - 100;
    expect(kinds(j(["log", "--since", `${since}ms`], env).events)).toEqual(["reaped"]);
    expect(j(["log", "--since", "1d"], env).events).toHaveLength(10);
  });

  it("check: exit 0 only for the live holder's token", () => {
    const env = dbEnv();
    const g = j(["claim", "deploy:prod", "--as", "a"], env).claim;
    const ok = cli(["check", "deploy:prod", "--token", String(g.token)], { env });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`token ${g.token} holds deploy:prod (a, expires ${g.expiresAt})\n`);
    expect(j(["check", "deploy:prod", "--token", String(g.token)], env)).toMatchObject({ ok: true, claim: { agent: "a" } });
    expect(j(["check", "deploy:prod", "--token", String(g.token + 1)], env, 1)).toMatchObject({ ok: false, code: "TOKEN_STALE" });
    expect(j(["check", "deploy:nope", "--token", "1"], env, 1)).toMatchObject({ ok: false, code: "NOT_FOUND" });
    j(["release", "deploy:prod", "--as", "a"], env);
    expect(j(["check", "deploy:prod", "--token", String(g.token)], env, 1)).toMatchObject({ ok: false, code: "NOT_HOLDER" });
    const b = j(["claim", "deploy:prod", "--as", "b"], env).claim;
    expect(j(["check", "deploy:prod", "--token", String(g.token)], env, 1)).toMatchObject({ code: "TOKEN_STALE" });
    expect(cli(["check", "deploy:prod", "--token", String(b.token)], { env }).code).toBe(0);
    j(["complete", "deploy:prod", "--as", "b"], env);
    expect(j(["check", "deploy:prod", "--token", String(b.token)], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    // check needs no agent and changes nothing.
    expect(kinds(j(["log", "deploy:prod"], env).events)).toEqual(["granted", "released", "granted", "completed"]);
  });

  it("--json prints exactly one JSON object for every command, ok or not", () => {
    const env = dbEnv();
    const calls: [string[], number][] = [
      [["claim", "t:1", "--as", "a"], 0],
      [["claim", "t:1", "--as", "a"], 0],
      [["claim", "t:1", "--as", "b"], 1],
      [["renew", "t:1", "--as", "a"], 0],
      [["renew", "t:1", "--as", "b"], 1],
      [["check", "t:1", "--token", "1"], 0],
      [["check", "t:1", "--token", "2"], 1],
      [["show", "t:1"], 0],
      [["show", "t:2"], 1],
      [["list"], 0],
      [["list", "--state", "all", "--agent", "a", "--prefix", "t:"], 0],
      [["log"], 0],
      [["log", "t:1", "--agent", "b", "--since", "1h", "--limit", "5"], 0],
      [["complete", "t:1", "--as", "a", "--result", "r", "--commit", "abc1234"], 0],
      [["complete", "t:1", "--as", "a"], 1],
      [["claim", "t:1", "--as", "b"], 1],
      [["claim", "t:1", "--as", "b", "--reopen"], 0],
      [["release", "t:1", "--as", "b"], 0],
      [["release", "t:1", "--as", "b"], 1],
      [["claim", "t:3", "--as", "c"], 0],
      [["abandon", "t:3", "--as", "c", "--reason", "x"], 0],
      [["abandon", "t:3", "--as", "c"], 1],
      [["reap", "--min-age", "1h"], 0],
      [["run", "t:4", "--as", "a", "--", process.execPath, "-e", ""], 0],
      [["run", "t:5", "--as", "a", "--", process.execPath, "-e", "process.exit(4)"], 4],
      [["run", "t:4", "--as", "b", "--", process.execPath, "-e", ""], 1],
      [["work-claim", "s1", "t:6"], 0],
      [["work-claim", "s2", "t:6"], 1],
      [["work-list"], 0],
      [["work-complete", "s1", "t:6"], 0],
      [["work-complete", "s1", "t:6"], 1],
      [["work-claim", "s1", "t:7"], 0],
      [["work-abandon", "s1", "t:7"], 0],
      [["work-reap", "--min-age-hours", "24"], 0],
      [["claim", "t:8"], 2],
      [["frobnicate"], 2],
    ];
    for (const [args, code] of calls) {
      const value = j(args, env, code);
      expect(value.ok, args.join(" ")).toBe(code === 0);
      if (code === 2) expect(typeof value.error.code).toBe("string");
      if (code === 1) expect(typeof value.code, args.join(" ")).toBe("string");
    }
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
    expect(j(["renew", "task:1", "--as", "other"], { ...env, BATON_AGENT: "env-agent" }, 1)).toMatchObject({ code: "NOT_HOLDER" });
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
      ["run", ["run", "task:3", "--", process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "x")`]],
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
    for (const args of [["show", "task:1"], ["list"], ["log"], ["check", "task:1", "--token", "1"], ["reap"], ["work-list"]]) {
      expect(cli(args, { env }).code, args.join(" ")).toBe(0);
    }
  });
});

describe.each(["baton", "coordination"] as const)("seed verbs under %s", (name) => {
  it("work-claim, work-list, work-complete, work-abandon, work-reap print the seed's lines", () => {
    const env = dbEnv();
    const bin = binFor(name);
    const run = (args: string[]) => cli(args, { env, bin });
    const key = "github:gptme/gptme#2880";
    expect(run(["work-claim", "session-7f8b", key, "--ttl", "60"])).toMatchObject({
      code: 0,
      stdout: `claimed ${key} (expires in 60 min)\n`,
      stderr: "",
    });
    const held = j(["show", key], env).claim;
    expect(held).toMatchObject({ agent: "session-7f8b", state: "active" });
    expect(Date.parse(held.expiresAt) - Date.parse(held.claimedAt)).toBe(3_600_000);
    const denied = run(["work-claim", "session-9a2c", key, "--ttl", "60"]);
    expect(denied).toMatchObject({ code: 1, stdout: `DENIED: already claimed by session-7f8b (expires ${isoSeconds(held.expiresAt)})\n` });
    expect(denied.stdout).toMatch(/^DENIED: already claimed by session-7f8b \(expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)\n$/);
    // The same session again: still claimed (renewed), same token.
    expect(run(["work-claim", "session-7f8b", key, "--ttl", "90"])).toMatchObject({ code: 0, stdout: `claimed ${key} (expires in 90 min)\n` });
    expect(j(["show", key], env).claim.token).toBe(held.token);
    expect(run(["work-claim", "s3", "task:half", "--ttl", "30s"])).toMatchObject({ code: 0, stdout: "claimed task:half (expires in 0.5 min)\n" });
    const list = run(["work-list"]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines.filter((l) => l.startsWith("github"))).toEqual([
      `${key}  session-7f8b  (expires ${isoSeconds(j(["show", key], env).claim.expiresAt)})`,
    ]);
    expect(run(["work-complete", "session-9a2c", key, "--result", "merged"])).toMatchObject({ code: 1 });
    expect(run(["work-complete", "session-9a2c", key]).stdout).toMatch(/^NOT HELD: session-9a2c does not hold /);
    expect(run(["work-complete", "session-7f8b", key, "--result", "merged"])).toMatchObject({ code: 0, stdout: `completed ${key}\n` });
    expect(j(["show", key], env).claim).toMatchObject({ state: "completed", result: "merged", agent: "session-7f8b" });
    const redo = run(["work-claim", "session-9a2c", key, "--ttl", "60"]);
    expect(redo.code).toBe(1);
    expect(redo.stdout).toMatch(/^DENIED: github:gptme\/gptme#2880 was done by session-7f8b at \S+: merged — verify instead of redoing/);
    expect(run(["work-abandon", "s3", "task:half", "--reason", "superseded"])).toMatchObject({ code: 0, stdout: "abandoned task:half\n" });
    expect(j(["show", "task:half"], env).claim).toMatchObject({ state: "abandoned", reason: "superseded" });
    expect(run(["work-abandon", "s3", "task:half"])).toMatchObject({ code: 1 });
    expect(run(["work-reap", "--min-age-hours", "24"])).toMatchObject({ code: 0, stdout: "reaped 0 stale claims (expired >24h) -> abandoned\n" });
    expect(run(["work-reap"])).toMatchObject({ code: 0, stdout: "reaped 0 stale claims (expired >24h) -> abandoned\n" });
    expect(run(["work-list"])).toMatchObject({ code: 0, stdout: "" });
    expect(kinds(j(["log", key], env).events)).toEqual(["granted", "denied", "renewed", "completed", "denied"]);
  });

  it("the native commands work under the same name, and help names the program", () => {
    const env = dbEnv();
    const bin = binFor(name);
    expect(cli(["claim", "task:1", "--as", "a"], { env, bin }).code).toBe(0);
    expect(cli(["claim", "task:1", "--as", "b"], { env, bin }).code).toBe(1);
    expect(j(["list"], env, 0, { bin }).claims).toHaveLength(1);
    const help = cli(["--help"], { env, bin });
    expect(help.code).toBe(0);
    expect(help.stdout.split("\n")[0]).toBe(`Usage: ${name} [options] [command]`);
    expect(help.stdout).toContain("work-claim [options] <session> <key>");
  });
});

describe("expiry and takeover", () => {
  it("an expired holder cannot renew or complete; another agent takes over with a larger token; reap", async () => {
    const env = dbEnv();
    const a = j(["claim", "lane:1", "--as", "a", "--ttl", "1s"], env).claim;
    j(["claim", "lane:2", "--as", "a", "--ttl", "1s"], env);
    j(["claim", "lane:3", "--as", "c", "--ttl", "1500ms"], env);
    expect(cli(["work-claim", "s9", "lane:4", "--ttl", "1s"], { env, bin: coordination() }).code).toBe(0);
    j(["claim", "lane:5", "--as", "d", "--ttl", "1s"], env);
    await waitFor("every lane to expire", () => j(["list", "--state", "active"], env).claims.length === 0);
    expect(keys(j(["list", "--state", "expired"], env).claims).sort()).toEqual(["lane:1", "lane:2", "lane:3", "lane:4", "lane:5"]);
    // Expired is not live: the old holder cannot act on it; its token no longer checks.
    const renew = cli(["renew", "lane:1", "--as", "a"], { env });
    expect(renew.code).toBe(1);
    expect(renew.stdout).toBe(`a's claim on lane:1 expired at ${a.expiresAt}; claim it again before acting\n`);
    expect(j(["renew", "lane:1", "--as", "a"], env, 1)).toMatchObject({ ok: false, code: "CLAIM_EXPIRED" });
    expect(j(["complete", "lane:1", "--as", "a", "--result", "late"], env, 1)).toMatchObject({ ok: false, code: "CLAIM_EXPIRED" });
    expect(j(["check", "lane:1", "--token", String(a.token)], env, 1)).toMatchObject({ code: "CLAIM_EXPIRED" });
    expect(j(["show", "lane:1"], env).claim).toMatchObject({ state: "expired", agent: "a", result: null });
    // Another agent takes over with a larger token.
    const b = j(["claim", "lane:1", "--as", "b"], env);
    expect(b).toMatchObject({ outcome: "granted", claim: { agent: "b" }, previous: { agent: "a", state: "expired" } });
    expect(b.claim.token).toBeGreaterThan(a.token);
    expect(j(["renew", "lane:1", "--as", "a"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    expect(j(["complete", "lane:1", "--as", "a"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    expect(j(["release", "lane:1", "--as", "a"], env, 1)).toMatchObject({ code: "NOT_HOLDER" });
    expect(j(["check", "lane:1", "--token", String(a.token)], env, 1)).toMatchObject({ code: "TOKEN_STALE" });
    expect(cli(["check", "lane:1", "--token", String(b.claim.token)], { env }).code).toBe(0);
    // Release and abandon still work on my expired claim while nobody took it over.
    expect(j(["release", "lane:2", "--as", "a"], env)).toMatchObject({ outcome: "released" });
    expect(j(["abandon", "lane:3", "--as", "c", "--reason", "gave up"], env)).toMatchObject({ outcome: "abandoned" });
    // Reap honours --min-age, under both names.
    expect(j(["reap"], env).reaped).toEqual([]);
    expect(cli(["reap", "--min-age", "1h"], { env }).stdout).toBe("reaped 0 stale claims (expired >1h) -> abandoned\n");
    expect(cli(["work-reap", "--min-age-hours", "24"], { env, bin: coordination() }).stdout).toBe(
      "reaped 0 stale claims (expired >24h) -> abandoned\n",
    );
    const reaped = cli(["work-reap", "--min-age-hours", "0"], { env, bin: coordination() });
    expect(reaped).toMatchObject({ code: 0, stdout: "reaped 2 stale claims (expired >0h) -> abandoned\n" });
    expect(keys(j(["list", "--state", "abandoned"], env).claims).sort()).toEqual(["lane:3", "lane:4", "lane:5"]);
    expect(j(["list", "--state", "expired"], env).claims).toEqual([]);
    expect(j(["log", "--kind", "reaped"], env).events.map((e: Json) => e.key).sort()).toEqual(["lane:4", "lane:5"]);
    expect(j(["reap", "--min-age", "0s"], env)).toMatchObject({ ok: true, reaped: [] });
    // A reaped loose end can be claimed again, with a larger token.
    const again = j(["claim", "lane:5", "--as", "e"], env);
    expect(again).toMatchObject({ outcome: "granted", previous: { state: "abandoned", agent: "d" } });
    expect(again.claim.token).toBeGreaterThan(b.claim.token);
  });
});

describe("baton run", () => {
  it("renews past its TTL while the command runs, then completes on exit 0", async () => {
    const env = dbEnv();
    const dir = tempDir();
    const worker = workerScript(dir);
    const { done } = spawnCli(
      ["run", "job:1", "--as", "runner", "--ttl", "2s", "--result", "built", "--commit", "abc1234", "--", process.execPath, worker, dir, "2600", "0"],
      env,
    );
    await waitFor("the command to run past the TTL", () => existsSync(join(dir, "ready")));
    const seen = JSON.parse(readFileSync(join(dir, "env.json"), "utf8")) as Json;
    expect(seen).toMatchObject({ key: "job:1", agent: "runner" });
    // From a second process, during the run: still live, still held, under the same token.
    const show = j(["show", "job:1"], env);
    expect(show.claim).toMatchObject({ agent: "runner", state: "active", token: Number(seen.token) });
    const grantedAt = Date.parse(show.events[0].at);
    expect(Date.parse(show.claim.expiresAt)).toBeGreaterThan(grantedAt + 2000);
    expect(cli(["check", "job:1", "--token", String(seen.token)], { env }).code).toBe(0);
    expect(j(["claim", "job:1", "--as", "other"], env, 1)).toMatchObject({ code: "CLAIM_HELD", holder: "runner" });
    writeFileSync(join(dir, "go"), "1");
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^baton: claimed job:1 \(token \d+/);
    expect(result.stderr).toMatch(/baton: completed job:1 \(token \d+, commit abc1234\)\n$/);
    expect(j(["show", "job:1"], env).claim).toMatchObject({ state: "completed", result: "built", commit: "abc1234", token: Number(seen.token) });
    const log = kinds(j(["log", "job:1"], env).events);
    expect(log[0]).toBe("granted");
    expect(log.filter((k) => k === "renewed").length).toBeGreaterThanOrEqual(1);
    expect(log.at(-1)).toBe("completed");
  });

  it("a failing command: released, and its exit code returned", () => {
    const env = dbEnv();
    const r = cli(["run", "job:1", "--as", "a", "--", process.execPath, "-e", "process.exit(7)"], { env });
    expect(r.code).toBe(7);
    expect(j(["show", "job:1"], env).claim).toMatchObject({ state: "released", agent: "a" });
    const json = j(["run", "job:1", "--as", "a", "--", process.execPath, "-e", "process.exit(3)"], env, 3);
    expect(json).toMatchObject({ ok: false, key: "job:1", exitCode: 3, outcome: "released", lost: false });
    const ok = j(["run", "job:1", "--as", "a", "--result", "fine", "--", process.execPath, "-e", ""], env);
    expect(ok).toMatchObject({ ok: true, exitCode: 0, outcome: "completed" });
    expect(kinds(j(["log", "job:1"], env).events)).toEqual(["granted", "released", "granted", "released", "granted", "completed"]);
  });

  it("denied or done: exit 1 and the command never runs; a command that cannot be found: exit 2, nothing claimed", () => {
    const env = dbEnv();
    const marker = join(tempDir(), "ran");
    const touch = ["--", process.execPath, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "x")`];
    j(["claim", "held", "--as", "other"], env);
    const denied = cli(["run", "held", "--as", "a", ...touch], { env });
    expect(denied.code).toBe(1);
    expect(denied.stdout).toMatch(/^denied: held is held by other since /);
    expect(existsSync(marker)).toBe(false);
    j(["claim", "done", "--as", "other"], env);
    j(["complete", "done", "--as", "other"], env);
    const redo = j(["run", "done", "--as", "a", ...touch], env, 1);
    expect(redo).toMatchObject({ code: "CLAIM_DONE" });
    expect(existsSync(marker)).toBe(false);
    expect(j(["show", "held"], env).claim).toMatchObject({ agent: "other", state: "active" });
    const missing = j(["run", "fresh", "--as", "a", "--", "no-such-command-baton-test"], env, 2);
    expect(missing.error).toMatchObject({ code: "BAD_INPUT" });
    expect(j(["show", "fresh"], env, 1)).toMatchObject({ code: "NOT_FOUND" });
    expect(j(["run", "fresh", "--as", "a"], env, 2).error).toMatchObject({ code: "BAD_INPUT" });
    expect(j(["show", "fresh"], env, 1)).toMatchObject({ code: "NOT_FOUND" });
  });

  it("forwards SIGTERM to the command, releases, and exits with the command's code", async () => {
    const env = dbEnv();
    const dir = tempDir();
    const { child, done } = spawnCli(["run", "job:term", "--as", "a", "--", process.execPath, workerScript(dir), dir, "0", "0"], env);
    await waitFor("the command to start", () => existsSync(join(dir, "ready")));
    child.kill("SIGTERM");
    const result = await done;
    expect(result.code).toBe(3);
    expect(existsSync(join(dir, "terminated"))).toBe(true);
    expect(j(["show", "job:term"], env).claim).toMatchObject({ state: "released", agent: "a" });
  });

  it("killed with SIGKILL, leaves a claim that expires and reap turns into a loose end", async () => {
    const env = dbEnv();
    const dir = tempDir();
    const { child, done } = spawnCli(["run", "job:kill", "--as", "a", "--ttl", "1s", "--", process.execPath, workerScript(dir), dir, "0", "0"], env);
    await waitFor("the command to start", () => existsSync(join(dir, "ready")));
    const seen = JSON.parse(readFileSync(join(dir, "env.json"), "utf8")) as Json;
    child.kill("SIGKILL");
    // The orphaned command is ours too (and holds the pipes open): stop it.
    try {
      process.kill(Number(seen.pid), "SIGKILL");
    } catch {
      // already gone
    }
    await done;
    const left = j(["show", "job:kill"], env).claim;
    expect(left).toMatchObject({ agent: "a", token: Number(seen.token) });
    expect(["active", "expired"]).toContain(left.state);
    await waitFor("the claim to expire", () => stateOf("job:kill", env) === "expired");
    expect(j(["reap", "--min-age", "24h"], env).reaped).toEqual([]);
    const reap = cli(["reap", "--min-age", "0s"], { env });
    expect(reap.code).toBe(0);
    const expires = isoSeconds(j(["show", "job:kill"], env).claim.expiresAt);
    expect(reap.stdout).toBe(
      `reaped 1 stale claim (expired >0ms) -> abandoned\n  loose end: job:kill  (a, token ${seen.token}, expired ${expires})\n`,
    );
    expect(j(["show", "job:kill"], env).claim).toMatchObject({ state: "abandoned", agent: "a" });
    expect(kinds(j(["log", "job:kill"], env).events).at(-1)).toBe("reaped");
    expect(keys(j(["list", "--state", "abandoned"], env).claims)).toEqual(["job:kill"]);
  });
});

// Where the database lives by default: test/registry-location.test.ts.

describe("configuration", () => {
  it("resolves flags > environment > .baton/config.json > defaults", () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".baton"));
    writeFileSync(join(dir, ".baton", "config.json"), JSON.stringify({ agent: "file-agent", db: "from-file.db", defaultTtl: "5m" }));
    const sub = join(dir, "a", "b");
    mkdirSync(sub, { recursive: true });
    const fileDb = { BATON_DB: join(dir, "from-file.db") };
    // File only (found from a subfolder; its db is relative to the folder holding .baton/).
    const fromFile = j(["claim", "t:1"], {}, 0, { cwd: sub });
    expect(fromFile.claim.agent).toBe("file-agent");
    expect(Date.parse(fromFile.claim.expiresAt) - Date.parse(fromFile.claim.claimedAt)).toBe(300_000);
    expect(existsSync(join(dir, "from-file.db"))).toBe(true);
    expect(existsSync(join(sub, "from-file.db"))).toBe(false);
    // Environment beats the file.
    const envDb = join(dir, "from-env.db");
    const fromEnv = j(["claim", "t:2"], { BATON_AGENT: "env-agent", BATON_DB: envDb }, 0, { cwd: sub });
    expect(fromEnv.claim.agent).toBe("env-agent");
    expect(keys(j(["list"], { BATON_DB: envDb }).claims)).toEqual(["t:2"]);
    expect(keys(j(["list"], fileDb).claims)).toEqual(["t:1"]);
    // Flags beat the environment (and --ttl beats defaultTtl).
    const flagDb = join(dir, "from-flag.db");
    const fromFlag = j(["claim", "t:3", "--as", "flag-agent", "--db", flagDb, "--ttl", "2h"], { BATON_AGENT: "env-agent", BATON_DB: envDb }, 0, { cwd: sub });
    expect(fromFlag.claim.agent).toBe("flag-agent");
    expect(Date.parse(fromFlag.claim.expiresAt) - Date.parse(fromFlag.claim.claimedAt)).toBe(7_200_000);
    expect(keys(j(["list"], { BATON_DB: flagDb }).claims)).toEqual(["t:3"]);
    expect(keys(j(["list"], { BATON_DB: envDb }).claims)).toEqual(["t:2"]);
    // Defaults: no file, no env: 60 minutes, and an agent is required.
    const plain = tempDir();
    expect(j(["claim", "t:4"], {}, 2, { cwd: plain }).error.code).toBe("MISSING_AGENT");
    const d = j(["claim", "t:4", "--as", "x"], {}, 0, { cwd: plain }).claim;
    expect(Date.parse(d.expiresAt) - Date.parse(d.claimedAt)).toBe(3_600_000);
    // BATON_CONFIG names the file explicitly.
    const explicit = join(plain, "baton.json");
    writeFileSync(explicit, JSON.stringify({ agent: "explicit-agent" }));
    expect(j(["claim", "t:5"], { BATON_CONFIG: explicit }, 0, { cwd: plain }).claim.agent).toBe("explicit-agent");
  });

  it("a bad config file or setting exits 2 (BAD_CONFIG) and changes nothing", () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".baton"));
    const env = { BATON_DB: join(dir, "c.db") };
    j(["claim", "t:1", "--as", "a"], env, 0, { cwd: dir });
    const before = snapshot(env);
    const bad: [string, string][] = [
      ['{"agnet":"typo"}', "unknown setting agnet"],
      ["{not json", "cannot read the config file"],
      ['{"agent":42}', "agent: expected string"],
      ['{"sqliteSync":"sometimes"}', "sqliteSync"],
    ];
    for (const [text, message] of bad) {
      writeFileSync(join(dir, ".baton", "config.json"), text);
      const r = j(["claim", "t:2", "--as", "a"], env, 2, { cwd: dir });
      expect(r.error.code, text).toBe("BAD_CONFIG");
      expect(r.error.message, text).toContain(message);
    }
    writeFileSync(join(dir, ".baton", "config.json"), "{}");
    expect(j(["claim", "t:2", "--as", "a"], { ...env, BATON_SQLITE_SYNC: "sometimes" }, 2, { cwd: dir }).error.code).toBe("BAD_CONFIG");
    expect(j(["claim", "t:2", "--as", "a"], { ...env, BATON_CONFIG: join(dir, "missing.json") }, 2, { cwd: dir }).error.code).toBe("BAD_CONFIG");
    expect(j(["claim", "t:2", "--as", "a"], { ...env, BATON_DATABASE_URL: "mysql://x" }, 2, { cwd: dir }).error.code).toBe("BAD_CONFIG");
    expect(j(["claim", "t:2", "--as", "a", "--db", "x.db", "--database-url", "postgres://x/y"], env, 2, { cwd: dir }).error.code).toBe(
      "BAD_OPTION",
    );
    expect(snapshot(env)).toBe(before);
  });
});

describe("bad input", () => {
  const marker = join(tempDir(), "ran");
  const node = process.execPath;
  const touch = ["--", node, "-e", `require("fs").writeFileSync(${JSON.stringify(marker)}, "x")`];
  const cases: [string, string[], string, Env?][] = [
    ["control character in a key", ["claim", "bad\u0001key", "--as", "a"], "BAD_KEY"],
    ["600-character key", ["claim", "k".repeat(600), "--as", "a"], "BAD_KEY"],
    ["blank key", ["claim", "   ", "--as", "a"], "BAD_KEY"],
    ["bad key on show", ["show", "x\u0007"], "BAD_KEY"],
    ["bad key on check", ["check", "k".repeat(513), "--token", "1"], "BAD_KEY"],
    ["agent with a space", ["claim", "task:2", "--as", "bad agent"], "BAD_AGENT"],
    ["129-character agent", ["claim", "task:2", "--as", "a".repeat(129)], "BAD_AGENT"],
    ["bad BATON_AGENT", ["claim", "task:2"], "BAD_AGENT", { BATON_AGENT: "no!" }],
    ["bad --agent on list", ["list", "--agent", "a b"], "BAD_AGENT"],
    ["bad --as on reap", ["reap", "--as", "a b"], "BAD_AGENT"],
    ["--ttl 5x", ["claim", "task:2", "--as", "a", "--ttl", "5x"], "BAD_DURATION"],
    ["--ttl 0", ["claim", "task:2", "--as", "a", "--ttl", "0"], "BAD_DURATION"],
    ["--ttl over ten years", ["claim", "task:2", "--as", "a", "--ttl", "5000d"], "BAD_DURATION"],
    ["--ttl on renew", ["renew", "task:1", "--as", "a", "--ttl", "soon"], "BAD_DURATION"],
    ["--ttl on run", ["run", "task:2", "--as", "a", "--ttl", "5x", ...touch], "BAD_DURATION"],
    ["--ttl on work-claim", ["work-claim", "s", "task:2", "--ttl", "1y"], "BAD_DURATION"],
    ["--since", ["log", "--since", "whenever"], "BAD_DURATION"],
    ["negative --min-age", ["reap", "--min-age", "-1h"], "BAD_DURATION"],
    ["--min-age-hours", ["work-reap", "--min-age-hours", "abc"], "BAD_DURATION"],
    ["--meta not JSON", ["claim", "task:2", "--as", "a", "--meta", "{oops"], "BAD_META"],
    ["--meta not an object", ["claim", "task:2", "--as", "a", "--meta", "[1]"], "BAD_META"],
    ["--meta over 16 KiB", ["claim", "task:2", "--as", "a", "--meta", JSON.stringify({ x: "y".repeat(17_000) })], "BAD_META"],
    ["--commit not hex", ["complete", "task:1", "--as", "a", "--commit", "nope"], "BAD_INPUT"],
    ["--result too long", ["complete", "task:1", "--as", "a", "--result", "r".repeat(5000)], "BAD_INPUT"],
    ["--reason too long", ["abandon", "task:1", "--as", "a", "--reason", "r".repeat(5000)], "BAD_INPUT"],
    ["run without a command", ["run", "task:2", "--as", "a"], "BAD_INPUT"],
    ["run a command that does not exist", ["run", "task:2", "--as", "a", "--", "no-such-command-baton-test"], "BAD_INPUT"],
    ["--token not a number", ["check", "task:1", "--token", "abc"], "BAD_TOKEN"],
    ["--token 0", ["check", "task:1", "--token", "0"], "BAD_TOKEN"],
    ["--token missing", ["check", "task:1"], "BAD_OPTION"],
    ["bad --state", ["list", "--state", "sideways"], "BAD_OPTION"],
    ["bad --limit", ["list", "--limit", "many"], "BAD_OPTION"],
    ["--limit 0 on log", ["log", "--limit", "0"], "BAD_OPTION"],
    ["bad --kind", ["log", "--kind", "exploded"], "BAD_OPTION"],
    ["--mine with --agent", ["list", "--mine", "--agent", "b", "--as", "a"], "BAD_OPTION"],
    ["bad --similar", ["claim", "task:2", "--as", "a", "--similar", "maybe"], "BAD_OPTION"],
    ["bad --outcome", ["complete", "task:1", "--as", "a", "--outcome", "meh"], "BAD_OPTION"],
    ["unknown option", ["claim", "task:2", "--as", "a", "--bogus"], "BAD_OPTION"],
    ["missing argument", ["claim", "--as", "a"], "BAD_OPTION"],
    ["missing seed argument", ["work-claim", "s"], "BAD_OPTION"],
    ["unknown command", ["frobnicate"], "UNKNOWN_COMMAND"],
    ["bad seed session", ["work-claim", "bad session", "task:2"], "BAD_AGENT"],
    ["missing agent", ["claim", "task:2"], "MISSING_AGENT"],
  ];

  it("each exits 2 with its stable code in one JSON object, and the database is unchanged", () => {
    const env = dbEnv();
    j(["claim", "task:1", "--as", "a", "--meta", '{"n":1}'], env);
    j(["claim", "task:1", "--as", "b"], env, 1);
    const before = snapshot(env);
    for (const [what, args, code, extra] of cases) {
      const r = cli(withJson(args), { env: { ...env, ...extra } });
      expect(r.code, `${what}: ${r.stdout}${r.stderr}`).toBe(2);
      const value = one(r);
      expect(value, what).toMatchObject({ ok: false, error: { code } });
      expect(typeof value.error.message, what).toBe("string");
    }
    expect(existsSync(marker)).toBe(false);
    expect(snapshot(env)).toBe(before);
  });

  it("each exits 2 with a message on stderr, prints nothing on stdout, and never creates a database", () => {
    const dir = tempDir();
    const env = { BATON_DB: join(dir, "never.db") };
    for (const [what, args, , extra] of cases) {
      const r = cli(args, { env: { ...env, ...extra } });
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stdout, what).toBe("");
      expect(r.stderr, what).toMatch(/^Error: \S/);
    }
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(dir, "never.db"))).toBe(false);
  });

  it("the unknown command points at the program's own --help; under coordination too", () => {
    const env = dbEnv();
    for (const [name, bin] of [["baton", CLI], ["coordination", coordination()]] as const) {
      const r = cli(["frobnicate"], { env, bin });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^Error: unknown command 'frobnicate'/);
      expect(r.stderr).toContain(`(run ${name} --help for the list)`);
      expect(cli(["work-claim", "bad session", "k", "--json"], { env, bin })).toMatchObject({ code: 2 });
    }
    expect(existsSync(env.BATON_DB as string)).toBe(false);
  });
});

describe("exit codes", () => {
  it("0 done, 1 the expected no, 2 bad input, 3 a store that cannot be used; --json errors carry code", () => {
    const env = dbEnv();
    expect(cli(["claim", "task:1", "--as", "a"], { env }).code).toBe(0);
    const no = j(["claim", "task:1", "--as", "b"], env, 1);
    expect(no).toMatchObject({ ok: false, code: "CLAIM_HELD" });
    const bad = j(["claim", "task:1", "--as", "b", "--ttl", "5x"], env, 2);
    expect(bad).toEqual({ ok: false, error: expect.objectContaining({ code: "BAD_DURATION", message: expect.any(String) }) });
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

describe("invalid settings", () => {
  it("names the variable or the config file for a bad duration setting (BAD_CONFIG), creating nothing", () => {
    const dir = tempDir();
    const db = join(dir, "never.db");
    const env = cli(["claim", "k", "--as", "a", "--json"], { env: { BATON_DB: db, BATON_BUSY_TIMEOUT: "bogus" } });
    expect(env.code).toBe(2);
    expect(JSON.parse(env.stdout).error).toMatchObject({ code: "BAD_CONFIG" });
    expect(JSON.parse(env.stdout).error.message).toContain("BATON_BUSY_TIMEOUT");
    mkdirSync(join(dir, ".baton"));
    writeFileSync(join(dir, ".baton", "config.json"), JSON.stringify({ defaultTtl: "bogus" }));
    const file = cli(["claim", "k", "--as", "a", "--json", "--db", db], { cwd: dir });
    expect(file.code).toBe(2);
    expect(JSON.parse(file.stdout).error.message).toContain("defaultTtl in");
    expect(existsSync(db)).toBe(false);
  });
});
