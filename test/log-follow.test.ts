/**
 * Following the audit log from other processes: `baton log --after` and `baton log --follow`
 * as real processes (a claim made by another process appears; SIGTERM ends with exit 0),
 * and `baton serve`'s /v1/events fed by the store's watch — a CLI process writing the SQLite
 * file, two servers on one PostgreSQL database (with the LISTEN connection of one cut),
 * and the polling fallback (--stream-poll).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { cliStores, freshSchema, storeSelected, testDatabaseUrl } from "./contract/targets.js";
import { CLI, cleanEnv, cli, tempDir, until } from "./helpers.js";

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Running {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

function jsonLines(text: string): { id: number; kind: string; key: string; agent: string }[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as { id: number; kind: string; key: string; agent: string });
}

describe.each(cliStores("follow"))("baton log --after / --follow: %s", (_name, storeEnv) => {
  it("--after prints only the events after the cursor (--limit: the next n); a bad one is refused", () => {
    const env = { ...storeEnv(), BATON_AGENT: "ann" };
    for (const key of ["after:1", "after:2", "after:3"]) expect(cli(["claim", key], { env }).code).toBe(0);
    const all = JSON.parse(cli(["log", "--json"], { env }).stdout).events as { id: number; key: string }[];
    const first = all[0]?.id as number;
    const later = JSON.parse(cli(["log", "--after", String(first), "--json"], { env }).stdout).events as {
      key: string;
    }[];
    expect(later.map((e) => e.key)).toEqual(["after:2", "after:3"]);
    const one = JSON.parse(cli(["log", "--after", String(first), "--limit", "1", "--json"], { env }).stdout).events as {
      key: string;
    }[];
    expect(one.map((e) => e.key)).toEqual(["after:2"]);
    const bad = cli(["log", "--after", "-3", "--json"], { env });
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.code).toBe("BAD_OPTION");
  });

  it("--follow --json prints, one per line, a claim another process makes, within its filters; SIGTERM exits 0", async () => {
    const env = { ...storeEnv(), BATON_AGENT: "ann" };
    expect(cli(["claim", "follow:before"], { env }).code).toBe(0);
    const follower = start(["log", "follow:target", "--follow", "--json"], env);
    const wide = start(["log", "--follow", "--json"], env);
    try {
      // Before or after the follower subscribed, the claim shows: the backlog is read after subscribing.
      expect(cli(["claim", "follow:other", "--as", "bob"], { env }).code).toBe(0);
      expect(cli(["claim", "follow:target", "--as", "bob"], { env }).code).toBe(0);
      await until("the followed claim", () => follower.stdout().includes("follow:target"));
      await until("both claims on the unfiltered follower", () => wide.stdout().includes("follow:target"));
      expect(jsonLines(follower.stdout()).map((e) => [e.kind, e.key, e.agent])).toEqual([
        ["granted", "follow:target", "bob"],
      ]);
      expect(jsonLines(wide.stdout()).map((e) => e.key)).toEqual(["follow:before", "follow:other", "follow:target"]);
    } finally {
      follower.child.kill("SIGTERM");
      wide.child.kill("SIGINT");
    }
    expect(await follower.exited, follower.stderr()).toBe(0);
    expect(await wide.exited, wide.stderr()).toBe(0);
  });

  it("--follow without --json prints readable lines; a bad filter is refused before anything is created", async () => {
    const env = { ...storeEnv(), BATON_AGENT: "ann" };
    const follower = start(["log", "--follow", "--agent", "ann"], env);
    try {
      expect(cli(["claim", "follow:human"], { env }).code).toBe(0);
      await until("a readable line", () => /granted\s+follow:human\s+ann\s+token=\d+/.test(follower.stdout()));
    } finally {
      follower.child.kill("SIGTERM");
    }
    expect(await follower.exited).toBe(0);
    const dir = tempDir("baton-follow-bad-");
    const bad = cli(["log", "--follow", "--kind", "nonsense"], { env: { BATON_DB: join(dir, "never.db") } });
    expect(bad.code).toBe(2);
    expect(existsSync(join(dir, "never.db"))).toBe(false);
  });
});

interface Server {
  url: string;
  running: Running;
}

async function serve(env: Record<string, string>, args: string[] = []): Promise<Server> {
  const running = start(["serve", "--port", "0", "--no-reap", ...args], env);
  await until("listening", () => /^listening on \S+\n/.test(running.stdout()) || running.child.exitCode !== null);
  const url = /^listening on (\S+)\n/.exec(running.stdout())?.[1];
  if (url === undefined) throw new Error(`baton serve did not start: ${running.stderr()}`);
  return { url, running };
}

async function stop(server: Server): Promise<number | null> {
  server.running.child.kill("SIGTERM");
  return server.running.exited;
}

function token(env: Record<string, string>, agent: string): string {
  const r = cli(["tokens", "add", agent, "--json"], { env });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { token: string }).token;
}

/** Open an SSE stream and collect its events in the background. */
function stream(
  url: string,
  bearer: string,
): { events: { id: number; kind: string; key: string; agent: string }[]; close: () => void } {
  const events: { id: number; kind: string; key: string; agent: string }[] = [];
  const controller = new AbortController();
  void (async () => {
    const r = await fetch(url, { headers: { authorization: `Bearer ${bearer}` }, signal: controller.signal });
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame.split("\n").find((l) => l.startsWith("data: "));
        if (data !== undefined && !frame.startsWith("event: error")) events.push(JSON.parse(data.slice(6)));
      }
    }
  })().catch(() => undefined);
  return { events, close: () => controller.abort() };
}

async function claimVia(server: Server, bearer: string, key: string): Promise<Record<string, unknown>> {
  const r = await fetch(`${server.url}/v1/claim`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ key }),
  });
  return (await r.json()) as Record<string, unknown>;
}

describe("baton serve's /v1/events on the store's watch", () => {
  it("SQLite: a claim written to the file by a CLI process reaches the stream", async () => {
    const env = { BATON_DB: join(tempDir("baton-serve-watch-"), "baton.db") };
    const reader = token(env, "reader");
    const server = await serve(env);
    const s = stream(`${server.url}/v1/events?key=file:1`, reader);
    try {
      expect(cli(["claim", "file:1", "--as", "direct"], { env }).code).toBe(0);
      await until("the file write on the stream", () => s.events.length >= 1);
      expect(s.events[0]).toMatchObject({ kind: "granted", key: "file:1", agent: "direct" });
    } finally {
      s.close();
      expect(await stop(server), server.running.stderr()).toBe(0);
    }
  });

  it("SQLite with --stream-poll: the polling fallback still streams, and resumes with ?after", async () => {
    const env = { BATON_DB: join(tempDir("baton-serve-poll-"), "baton.db") };
    const reader = token(env, "reader");
    const server = await serve(env, ["--stream-poll", "50ms"]);
    const s = stream(`${server.url}/v1/events?key=poll:1`, reader);
    try {
      expect(cli(["claim", "poll:1", "--as", "direct"], { env }).code).toBe(0);
      expect(cli(["release", "poll:1", "--as", "direct"], { env }).code).toBe(0);
      await until("both events polled", () => s.events.length >= 2);
      expect(s.events.map((e) => e.kind)).toEqual(["granted", "released"]);
      const resumed = stream(`${server.url}/v1/events?key=poll:1&after=${s.events[0]?.id}`, reader);
      await until("the resumed stream", () => resumed.events.length >= 1);
      resumed.close();
      expect(resumed.events.map((e) => e.kind)).toEqual(["released"]);
    } finally {
      s.close();
      expect(await stop(server)).toBe(0);
    }
    expect(cli(["serve", "--stream-poll", "soon"], { env }).code).toBe(2);
  });

  it.skipIf(!storeSelected("postgres"))(
    "PostgreSQL: two servers on one database; a claim through A is seen on B's stream, also after B's LISTEN connection is cut",
    async () => {
      const schema = freshSchema("serve_watch");
      const env = { BATON_DATABASE_URL: testDatabaseUrl(), BATON_PG_SCHEMA: schema };
      const a = token(env, "agent-a");
      const b = token(env, "agent-b");
      const one = await serve(env);
      const two = await serve(env);
      const s = stream(`${two.url}/v1/events?agent=agent-a`, b);
      const admin = new pg.Client({ connectionString: testDatabaseUrl() });
      await admin.connect();
      try {
        expect(await claimVia(one, a, "shared:1")).toMatchObject({ ok: true });
        await until("A's claim on B's stream", () => s.events.length >= 1);
        expect(s.events[0]).toMatchObject({ kind: "granted", key: "shared:1", agent: "agent-a" });
        // Cut every LISTEN connection of this schema (both servers'), then claim at once.
        const cut = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
          [`baton-listen:${schema}`.slice(0, 63)],
        );
        expect(cut.rowCount).toBeGreaterThanOrEqual(1);
        expect(await claimVia(one, a, "shared:2")).toMatchObject({ ok: true });
        await until("the claim after the cut on B's stream", () => s.events.some((e) => e.key === "shared:2"));
        expect(s.events.map((e) => e.key)).toEqual(["shared:1", "shared:2"]);
      } finally {
        s.close();
        await admin.end();
        await Promise.all([stop(one), stop(two)]);
      }
    },
  );
});
