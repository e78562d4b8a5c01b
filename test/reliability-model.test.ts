/**
 * Model-based test: random command sequences (fast-check) run against the pure claim
 * model (src/core/claim-model.ts) and against each store; every answer must agree
 * (outcome, code, holder, state, token), and so must the audit log.
 *
 * SQLite gets an injected clock, so the sequences also move time forward by minutes
 * and days and step it back (the high-water mark). PostgreSQL decides with the server's
 * clock, so there only clock-independent leases are used: `instant` (1 ms, followed by
 * a 3 ms pause, so it is expired at the next command whatever the server's time) and
 * `long` (1 h, never expires within a run); done windows and reap ages are 0 or a day.
 */
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClaimModel, type ModelView } from "../src/core/claim-model.js";
import type { Claim } from "../src/core/types.js";
import { openPostgresStore } from "../src/store/postgres/pg-store.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { Store } from "../src/store/store.js";
import { freshSchema, storeSelected, testDatabaseUrl } from "./contract/targets.js";
import { tempDir } from "./helpers.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const KEYS = ["k1", "k2", "k3"] as const;
const AGENTS = ["a", "b", "c"] as const;
/** BATON_SOAK=1 runs 10x the sequences. */
const RUNS = process.env.BATON_SOAK === "1" ? 10 : 1;

type Ttl = "instant" | "long" | "mid";
const TTL_MS: Record<Ttl, number> = { instant: 1, long: HOUR, mid: 30 * MIN };

type Command =
  | { op: "claim"; key: string; agent: string; ttl: Ttl; reopen: boolean; window: number }
  | { op: "renew"; key: string; agent: string; ttl: Ttl }
  | { op: "complete" | "release" | "abandon"; key: string; agent: string }
  | { op: "reap"; minAge: number }
  | { op: "clock"; ms: number };

function commands(withClock: boolean): fc.Arbitrary<Command[]> {
  const key = fc.constantFrom(...KEYS);
  const agent = fc.constantFrom(...AGENTS);
  const ttl: fc.Arbitrary<Ttl> = withClock
    ? fc.constantFrom("instant", "long", "mid")
    : fc.constantFrom("instant", "long");
  const window = withClock ? fc.constantFrom(0, 20 * MIN, DAY) : fc.constantFrom(0, DAY);
  const reapAge = withClock ? fc.constantFrom(0, 10 * MIN, DAY) : fc.constantFrom(0, DAY);
  const arbs: fc.Arbitrary<Command>[] = [
    fc.record({ op: fc.constant("claim" as const), key, agent, ttl, reopen: fc.boolean(), window }),
    fc.record({ op: fc.constant("claim" as const), key, agent, ttl, reopen: fc.boolean(), window }),
    fc.record({ op: fc.constant("renew" as const), key, agent, ttl }),
    fc.record({ op: fc.constantFrom("complete" as const, "release" as const, "abandon" as const), key, agent }),
    fc.record({ op: fc.constant("reap" as const), minAge: reapAge }),
  ];
  // Forward by minutes, hours or days; back by minutes or hours (the high-water mark holds).
  if (withClock)
    arbs.push(
      fc.record({
        op: fc.constant("clock" as const),
        ms: fc.constantFrom(10 * MIN, 45 * MIN, 2 * HOUR, 25 * HOUR, -15 * MIN, -3 * HOUR),
      }),
    );
  return fc.array(fc.oneof(...arbs), { minLength: 1, maxLength: 40 });
}

/** The fields every store must agree on, with the store's token mapped into the model's numbering. */
function seen(claim: Claim | null, offset: number): ModelView | null {
  return claim === null
    ? null
    : { key: claim.key, agent: claim.agent, token: claim.token - offset, state: claim.state };
}

interface Harness {
  store: Store;
  /** Prefix for this run's keys (the PostgreSQL schema is shared by runs). */
  prefix: string;
  /** The clock reading the next command is decided at (SQLite), advanced by the runner. */
  clock: { t: number };
  /** After a command with a 1 ms lease: make sure it has expired by the next one. */
  settle(): Promise<void>;
}

async function runSequence(h: Harness, cmds: Command[]): Promise<void> {
  const model = new ClaimModel();
  const k = (key: string): string => `${h.prefix}${key}`;
  let offset: number | undefined;
  const tokenOffset = (claim: Claim, modelToken: number): number => {
    offset ??= claim.token - modelToken;
    return offset;
  };
  const off = (): number => offset ?? 0;
  for (const [i, cmd] of cmds.entries()) {
    h.clock.t += 2; // every command is 2 ms after the one before (a 1 ms lease is over)
    const at = `#${i} ${JSON.stringify(cmd)}`;
    if (cmd.op === "clock") {
      h.clock.t += cmd.ms;
      continue;
    }
    if (cmd.op === "claim") {
      const input = {
        key: k(cmd.key),
        agent: cmd.agent,
        ttlMs: TTL_MS[cmd.ttl],
        reopen: cmd.reopen,
        doneWindowMs: cmd.window,
      };
      const want = model.claim(input, h.clock.t);
      const got = await h.store.claim({ ...input, meta: null });
      expect(got.outcome, at).toBe(want.outcome);
      if (got.outcome === "granted") tokenOffset(got.claim, want.claim.token);
      expect(seen(got.claim, off()), at).toEqual(want.claim);
      if (got.outcome === "granted" && want.outcome === "granted")
        expect(seen(got.previous, off()), at).toEqual(want.previous);
      if (cmd.ttl === "instant") await h.settle();
      continue;
    }
    if (cmd.op === "reap") {
      const want = model.reap(cmd.minAge, h.clock.t);
      const got = (await h.store.reap({ minAgeMs: cmd.minAge, by: null })).filter((c) => c.key.startsWith(h.prefix));
      expect(
        got.map((c) => seen(c, off())),
        at,
      ).toEqual(want);
      continue;
    }
    const kind = { renew: "renewed", complete: "completed", release: "released", abandon: "abandoned" } as const;
    const ttlMs = cmd.op === "renew" ? TTL_MS[cmd.ttl] : 0;
    const want = model.act(kind[cmd.op], k(cmd.key), cmd.agent, h.clock.t, ttlMs);
    const input = { key: k(cmd.key), agent: cmd.agent };
    const got =
      cmd.op === "renew"
        ? await h.store.renew({ ...input, ttlMs })
        : cmd.op === "complete"
          ? await h.store.complete(input)
          : cmd.op === "release"
            ? await h.store.release(input)
            : await h.store.abandon(input);
    expect(got.ok, at).toBe(want.ok);
    if (!got.ok && !want.ok) expect(got.code, at).toBe(want.code);
    expect(seen(got.claim, off()), at).toEqual(want.claim);
    if (cmd.op === "renew" && cmd.ttl === "instant") await h.settle();
  }
  // The audit log, key by key, says the same as the model's.
  for (const key of KEYS) {
    const log = await h.store.events({ key: k(key), limit: 10_000 });
    expect(
      log.map((e) => ({ kind: e.kind, key: e.key, agent: e.agent, token: e.token === null ? null : e.token - off() })),
      `log of ${key}`,
    ).toEqual(model.events.filter((e) => e.key === k(key)));
  }
}

describe("the claim model and the stores agree", () => {
  it("SQLite, with the clock moving forward by minutes to days and stepping back", { timeout: 600_000 }, async () => {
    const dir = tempDir();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(commands(true), async (cmds) => {
        const clock = { t: Date.UTC(2030, 0, 1) };
        const store = openSqliteStore({ path: join(dir, `model-${n++}.db`), clock: () => clock.t });
        try {
          await runSequence({ store, prefix: "", clock, settle: async () => undefined }, cmds);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 60 * RUNS },
    );
  });

  it.skipIf(!storeSelected("postgres"))("PostgreSQL, with clock-independent leases", { timeout: 600_000 }, async () => {
    const store = await openPostgresStore({ url: testDatabaseUrl(), schema: freshSchema("model"), poolSize: 2 });
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(commands(false), async (cmds) => {
          run += 1;
          await runSequence(
            {
              store,
              prefix: `r${run}:`,
              clock: { t: 0 },
              settle: () => new Promise((resolve) => setTimeout(resolve, 3)),
            },
            cmds,
          );
        }),
        { numRuns: 25 * RUNS },
      );
    } finally {
      await store.close();
    }
  });
});
