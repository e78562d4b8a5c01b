/**
 * What only PostgreSQL must prove: decisions on the server's clock, token order
 * under contention, connection loss without half state, concurrent first opens,
 * a newer schema refused, a lock wait reported as STORE_BUSY, and a read-only role following the log.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openBaton } from "../src/index.js";
import { PG_MIGRATIONS } from "../src/store/postgres/pg-migrations.js";
import { freshSchema, storeSelected, testDatabaseUrl } from "./contract/targets.js";
import { cli, cliAsync, LIB, ROOT, runScript, startLine } from "./helpers.js";

const LIB_URL = pathToFileURL(LIB).href;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const worker = (name: string, args: string[]): Promise<string> => runScript(join(ROOT, "test", "workers", name), args);

const onPostgres = storeSelected("postgres");
// Connects on first query only: with BATON_TEST_STORE=sqlite there is no server and no query.
const admin = new pg.Pool({ connectionString: onPostgres ? testDatabaseUrl() : undefined, max: 3 });
admin.on("error", () => undefined);
afterAll(async () => {
  await admin.end();
});

describe.skipIf(!onPostgres)("PostgreSQL", () => {
  it("decides on the server's clock: a client an hour off changes nothing", async () => {
    const schema = freshSchema("clock");
    const skewed = await openBaton({ databaseUrl: testDatabaseUrl(), schema, clock: () => Date.now() + 3_600_000 });
    const honest = await openBaton({ databaseUrl: testDatabaseUrl(), schema });
    try {
      const before = Date.now();
      const r = await skewed.claim("k", { as: "skewed", ttl: "1h" });
      expect(Math.abs(r.claim.claimedAt.getTime() - before)).toBeLessThan(5_000);
      expect(Math.abs((await skewed.now()).getTime() - Date.now())).toBeLessThan(5_000);
      expect((await honest.claim("k", { as: "honest" })).outcome).toBe("denied");
      await skewed.claim("short", { as: "skewed", ttl: "200ms" });
      expect((await honest.claim("short", { as: "honest" })).outcome).toBe("denied");
      await sleep(350);
      expect((await honest.claim("short", { as: "honest" })).outcome).toBe("granted");
      expect(await skewed.renew("short", { as: "skewed" })).toMatchObject({ ok: false, code: "NOT_HOLDER" });
    } finally {
      await skewed.close();
      await honest.close();
    }
  });

  it("a claim answers alike whichever statement decides it: the insert-first one or the claim function", async () => {
    // A handle sends a key it never claimed to the statement that inserts first and hands an
    // existing row to the claim function in the same statement; a key it claimed before goes
    // to the function directly. Each situation is met both ways here: by a fresh handle
    // (insert first, then the function inside it) and by one that knows the key.
    const options = { databaseUrl: testDatabaseUrl(), schema: freshSchema("stmts") };
    const owner = await openBaton(options);
    const knows = await openBaton(options);
    const handles: Awaited<ReturnType<typeof openBaton>>[] = [owner, knows];
    const fresh = async () => {
      const handle = await openBaton(options);
      handles.push(handle);
      return handle;
    };
    const shape = (r: Awaited<ReturnType<typeof owner.claim>>) => ({
      ok: r.ok,
      outcome: r.outcome,
      key: r.claim.key,
      agent: r.claim.agent,
      token: r.claim.token,
      state: r.claim.state,
      previous: r.ok ? r.previous && { token: r.previous.token, state: r.previous.state } : undefined,
    });
    try {
      const granted = await owner.claim("topic:a", { as: "a", ttl: "1h", meta: { n: 1 } });
      expect(shape(granted)).toEqual({
        ok: true,
        outcome: "granted",
        key: "topic:a",
        agent: "a",
        token: granted.claim.token,
        state: "active",
        previous: null,
      });
      expect(granted.claim.meta).toEqual({ n: 1 });
      expect(granted.claim.expiresAt.getTime() - granted.claim.claimedAt.getTime()).toBe(3_600_000);
      expect((await owner.show("topic:a")).claim).toEqual(granted.claim);

      const deniedFresh = await (await fresh()).claim("topic:a", { as: "b" });
      expect(shape(deniedFresh)).toMatchObject({
        ok: false,
        outcome: "denied",
        agent: "a",
        token: granted.claim.token,
      });
      expect(shape(await knows.claim("topic:a", { as: "b" }))).toEqual(shape(deniedFresh)); // insert first, then the function
      expect(shape(await knows.claim("topic:a", { as: "b" }))).toEqual(shape(deniedFresh)); // the function directly
      const renewedFresh = await (await fresh()).claim("topic:a", { as: "a", ttl: "2h" });
      expect(shape(renewedFresh)).toMatchObject({ ok: true, outcome: "renewed", token: granted.claim.token });
      expect(shape(await owner.claim("topic:a", { as: "a", ttl: "2h" }))).toEqual(shape(renewedFresh));

      const done = await owner.complete("topic:a", { as: "a", result: "ok" });
      expect(done).toMatchObject({ ok: true, claim: { state: "completed", result: "ok", token: granted.claim.token } });
      expect((await owner.show("topic:a")).claim).toEqual(done.claim);
      const doneFresh = await (await fresh()).claim("topic:a", { as: "c" });
      expect(shape(doneFresh)).toMatchObject({ ok: false, outcome: "done", agent: "a" });
      expect(shape(await knows.claim("topic:a", { as: "c" }))).toEqual(shape(doneFresh));

      const reopened = await (await fresh()).claim("topic:a", { as: "c", reopen: true });
      expect(shape(reopened)).toMatchObject({
        ok: true,
        outcome: "granted",
        agent: "c",
        previous: { token: granted.claim.token, state: "completed" },
      });
      expect(reopened.claim.token).toBeGreaterThan(granted.claim.token);
      // Only the grants drew tokens: a refused insert drew none.
      expect(reopened.claim.token).toBe(granted.claim.token + 1);
      expect((await owner.log({ key: "topic:a" })).map((e) => e.kind)).toEqual([
        "granted",
        "denied",
        "denied",
        "denied",
        "renewed",
        "renewed",
        "completed",
        "denied",
        "denied",
        "granted",
      ]);
    } finally {
      for (const handle of handles) await handle.close();
    }
  });

  it("gives grants tokens in grant order per key: 8 connections, 4 hot keys, 1 ms TTLs", async () => {
    const options = { databaseUrl: testDatabaseUrl(), schema: freshSchema("hot") };
    await (await openBaton(options)).close();
    const start = startLine(8);
    const counts = await start.release(
      Array.from({ length: 8 }, (_, i) =>
        worker("pg-hot-worker.mjs", [LIB_URL, JSON.stringify(options), `w${i}`, "4", start.dir, "3000"]),
      ),
    );
    const baton = await openBaton(options);
    try {
      const grants = await baton.log({ kind: "granted", limit: 100_000 });
      expect(grants.length).toBe(counts.reduce((s, c) => s + Number(c), 0));
      expect(grants.length).toBeGreaterThan(100);
      const last = new Map<string, number>();
      let regressions = 0;
      for (const e of grants) {
        const prev = last.get(e.key);
        if (prev !== undefined && (e.token as number) <= prev) regressions++;
        last.set(e.key, e.token as number);
      }
      console.log(`postgres hot keys: ${grants.length} grants, ${regressions} token regressions`);
      expect(regressions).toBe(0);
      expect(new Set(grants.map((e) => e.token)).size).toBe(grants.length);
    } finally {
      await baton.close();
    }
  });

  it("a connection killed mid-operation is STORE_UNAVAILABLE with the server's reason, and leaves no half state", async () => {
    const options = { databaseUrl: testDatabaseUrl(), schema: freshSchema("kill") };
    await (await openBaton(options)).close();
    const running = worker("pg-loop-worker.mjs", [LIB_URL, JSON.stringify(options), "victim", "2500"]);
    let finished = false;
    void running.then(
      () => (finished = true),
      () => (finished = true),
    );
    // Its loop has begun once it has logged an event: a kill before that would hit its open,
    // which fails loudly too but is not this test's subject.
    while (!finished) {
      const seen = await admin.query(`SELECT count(*)::int AS n FROM "${options.schema}".events`);
      if ((seen.rows[0] as { n: number }).n > 0) break;
      await sleep(10);
    }
    // Six kills that each hit a live connection of the worker, 100 ms apart so it works in
    // between.
    for (let kills = 0; kills < 6 && !finished;) {
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'baton' AND datname = current_database() AND pid <> pg_backend_pid() AND query LIKE $1",
        [`%${options.schema}%`],
      );
      if ((killed.rowCount ?? 0) > 0) kills += 1;
      await sleep(killed.rowCount ? 100 : 10);
    }
    const { ops, errors } = JSON.parse(await running) as { ops: number; errors: { code: string; message: string }[] };
    expect(ops).toBeGreaterThan(10);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e.code).toBe("STORE_UNAVAILABLE");
      expect(e.message).toMatch(/terminat|Connection/i);
    }
    // Every row agrees with its last event: a completion has its completed event, a grant its granted event.
    const baton = await openBaton(options);
    try {
      const claims = await baton.list({ state: "all", limit: 100_000 });
      const events = await baton.log({ limit: 100_000 });
      for (const claim of claims) {
        const mine = events.filter((e) => e.key === claim.key && e.kind !== "denied");
        const lastEvent = mine[mine.length - 1];
        expect(lastEvent?.token, claim.key).toBe(claim.token);
        expect(lastEvent?.kind, claim.key).toBe(claim.state === "completed" ? "completed" : "granted");
      }
    } finally {
      await baton.close();
    }
  });

  it("16 processes opening a brand-new schema together all succeed and migrate once", async () => {
    for (let round = 0; round < 2; round++) {
      const schema = freshSchema("first");
      const env = { BATON_DATABASE_URL: testDatabaseUrl(), BATON_PG_SCHEMA: schema };
      const results = await Promise.all(
        Array.from({ length: 16 }, (_, i) => cliAsync(["claim", `k${i}`, "--as", `a${i}`], { env })),
      );
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const rows = await admin.query(
        `SELECT version, count(*)::int AS n FROM "${schema}".schema_migrations GROUP BY version ORDER BY version`,
      );
      expect(rows.rows.map((r) => [r.version, r.n])).toEqual(PG_MIGRATIONS.map((m) => [m.version, 1]));
    }
  });

  it("refuses a schema written by a newer Baton; db status and db migrate tell and do", async () => {
    const schema = freshSchema("schema");
    const env = { BATON_DATABASE_URL: testDatabaseUrl(), BATON_PG_SCHEMA: schema };
    const status = cli(["db", "status", "--json"], { env });
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({
      ok: false,
      version: 0,
      pending: PG_MIGRATIONS.map((m) => ({ version: m.version })),
    });
    expect(cli(["db", "migrate"], { env }).code).toBe(0);
    expect(cli(["db", "status"], { env }).code).toBe(0);
    await admin.query(
      `INSERT INTO "${schema}".schema_migrations (version, description) VALUES (999, 'from the future')`,
    );
    const r = cli(["claim", "k", "--as", "a", "--json"], { env });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toBe("SCHEMA_TOO_NEW");
    await expect(openBaton({ databaseUrl: testDatabaseUrl(), schema })).rejects.toMatchObject({
      code: "SCHEMA_TOO_NEW",
    });
  });

  it("a row lock held past the busy timeout is exit 3 STORE_BUSY, never a denial", async () => {
    const schema = freshSchema("busy");
    const env = { BATON_DATABASE_URL: testDatabaseUrl(), BATON_PG_SCHEMA: schema };
    expect(cli(["claim", "k", "--as", "holder"], { env }).code).toBe(0);
    const locker = await admin.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`SELECT * FROM "${schema}".claims WHERE key = 'k' FOR UPDATE`);
      const r = await cliAsync(["claim", "k", "--as", "other", "--json"], {
        env: { ...env, BATON_BUSY_TIMEOUT: "300ms" },
      });
      expect(r.code).toBe(3);
      expect(JSON.parse(r.stdout).error.code).toBe("STORE_BUSY");
      await locker.query("ROLLBACK");
    } finally {
      locker.release();
    }
    const after = cli(["claim", "k", "--as", "other", "--json"], { env });
    expect(JSON.parse(after.stdout)).toMatchObject({ ok: false, code: "CLAIM_HELD" });
    const denied = JSON.parse(cli(["log", "--kind", "denied", "--json"], { env }).stdout).events;
    expect(denied).toHaveLength(1);
  });

  it("a role that may only read pages the log with a cursor: the horizon falls back to the unbroken run", async () => {
    // events_horizon tries LOCK TABLE events IN SHARE MODE (schema 12), which needs UPDATE on
    // the table; a read-only role is refused it and must still read, bounded by the run of ids.
    const schema = freshSchema("reader");
    const writer = await openBaton({ databaseUrl: testDatabaseUrl(), schema });
    const role = `baton_reader_${process.pid}_${Date.now().toString(36)}`;
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'reader'`);
    await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role}`);
    await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA "${schema}" TO ${role}`);
    await admin.query(`GRANT SELECT ON ALL SEQUENCES IN SCHEMA "${schema}" TO ${role}`);
    const url = new URL(testDatabaseUrl());
    url.username = role;
    url.password = "reader";
    const reader = await openBaton({ databaseUrl: url.toString(), schema });
    try {
      await writer.claim("read:a", { as: "w" });
      await writer.claim("read:b", { as: "w" });
      const seen = await reader.log({ after: 0, limit: 10 });
      expect(seen.map((e) => [e.kind, e.key])).toEqual([
        ["granted", "read:a"],
        ["granted", "read:b"],
      ]);
      expect(await reader.log({ after: seen[1]?.id ?? 0 })).toEqual([]);
    } finally {
      await reader.close();
      await writer.close();
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE ${role}`);
    }
  });

  it("refuses bad options and unreachable servers with clear codes", async () => {
    await expect(openBaton({ databaseUrl: testDatabaseUrl(), schema: "bad-name;" })).rejects.toMatchObject({
      code: "BAD_OPTION",
    });
    await expect(openBaton({ databaseUrl: "mysql://x" })).rejects.toMatchObject({ code: "BAD_OPTION" });
    const both = cli(["claim", "k", "--as", "a", "--db", "x.db", "--database-url", testDatabaseUrl(), "--json"]);
    expect(both.code).toBe(2);
    const down = cli(["claim", "k", "--as", "a", "--json"], {
      env: { BATON_DATABASE_URL: "postgres://u:secret@127.0.0.1:1/db" },
    });
    expect(down.code).toBe(3);
    expect(JSON.parse(down.stdout).error.code).toBe("STORE_UNAVAILABLE");
    expect(down.stdout).not.toContain("secret");
    const badTimeout = cli(["claim", "k", "--as", "a", "--json"], {
      env: { BATON_DATABASE_URL: testDatabaseUrl(), BATON_PG_SCHEMA: freshSchema("st"), BATON_STATEMENT_TIMEOUT: "5x" },
    });
    expect(badTimeout.code).toBe(2);
    expect(JSON.parse(badTimeout.stdout).error.code).toBe("BAD_CONFIG");
  });
});
