/**
 * SIGKILL at any moment loses nothing that was acknowledged: a worker process
 * prints each grant only after `claim` resolved; we kill it at random moments and
 * then every printed grant must be in the database, which must pass its
 * integrity check. 20 rounds of two workers at synchronous=FULL, each also racing
 * the other on a few hot keys, so tokens must stay unique and grow per key.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { LIB, tempDir } from "./helpers.js";

const WORKER = `
import { openBaton } from ${JSON.stringify(LIB)};
const [db, agent] = process.argv.slice(2);
const baton = await openBaton({ db, synchronous: "full" });
for (let i = 0; ; i++) {
  const key = "crash:" + agent + ":" + i;
  const r = await baton.claim(key, { as: agent, ttl: "1h" });
  if (r.ok) process.stdout.write(JSON.stringify({ key, agent, token: r.claim.token }) + "\\n");
  if (i % 3 === 0) await baton.complete(key, { as: agent, result: "r" + i });
  // A hot key both workers race for: granted, then completed or left to expire.
  const hot = "hot:" + (i % 3);
  const h = await baton.claim(hot, { as: agent, ttl: "20ms", reopen: true });
  if (h.outcome === "granted") {
    process.stdout.write(JSON.stringify({ key: hot, agent, token: h.claim.token }) + "\\n");
    if (i % 2 === 0) await baton.complete(hot, { as: agent });
  }
}
`;

function runAndKill(script: string, db: string, agent: string, afterMs: number): Promise<string[]> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, db, agent], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    let started = false;
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (!started) {
        started = true;
        setTimeout(() => child.kill("SIGKILL"), afterMs);
      }
    });
    child.once("close", () => resolve(out.split("\n").filter((line) => line.endsWith("}"))));
  });
}

describe("crash safety", () => {
  it("keeps every acknowledged grant through SIGKILL, and the file stays intact", { timeout: 900_000 }, async () => {
    const dir = tempDir();
    const script = join(dir, "worker.mjs");
    writeFileSync(script, WORKER);
    const db = join(dir, "baton.db");
    const acknowledged: { key: string; agent: string; token: number }[] = [];
    // BATON_SOAK=1 runs 10x the rounds (figures in docs/RELIABILITY.md).
    const rounds = process.env.BATON_SOAK === "1" ? 200 : 20;
    for (let round = 0; round < rounds; round++) {
      const lines = await Promise.all(
        [0, 1].map((w) => runAndKill(script, db, `agent-${round}-${w}`, 10 + Math.floor(Math.random() * 100))),
      );
      for (const line of lines.flat()) acknowledged.push(JSON.parse(line));
    }
    expect(acknowledged.length).toBeGreaterThan(10);
    console.log(`${rounds} rounds, ${rounds * 2} SIGKILLs, ${acknowledged.length} acknowledged grants`);
    const sqlite = new Database(db, { readonly: true });
    try {
      expect(sqlite.pragma("integrity_check", { simple: true })).toBe("ok");
      const granted = sqlite.prepare("SELECT agent FROM events WHERE kind = 'granted' AND key = ? AND token = ?");
      const row = sqlite.prepare("SELECT token FROM claims WHERE key = ?");
      for (const { key, agent, token } of acknowledged) {
        expect((granted.get(key, token) as { agent: string } | undefined)?.agent, `${key} ${token}`).toBe(agent);
        if (!key.startsWith("hot:")) expect((row.get(key) as { token: number } | undefined)?.token, key).toBe(token);
      }
      // Per key, grant tokens grow in log order.
      const perKey = sqlite.prepare("SELECT key, token FROM events WHERE kind = 'granted' ORDER BY id").all() as {
        key: string;
        token: number;
      }[];
      const last = new Map<string, number>();
      for (const { key, token } of perKey) {
        expect(token, key).toBeGreaterThan(last.get(key) ?? 0);
        last.set(key, token);
      }
      const tokens = (
        sqlite.prepare("SELECT token FROM events WHERE kind = 'granted' ORDER BY id").all() as {
          token: number;
        }[]
      ).map((r) => r.token);
      expect(tokens).toEqual([...tokens].sort((a, b) => a - b));
      expect(new Set(tokens).size).toBe(tokens.length);
    } finally {
      sqlite.close();
    }
  });
});
