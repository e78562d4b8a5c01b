/**
 * `baton serve` as a real process on loopback: tokens decide the agent (401 without, 403
 * when naming another, read-only tokens refused on writes), every route from the
 * catalogue, bad input never a 500 and never a change, the audit log as SSE with resume,
 * /metrics, /openapi.json, one server per SQLite file, loopback by default, graceful
 * SIGTERM, 16 processes with 16 tokens racing one key, and two servers on one PostgreSQL
 * database seeing each other's events.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { connect as connectTcp, type Socket } from "node:net";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOGUE } from "../src/api/catalogue.js";
import { openBaton } from "../src/baton.js";
import { createHttpServer, SERVER_OPERATIONS, routeOf } from "../src/surfaces/http/http-server.js";
import { freshSchema, storeSelected, testDatabaseUrl } from "./contract/targets.js";
import { cli, dumpSqlite, startServe, tempDir, until } from "./helpers.js";

interface Server {
  url: string;
  child: ChildProcess;
  stderr: () => string;
}

function startServer(env: Record<string, string>, args: string[] = []): Promise<Server> {
  // This file also tests the reaper's default: on unless --no-reap.
  return startServe(
    env,
    args.filter((a) => a !== "--no-reap"),
    { reap: !args.includes("--no-reap") },
  );
}

async function stop(server: Server): Promise<number | null> {
  if (server.child.exitCode !== null) return server.child.exitCode;
  return new Promise((resolve) => {
    server.child.once("exit", (code) => resolve(code));
    server.child.kill("SIGTERM");
  });
}

function token(env: Record<string, string>, agent: string, ...flags: string[]): string {
  const r = cli(["tokens", "add", agent, "--json", ...flags], { env });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { token: string }).token;
}

async function post(
  server: Server,
  path: string,
  body: unknown,
  bearer?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: JSON.parse(text) as Record<string, unknown> };
}

/** Read an SSE stream until `until` holds for the events seen (or the timeout). */
async function readEvents(
  url: string,
  bearer: string,
  until: (events: { id: number; kind: string; key: string; agent: string }[]) => boolean,
  headers: Record<string, string> = {},
): Promise<{ id: number; kind: string; key: string; agent: string }[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  const events: { id: number; kind: string; key: string; agent: string }[] = [];
  try {
    const r = await fetch(url, {
      headers: { authorization: `Bearer ${bearer}`, ...headers },
      signal: controller.signal,
    });
    expect(r.headers.get("content-type")).toContain("text/event-stream");
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame.split("\n").find((l) => l.startsWith("data: "));
        if (data && !frame.startsWith("event: error")) events.push(JSON.parse(data.slice(6)));
        cut = buffer.indexOf("\n\n");
      }
    }
    await reader.cancel();
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

describe("baton serve on SQLite", () => {
  const db = join(tempDir("baton-serve-"), "baton.db");
  const env = { BATON_DB: db };
  let server: Server;
  let alice: string;
  let bob: string;
  let admin: string;
  let reader: string;

  beforeAll(async () => {
    alice = token(env, "alice");
    bob = token(env, "bob");
    admin = token(env, "ops", "--admin");
    reader = token(env, "dashboard", "--read-only");
    server = await startServer(env);
  });
  afterAll(async () => {
    if (server) await stop(server);
  });

  it("answers with the CLI's codes: granted, CLAIM_HELD with the holder, 401 without a token", async () => {
    const granted = await post(server, "/v1/claim", { key: "task:1", ttl: "10m" }, alice);
    expect(granted.status).toBe(200);
    expect(granted.body).toMatchObject({ ok: true, data: { claim: { key: "task:1", agent: "alice" } } });
    const held = await post(server, "/v1/claim", { key: "task:1" }, bob);
    expect(held.status).toBe(409);
    expect(held.body).toMatchObject({ ok: false, code: "CLAIM_HELD", holder: { agent: "alice" } });
    expect((await post(server, "/v1/claim", { key: "task:1" })).body).toMatchObject({ code: "UNAUTHENTICATED" });
    expect((await post(server, "/v1/claim", { key: "task:1" }, `baton_${"x".repeat(43)}`)).status).toBe(401);
    expect((await post(server, "/v1/claim", { key: "task:1" }, "not-a-token")).status).toBe(401);
    const me = await fetch(`${server.url}/v1/whoami`, { headers: { authorization: `Bearer ${bob}` } });
    expect(await me.json()).toMatchObject({ agent: "bob", role: "agent" });
    // The scheme's case and the spaces around the token are free, as HTTP has them; nothing else is.
    const whoami = async (authorization: string) =>
      (await fetch(`${server.url}/v1/whoami`, { headers: { authorization } })).status;
    expect(await whoami(`bearer ${bob}`)).toBe(200);
    expect(await whoami(`BEARER   ${bob}  `)).toBe(200);
    expect(await whoami(`Bearer ${bob.slice(0, -1)} `)).toBe(401);
    expect(await whoami(`Bearer ${bob.slice(1)}x`)).toBe(401);
    expect(await whoami(`Bearer ${bob} x`)).toBe(401);
    expect(await whoami(`Basic ${bob}`)).toBe(401);
  });

  it("no token acts as another agent on any route; an admin token may", async () => {
    const claimed = await post(server, "/v1/claim", { key: "task:guarded", ttl: "10m" }, bob);
    expect(claimed.status).toBe(200);
    const repo = "root:0123456789abcdef0123456789abcdef01234567";
    const pathsHeld = await post(server, "/v1/paths/claim", { paths: ["src/guarded/"], repo }, bob);
    expect(pathsHeld.body).toMatchObject({ ok: true, data: { paths: [{ pattern: "src/guarded/", agent: "bob" }] } });
    const before = dumpSqlite(db);
    const inputs: Record<string, Record<string, unknown>> = {
      claim: { key: "task:guarded" },
      renew: { key: "task:guarded" },
      complete: { key: "task:guarded" },
      release: { key: "task:guarded" },
      abandon: { key: "task:guarded", reason: "x" },
      next: {},
      gate_mark: { key: "notify:x" },
      gate_lock: { key: "notify:x" },
      task_import: { tasks: [{ id: "t-guard", title: "x" }] },
      note: { key: "task:guarded", text: "x" },
      verify: { key: "task:guarded" },
      resolve: { key: "task:guarded" },
      handoff: { key: "task:guarded", to: "carol" },
      task_add: { id: "t-guard", title: "x" },
      task_update: { id: "t-guard", title: "y" },
      task_done: { id: "t-guard" },
      task_reopen: { id: "t-guard" },
      paths_claim: { paths: ["src/guarded/"], repo },
      paths_release: { paths: ["src/guarded/"], repo },
      paths_renew: { repo },
      reap: { minAge: "0s" },
      gate_forget: { key: "notify:guarded" },
    };
    for (const operation of SERVER_OPERATIONS.filter((o) => o.mutates)) {
      const body = inputs[operation.name];
      expect(body, `a test input for ${operation.name}`).toBeDefined();
      const r = await post(server, routeOf(operation), { ...body, as: "bob" }, alice);
      expect([r.status, r.body.code], operation.name).toEqual([403, "FORBIDDEN"]);
      const ro = await post(server, routeOf(operation), body, reader);
      expect([ro.status, ro.body.code], `${operation.name} read-only`).toEqual([403, "FORBIDDEN"]);
    }
    // An admin's operation (reap) is refused to an agent's token acting as itself too.
    for (const operation of SERVER_OPERATIONS.filter((o) => o.admin === true)) {
      const r = await post(server, routeOf(operation), inputs[operation.name], alice);
      expect([r.status, r.body.code], `${operation.name} as alice`).toEqual([403, "FORBIDDEN"]);
    }
    expect(dumpSqlite(db)).toBe(before);
    // As themselves, Alice's calls on Bob's claim are refused by the claim rules.
    for (const name of ["renew", "complete", "release", "abandon", "handoff"]) {
      const r = await post(server, `/v1/${name}`, inputs[name], alice);
      expect([r.status, r.body.code], name).toEqual([409, "NOT_HOLDER"]);
    }
    // Path claims too: Alice's release and renew reach only her own, and Bob's stay his.
    const released = [
      await post(server, "/v1/paths/release", inputs.paths_release, alice),
      await post(server, "/v1/paths/release", { repo }, alice),
    ];
    for (const r of released) expect(r.body).toMatchObject({ ok: true, data: { released: [] } });
    expect((await post(server, "/v1/paths/renew", { repo }, alice)).body).toMatchObject({ code: "NOT_HOLDER" });
    expect((await post(server, "/v1/paths/claim", inputs.paths_claim, alice)).body).toMatchObject({
      code: "PATH_CONFLICT",
      holder: { agent: "bob" },
    });
    expect((await post(server, "/v1/paths/list", { repo }, reader)).body).toMatchObject({
      ok: true,
      data: { claims: [{ pattern: "src/guarded/", agent: "bob", state: "active", repo }] },
    });
    // Read-only tokens read.
    expect((await post(server, "/v1/show", { key: "task:guarded" }, reader)).body).toMatchObject({
      ok: true,
      data: { claim: { agent: "bob" } },
    });
    // An admin acts for Bob (force-release a stuck claim).
    const forced = await post(server, "/v1/release", { key: "task:guarded", as: "bob" }, admin);
    expect(forced.body).toMatchObject({ ok: true });
  });

  it("bad input is 400 (413 when too large, 404 unknown route) with a code, and changes nothing", async () => {
    const before = dumpSqlite(db);
    const bad: [string, unknown, number][] = [
      ["/v1/claim", {}, 400],
      ["/v1/claim", { key: 7 }, 400],
      ["/v1/claim", { key: "task:\u0007" }, 400],
      ["/v1/claim", { key: "task:2", ttl: "soon" }, 400],
      ["/v1/claim", { key: "task:2", extra: 1 }, 400],
      ["/v1/claim", { key: "task:2", paths: ["src/"] }, 400],
      ["/v1/claim", "{not json", 400],
      ["/v1/claim", "[1,2]", 400],
      ["/v1/claim", { key: "task:2", meta: { big: "y".repeat(70_000) } }, 413],
      ["/v1/task/add", { id: "bad id", title: "x" }, 400],
      ["/v1/nope", {}, 404],
      // A server has no checkout of the caller's: the repository identity is needed, the paths repository-relative.
      ["/v1/paths/claim", { paths: ["src/"] }, 400],
      ["/v1/paths/claim", { paths: ["../outside"], repo: "root:abc1234" }, 400],
      ["/v1/paths/release", { paths: [], repo: "root:abc1234" }, 400],
      ["/v1/paths/list", {}, 400],
      ["/v1/claim", { key: "task:2", repo: "root:abc1234" }, 400],
      ["/v1/context", { rules: { path: "/x" } }, 400],
      ["/v1/probe", { paths: ["src/"] }, 404],
    ];
    for (const [path, body, status] of bad) {
      const r = await post(server, path, body, alice);
      expect(r.status, `${path} ${JSON.stringify(body).slice(0, 60)}`).toBe(status);
      expect(typeof r.body.code, path).toBe("string");
      expect(r.body.ok).toBe(false);
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SERVER_OPERATIONS.map(routeOf)),
        fc.oneof(fc.json(), fc.string(), fc.dictionary(fc.string(), fc.jsonValue())),
        async (path, body) => {
          const r = await fetch(`${server.url}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${reader}` },
            body: typeof body === "string" ? body : JSON.stringify(body),
          });
          expect(r.status).toBeLessThan(500);
          expect(typeof ((await r.json()) as { code?: unknown }).code === "string" || r.status === 200).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
    expect(dumpSqlite(db)).toBe(before);
  });

  it("streams the audit log as SSE and resumes after Last-Event-ID", async () => {
    const first = await post(server, "/v1/claim", { key: "stream:1" }, alice);
    expect(first.status).toBe(200);
    const seen = await readEvents(`${server.url}/v1/events?key=stream:1`, reader, (e) => e.length >= 1);
    expect(seen[0]).toMatchObject({ kind: "granted", key: "stream:1", agent: "alice" });
    const after = seen[0]?.id ?? 0;
    await post(server, "/v1/complete", { key: "stream:1" }, alice);
    const resumed = await readEvents(`${server.url}/v1/events?key=stream:1`, reader, (e) => e.length >= 1, {
      "last-event-id": String(after),
    });
    expect(resumed.map((e) => e.kind)).toEqual(["completed"]);
    const bad = await fetch(`${server.url}/v1/events?kind=nonsense`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(bad.status).toBe(400);
  });

  it("serves /healthz, /openapi.json from the catalogue, and Prometheus /metrics", async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toMatchObject({ ok: true });
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe("3.1.0");
    for (const operation of SERVER_OPERATIONS) expect(Object.keys(doc.paths)).toContain(routeOf(operation));
    expect(CATALOGUE.filter((o) => o.local).every((o) => !(routeOf(o) in doc.paths))).toBe(true);
    // Every route a server registers (one built the same way, in this process) is documented, with its method.
    const built = await openBaton({ db: join(tempDir("baton-openapi-"), "routes.db") });
    try {
      const app = await createHttpServer(built);
      await app.ready();
      expect(app.batonRoutes).toContain("POST /v1/hooks/{event}");
      const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.keys(methods as object).map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(documented.sort()).toEqual([...app.batonRoutes].sort());
      await app.close();
    } finally {
      await built.close();
    }
    const hooks = (doc.paths["/v1/hooks/{event}"] as { post: { parameters: { name: string; schema: unknown }[] } })
      .post;
    expect(hooks.parameters.find((p) => p.name === "event")?.schema).toEqual({
      type: "string",
      enum: ["session-start", "pre-tool-use", "session-end"],
    });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/baton_grants_total \d+/);
    expect(metrics).toMatch(/baton_denials_total\{code="CLAIM_HELD"\} [1-9]/);
    expect(metrics).toContain("baton_operation_duration_seconds_bucket");
    expect(metrics).toMatch(/baton_live_claims \d+/);
    expect(metrics).not.toContain(alice);
  });

  it("/metrics counts every answer once, by operation, outcome and code, however often it is read", async () => {
    const built = await openBaton({ db: join(tempDir("baton-metrics-"), "m.db") });
    try {
      const app = await createHttpServer(built);
      const { token: t } = await built.tokens.add("m");
      const call = (url: string, payload: unknown) =>
        app.inject({ method: "POST", url, headers: { authorization: `Bearer ${t}` }, payload: payload as object });
      expect((await call("/v1/claim", { key: "m:1" })).statusCode).toBe(200);
      expect((await call("/v1/claim", { key: "m:2" })).statusCode).toBe(200);
      const { token: other } = await built.tokens.add("n");
      const held = await app.inject({
        method: "POST",
        url: "/v1/claim",
        headers: { authorization: `Bearer ${other}` },
        payload: { key: "m:1" },
      });
      expect(held.statusCode).toBe(409);
      expect((await call("/v1/release", { key: "m:9" })).statusCode).toBe(404);
      for (let read = 0; read < 3; read++) {
        const text = (await app.inject({ method: "GET", url: "/metrics" })).body;
        expect(text).toContain('baton_operations_total{operation="claim",outcome="ok"} 2\n');
        expect(text).toContain('baton_operations_total{operation="claim",outcome="no"} 1\n');
        expect(text).toContain('baton_operations_total{operation="release",outcome="no"} 1\n');
        expect(text).toContain("baton_grants_total 2\n");
        expect(text).toContain('baton_denials_total{code="CLAIM_HELD"} 1\n');
        expect(text).toContain('baton_denials_total{code="NOT_FOUND"} 1\n');
        expect(text).toContain('baton_operation_duration_seconds_count{operation="claim"} 3\n');
      }
      await app.close();
    } finally {
      await built.close();
    }
  });

  it("refuses a second server on the same file, naming the first", () => {
    const second = cli(["serve", "--port", "0"], { env });
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`pid ${server.child.pid}`);
    expect(second.stderr).toContain(server.url);
  });

  it("serves the MCP tools at /mcp, the token deciding the agent: two agents race one key", async () => {
    const connect = async (bearer: string): Promise<Client> => {
      const client = new Client({ name: "http-test", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${bearer}` } },
        }),
      );
      return client;
    };
    const [a, b, r] = await Promise.all([connect(alice), connect(bob), connect(reader)]);
    try {
      const names = (await a.listTools()).tools.map((t) => t.name);
      expect(names).toContain("claim");
      expect(names).not.toContain("probe");
      expect(names).toContain("paths_claim"); // with the repository identity as an argument
      expect((await r.listTools()).tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
      const answers = (await Promise.all(
        [a, b].map((c) => c.callTool({ name: "claim", arguments: { key: "mcp:http" } })),
      )) as {
        isError?: boolean;
        structuredContent?: Record<string, unknown>;
      }[];
      expect(answers.filter((x) => x.structuredContent?.ok === true)).toHaveLength(1);
      const lost = answers.find((x) => x.isError);
      expect(lost?.structuredContent).toMatchObject({ code: "CLAIM_HELD" });
      const unauthenticated = await fetch(`${server.url}/mcp`, {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json" },
      });
      expect(unauthenticated.status).toBe(401);
      // A session belongs to the token that opened it: Bob cannot ride Alice's.
      const aliceSession = (a.transport as StreamableHTTPClientTransport).sessionId;
      expect(aliceSession).toBeTruthy();
      const hijack = await fetch(`${server.url}/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          authorization: `Bearer ${bob}`,
          "mcp-session-id": String(aliceSession),
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 9,
          method: "tools/call",
          params: { name: "release", arguments: { key: "mcp:http" } },
        }),
      });
      expect(hijack.status).toBe(403);
      expect(((await hijack.json()) as { code: string }).code).toBe("FORBIDDEN");
    } finally {
      await Promise.all([a.close(), b.close(), r.close()]);
    }
  });

  it("never logs a token", () => {
    for (const t of [alice, bob, admin, reader]) expect(server.stderr()).not.toContain(t);
  });

  it("16 processes with 16 tokens race one key through the server: exactly one grant", async () => {
    const tokens = Array.from({ length: 16 }, (_, i) => token(env, `racer-${i}`));
    const script = `const [url, t] = process.argv.slice(1);
      fetch(url + "/v1/claim", { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer " + t },
        body: JSON.stringify({ key: "race:one", ttl: "5m" }) }).then(async (r) => { process.stdout.write(JSON.stringify({ status: r.status, body: await r.json() })); });`;
    const results = await Promise.all(
      tokens.map(
        (t) =>
          new Promise<{ status: number; body: { ok: boolean; code?: string } }>((resolve, reject) => {
            const child = spawn(process.execPath, ["-e", script, server.url, t], {
              stdio: ["ignore", "pipe", "inherit"],
            });
            let out = "";
            child.stdout.on("data", (c: Buffer) => {
              out += c.toString();
            });
            child.once("exit", (code) =>
              code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`racer exited ${code}`)),
            );
          }),
      ),
    );
    expect(results.filter((r) => r.body.ok)).toHaveLength(1);
    expect(results.filter((r) => r.body.code === "CLAIM_HELD")).toHaveLength(15);
  });
});

describe("baton serve startup and shutdown", () => {
  it("binds loopback by default and refuses another address without tokens", () => {
    const db = join(tempDir("baton-serve-bind-"), "baton.db");
    const r = cli(["serve", "--host", "0.0.0.0", "--port", "0"], { env: { BATON_DB: db } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("beyond loopback");
  });

  it("reaps on its schedule and says how many (counted: the claims are not read back)", async () => {
    const db = join(tempDir("baton-serve-reap-"), "baton.db");
    const env = { BATON_DB: db };
    const baton = await openBaton({ db });
    for (const key of ["stale:1", "stale:2"]) await baton.claim(key, { as: "a", ttl: "50ms" });
    await baton.claim("live:1", { as: "a", ttl: "1h" });
    await baton.close();
    const server = await startServer(env, ["--reap-every", "100ms", "--reap-min-age", "1ms"]);
    try {
      await until("the reaper's line", () => server.stderr().includes("baton serve: reaped 2 stale claims"));
    } finally {
      expect(await stop(server), server.stderr()).toBe(0);
    }
    const after = await openBaton({ db });
    expect((await after.show("stale:1")).claim?.state).toBe("abandoned");
    expect((await after.show("live:1")).claim?.state).toBe("active");
    const reaped = await after.log({ kind: ["reaped"] });
    expect(reaped.map((e) => [e.key, e.detail?.by])).toEqual([
      ["stale:1", "baton-serve"],
      ["stale:2", "baton-serve"],
    ]);
    await after.close();
  });

  it("shuts down on SIGTERM: open streams close, the lock is released, exit 0", async () => {
    const db = join(tempDir("baton-serve-stop-"), "baton.db");
    const env = { BATON_DB: db };
    const t = token(env, "watcher", "--read-only");
    const server = await startServer(env);
    const streamed = fetch(`${server.url}/v1/events`, { headers: { authorization: `Bearer ${t}` } }).then((r) =>
      r.text(),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stop(server), server.stderr()).toBe(0);
    expect(await streamed).toContain(": baton event stream");
    const again = await startServer(env);
    expect(await stop(again)).toBe(0);
  });
  // Node's close waits for a connection that never sent a request (a client's pool may open
  // one ahead) until its headers timeout, a minute: the server hung in SIGTERM for 67 s.
  it(
    "on SIGTERM closes connections that are idle or never sent a request, instead of waiting a minute",
    { timeout: 20_000 },
    async () => {
      const db = join(tempDir("baton-serve-idle-"), "baton.db");
      const env = { BATON_DB: db };
      const t = token(env, "idler");
      const server = await startServer(env);
      const { hostname, port } = new URL(server.url);
      const connect = (): Promise<Socket> =>
        new Promise((resolve, reject) => {
          const socket = connectTcp({ host: hostname, port: Number(port) }, () => resolve(socket));
          socket.once("error", reject);
        });
      const silent = await connect();
      const used = await connect();
      const answered = new Promise<string>((resolve) => {
        let text = "";
        used.on("data", (c: Buffer) => {
          text += c.toString();
          if (text.includes('"ok":true')) resolve(text);
        });
      });
      const body = JSON.stringify({ key: "idle:1" });
      used.write(
        `POST /v1/claim HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${t}\r\n` +
          `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
      );
      expect(await answered).toMatch(/^HTTP\/1\.1 200/);
      const closed = (socket: Socket): Promise<void> => new Promise((resolve) => socket.once("close", () => resolve()));
      const both = Promise.all([closed(silent), closed(used)]);
      expect(await stop(server), server.stderr()).toBe(0);
      await both;
    },
  );
});

describe.skipIf(!storeSelected("postgres"))("baton serve on PostgreSQL", () => {
  it("two servers share one database; a claim through one is seen on the other's stream", async () => {
    const env = { BATON_DATABASE_URL: testDatabaseUrl(), BATON_PG_SCHEMA: freshSchema("serve") };
    const a = token(env, "pg-a");
    const b = token(env, "pg-b");
    const one = await startServer(env, ["--no-reap"]);
    const two = await startServer(env, ["--no-reap"]);
    try {
      const watching = readEvents(`${two.url}/v1/events?key=shared:1`, b, (e) => e.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await post(one, "/v1/claim", { key: "shared:1" }, a)).body).toMatchObject({ ok: true });
      expect((await watching)[0]).toMatchObject({ kind: "granted", agent: "pg-a" });
      expect((await post(two, "/v1/claim", { key: "shared:1" }, b)).body).toMatchObject({
        code: "CLAIM_HELD",
        holder: { agent: "pg-a" },
      });
    } finally {
      await Promise.all([stop(one), stop(two)]);
    }
  });
});
