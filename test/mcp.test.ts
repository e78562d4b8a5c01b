/**
 * `baton mcp`: the catalogue's operations as MCP tools. In process over the SDK's
 * in-memory transport (every tool: granted, the expected "no" as a tool error with the
 * holder, bad arguments as invalid params with nothing changed), the whole tool list
 * within 3,000 cl100k tokens, and the real server as subprocesses over stdio racing.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { encode } from "gpt-tokenizer/encoding/cl100k_base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Baton, openBaton } from "../src/baton.js";
import { CATALOGUE, CHECKOUT_FIELDS } from "../src/api/catalogue.js";
import type { z } from "zod";
import { inputError } from "../src/api/input-errors.js";

/** The catalogue's operations that are MCP tools (the others are the CLI's and HTTP's only). */
const TOOLS = CATALOGUE.filter((o) => o.tool !== false);
import { createMcpServer, toolsFor } from "../src/surfaces/mcp/mcp-server.js";
import { CLI, ROOT, cleanEnv, cli, dumpSqlite, gitSpy, tempDir } from "./helpers.js";

type ToolAnswer = {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
};

function gitRepo(): string {
  const dir = tempDir("baton-mcp-repo-");
  const env = cleanEnv({
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@e",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@e",
  });
  const git = (...args: string[]) => {
    const r = spawnSync("git", args, { cwd: dir, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
  };
  git("init", "-q", "-b", "main");
  mkdirSync(join(dir, "src", "auth"), { recursive: true });
  writeFileSync(join(dir, "src", "auth", "login.ts"), "export {};\n");
  git("add", "-A");
  git("commit", "-q", "-m", "init");
  return dir;
}

describe("MCP tools in process", () => {
  const repo = gitRepo();
  const db = join(tempDir("baton-mcp-db-"), "baton.db");
  let baton: Baton;
  const clients: Client[] = [];

  async function connect(agent: string): Promise<Client> {
    const server = createMcpServer(baton, { agent, cwd: repo, local: true });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: `test-${agent}`, version: "1.0.0" });
    await client.connect(clientSide);
    clients.push(client);
    return client;
  }
  const call = async (client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> =>
    (await client.callTool({ name, arguments: args })) as ToolAnswer;

  beforeAll(async () => {
    baton = await openBaton({ db });
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await baton.close();
  });

  it("lists every catalogue operation as a tool with true annotations, within 3,000 tokens", async () => {
    const client = await connect("lister");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOLS.map((o) => o.name));
    for (const tool of tools) {
      const operation = CATALOGUE.find((o) => o.name === tool.name);
      expect(tool.annotations?.readOnlyHint === true, tool.name).toBe(operation?.mutates === false);
      if (operation?.mutates)
        expect(tool.annotations?.destructiveHint !== false, tool.name).toBe(operation.destructive);
      expect(tool.outputSchema, tool.name).toBeDefined();
      expect(tool.description?.includes("--"), `${tool.name} description names a CLI flag`).toBe(false);
    }
    const tokens = encode(JSON.stringify({ tools })).length;
    expect(tokens).toBeLessThan(3000);
    // The fields kept out of tools are not offered; with the checkout here, neither is the repository identity.
    for (const tool of tools) {
      const hidden = [...(CATALOGUE.find((o) => o.name === tool.name)?.toolHidden ?? []), ...CHECKOUT_FIELDS];
      for (const field of hidden)
        expect(Object.keys(tool.inputSchema.properties ?? {}), tool.name).not.toContain(field);
    }
    // Without the checkout (a remote server), the local tools are not offered; path claims name their repository.
    const remote = toolsFor({ local: false });
    expect(remote.map((t) => t.name)).not.toContain("probe");
    expect(Object.keys(remote.find((t) => t.name === "paths_claim")?.inputSchema.properties ?? {})).toContain("repo");
  });

  it("claims, denies the second agent as a tool error naming the holder, and completes", async () => {
    const a = await connect("agent-a");
    const b = await connect("agent-b");
    const granted = await call(a, "claim", { key: "task:42", ttl: "10m" });
    expect(granted.isError).toBeUndefined();
    expect(granted.structuredContent).toMatchObject({
      ok: true,
      data: { claim: { key: "task:42", agent: "agent-a" } },
    });

    const denied = await call(b, "claim", { key: "task:42" });
    expect(denied.isError).toBe(true);
    expect(denied.structuredContent).toMatchObject({ ok: false, code: "CLAIM_HELD", holder: { agent: "agent-a" } });
    expect(denied.content[0]?.text).toMatch(/^CLAIM_HELD: .*agent-a/);
    expect(denied.content[0]?.text).toContain("Next step: pick other work (call next)");
    expect(denied.content[0]?.text).not.toMatch(/--[a-z]/);

    expect((await call(b, "complete", { key: "task:42" })).structuredContent).toMatchObject({
      ok: false,
      code: "NOT_HOLDER",
    });
    expect((await call(a, "renew", { key: "task:42", ttl: "20m" })).structuredContent).toMatchObject({ ok: true });
    expect((await call(a, "note", { key: "task:42", text: "half way" })).structuredContent).toMatchObject({ ok: true });
    expect((await call(a, "show", { key: "task:42" })).structuredContent).toMatchObject({
      ok: true,
      data: { claim: { agent: "agent-a" } },
    });
    expect((await call(a, "list", { mine: true })).structuredContent).toMatchObject({
      data: { claims: [{ key: "task:42" }] },
    });
    expect((await call(a, "complete", { key: "task:42", result: "fixed" })).structuredContent).toMatchObject({
      ok: true,
    });

    const done = await call(b, "claim", { key: "task:42" });
    expect(done.structuredContent).toMatchObject({ ok: false, code: "CLAIM_DONE" });
    expect(done.content[0]?.text).toContain("call verify");
    expect((await call(b, "verify", { key: "task:42" })).structuredContent).toMatchObject({ ok: true });

    expect((await call(a, "claim", { key: "task:45" })).structuredContent).toMatchObject({ ok: true });
    expect((await call(b, "handoff", { key: "task:45", to: "agent-c" })).structuredContent).toMatchObject({
      ok: false,
      code: "NOT_HOLDER",
    });
    const handed = await call(a, "handoff", { key: "task:45", to: "agent-b", note: "tests left" });
    expect(handed.structuredContent).toMatchObject({ ok: true, data: { claim: { agent: "agent-b" } } });
    expect((await call(b, "complete", { key: "task:45" })).structuredContent).toMatchObject({ ok: true });
    expect((await call(a, "claim", { key: "task:43" })).structuredContent).toMatchObject({ ok: true });
    expect((await call(a, "release", { key: "task:43" })).structuredContent).toMatchObject({ ok: true });
    expect((await call(a, "claim", { key: "task:44" })).structuredContent).toMatchObject({ ok: true });
    expect((await call(a, "abandon", { key: "task:44", reason: "blocked" })).structuredContent).toMatchObject({
      ok: true,
    });
    const context = await call(b, "context");
    expect(context.content[0]?.text).toContain("task:44");
    expect((await call(b, "resolve", { key: "task:43" })).structuredContent).toMatchObject({
      ok: false,
      code: "NOT_LOOSE_END",
    });
    expect((await call(b, "resolve", { key: "task:44", note: "api key arrived" })).structuredContent).toMatchObject({
      ok: true,
    });
    expect((await call(b, "context")).content[0]?.text).not.toContain("task:44");
  });

  it("path claims conflict as a tool error with the holder; probe and sync_check answer", async () => {
    const a = await connect("paths-a");
    const b = await connect("paths-b");
    expect(
      (await call(a, "paths_claim", { paths: ["src/auth/"], reason: "auth rewrite" })).structuredContent,
    ).toMatchObject({
      ok: true,
    });
    const conflict = await call(b, "paths_claim", { paths: ["src/auth/login.ts"] });
    expect(conflict.isError).toBe(true);
    expect(conflict.structuredContent).toMatchObject({ code: "PATH_CONFLICT", holder: { agent: "paths-a" } });
    const withWork = await call(b, "claim", { key: "task:paths", paths: ["src/auth/login.ts"] });
    expect(withWork.structuredContent).toMatchObject({ ok: false, code: "PATH_CONFLICT" });
    expect((await call(b, "show", { key: "task:paths" })).structuredContent).toMatchObject({ data: { claim: null } });
    const probe = await call(b, "probe", { paths: ["src/auth/"] });
    expect(probe.structuredContent).toMatchObject({ ok: false, code: "PATHS_BUSY" });
    expect((await call(a, "paths_release", {})).structuredContent).toMatchObject({ ok: true });
    expect(
      (await call(b, "claim", { key: "task:paths", paths: ["src/auth/login.ts"] })).structuredContent,
    ).toMatchObject({
      ok: true,
      data: { paths: [{ pattern: "src/auth/login.ts" }] },
    });
    const sync = await call(b, "sync_check", { fetch: false });
    expect(sync.structuredContent?.ok === true || sync.structuredContent?.code === "OUT_OF_SYNC").toBe(true);
  });

  it("backlog, next, supply and gates", async () => {
    const a = await connect("backlog-a");
    expect((await call(a, "task_add", { id: "t1", title: "First", priority: 90 })).structuredContent).toMatchObject({
      ok: true,
    });
    expect((await call(a, "task_add", { id: "t1", title: "Again" })).structuredContent).toMatchObject({
      code: "TASK_EXISTS",
    });
    expect((await call(a, "task_show", { id: "t1" })).structuredContent).toMatchObject({
      data: { task: { id: "t1" } },
    });
    expect((await call(a, "task_show", { id: "nope" })).structuredContent).toMatchObject({ code: "TASK_NOT_FOUND" });
    expect((await call(a, "task_list", { state: "ready" })).structuredContent).toMatchObject({
      data: { tasks: [{ id: "t1" }] },
    });
    expect((await call(a, "next")).structuredContent).toMatchObject({ ok: true, data: { task: { id: "t1" } } });
    const none = await call(a, "next");
    expect(none.structuredContent).toMatchObject({ ok: false, code: "NOTHING_READY" });
    expect(none.content[0]?.text).toContain("call supply");
    expect((await call(a, "supply")).structuredContent).toMatchObject({ ok: true, data: { claimed: 1 } });
    expect((await call(a, "gate_check", { key: "notify:x" })).structuredContent).toMatchObject({
      data: { done: false },
    });
    expect((await call(a, "gate_mark", { key: "notify:x", note: "sent" })).structuredContent).toMatchObject({
      ok: true,
    });
    expect((await call(a, "gate_check", { key: "notify:x" })).structuredContent).toMatchObject({
      data: { done: true },
    });
  });

  it("bad arguments are invalid params with the reason, and change nothing", async () => {
    const a = await connect("bad-input");
    const before = dumpSqlite(db);
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ["claim", {}, /key/],
      ["claim", { key: 42 }, /key/],
      ["claim", { key: "task:1", ttl: "soon" }, /duration|ttl/i],
      ["claim", { key: "task:1", surprise: true }, /surprise|unrecognized/i],
      ["claim", { key: "task:\u0007" }, /key/i],
      ["claim", { key: "task:1", paths: ["../outside"] }, /outside|escape|repository/i],
      ["claim", { key: "task:1", meta: "not an object" }, /meta/],
      ["renew", { key: "task:1", ttl: "-5m" }, /duration|ttl/i],
      ["task_add", { id: "t 2", title: "x" }, /task id/i],
      ["task_add", { id: "t2", title: "x", priority: 101 }, /priority/],
      ["context", { budget: 5 }, /budget/],
      ["nonexistent_tool", {}, /unknown tool/],
    ];
    for (const [name, args, reason] of bad) {
      const error = await a.callTool({ name, arguments: args }).then(
        (r) => new Error(`${name} ${JSON.stringify(args)} answered ${JSON.stringify(r)}`),
        (e: unknown) => e,
      );
      expect(error, `${name} ${JSON.stringify(args)}`).toMatchObject({ code: -32602 });
      expect(String((error as Error).message), `${name} ${JSON.stringify(args)}`).toMatch(reason);
    }
    // A schema's refusal is worded as on every surface (src/api/input-errors.ts): the in-process API and HTTP too.
    const refused = CATALOGUE.find((o) => o.name === "claim")
      ?.input.strict()
      .safeParse({ key: 42 });
    const worded = inputError("claim", refused?.error as z.ZodError).message;
    expect(worded).toMatch(/^claim: key: /);
    const error = await a.callTool({ name: "claim", arguments: { key: 42 } }).catch((e: unknown) => e);
    expect(String((error as Error).message)).toContain(worded);
    expect(dumpSqlite(db)).toBe(before);
  });
});

describe("baton mcp over stdio", () => {
  const db = join(tempDir("baton-mcp-stdio-"), "baton.db");

  it("refuses to start without an agent, saying how to set one", () => {
    const r = cli(["mcp"], { env: { BATON_DB: db } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("BATON_AGENT");
  });

  it("answers the MCP Inspector's CLI, an outside client: tools/list and tools/call", () => {
    const inspector = join(ROOT, "node_modules", "@modelcontextprotocol", "inspector", "cli", "build", "cli.js");
    const env = cleanEnv({ BATON_DB: db, BATON_AGENT: "inspector-1" });
    const run = (...args: string[]) => {
      const r = spawnSync(process.execPath, [inspector, "--cli", process.execPath, CLI, "mcp", ...args], {
        env,
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const listed = run("--method", "tools/list") as { tools: { name: string }[] };
    expect(listed.tools.map((t) => t.name)).toEqual(TOOLS.map((o) => o.name));
    const called = run("--method", "tools/call", "--tool-name", "claim", "--tool-arg", "key=inspector:1");
    expect(called).toMatchObject({
      structuredContent: { ok: true, data: { claim: { key: "inspector:1", agent: "inspector-1" } } },
    });
  });

  it("over stdio, the checkout's repository is looked up once: next runs no git per call", async () => {
    const spy = gitSpy();
    const repo = gitRepo();
    const served = join(tempDir("baton-mcp-git-"), "baton.db");
    const seeded = cli(["task", "add", "p1", "--title", "touches src", "--paths", "src/"], {
      env: { BATON_DB: served },
      cwd: repo,
    });
    expect(seeded.code, seeded.stderr).toBe(0);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "mcp"],
      cwd: repo,
      env: cleanEnv({
        BATON_DB: served,
        BATON_AGENT: "git-counter",
        PATH: `${spy.bin}${delimiter}${process.env.PATH ?? ""}`,
      }) as Record<string, string>,
      stderr: "pipe",
    });
    const client = new Client({ name: "git-counter", version: "1.0.0" });
    await client.connect(transport);
    try {
      const first = (await client.callTool({ name: "next", arguments: { dryRun: true, seed: 1 } })) as ToolAnswer;
      expect(first.structuredContent).toMatchObject({ ok: true, data: { task: { id: "p1" } } });
      const afterFirst = spy.calls();
      for (let i = 0; i < 3; i++) {
        const again = (await client.callTool({ name: "next", arguments: { dryRun: true, seed: 1 } })) as ToolAnswer;
        expect(again.structuredContent).toMatchObject({ ok: true, data: { task: { id: "p1" } } });
      }
      expect(spy.calls()).toBe(afterFirst);
      // And the task's paths are claimed in this checkout's repository.
      const taken = (await client.callTool({ name: "next", arguments: { seed: 1 } })) as ToolAnswer;
      expect(taken.structuredContent).toMatchObject({ ok: true, data: { task: { id: "p1" } } });
      expect((taken.structuredContent?.data as { paths: unknown[] }).paths).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it("two agents' servers race one key: one grant, the other a CLAIM_HELD tool result", async () => {
    const connectAs = async (agent: string): Promise<Client> => {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [CLI, "mcp"],
        env: cleanEnv({ BATON_DB: db, BATON_AGENT: agent }) as Record<string, string>,
        stderr: "pipe",
      });
      const client = new Client({ name: agent, version: "1.0.0" });
      await client.connect(transport);
      return client;
    };
    const clients = await Promise.all(["racer-1", "racer-2", "racer-3", "racer-4"].map(connectAs));
    try {
      const answers = (await Promise.all(
        clients.map((c) => c.callTool({ name: "claim", arguments: { key: "deploy:prod", ttl: "5m" } })),
      )) as ToolAnswer[];
      const granted = answers.filter((a) => a.structuredContent?.ok === true);
      const held = answers.filter((a) => a.structuredContent?.code === "CLAIM_HELD");
      expect(granted).toHaveLength(1);
      expect(held).toHaveLength(3);
      const winner = (granted[0]?.structuredContent?.data as { claim: { agent: string } }).claim.agent;
      for (const answer of held) expect(answer.structuredContent).toMatchObject({ holder: { agent: winner } });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
