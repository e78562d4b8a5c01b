/**
 * Group commit under `baton serve` (on by default on SQLite), with real processes: several
 * client processes, each with many concurrent keep-alive clients, race the same keys through
 * one server — exactly one grant per key, every answer consistent with the final database,
 * the audit log ordered; and the durability promise: every grant answered before the server
 * is killed with SIGKILL is in the file when it is opened again.
 */
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { cli, runScript, startServe, tempDir, until } from "./helpers.js";

const WORKER = fileURLToPath(new URL("./workers/gc-client-worker.mjs", import.meta.url));

interface Server {
  url: string;
  child: ChildProcess;
  stderr: () => string;
}

function startServer(env: Record<string, string>, args: string[] = []): Promise<Server> {
  return startServe(env, args);
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once("exit", () => r()));
}

function token(env: Record<string, string>, agent: string): string {
  const r = cli(["tokens", "add", agent, "--json"], { env });
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { token: string }).token;
}

interface Answer {
  key: string;
  status: number;
  body: {
    ok: boolean;
    code?: string;
    holder?: { agent: string; token: number };
    data?: { claim?: { agent: string; token: number } };
  };
}

describe("group commit under baton serve", () => {
  it("4 processes x 8 concurrent clients race 60 keys: one grant per key, answers match the database, the log is ordered", async () => {
    const db = join(tempDir("baton-gc-serve-"), "baton.db");
    const env = { BATON_DB: db };
    const agents = ["p0", "p1", "p2", "p3"];
    const tokens = agents.map((agent) => token(env, agent));
    const server = await startServer(env);
    let answers: (Answer & { agent: string })[];
    try {
      await until("the startup line", () => server.stderr().includes("tokens"));
      expect(server.stderr()).toContain("(group commit)");
      const outputs = await Promise.all(
        tokens.map((t, i) => runScript(WORKER, [server.url, t, "60", "8", String(i + 1)])),
      );
      answers = outputs.flatMap((out, i) =>
        out
          .trim()
          .split("\n")
          .map((line) => ({ ...(JSON.parse(line) as Answer), agent: agents[i]! })),
      );
    } finally {
      server.child.kill("SIGTERM");
      await exited(server.child);
    }
    expect(answers).toHaveLength(4 * 60);
    const handle = new Database(db, { readonly: true });
    const rows = new Map(
      (
        handle.prepare("SELECT key, agent, token FROM claims").all() as { key: string; agent: string; token: number }[]
      ).map((r) => [r.key, r]),
    );
    const events = handle
      .prepare("SELECT id, at, kind, key, agent, token FROM events WHERE key LIKE 'race:%' ORDER BY id")
      .all() as {
      id: number;
      at: number;
      kind: string;
      key: string;
      agent: string;
      token: number;
    }[];
    handle.close();
    expect(rows.size).toBe(60);
    for (let k = 0; k < 60; k++) {
      const key = `race:${k}`;
      const forKey = answers.filter((a) => a.key === key);
      const granted = forKey.filter((a) => a.body.ok);
      expect(granted, key).toHaveLength(1);
      const row = rows.get(key)!;
      // The winner's answer is the row; every loser was told that same holder and token.
      expect(granted[0]).toMatchObject({
        agent: row.agent,
        body: { data: { claim: { agent: row.agent, token: row.token } } },
      });
      for (const loser of forKey.filter((a) => !a.body.ok)) {
        expect(loser).toMatchObject({
          status: 409,
          body: { code: "CLAIM_HELD", holder: { agent: row.agent, token: row.token } },
        });
      }
      // The log: one grant, to the holder, before every denial of the key.
      const log = events.filter((e) => e.key === key);
      expect(log.map((e) => e.kind)).toEqual(["granted", "denied", "denied", "denied"]);
      expect(log[0]).toMatchObject({ agent: row.agent, token: row.token });
    }
    // Decisions are ordered: times never go back, fencing tokens of grants only go up.
    for (let i = 1; i < events.length; i++) expect(events[i]!.at).toBeGreaterThanOrEqual(events[i - 1]!.at);
    const grants = events.filter((e) => e.kind === "granted").map((e) => e.token);
    expect(grants).toEqual([...grants].sort((a, b) => a - b));
    expect(new Set(grants).size).toBe(grants.length);
  });

  it("every grant answered before a kill -9 of the server is in the file", async () => {
    const db = join(tempDir("baton-gc-kill-"), "baton.db");
    const env = { BATON_DB: db };
    const t = token(env, "killer");
    const server = await startServer(env);
    const answered: { key: string; token: number }[] = [];
    let killed = false;
    const clients = Array.from({ length: 16 }, async (_, c) => {
      for (let i = 0; !killed; i++) {
        const key = `kill:${c}:${i}`;
        try {
          const r = await fetch(`${server.url}/v1/claim`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${t}` },
            body: JSON.stringify({ key }),
          });
          const body = (await r.json()) as Answer["body"];
          if (body.ok && body.data?.claim) answered.push({ key, token: body.data.claim.token });
        } catch {
          return; // the server is gone
        }
      }
    });
    await until("200 answered grants", () => answered.length >= 200);
    // Kill at once, with requests in flight: what was answered must have been committed.
    server.child.kill("SIGKILL");
    const seen = answered.length;
    killed = true;
    await exited(server.child);
    await Promise.all(clients);
    expect(seen).toBeGreaterThanOrEqual(200);
    const handle = new Database(db);
    const stmt = handle.prepare("SELECT token, state FROM claims WHERE key = ?");
    const missing = answered.filter(({ key, token: tk }) => {
      const row = stmt.get(key) as { token: number; state: string } | undefined;
      return row?.token !== tk || row.state !== "active";
    });
    handle.close();
    expect(missing).toEqual([]);
  });
});
