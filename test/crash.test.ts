/**
 * SIGKILL at any moment loses nothing that was acknowledged: a worker process
 * prints each grant only after `claim` resolved; we kill it at random moments and
 * then every printed grant must be in the database, which must pass its
 * integrity check.
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
const baton = await openBaton({ db });
for (let i = 0; ; i++) {
  const key = "crash:" + agent + ":" + i;
  const r = await baton.claim(key, { as: agent, ttl: "1h" });
  if (r.ok) process.stdout.write(JSON.stringify({ key, token: r.claim.token }) + "\\n");
  if (i % 3 === 0) await baton.complete(key, { as: agent, result: "r" + i });
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
  it("keeps every acknowledged grant through SIGKILL, and the file stays intact", async () => {
    const dir = tempDir();
    const script = join(dir, "worker.mjs");
    writeFileSync(script, WORKER);
    const db = join(dir, "baton.db");
    const acknowledged: { key: string; token: number }[] = [];
    for (let round = 0; round < 6; round++) {
      const lines = await Promise.all(
        [0, 1].map((w) => runAndKill(script, db, `agent-${round}-${w}`, 20 + Math.floor(Math.random() * 150))),
      );
      for (const line of lines.flat()) acknowledged.push(JSON.parse(line));
    }
    expect(acknowledged.length).toBeGreaterThan(10);
    const sqlite = new Database(db, { readonly: true });
    try {
      expect(sqlite.pragma("integrity_check", { simple: true })).toBe("ok");
      const granted = sqlite.prepare("SELECT token FROM events WHERE kind = 'granted' AND key = ?");
      const row = sqlite.prepare("SELECT token FROM claims WHERE key = ?");
      for (const { key, token } of acknowledged) {
        expect((granted.get(key) as { token: number } | undefined)?.token, key).toBe(token);
        expect((row.get(key) as { token: number } | undefined)?.token, key).toBe(token);
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
