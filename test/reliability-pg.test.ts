/**
 * PostgreSQL under backend termination: 6 processes race on 4 hot keys while the test
 * terminates their backends (pg_terminate_backend) every few tens of milliseconds.
 * Every acknowledged grant and completion is in the log, tokens are unique and grow per
 * key, and replaying the log never finds two live holders of one key.
 *
 * Only the backends of this test's schema are terminated: the server is shared with the
 * other test files running in parallel, so it is not killed here (see docs/RELIABILITY.md).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { postgresTarget, testDatabaseUrl } from "./contract/targets.js";
import { LIB, ROOT } from "./helpers.js";

const WORKER = join(ROOT, "test", "workers", "pg-fault-worker.mjs");

interface Ack {
  op: "granted" | "complete" | "release" | "errors";
  key: string;
  agent: string;
  token: number;
  errors?: Record<string, number>;
}

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.once("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`worker exited ${code}: ${err}`))));
  });
}

describe("PostgreSQL backends terminated during hot-key traffic", () => {
  it("nothing acknowledged is lost, tokens grow per key, never two live holders", async () => {
    const options = postgresTarget.batonOptions() as { databaseUrl: string; schema: string };
    await (await openBaton(options)).close();
    const pg = (await import("pg")).default;
    const admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    let terminated = 0;
    let running = true;
    const workers = Promise.all(
      Array.from({ length: 6 }, (_, i) => run([pathToFileURL(LIB).href, JSON.stringify(options), `w${i}`, "4", "2500"])),
    ).finally(() => {
      running = false;
    });
    const killer = (async () => {
      while (running) {
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 60));
        const r = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE $1",
          [`%"${options.schema}".%`],
        );
        terminated += r.rowCount ?? 0;
      }
    })();
    const outputs = await workers;
    await killer;
    await admin.end();
    const acks = outputs.flatMap((o) => o.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Ack));
    const errors: Record<string, number> = {};
    for (const a of acks.filter((x) => x.op === "errors")) for (const [c, n] of Object.entries(a.errors ?? {})) errors[c] = (errors[c] ?? 0) + n;
    // Only the store-unavailable kind: never a wrong answer.
    expect(Object.keys(errors).filter((c) => c !== "STORE_UNAVAILABLE")).toEqual([]);

    const baton = await openBaton(options);
    try {
      const log = await baton.log({ limit: 100_000 });
      const has = new Set(log.map((e) => `${e.kind}|${e.key}|${e.agent}|${e.token}`));
      const kind = { granted: "granted", complete: "completed", release: "released" } as const;
      for (const a of acks.filter((x) => x.op !== "errors")) {
        expect(has.has(`${kind[a.op as keyof typeof kind]}|${a.key}|${a.agent}|${a.token}`), JSON.stringify(a)).toBe(true);
      }
      // Replay: a grant only when the key is free; tokens unique and growing per key.
      const holder = new Map<string, { agent: string; token: number } | null>();
      const tokens = new Set<number>();
      const last = new Map<string, number>();
      let overlaps = 0;
      let grants = 0;
      for (const e of log) {
        if (e.kind === "granted") {
          grants++;
          const current = holder.get(e.key);
          if (current) overlaps++;
          expect(tokens.has(e.token as number)).toBe(false);
          expect(e.token as number, e.key).toBeGreaterThan(last.get(e.key) ?? 0);
          tokens.add(e.token as number);
          last.set(e.key, e.token as number);
          holder.set(e.key, { agent: e.agent, token: e.token as number });
        } else if (e.kind === "completed" || e.kind === "released" || e.kind === "abandoned") {
          expect(holder.get(e.key)?.token, `${e.kind} ${e.key}`).toBe(e.token);
          holder.set(e.key, null);
        }
      }
      expect(overlaps).toBe(0);
      expect(grants).toBeGreaterThan(10);
      console.log(`postgres: ${terminated} backends terminated, ${grants} grants, errors ${JSON.stringify(errors)}, 0 overlaps`);
    } finally {
      await baton.close();
    }
  });
});
