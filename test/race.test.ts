/**
 * Concurrency between real OS processes, never promises in one process:
 *
 * - race: 8 worker processes claim the same 200 keys at once over several rounds
 *   (long leases first, then short ones that are completed, released or left to
 *   expire). At most one live holder at any moment, judged from the audit log; one
 *   grant per key in the long round; tokens unique and growing per key; what the
 *   workers were told matches the log exactly.
 * - cold start: 16 CLI processes started together on a database that does not exist yet.
 * - busy (SQLite): a write lock held past the busy timeout is exit 3 / STORE_BUSY, never
 *   a denial, and leaves no trace in the log.
 *
 * The race takes its store from RACE_TARGETS as openBaton options (sent to the workers as
 * JSON), so PostgreSQL can join by adding `{ name: "postgres", options: () =>
 * ({ ...postgresTarget.batonOptions(), poolSize: 2 }) }` from ./contract/targets.js
 * (tried: it passes; a small pool keeps 8 workers within the server's connections).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { type BatonEvent, openBaton, type OpenBatonOptions } from "../src/index.js";
import { type CliResult, cliAsync, LIB, ROOT, runScript, tempDir } from "./helpers.js";

const WORKER = join(ROOT, "test", "workers", "race-worker.mjs");

interface RaceTarget {
  readonly name: string;
  /** openBaton options naming a fresh, empty store (JSON-serialisable: workers get them in argv). */
  options(): OpenBatonOptions;
}

// A loaded machine can hold the write lock past the default 5 s busy timeout (seen at a load of 30:
// a worker failed with STORE_BUSY): a wait, not a wrong answer, so the workers wait up to 30 s.
const RACE_TARGETS: readonly RaceTarget[] = [
  { name: "sqlite", options: () => ({ db: join(tempDir(), "race.db"), busyTimeout: "30s" }) },
];

const WORKERS = 8;
const KEYS = 200;
const SHORT_ROUNDS = 4;
const SHORT_TTL_MS = 300;
const LOG_LIMIT = 100_000;

interface Grant {
  type: "grant";
  round: number;
  key: string;
  agent: string;
  token: number;
  ttlMs: number;
}

interface Summary {
  type: "summary";
  agent: string;
  claims: number;
  granted: number;
  renewed: number;
  denied: number;
  completed: number;
  completeRefused: number;
  released: number;
  releaseRefused: number;
  leftToExpire: number;
}

/** Who holds a key, as the log tells it. */
interface Lease {
  token: number;
  agent: string;
  grantedAt: number;
  expiresAt: number;
  endedAt: number | null;
}

/**
 * Replay the log key by key and report every moment two leases were live at once, and
 * every end or renewal that did not come from the live holder.
 */
function replay(events: readonly BatonEvent[]): string[] {
  const problems: string[] = [];
  const leases = new Map<string, Lease>();
  for (const e of events) {
    const at = e.at.getTime();
    const lease = leases.get(e.key);
    const ttlMs = (e.detail as { ttlMs?: number } | null)?.ttlMs;
    switch (e.kind) {
      case "granted": {
        if (typeof ttlMs !== "number") problems.push(`event ${e.id}: a grant without ttlMs`);
        if (lease !== undefined) {
          const liveUntil = Math.min(lease.expiresAt, lease.endedAt ?? Number.POSITIVE_INFINITY);
          if (at < liveUntil) {
            problems.push(
              `${e.key}: token ${e.token} (${e.agent}) granted at ${at} while token ${lease.token} (${lease.agent}) was live until ${liveUntil}`,
            );
          }
          if ((e.token as number) <= lease.token) problems.push(`${e.key}: token ${e.token} after ${lease.token}`);
        }
        leases.set(e.key, {
          token: e.token as number,
          agent: e.agent,
          grantedAt: at,
          expiresAt: at + (ttlMs ?? 0),
          endedAt: null,
        });
        break;
      }
      case "renewed": {
        if (
          lease === undefined ||
          lease.token !== e.token ||
          lease.agent !== e.agent ||
          lease.endedAt !== null ||
          at >= lease.expiresAt
        ) {
          problems.push(`${e.key}: renewal ${e.id} by ${e.agent} (token ${e.token}) of a lease it did not hold live`);
        } else lease.expiresAt = at + (ttlMs ?? 0);
        break;
      }
      case "completed":
      case "released":
      case "abandoned": {
        if (lease === undefined || lease.token !== e.token || lease.agent !== e.agent || lease.endedAt !== null) {
          problems.push(`${e.key}: ${e.kind} ${e.id} by ${e.agent} (token ${e.token}) of a lease it did not hold`);
        } else {
          if (e.kind === "completed" && at >= lease.expiresAt)
            problems.push(`${e.key}: completed ${e.id} after expiry`);
          lease.endedAt = at;
        }
        break;
      }
      default:
        break;
    }
  }
  return problems;
}

const lines = (out: string): unknown[] =>
  out
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as unknown);

describe.each(RACE_TARGETS)("race between processes on $name", (target) => {
  it(`${WORKERS} processes x ${KEYS} keys x ${SHORT_ROUNDS + 1} rounds: one live holder at a time, tokens only grow, workers and log agree`, async () => {
    const options = target.options();
    const sync = join(tempDir(), "sync");
    mkdirSync(sync);
    // Every worker opens the same fresh store at once (creating the schema races too),
    // then they all start claiming when the last one is ready (the "start" barrier).
    const outputs = await Promise.all(
      Array.from({ length: WORKERS }, (_, i) =>
        runScript(WORKER, [
          pathToFileURL(LIB).href,
          JSON.stringify(options),
          `agent-${i}`,
          String(KEYS),
          String(SHORT_ROUNDS),
          String(SHORT_TTL_MS),
          sync,
          String(WORKERS),
        ]),
      ),
    );
    const records = outputs.flatMap(lines) as (Grant | Summary)[];
    const grants = records.filter((r): r is Grant => r.type === "grant");
    const summaries = records.filter((r): r is Summary => r.type === "summary");
    expect(summaries).toHaveLength(WORKERS);
    const total = (field: keyof Omit<Summary, "type" | "agent">): number => summaries.reduce((n, s) => n + s[field], 0);

    // Round 0 (long leases, nobody lets go): exactly one grant per key across all workers.
    const first = grants.filter((g) => g.round === 0);
    expect(first).toHaveLength(KEYS);
    expect(new Set(first.map((g) => g.key)).size).toBe(KEYS);
    // Every short round starts with every key free: each key is granted again in each.
    for (let round = 1; round <= SHORT_ROUNDS; round++) {
      expect(new Set(grants.filter((g) => g.round === round).map((g) => g.key)).size, `round ${round}`).toBe(KEYS);
    }

    const baton = await openBaton(options);
    try {
      const log = await baton.log({ limit: LOG_LIMIT });
      expect(log.length).toBeLessThan(LOG_LIMIT); // the whole log, not its tail
      const granted = log.filter((e) => e.kind === "granted");

      // Every grant a worker received is in the log, and the log holds no other grant.
      const seen = (g: { key: string; agent: string; token: number | null }): string =>
        `${g.key}|${g.agent}|${g.token}`;
      expect(granted.map(seen).sort()).toEqual(grants.map(seen).sort());
      // ...with the lease the worker asked for.
      const ttlByToken = new Map(grants.map((g) => [g.token, g.ttlMs]));
      expect(
        granted.filter((e) => (e.detail as { ttlMs?: number }).ttlMs !== ttlByToken.get(e.token as number)),
      ).toEqual([]);
      // The other decisions the workers were told about are in the log too, one for one.
      const kindCount = (kind: string): number => log.filter((e) => e.kind === kind).length;
      expect(kindCount("denied")).toBe(total("denied"));
      expect(kindCount("completed")).toBe(total("completed"));
      expect(kindCount("released")).toBe(total("released"));
      expect(kindCount("renewed")).toBe(0);
      expect(total("granted") + total("denied")).toBe(total("claims"));

      // Tokens are unique store-wide. (Their order across different keys is not a promise:
      // on PostgreSQL two transactions may log in the other order than they drew tokens.)
      const tokens = granted.map((e) => e.token as number).sort((a, b) => a - b);
      expect(new Set(tokens).size).toBe(tokens.length);
      // Per key, in time order (ties broken by the log's order), tokens strictly increase.
      const inTime = [...granted].sort((a, b) => a.at.getTime() - b.at.getTime() || a.id - b.id);
      const lastToken = new Map<string, number>();
      const regressions: string[] = [];
      for (const e of inTime) {
        const previous = lastToken.get(e.key);
        if (previous !== undefined && (e.token as number) <= previous)
          regressions.push(`${e.key}: ${previous} then ${e.token}`);
        lastToken.set(e.key, e.token as number);
      }
      expect(regressions).toEqual([]);

      // At any moment at most one live holder: no grant while the previous lease was live,
      // and only the live holder ever completed or released.
      expect(replay(log)).toEqual([]);

      const perKey = new Map<string, number>();
      for (const e of granted) perKey.set(e.key, (perKey.get(e.key) ?? 0) + 1);
      expect(perKey.size).toBe(KEYS);
      const fewest = Math.min(...perKey.values());
      expect(fewest).toBeGreaterThanOrEqual(1 + SHORT_ROUNDS);
      console.log(
        `race on ${target.name}: ${WORKERS} workers, ${KEYS} keys, ${SHORT_ROUNDS + 1} rounds: ` +
          `${total("claims")} claims, ${granted.length} grants (per key ${fewest}..${Math.max(...perKey.values())}), ` +
          `${total("denied")} denied, ${total("completed")} completed (${total("completeRefused")} refused), ` +
          `${total("released")} released (${total("releaseRefused")} refused), ${total("leftToExpire")} left to expire, ` +
          `tokens ${tokens[0]}..${tokens.at(-1)}, ${log.length} events`,
      );
    } finally {
      await baton.close();
    }
  }, 180_000); // eight CPU-bound processes on two cores: 50-60 s when the machine is shared
});

describe("cold start: 16 CLI processes at once on a store that does not exist yet", () => {
  it("all succeed with exit 0, 5 times over with fresh paths", async () => {
    const PROCESSES = 16;
    for (let attempt = 0; attempt < 5; attempt++) {
      // Alternate a file in folders that do not exist yet and a missing file in an existing folder.
      const base = tempDir("baton-cold-");
      const db = attempt % 2 === 0 ? join(base, "not", "yet", "baton.db") : join(base, "baton.db");
      const results = await Promise.all(
        Array.from({ length: PROCESSES }, (_, i) =>
          cliAsync(["claim", `k${i}`, "--as", `a${i}`, "--json"], { env: { BATON_DB: db }, cwd: base }),
        ),
      );
      results.forEach((r, i) => {
        expect(r.code, `attempt ${attempt}, process ${i}: ${r.stderr}${r.stdout}`).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({
          ok: true,
          outcome: "granted",
          claim: { key: `k${i}`, agent: `a${i}` },
        });
      });
      const tokens = results.map((r) => (JSON.parse(r.stdout) as { claim: { token: number } }).claim.token);
      expect([...tokens].sort((a, b) => a - b)).toEqual(Array.from({ length: PROCESSES }, (_, i) => i + 1));
      const baton = await openBaton({ db });
      try {
        expect(await baton.list()).toHaveLength(PROCESSES);
        const log = await baton.log({ limit: 1000 });
        expect(log.map((e) => e.kind)).toEqual(Array(PROCESSES).fill("granted"));
      } finally {
        await baton.close();
      }
    }
  });
});

/** A process that takes SQLite's write lock on `db` and holds it until its stdin closes. */
function holdWriteLock(dir: string, db: string): Promise<ChildProcess> {
  const script = join(dir, "locker.mjs");
  writeFileSync(
    script,
    `import { createRequire } from "node:module";
const Database = createRequire(${JSON.stringify(join(ROOT, "package.json"))})("better-sqlite3");
const db = new Database(${JSON.stringify(db)});
db.exec("BEGIN IMMEDIATE");
process.stdout.write("locked\\n");
process.stdin.resume();
process.stdin.on("end", () => { db.exec("ROLLBACK"); db.close(); process.exit(0); });
`,
  );
  const locker = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    locker.once("error", reject);
    locker.once("exit", (code) => reject(new Error(`the lock holder exited early (${code})`)));
    locker.stdout.once("data", () => resolve(locker));
  });
}

describe("SQLite: a write lock held past the busy timeout", () => {
  it("is exit 3 with STORE_BUSY, never a denial; the same claim succeeds once the lock is gone", async () => {
    const dir = tempDir("baton-busy-");
    const db = join(dir, "busy.db");
    const setup = await openBaton({ db });
    await setup.claim("busy:held", { as: "holder", ttl: "1h" });
    await setup.close();

    const locker = await holdWriteLock(dir, db);
    const closed = new Promise((resolve) => locker.once("close", resolve));
    locker.removeAllListeners("exit");
    let busy: CliResult[];
    try {
      const env = { BATON_DB: db, BATON_BUSY_TIMEOUT: "200ms" };
      busy = await Promise.all([
        cliAsync(["claim", "busy:free", "--as", "agent-1", "--json"], { env, cwd: dir }),
        cliAsync(["claim", "busy:held", "--as", "agent-1", "--json"], { env, cwd: dir }),
      ]);
    } finally {
      locker.stdin?.end();
      await closed;
    }
    for (const r of busy) {
      expect(r.code, r.stdout + r.stderr).toBe(3);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: "STORE_BUSY" } });
    }

    // The lock is gone: the same claims are answered, and only now decided.
    const free = await cliAsync(["claim", "busy:free", "--as", "agent-1", "--json"], {
      env: { BATON_DB: db },
      cwd: dir,
    });
    expect(free.code, free.stdout + free.stderr).toBe(0);
    expect(JSON.parse(free.stdout)).toMatchObject({
      ok: true,
      outcome: "granted",
      claim: { key: "busy:free", token: 2 },
    });
    const held = await cliAsync(["claim", "busy:held", "--as", "agent-1", "--json"], {
      env: { BATON_DB: db },
      cwd: dir,
    });
    expect(held.code, held.stdout + held.stderr).toBe(1);
    expect(JSON.parse(held.stdout)).toMatchObject({ ok: false, code: "CLAIM_HELD" });

    const baton = await openBaton({ db });
    try {
      const log = await baton.log({ limit: 1000 });
      expect(log.filter((e) => e.key === "busy:free").map((e) => [e.kind, e.agent])).toEqual([["granted", "agent-1"]]);
      // One denial: the answered claim, not the one that timed out.
      expect(log.filter((e) => e.key === "busy:held").map((e) => [e.kind, e.agent])).toEqual([
        ["granted", "holder"],
        ["denied", "agent-1"],
      ]);
    } finally {
      await baton.close();
    }
  });
});
