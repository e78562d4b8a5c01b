/**
 * Harness hooks over HTTP (`POST /v1/hooks/<event>`, src/surfaces/http/http-hooks.ts) against
 * a real `baton serve`: the JSON Claude Code POSTs for SessionStart, PreToolUse and SessionEnd,
 * the token deciding the agent, the same answer body as `baton hook claude …` prints, and the
 * failure semantics (fail open by default, an edit refused with hookFailure "closed", 401
 * without a token).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, cleanEnv, cli, tempDir } from "./helpers.js";

interface Server {
  url: string;
  child: ChildProcess;
}

async function startServer(env: Record<string, string>, cwd: string): Promise<Server> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--no-reap"], {
    env: cleanEnv(env),
    cwd,
    stdio: ["ignore", "pipe", "ignore"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /^listening on (\S+)\n/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`baton serve exited ${code}`)));
  });
  return { url, child };
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  await new Promise((resolve) => {
    server.child.once("exit", resolve);
    server.child.kill("SIGTERM");
  });
}

function token(env: Record<string, string>, agent: string): string {
  const r = cli(["tokens", "add", agent, "--json"], { env });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { token: string }).token;
}

/** The agent's checkout as its harness names it: a path on the agent's machine, not the server's. */
const ROOT = "/home/agent/work/app";
const REPO = "root:0123456789abcdef0123456789abcdef01234567";

const edit = (session: string, file: string) => ({
  session_id: session,
  transcript_path: `/home/agent/.claude/projects/app/${session}.jsonl`,
  cwd: ROOT,
  permission_mode: "default",
  hook_event_name: "PreToolUse",
  tool_name: "Edit",
  tool_input: { file_path: file, old_string: "a", new_string: "b" },
});

async function hook(
  server: Server,
  path: string,
  body: unknown,
  bearer?: string,
): Promise<{ status: number; text: string; json: Record<string, unknown> | null; failure: string | null }> {
  const r = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
    },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  return {
    status: r.status,
    text,
    json: text.trim() === "" ? null : (JSON.parse(text) as Record<string, unknown>),
    failure: r.headers.get("x-baton-hook-failure"),
  };
}

describe("harness hooks over HTTP", () => {
  const dir = tempDir("baton-http-hooks-");
  const db = join(dir, "baton.db");
  const env = { BATON_DB: db };
  let server: Server;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    alice = token(env, "alice");
    bob = token(env, "bob");
    server = await startServer(env, dir);
  });
  afterAll(async () => {
    await stop(server);
  });

  it("pre-tool-use: the first agent's edit claims the file, another's is refused naming the holder", async () => {
    const first = await hook(
      server,
      `/v1/hooks/pre-tool-use?repo=${REPO}`,
      edit("s-alice", `${ROOT}/src/app.ts`),
      alice,
    );
    // Allowed: an empty 200, as the CLI hook prints nothing on stdout.
    expect(first).toMatchObject({ status: 200, text: "", failure: null });
    const handle = new Database(db, { readonly: true });
    expect(handle.prepare("SELECT repo, pattern, agent, state FROM path_claims").all()).toEqual([
      { repo: REPO, pattern: "src/app.ts", agent: "alice", state: "active" },
    ]);
    handle.close();
    const second = await hook(server, `/v1/hooks/pre-tool-use?repo=${REPO}`, edit("s-bob", `${ROOT}/src/app.ts`), bob);
    expect(second.status).toBe(200);
    const output = second.json?.hookSpecificOutput as Record<string, string>;
    expect(output).toMatchObject({ hookEventName: "PreToolUse", permissionDecision: "deny" });
    expect(output.permissionDecisionReason).toContain("alice");
    expect(output.permissionDecisionReason).toContain("src/app.ts");
    // A tool that writes no file, and a file outside the checkout: nothing to check.
    expect(
      await hook(
        server,
        `/v1/hooks/pre-tool-use?repo=${REPO}`,
        { ...edit("s-bob", ""), tool_name: "Bash", tool_input: { command: "ls" } },
        bob,
      ),
    ).toMatchObject({ status: 200, text: "" });
    expect(await hook(server, `/v1/hooks/pre-tool-use?repo=${REPO}`, edit("s-bob", "/etc/hosts"), bob)).toMatchObject({
      status: 200,
      text: "",
    });
    // Gemini CLI's format on request.
    const gemini = await hook(
      server,
      `/v1/hooks/pre-tool-use?repo=${REPO}&harness=gemini`,
      { ...edit("g", `${ROOT}/src/app.ts`), tool_name: "write_file", tool_input: { file_path: `${ROOT}/src/app.ts` } },
      bob,
    );
    expect(gemini.json).toMatchObject({ decision: "deny" });
  });

  it("session-start: the context for the token's agent", async () => {
    const r = await hook(
      server,
      "/v1/hooks/session-start",
      { session_id: "s-alice", cwd: ROOT, hook_event_name: "SessionStart", source: "startup" },
      alice,
    );
    expect(r.status).toBe(200);
    const output = r.json?.hookSpecificOutput as Record<string, string>;
    expect(output.hookEventName).toBe("SessionStart");
    expect(output.additionalContext).toContain("You are agent alice");
  });

  it("session-end: releases the agent's path claims in ?repo= and leaves its work claims as loose ends", async () => {
    const claimed = await fetch(`${server.url}/v1/claim`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${alice}` },
      body: JSON.stringify({ key: "issue-7" }),
    });
    expect(claimed.status).toBe(200);
    const r = await hook(
      server,
      `/v1/hooks/session-end?repo=${REPO}`,
      { session_id: "s-alice", cwd: ROOT, hook_event_name: "SessionEnd", reason: "exit" },
      alice,
    );
    expect(r).toMatchObject({ status: 200, text: "" });
    const handle = new Database(db, { readonly: true });
    expect(handle.prepare("SELECT state FROM path_claims WHERE agent = 'alice'").all()).toEqual([
      { state: "released" },
    ]);
    expect(handle.prepare("SELECT state, reason FROM claims WHERE key = 'issue-7'").get()).toEqual({
      state: "abandoned",
      reason: "session ended",
    });
    handle.close();
    // The file is free: bob's edit goes through now.
    expect(
      await hook(server, `/v1/hooks/pre-tool-use?repo=${REPO}`, edit("s-bob", `${ROOT}/src/app.ts`), bob),
    ).toMatchObject({ status: 200, text: "" });
  });

  it("never reads the server's filesystem at the agent's paths: a link there is not followed", async () => {
    // The agent's root names a folder that exists on the server, with a link out of it.
    const agentRoot = tempDir("baton-http-hooks-agent-");
    symlinkSync("/etc", join(agentRoot, "alias"));
    const r = await hook(
      server,
      `/v1/hooks/pre-tool-use?repo=${REPO}&root=${agentRoot}`,
      { ...edit("s-alice", `${agentRoot}/alias/passwd`), cwd: agentRoot },
      alice,
    );
    expect(r).toMatchObject({ status: 200, text: "", failure: null });
    const handle = new Database(db, { readonly: true });
    expect(handle.prepare("SELECT pattern FROM path_claims WHERE agent = 'alice' AND state = 'active'").all()).toEqual([
      { pattern: "alias/passwd" },
    ]);
    handle.close();
  });

  it("fails open when it cannot decide, answers 401 without a token, 404 for an unknown hook", async () => {
    const noRepo = await hook(server, "/v1/hooks/pre-tool-use", edit("s-alice", `${ROOT}/src/other.ts`), alice);
    expect(noRepo).toMatchObject({ status: 200, text: "" });
    expect(noRepo.failure).toContain("BAD_INPUT");
    expect(noRepo.failure).toContain("?repo=");
    expect((await hook(server, `/v1/hooks/pre-tool-use?repo=${REPO}`, edit("x", `${ROOT}/a`))).status).toBe(401);
    expect((await hook(server, "/v1/hooks/post-tool-use", {}, alice)).status).toBe(404);
  });

  it('with hookFailure "closed" in the server\'s config, an edit it cannot check is refused', async () => {
    const closedDir = tempDir("baton-http-hooks-closed-");
    mkdirSync(join(closedDir, ".baton"));
    writeFileSync(join(closedDir, ".baton", "config.json"), JSON.stringify({ hookFailure: "closed" }));
    const closedEnv = { BATON_DB: join(closedDir, "baton.db") };
    const t = token(closedEnv, "carol");
    const closed = await startServer(closedEnv, closedDir);
    try {
      const r = await hook(closed, "/v1/hooks/pre-tool-use", edit("s-carol", `${ROOT}/src/app.ts`), t);
      expect(r.status).toBe(200);
      expect(r.json?.hookSpecificOutput).toMatchObject({ permissionDecision: "deny" });
      expect(r.failure).toContain("BAD_INPUT");
    } finally {
      await stop(closed);
    }
  });
});
