/**
 * Races between real OS processes: exactly one grant per key, tokens that grow in
 * grant order per key, on SQLite and on PostgreSQL; a cold start of 16 processes
 * on a file that does not exist yet; a lock held past the busy timeout is exit 3.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { TARGETS } from "./contract/targets.js";
import { cliAsync, LIB, ROOT, runScript, tempDir } from "./helpers.js";

const WORKER = join(ROOT, "test", "workers", "store-race-worker.mjs");

interface Grant {
  round: number;
  key: string;
  agent: string;
  token: number;
}

const runWorker = (args: string[]): Promise<string> => runScript(WORKER, args);

describe.each(TARGETS)("race on $name", (target) => {
  it("8 processes, 200 keys: one grant per key, tokens growing per key, log and workers agree", async () => {
    // A loaded machine can hold the write lock past the default 5 s: a wait, not a wrong answer.
    const options = { ...target.batonOptions(), busyTimeout: "30s" };
    // Create the schema first on PostgreSQL is not needed: first opens race too (tested elsewhere).
    const processes = 8;
    const startAt = Date.now() + 1500;
    const barrier = tempDir("baton-barrier-");
    const outputs = await Promise.all(
      Array.from({ length: processes }, (_, i) =>
        runWorker([pathToFileURL(LIB).href, JSON.stringify(options), `agent-${i}`, "200", "3", String(startAt), barrier, String(processes)]),
      ),
    );
    const grants: Grant[] = outputs.flatMap((out) =>
      out
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Grant),
    );
    const first = grants.filter((g) => g.round === 0);
    expect(first).toHaveLength(200);
    expect(new Set(first.map((g) => g.key)).size).toBe(200);

    const baton = await openBaton(options);
    try {
      const log = await baton.log({ kind: ["granted"], limit: 100_000 });
      // Every grant a worker saw is in the log, and nothing else.
      const fromLog = log.map((e) => `${e.key}|${e.agent}|${e.token}`).sort();
      expect(fromLog).toEqual(grants.map((g) => `${g.key}|${g.agent}|${g.token}`).sort());
      // Tokens are unique across the store and grow per key in grant order.
      const tokens = log.map((e) => e.token as number);
      expect(new Set(tokens).size).toBe(tokens.length);
      const last = new Map<string, number>();
      let regressions = 0;
      for (const event of log) {
        const previous = last.get(event.key);
        if (previous !== undefined && (event.token as number) <= previous) regressions++;
        last.set(event.key, event.token as number);
      }
      expect(regressions).toBe(0);
      expect(log.length).toBeGreaterThan(200);
      console.log(`${target.name}: ${log.length} grants over 3 rounds, 0 token regressions`);
    } finally {
      await baton.close();
    }
  });
});

describe("cold start on SQLite", () => {
  it("16 processes opening a database file that does not exist yet all succeed, 3 times over", async () => {
    for (let round = 0; round < 3; round++) {
      const db = join(tempDir(), "new", "folder", "baton.db");
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => cliAsync(["claim", `cold:${i}`, "--as", `a${i}`, "--json"], { env: { BATON_DB: db } })),
      );
      for (const r of results) expect(r.code, r.stderr + r.stdout).toBe(0);
      const baton = await openBaton({ db });
      expect(await baton.list()).toHaveLength(16);
      await baton.close();
    }
  });
});

describe("a lock held past the busy timeout", () => {
  it("is exit 3 with STORE_BUSY, never a denial, and changes nothing", async () => {
    const db = join(tempDir(), "busy.db");
    const setup = await openBaton({ db });
    await setup.claim("busy:1", { as: "holder" });
    await setup.close();
    // Another process takes the write lock and sits on it.
    const locker = spawn(
      process.execPath,
      [
        "-e",
        `const D = require(${JSON.stringify(join(ROOT, "node_modules", "better-sqlite3"))});
         const db = new D(${JSON.stringify(db)}); db.exec("BEGIN IMMEDIATE");
         process.stdout.write("locked\\n"); setTimeout(() => { db.exec("ROLLBACK"); db.close(); }, 3000);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve) => locker.stdout.once("data", () => resolve()));
    const r = await cliAsync(["claim", "busy:1", "--as", "other", "--json"], {
      env: { BATON_DB: db, BATON_BUSY_TIMEOUT: "300ms" },
    });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe("STORE_BUSY");
    await new Promise((resolve) => locker.once("close", resolve));
    const after = await cliAsync(["claim", "busy:1", "--as", "other", "--json"], { env: { BATON_DB: db } });
    expect(after.code).toBe(1);
    expect(JSON.parse(after.stdout).code).toBe("CLAIM_HELD");
    const baton = await openBaton({ db });
    const denied = await baton.log({ kind: ["denied"], limit: 100 });
    expect(denied).toHaveLength(1); // the answered one, not the one that timed out
    await baton.close();
  });
});
